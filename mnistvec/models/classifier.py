"""The digit classifier that scores vectorisers (`evaluation/scores.py`): a small CNN read for its classes
and for its 128 penultimate features (the Frechet distance's space). Trained on labelled training images
with small random shifts (`training/classifier.py`); labels are used to score, and nowhere in a vectoriser.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnistvec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

CLASSIFIER_NAME = "classifier.pt"


class DigitClassifier(nn.Module):
    """28x28 grey image -> 10 logits: two conv blocks and two linear layers with dropout."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.unsqueeze(1) if images.dim() == 3 else images)


def save_classifier(model: DigitClassifier, path: str | Path, accuracy: dict | None = None) -> None:
    save_checkpoint(path, {"method": "classifier", "model": model.state_dict(), "accuracy": accuracy or {}})


def bundled_classifier_path() -> Path:
    """The evaluation classifier shipped in the package (trained by examples/train_classifier.py)."""
    return Path(str(resources.files("mnistvec.weights").joinpath(CLASSIFIER_NAME)))


def load_classifier(path: str | Path | None = None) -> DigitClassifier:
    """The classifier in `path`, or the bundled one; its recorded test accuracy is in `model.accuracy`."""
    path = bundled_classifier_path() if path is None else path
    state = load_checkpoint(path)
    if state.get("method") != "classifier" or "model" not in state:
        raise CheckpointError(f"{path}: not a digit-classifier checkpoint")
    model = DigitClassifier()
    model.load_state_dict(state["model"])
    model.accuracy = dict(state.get("accuracy", {}))
    return model.eval()


@torch.no_grad()
def read_images(model: DigitClassifier, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(features [B, 128], class probabilities [B, 10]) in one pass: the classifier's penultimate
    activations (after the hidden layer's ReLU), and what its last layer makes of them."""
    x = torch.from_numpy(np.asarray(images, np.float32))
    hidden, head = model.net[:-2], model.net[-2:]
    found, probabilities = [], []
    for lo in range(0, len(x), batch_size):
        found.append(hidden(x[lo : lo + batch_size].unsqueeze(1)))
        probabilities.append(F.softmax(head(found[-1]), -1))
    return torch.cat(found).double().numpy(), torch.cat(probabilities).numpy()


def features(model: DigitClassifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """[B, 128]: the classifier's penultimate activations (after the hidden layer's ReLU)."""
    return read_images(model, images, batch_size)[0]


def predict(model: DigitClassifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities [B, 10]."""
    return read_images(model, images, batch_size)[1]
