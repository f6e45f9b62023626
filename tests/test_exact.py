"""The torch exact renderer draws the pixel formula: coverage is area, compositing is SVG's."""

import math

import pytest
import torch

from mnistvec.raster.coverage import footprint_cdf
from mnistvec.raster.exact import render_exact_px


def one(lines, radius, alpha, size=28):
    return render_exact_px(
        torch.tensor([lines], dtype=torch.float32), torch.tensor([radius]), torch.tensor([alpha]), size, size
    )[0]


def test_horizontal_stroke_fills_exactly_the_rows_it_covers():
    img = one([[4.0, 14.0, 24.0, 14.0]], [1.0], [1.0])  # covers y in [13, 15]
    assert img[13, 8:20].min() > 0.99 and img[14, 8:20].min() > 0.99
    assert img[12, 8:20].max() < 0.003 and img[15, 8:20].max() < 0.003
    assert img[:, 0:2].max() == 0.0


@pytest.mark.parametrize("angle", [0.0, 0.3, math.pi / 4, 1.1, math.pi / 2])
def test_total_ink_is_the_capsule_area(angle):
    """Sum of pixel values of one opaque stroke = pi r^2 + 2 r L (its area), at any angle."""
    r, length = 1.3, 12.0
    cx, cy = 32.0, 32.0
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    img = one([[cx - dx, cy - dy, cx + dx, cy + dy]], [r], [1.0], size=64)
    area = math.pi * r * r + 2 * r * length
    assert float(img.sum()) == pytest.approx(area, rel=0.01)


def test_invisible_strokes_draw_nothing():
    assert one([[3.0, 3.0, 20.0, 20.0]], [0.0], [1.0]).max() == 0.0
    assert one([[3.0, 3.0, 20.0, 20.0]], [2.0], [0.0]).max() == 0.0
    assert one([[-30.0, -5.0, -10.0, -5.0]], [2.0], [1.0]).max() == 0.0


def test_overlapping_strokes_composite_like_svg():
    """Two half-opaque strokes over the same pixels: 1 - (1 - 0.5)^2 = 0.75."""
    img = one([[2.0, 14.0, 26.0, 14.0], [2.0, 14.0, 26.0, 14.0]], [3.0, 3.0], [0.5, 0.5])
    assert float(img[14, 14]) == pytest.approx(0.75, abs=1e-4)


def test_hostile_values_give_finite_images():
    lines = [[float("nan"), 1.0, 5.0, 5.0], [-1e30, 14.0, 1e30, 14.0], [0.0, 0.0, float("inf"), 3.0]]
    img = one(lines, [1.0, 1.0, float("inf")], [1.0, 1.0, 1.0])
    assert torch.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0
    assert img[14, 14] > 0.9  # the huge-but-finite horizontal stroke still crosses the canvas


def test_footprint_cdf_is_a_distribution():
    x = torch.linspace(-2, 2, 401)
    for a, b in [(1.0, 1 / 64), (0.8, 0.6), (0.7071, 0.7071)]:
        f = footprint_cdf(x, torch.tensor(a), torch.tensor(b))
        assert f[0] == 0 and f[-1] == 1
        assert (f[1:] - f[:-1] >= -1e-7).all()
        assert torch.allclose(f + footprint_cdf(-x, torch.tensor(a), torch.tensor(b)), torch.ones_like(x))


def test_empty_shapes():
    assert render_exact_px(torch.zeros(0, 3, 4), torch.zeros(0, 3), torch.zeros(0, 3), 5, 5).shape == (0, 5, 5)
    assert render_exact_px(torch.zeros(2, 0, 4), torch.zeros(2, 0), torch.zeros(2, 0), 5, 7).shape == (2, 5, 7)
    assert render_exact_px(torch.zeros(2, 3, 4), torch.zeros(2, 3), torch.zeros(2, 3), 0, 7).numel() == 0
