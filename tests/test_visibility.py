"""Stroke hygiene: strokes nobody can see are found, and what is left draws the same picture."""

import numpy as np
import pytest
from conftest import random_strokes
from hypothesis import given, settings
from hypothesis import strategies as st

from mnistvec.raster import render_numpy
from mnistvec.raster.native import native_available
from mnistvec.raster.visibility import VISIBLE, visible_strokes, visible_strokes_numpy, without_invisible

needs_native = pytest.mark.skipif(not native_available(), reason="native library not built")


def drawing(lines, widths, opacity):
    return render_numpy(lines, widths, opacity, 28, 28, 28.0)


def one_image(*strokes):
    """[1, N, ...] arrays of strokes given as (x0, y0, x1, y1, width, opacity) in canvas units."""
    rows = np.array(strokes, np.float32)
    return rows[None, :, :4], rows[None, :, 4], rows[None, :, 5]


def test_a_faint_stroke_is_invisible_and_a_clear_one_is_not():
    lines, widths, opacity = one_image((0.2, 0.2, 0.8, 0.2, 0.08, 1.0), (0.2, 0.7, 0.8, 0.7, 0.08, 0.002))
    assert visible_strokes(lines, widths, opacity).tolist() == [[True, False]]


def test_two_identical_strokes_both_stay_because_together_they_darken_the_edges():
    """Pixels, not shapes, decide: where the strokes cover a pixel partly, two of them give more ink."""
    lines, widths, opacity = one_image((0.2, 0.5, 0.8, 0.5, 0.1, 1.0), (0.2, 0.5, 0.8, 0.5, 0.1, 1.0))
    assert visible_strokes(lines, widths, opacity).all()


def test_many_faint_strokes_together_are_kept_where_they_add_up():
    """Each of 12 strokes alone changes pixels by under 1/255, but all of them together do: some stay."""
    faint = [(0.2, 0.5, 0.8, 0.5, 0.1, 0.6 / 255)] * 12
    lines, widths, opacity = one_image(*faint)
    keep = visible_strokes(lines, widths, opacity)
    assert 0 < keep.sum() < 12
    gap = np.abs(drawing(lines, widths, opacity) - drawing(lines, widths, np.where(keep, opacity, 0))).max()
    assert gap < VISIBLE


def test_a_stroke_buried_under_an_opaque_one_is_invisible():
    lines, widths, opacity = one_image((0.1, 0.5, 0.9, 0.5, 0.3, 1.0), (0.3, 0.5, 0.7, 0.5, 0.05, 0.7))
    assert visible_strokes(lines, widths, opacity).tolist() == [[True, False]]


def test_strokes_that_draw_nothing_are_invisible():
    lines, widths, opacity = one_image(
        (0.2, 0.2, 0.8, 0.8, 0.05, 0.0), (0.2, 0.2, 0.8, 0.8, 0.0, 1.0), (3.0, 3.0, 4.0, 4.0, 0.05, 1.0)
    )
    assert not visible_strokes(lines, widths, opacity).any()


def test_without_invisible_keeps_the_number_of_strokes():
    lines, widths, opacity = random_strokes(3, 5, 8)
    opacity[:, :3] = 1e-4
    pruned = without_invisible(lines, widths, opacity)
    assert pruned.shape == opacity.shape and (pruned[:, :3] == 0).all()
    assert ((pruned == 0) | (pruned == opacity)).all()


@needs_native
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_lines=st.integers(1, 12), faint=st.floats(0.0, 0.05))
def test_native_and_numpy_agree_and_the_picture_stays_within_one_grey_level(seed, n_lines, faint):
    lines, widths, opacity = random_strokes(seed, 6, n_lines)
    rng = np.random.default_rng(seed)
    opacity = np.where(rng.random(opacity.shape) < 0.4, opacity * faint, opacity).astype(np.float32)
    keep = visible_strokes(lines, widths, opacity)
    np.testing.assert_array_equal(keep, visible_strokes_numpy(lines, widths, opacity))
    gap = np.abs(drawing(lines, widths, opacity) - drawing(lines, widths, np.where(keep, opacity, 0))).max()
    assert gap < VISIBLE
