"""Measuring vectorisers: pixel metrics and a digit classifier that reads reconstructions.

Per-image metrics (MSE, BCE, IoU at 0.5, chamfer distance of the ink) are defined in `pixel_metrics.py`
and averaged over images here, beside

    classifier accuracy = share of reconstructions the classifier reads as the original's label
                          (overall and per true digit)
    agreement           = share of reconstructions the classifier reads as it reads their original
                          (labels not needed: how often a drawing "means" what its image meant)
    Frechet distance    = |m_1 - m_2|^2 + tr(C_1 + C_2 - 2 (C_1 C_2)^(1/2))
                          between Gaussians fitted to two sets of images' features, the classifier's
                          128 penultimate activations (the MNIST analogue of FID; 0 for equal sets)

The classifier is a small CNN trained on labelled training images with small random shifts. Labels are
used here, to score, and nowhere in a vectoriser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import random_shift
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .pixel_metrics import bce, chamfer, iou_at_half, mse

CLASSIFIER_NAME = "classifier.pt"


class DigitClassifier(nn.Module):
    """28x28 grey image -> 10 logits: two conv blocks and two linear layers with dropout."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.unsqueeze(1) if images.dim() == 3 else images)


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


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to feature sets a [n, d] and b [m, d] (module docstring).

    tr (C_1 C_2)^(1/2) is the sum of the square roots of the eigenvalues of C_1^(1/2) C_2 C_1^(1/2), which is
    symmetric positive semi-definite, so only symmetric eigendecompositions are needed."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    return max(float(distance), 0.0)  # rounding can take a distance of 0 a little below


def predict(model: DigitClassifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities [B, 10]."""
    return read_images(model, images, batch_size)[1]


@dataclass
class ItemReadings:
    """Per image (arrays of [B]): the classifier's class for the original and for the drawing, its
    probability for the drawing's class (its confidence), and the drawing's pixel MSE."""

    original: np.ndarray
    drawing: np.ndarray
    confidence: np.ndarray
    mse: np.ndarray


@dataclass
class ReconstructionScores:
    mse: float
    iou: float
    accuracy: float | None
    original_accuracy: float | None
    bce: float = float("nan")
    chamfer: float = float("nan")
    per_digit_accuracy: list[float] | None = None
    count: int = 0
    agreement: float | None = None
    frechet: float | None = None
    items: ItemReadings | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The scores (the per-image readings left out)."""
        return {k: v for k, v in self.__dict__.items() if k != "items"}


def score_reconstructions(originals: np.ndarray, recon: np.ndarray, labels: np.ndarray | None = None,
                          classifier: DigitClassifier | None = None, distances: bool = True) -> ReconstructionScores:
    """Mean MSE, IoU at 0.5 and (with `distances`) BCE and chamfer; with a classifier, agreement and each
    image's `ItemReadings`; with labels too, accuracy on reconstructions (overall and per true digit, NaN
    for a digit with no image) and on the originals."""
    per_image = mse(originals, recon)
    scores = ReconstructionScores(float(per_image.mean()), float(iou_at_half(originals, recon).mean()),
                                  None, None, count=len(originals))
    if distances:
        scores.bce = float(bce(originals, recon).mean())
        scores.chamfer = float(chamfer(originals, recon).mean())
    if classifier is not None:
        (recon_features, recon_probs), (original_features, original_probs) = (
            read_images(classifier, recon), read_images(classifier, originals))
        read, read_original = recon_probs.argmax(1), original_probs.argmax(1)
        scores.agreement = float((read == read_original).mean())
        scores.items = ItemReadings(read_original, read, recon_probs.max(1), per_image)
        if distances and len(originals) > 1:
            scores.frechet = frechet_distance(recon_features, original_features)
    if labels is not None and classifier is not None:
        right = read == labels
        scores.accuracy = float(right.mean())
        scores.original_accuracy = float((read_original == labels).mean())
        scores.per_digit_accuracy = [float(right[labels == d].mean()) if (labels == d).any() else float("nan")
                                     for d in range(10)]
    return scores


@dataclass
class SampleScores:
    confidence: float
    histogram: list[int]
    entropy: float
    frechet: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def class_entropy(histogram: np.ndarray) -> float:
    """Entropy (nats) of the predicted-class distribution: H = -sum_c p_c log p_c, at most log 10 = 2.303."""
    p = np.asarray(histogram, np.float64) / max(float(np.sum(histogram)), 1.0)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def score_samples(samples: np.ndarray, classifier: DigitClassifier,
                  reference: np.ndarray | None = None) -> SampleScores:
    """Sample quality under the classifier: mean top-class probability (how digit-like) and the histogram of
    predicted classes with its entropy (how varied: ten equally common digits give log 10 = 2.30 nats);
    with `reference` images, the Frechet distance of the samples to them."""
    sample_features, probs = read_images(classifier, samples)
    histogram = np.bincount(probs.argmax(1), minlength=10)
    frechet = None
    if reference is not None and len(samples) > 1 and len(reference) > 1:
        frechet = frechet_distance(sample_features, features(classifier, reference))
    return SampleScores(float(probs.max(1).mean()), histogram.tolist(), class_entropy(histogram), frechet)
