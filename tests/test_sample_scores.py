"""Sample-quality scores: the class entropy and the confidence under a classifier."""

import math

import numpy as np
import pytest
import torch

from mnistvec.evaluation.scores import class_entropy, score_samples
from mnistvec.models.classifier import DigitClassifier


def test_class_entropy_of_uniform_single_and_two_classes():
    assert class_entropy(np.full(10, 100)) == pytest.approx(math.log(10))
    assert class_entropy(np.array([5, 0, 0, 0, 0, 0, 0, 0, 0, 0])) == 0.0
    assert class_entropy(np.array([1, 1] + [0] * 8)) == pytest.approx(math.log(2))


def test_score_samples_counts_every_sample_once():
    torch.manual_seed(0)
    scores = score_samples(np.random.default_rng(0).random((50, 28, 28), dtype=np.float32), DigitClassifier().eval())
    assert sum(scores.histogram) == 50 and len(scores.histogram) == 10
    assert 0.1 <= scores.confidence <= 1.0
    assert scores.entropy == pytest.approx(class_entropy(np.array(scores.histogram)))
