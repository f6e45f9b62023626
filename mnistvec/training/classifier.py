"""Training the evaluation classifier (`models/classifier.py`) on labelled images: Adam, cosine
learning-rate decay to zero, and random shifts of up to 2 pixels (`examples/train_classifier.py`)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from mnistvec.models.classifier import DigitClassifier
from mnistvec.training.augment import random_shift


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 12, seed: int = 0,
                     batch_size: int = 64, lr: float = 1e-3) -> DigitClassifier:
    """Fit the classifier with Adam, cosine learning-rate decay and random shifts."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = DigitClassifier()
    x = torch.from_numpy(np.asarray(images, np.float32))
    y = torch.from_numpy(np.asarray(labels, np.int64))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for lo in range(0, len(x), batch_size):
            idx = order[lo : lo + batch_size]
            loss = F.cross_entropy(model(random_shift(x[idx], generator)), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()
