"""Per-image distances: BCE, IoU and the chamfer distance of the ink, against hand-computed values."""

import math

import numpy as np
import pytest

from mnistvec.evaluation.metrics import bce, chamfer, iou_at_half, mse


def canvas(*points, size=28):
    image = np.zeros((size, size), np.float32)
    for r, c in points:
        image[r, c] = 1.0
    return image


def test_chamfer_of_single_pixels_is_their_distance():
    a = np.stack([canvas((5, 5)), canvas((0, 0))])
    b = np.stack([canvas((8, 9)), canvas((0, 0))])
    assert chamfer(a, b) == pytest.approx([5.0, 0.0])


def test_chamfer_is_symmetric_and_averages_both_directions():
    """A = {(0,0), (0,10)}, B = {(0,0)}: A->B mean (0 + 10)/2 = 5, B->A 0, so 2.5."""
    a, b = canvas((0, 0), (0, 10))[None], canvas((0, 0))[None]
    assert chamfer(a, b) == pytest.approx([2.5]) and chamfer(b, a) == pytest.approx([2.5])


def test_chamfer_with_one_empty_image_is_the_diagonal_and_both_empty_is_zero():
    empty, dot = np.zeros((1, 28, 28), np.float32), canvas((3, 3))[None]
    assert chamfer(dot, empty) == pytest.approx([math.hypot(28, 28)])
    assert chamfer(empty, empty) == pytest.approx([0.0])


def test_chamfer_chunks_give_the_same_answer():
    rng = np.random.default_rng(0)
    a, b = (rng.random((70, 28, 28)) > 0.9).astype(np.float32), (rng.random((70, 28, 28)) > 0.9).astype(np.float32)
    assert np.allclose(chamfer(a, b, chunk=7), chamfer(a, b, chunk=64))


def test_bce_iou_and_mse_on_known_images():
    x = np.array([[[1.0, 0.0], [1.0, 0.0]]], np.float32)
    y = np.array([[[0.5, 0.5], [1.0, 0.0]]], np.float32)
    assert bce(x, y) == pytest.approx([2 * math.log(2) / 4], rel=1e-4)
    assert mse(x, y) == pytest.approx([0.125])
    assert iou_at_half(x, y) == pytest.approx([0.5])  # 0.5 is not above 0.5: one shared pixel of two
