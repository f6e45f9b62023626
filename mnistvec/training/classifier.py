"""Training the evaluation classifier (`models/classifier.py`) on labelled images, through the training
loop: Adam, cosine learning-rate decay to zero, and random shifts of up to 2 pixels
(`examples/train_classifier.py`)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mnistvec.config import TrainConfig
from mnistvec.models.classifier import DigitClassifier
from mnistvec.training.augment import random_shift
from mnistvec.training.loop import Task, run


class ClassifierTask(Task):
    """Fitting the classifier on all the labelled images: each epoch a permutation, each step a batch shifted
    by up to 2 pixels, cross-entropy; permutations and shifts come from one generator seeded once, so a run
    repeats exactly (a resumed one does not: that generator is not checkpointed)."""

    def __init__(self, config: TrainConfig, images: np.ndarray, labels: np.ndarray, device, ranks, fresh: bool):
        self.model = DigitClassifier().to(device)
        self.device, self.batch_size = device, config.batch_size
        self.x = torch.from_numpy(np.asarray(images, np.float32))
        self.y = torch.from_numpy(np.asarray(labels, np.int64))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.steps_per_epoch = math.ceil(len(self.x) / config.batch_size)

    def learning_rate(self, config: TrainConfig, progress: float) -> float:
        """Cosine decay to zero."""
        return config.lr * (1 + math.cos(math.pi * progress)) / 2

    def begin_epoch(self, epoch: int) -> None:
        self.order = torch.randperm(len(self.x), generator=self.generator)

    def step(self, forward, epoch, step, at, temperature, generator):
        idx = self.order[step * self.batch_size : (step + 1) * self.batch_size]
        logits = forward(random_shift(self.x[idx], self.generator).to(self.device))
        loss = F.cross_entropy(logits, self.y[idx].to(self.device))
        return loss, {"loss": loss.item()}, len(idx)

    def end_epoch(self, epoch, sums, seen, temperature, started, run_dir):
        return {
            "epoch": epoch + 1,
            "train_loss": round(sums["loss"] / max(seen, 1), 5),
            "seconds": round(time.perf_counter() - started, 2),
        }

    def summary(self, row):
        return f"train loss {row['train_loss']:.3f}, {row['seconds']:.0f} s"


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    run_dir: str | Path,
    epochs: int = 12,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 1e-3,
    device: str = "cpu",
) -> DigitClassifier:
    """Fit the classifier with Adam, cosine learning-rate decay and random shifts (`ClassifierTask`), through
    the training loop, which writes its checkpoint and metrics to `run_dir`; the model, in eval mode."""
    config = TrainConfig(method="classifier", epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    trained: list[DigitClassifier] = []

    def make_task(config, dev, ranks, fresh):
        task = ClassifierTask(config, images, labels, dev, ranks, fresh)
        trained.append(task.model)
        return task

    run(make_task, config, Path(run_dir), device)
    return trained[0].eval()
