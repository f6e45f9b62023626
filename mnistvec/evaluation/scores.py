"""Measuring vectorisers: pixel metrics and a digit classifier that reads reconstructions.

Per-image metrics (MSE, BCE, IoU at 0.5, chamfer distance of the ink) are defined in `metrics.py`
and averaged over images here, beside

    classifier accuracy = share of reconstructions the classifier reads as the original's label
                          (overall and per true digit)
    agreement           = share of reconstructions the classifier reads as it reads their original
                          (labels not needed: how often a drawing "means" what its image meant)
    Frechet distance    = |m_1 - m_2|^2 + tr(C_1 + C_2 - 2 (C_1 C_2)^(1/2))
                          between Gaussians fitted to two sets of images' features, the classifier's
                          128 penultimate activations (the MNIST analogue of FID; 0 for equal sets)

The classifier (`models/classifier.py`) is a small CNN trained on labelled training images; labels are
used here, to score, and nowhere in a vectoriser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mnistvec.evaluation.metrics import bce, chamfer, iou_at_half, mse
from mnistvec.models.classifier import DigitClassifier, features, read_images


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


def score_reconstructions(
    originals: np.ndarray,
    recon: np.ndarray,
    labels: np.ndarray | None = None,
    classifier: DigitClassifier | None = None,
    distances: bool = True,
) -> ReconstructionScores:
    """Mean MSE, IoU at 0.5 and (with `distances`) BCE and chamfer; with a classifier, agreement and each
    image's `ItemReadings`; with labels too, accuracy on reconstructions (overall and per true digit, NaN
    for a digit with no image) and on the originals."""
    per_image = mse(originals, recon)
    scores = ReconstructionScores(
        float(per_image.mean()), float(iou_at_half(originals, recon).mean()), None, None, count=len(originals)
    )
    if distances:
        scores.bce = float(bce(originals, recon).mean())
        scores.chamfer = float(chamfer(originals, recon).mean())
    if classifier is not None:
        (recon_features, recon_probs), (original_features, original_probs) = (
            read_images(classifier, recon),
            read_images(classifier, originals),
        )
        read, read_original = recon_probs.argmax(1), original_probs.argmax(1)
        scores.agreement = float((read == read_original).mean())
        scores.items = ItemReadings(read_original, read, recon_probs.max(1), per_image)
        if distances and len(originals) > 1:
            scores.frechet = frechet_distance(recon_features, original_features)
    if labels is not None and classifier is not None:
        right = read == labels
        scores.accuracy = float(right.mean())
        scores.original_accuracy = float((read_original == labels).mean())
        scores.per_digit_accuracy = [
            float(right[labels == d].mean()) if (labels == d).any() else float("nan") for d in range(10)
        ]
    return scores


@dataclass
class SampleScores:
    confidence: float
    histogram: list[int]
    entropy: float
    frechet: float | None = None
    prior: str | None = None
    """What the samples were drawn from (`encoding.sampling.prior_name`: `mixture-K` or `standard`), when
    known."""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def class_entropy(histogram: np.ndarray) -> float:
    """Entropy (nats) of the predicted-class distribution: H = -sum_c p_c log p_c, at most log 10 = 2.303."""
    p = np.asarray(histogram, np.float64) / max(float(np.sum(histogram)), 1.0)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def score_samples(
    samples: np.ndarray, classifier: DigitClassifier, reference: np.ndarray | None = None
) -> SampleScores:
    """Sample quality under the classifier: mean top-class probability (how digit-like) and the histogram of
    predicted classes with its entropy (how varied: ten equally common digits give log 10 = 2.30 nats);
    with `reference` images, the Frechet distance of the samples to them."""
    sample_features, probs = read_images(classifier, samples)
    histogram = np.bincount(probs.argmax(1), minlength=10)
    frechet = None
    if reference is not None and len(samples) > 1 and len(reference) > 1:
        frechet = frechet_distance(sample_features, features(classifier, reference))
    return SampleScores(float(probs.max(1).mean()), histogram.tolist(), class_entropy(histogram), frechet)
