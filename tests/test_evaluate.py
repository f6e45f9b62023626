"""Evaluation metrics and the digit classifier."""

import numpy as np
import torch
from conftest import synthetic_digits

from mnistvec.evaluation.metrics import iou_at_half
from mnistvec.evaluation.scores import frechet_distance, score_reconstructions
from mnistvec.models.classifier import load_classifier, predict, save_classifier
from mnistvec.raster import render_torch
from mnistvec.training.augment import random_shift
from mnistvec.training.classifier import train_classifier


def test_iou_at_half_on_hand_made_masks():
    a = np.zeros((3, 4, 4), np.float32)
    b = np.zeros((3, 4, 4), np.float32)
    a[0, :2] = 1.0  # 8 pixels
    b[0, 1:3] = 0.9  # 8 pixels, 4 shared -> 4 / 12
    a[1, 0, 0] = 1.0  # disjoint -> 0
    b[1, 3, 3] = 1.0
    np.testing.assert_allclose(iou_at_half(a, b), [1 / 3, 0.0, 1.0])  # both empty -> 1


def bars(count, seed):
    """Two classes the classifier must tell apart: horizontal (0) and vertical (1) bars, anywhere."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=g)
    pos = torch.rand(count, generator=g) * 0.5 + 0.25
    lo, hi = torch.full((count,), 0.2), torch.full((count,), 0.8)
    horizontal = torch.stack([lo, pos, hi, pos], -1)
    vertical = torch.stack([pos, lo, pos, hi], -1)
    lines = torch.where(labels.view(-1, 1) == 0, horizontal, vertical).unsqueeze(1)
    images = render_torch(lines, torch.full((count, 1), 0.1), torch.ones(count, 1), 28, "exact")
    return images.numpy(), labels.numpy()


def test_classifier_learns_and_round_trips(tmp_path):
    x, y = bars(256, 0)
    model = train_classifier(x, y, tmp_path, epochs=6, batch_size=32, lr=3e-3)
    tx, ty = bars(200, 1)
    probs = predict(model, tx)
    assert probs.shape == (200, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == ty).mean() > 0.95
    save_classifier(model, tmp_path / "c.pt", {"test": 1.0})
    np.testing.assert_allclose(predict(load_classifier(tmp_path / "c.pt"), tx), probs, atol=1e-6)
    scores = score_reconstructions(tx, tx, ty, model)
    assert scores.mse == 0 and scores.iou == 1 and scores.accuracy == scores.original_accuracy > 0.95
    blank = score_reconstructions(tx, np.zeros_like(tx), ty, model)
    assert blank.mse > 0 and blank.iou == 0 and blank.accuracy < 0.7


def test_random_shift_moves_content_within_bounds():
    image = torch.zeros(1, 28, 28)
    image[0, 14, 14] = 1
    g = torch.Generator().manual_seed(0)
    seen = {tuple(torch.nonzero(random_shift(image, g, 2)[0])[0].tolist()) for _ in range(60)}
    assert len(seen) > 10 and all(12 <= r <= 16 and 12 <= c <= 16 for r, c in seen)


def test_the_frechet_distance_is_zero_for_one_set_and_the_squared_mean_shift_for_a_moved_one():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 5))
    assert abs(frechet_distance(a, a)) < 1e-9
    shift = np.array([1.0, 2.0, 0.0, 0.0, 0.0])
    assert abs(frechet_distance(a, a + shift) - 5.0) < 1e-6
    wide = frechet_distance(a, a * 3.0)  # same mean, std 3: 5 * (1 + 9 - 2 * 3) = 20
    assert abs(wide - 20.0) < 0.5


def test_agreement_counts_reconstructions_read_as_their_originals_are():
    originals = synthetic_digits(40, seed=5)
    classifier = load_classifier()
    same = score_reconstructions(originals, originals, None, classifier)
    assert same.agreement == 1.0 and same.frechet < 1e-3
    blank = score_reconstructions(originals, np.zeros_like(originals), None, classifier)
    assert blank.agreement < 0.5 and blank.frechet > 1.0
