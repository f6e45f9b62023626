"""The native renderer draws the pixel formula of `coverage.py`: the same images as the torch exact renderer,
hostile input never breaks it, and malformed arguments are refused before the library is called."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest
import torch
from conftest import random_strokes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnistvec.raster import native
from mnistvec.raster.exact import render_exact_px
from mnistvec.raster.native import load_library, native_available, render_native

needs_native = pytest.mark.skipif(
    not native_available(),
    reason="the native library mnistvec._native is not built (install the package with a Rust toolchain)",
)

TOLERANCE = 1e-3


def exact(lines, widths, opacity, height, width, scale):
    """The torch reference in pixel units: endpoints * scale, radius = width * scale / 2."""
    lines_px = torch.from_numpy(np.asarray(lines, dtype=np.float32)) * scale
    radius = torch.from_numpy(np.asarray(widths, dtype=np.float32)) * scale / 2.0
    alpha = torch.from_numpy(np.asarray(opacity, dtype=np.float32))
    return render_exact_px(lines_px, radius, alpha, height, width).numpy()


def one(lines, widths, opacity, size=28, scale=None, threads=0):
    """Render a single image from lists of strokes."""
    return render_native(
        np.array([lines], dtype=np.float32),
        np.array([widths], dtype=np.float32),
        np.array([opacity], dtype=np.float32),
        size,
        size,
        float(size if scale is None else scale),
        threads,
    )[0]


def awkward_strokes(seed: int, batch: int, n_lines: int):
    """Random strokes with the cases that need care mixed in: zero-length segments, axis-aligned and
    45-degree lines, lines partly outside the canvas, zero widths, opacity 0 and 1."""
    rng = np.random.default_rng(seed)
    lines = rng.uniform(-0.25, 1.25, (batch, n_lines, 4)).astype(np.float32)
    widths = rng.uniform(0.0, 0.12, (batch, n_lines)).astype(np.float32)
    opacity = rng.uniform(0.0, 1.0, (batch, n_lines)).astype(np.float32)
    kind = rng.integers(0, 8, (batch, n_lines))
    x0, y0 = lines[..., 0], lines[..., 1]
    offset = rng.uniform(-0.5, 0.5, (batch, n_lines)).astype(np.float32)
    lines[..., 2] = np.where(kind == 0, x0, lines[..., 2])  # zero length
    lines[..., 3] = np.where(kind == 0, y0, lines[..., 3])
    lines[..., 3] = np.where(kind == 1, y0, lines[..., 3])  # horizontal
    lines[..., 2] = np.where(kind == 2, x0, lines[..., 2])  # vertical
    lines[..., 2] = np.where(kind == 3, x0 + offset, lines[..., 2])  # 45 degrees
    lines[..., 3] = np.where(kind == 3, y0 + offset, lines[..., 3])
    opacity = np.where(kind == 4, 0.0, opacity).astype(np.float32)
    opacity = np.where(kind == 5, 1.0, opacity).astype(np.float32)
    widths = np.where(kind == 6, 0.0, widths).astype(np.float32)
    return lines, widths, opacity


# Agreement with the torch exact renderer.


@needs_native
@pytest.mark.parametrize(("size", "batch"), [(28, 200), (64, 60), (112, 30)])
def test_matches_the_exact_renderer_on_awkward_strokes(size, batch):
    lines, widths, opacity = awkward_strokes(size, batch, 16)
    got = render_native(lines, widths, opacity, size, size, float(size))
    want = exact(lines, widths, opacity, size, size, float(size))
    assert got.shape == (batch, size, size) and got.dtype == np.float32
    assert np.abs(got - want).max() <= TOLERANCE
    assert want.max() > 0.9  # the comparison is not between two blank batches


@needs_native
def test_matches_the_exact_renderer_on_encoder_like_strokes_and_a_non_square_image():
    lines, widths, opacity = random_strokes(3, 50, 16)
    got = render_native(lines, widths, opacity, 40, 24, 30.0)
    want = exact(lines, widths, opacity, 40, 24, 30.0)
    assert got.shape == (50, 40, 24)
    assert np.abs(got - want).max() <= TOLERANCE


@needs_native
def test_matches_the_exact_renderer_with_many_strokes_per_image():
    rng = np.random.default_rng(11)
    n_lines = 20_000
    lines = rng.uniform(0.0, 1.0, (2, n_lines, 4)).astype(np.float32)
    widths = np.full((2, n_lines), 0.01, dtype=np.float32)
    opacity = np.full((2, n_lines), 0.02, dtype=np.float32)
    got = render_native(lines, widths, opacity, 16, 16, 16.0)
    want = exact(lines, widths, opacity, 16, 16, 16.0)
    assert np.abs(got - want).max() <= TOLERANCE
    assert 0.2 < float(got.mean()) < 0.99


# Values checked by hand.


@needs_native
def test_two_pixel_horizontal_stroke_on_a_pixel_boundary_fills_exactly_two_rows():
    # y = 14 px is the boundary between rows 13 and 14; a width of 2 px covers exactly those rows.
    img = one([[-1.0, 14.0, 29.0, 14.0]], [2.0], [1.0], size=28, scale=1.0)
    assert img[13].min() >= 1.0 - 1.0 / 256.0 and img[14].min() >= 1.0 - 1.0 / 256.0
    assert img[12].max() <= 1.0 / 256.0 and img[15].max() <= 1.0 / 256.0  # the B_MIN widening only
    assert img[:12].max() == 0.0 and img[16:].max() == 0.0


@pytest.mark.parametrize(
    ("lines", "widths", "opacity"),
    [
        ([[0.1, 0.1, 0.9, 0.9]], [0.0], [1.0]),
        ([[0.1, 0.1, 0.9, 0.9]], [-0.5], [1.0]),
        ([[0.1, 0.1, 0.9, 0.9]], [0.1], [0.0]),
        ([[0.1, 0.1, 0.9, 0.9]], [0.1], [-2.0]),
        ([[1.5, 1.5, 2.5, 1.7]], [0.1], [1.0]),
        ([[-1.0, 0.5, -0.2, 0.5]], [0.1], [1.0]),
    ],
    ids=["zero-width", "negative-width", "zero-opacity", "negative-opacity", "outside", "left-of-canvas"],
)
@needs_native
def test_invisible_strokes_draw_nothing(lines, widths, opacity):
    assert one(lines, widths, opacity).max() == 0.0


@needs_native
@pytest.mark.parametrize("angle", [0.0, 0.3, math.pi / 4, 1.1, math.pi / 2])
def test_total_ink_is_the_capsule_area(angle):
    """An opaque stroke's pixel values add up to its area pi r^2 + 2 r L, at any angle."""
    r, length = 1.3, 12.0
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    img = one([[32.0 - dx, 32.0 - dy, 32.0 + dx, 32.0 + dy]], [2 * r], [1.0], size=64, scale=1.0)
    assert float(img.sum()) == pytest.approx(math.pi * r * r + 2 * r * length, rel=0.01)


@needs_native
def test_overlapping_strokes_composite_like_svg():
    """Two half-opaque strokes over the same pixels: 1 - (1 - 0.5)^2 = 0.75."""
    img = one([[2.0, 14.0, 26.0, 14.0], [2.0, 14.0, 26.0, 14.0]], [6.0, 6.0], [0.5, 0.5], scale=1.0)
    assert float(img[14, 14]) == pytest.approx(0.75, abs=1e-6)


@needs_native
def test_opacity_above_one_counts_as_one():
    base = one([[0.2, 0.3, 0.8, 0.6]], [0.1], [1.0])
    assert np.array_equal(one([[0.2, 0.3, 0.8, 0.6]], [0.1], [5.0]), base)
    assert base.max() == pytest.approx(1.0, abs=1e-6)


@needs_native
def test_result_does_not_depend_on_the_thread_count():
    lines, widths, opacity = awkward_strokes(5, 300, 12)
    reference = render_native(lines, widths, opacity, 28, 28, 28.0, threads=1)
    assert reference.max() > 0.9
    for threads in (0, 2, 4, 7):
        assert np.array_equal(render_native(lines, widths, opacity, 28, 28, 28.0, threads=threads), reference)


@needs_native
def test_images_are_independent_of_their_batch():
    lines, widths, opacity = random_strokes(4, 10, 16)
    batch = render_native(lines, widths, opacity, 28, 28, 28.0)
    alone = render_native(lines[6:7], widths[6:7], opacity[6:7], 28, 28, 28.0)
    assert np.array_equal(batch[6:7], alone)


@needs_native
def test_huge_but_finite_strokes_behave():
    # A horizontal line with endpoints at +-1e30 still crosses the canvas.
    img = one([[-1e30, 0.5, 1e30, 0.5]], [0.1], [1.0])
    assert img[14, :].min() > 0.9 and img[0].max() == 0.0
    # A huge width covers every pixel.
    assert one([[0.5, 0.5, 0.6, 0.5]], [1e30], [1.0]).min() == 1.0
    # Values that overflow float32 once scaled skip the stroke.
    assert one([[3e38, 0.5, 0.5, 0.5]], [0.1], [1.0]).max() == 0.0


@needs_native
def test_input_layout_and_dtype_do_not_change_the_image():
    lines, widths, opacity = random_strokes(9, 6, 8)
    reference = render_native(lines, widths, opacity, 28, 28, 28.0)
    as_double = render_native(lines.astype(np.float64), widths.astype(np.float64), opacity.tolist(), 28, 28, 28.0)
    assert np.array_equal(as_double, reference)
    wide = np.zeros((6, 8, 8), dtype=np.float32)
    wide[..., ::2] = lines
    strided = wide[..., ::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(render_native(strided, widths, opacity, 28, 28, 28.0), reference)


# Hostile input through render_native.

SPECIAL_VALUES = [math.nan, math.inf, -math.inf, 1e30, -1e30, 3e38, -3e38, 0.0, -0.0, 1e-40, 1e-6, 0.5, 1.0, -1.0]
hostile_floats = st.one_of(
    st.floats(-2.0, 2.0, width=32),
    st.sampled_from(SPECIAL_VALUES),
    st.floats(width=32, allow_nan=True, allow_infinity=True),
)


@st.composite
def hostile_batches(draw):
    batch = draw(st.integers(0, 5))
    n_lines = draw(st.integers(0, 50))
    height = draw(st.integers(0, 64))
    width = draw(st.integers(0, 64))
    lines = draw(hnp.arrays(np.float32, (batch, n_lines, 4), elements=hostile_floats))
    widths = draw(hnp.arrays(np.float32, (batch, n_lines), elements=hostile_floats))
    opacity = draw(hnp.arrays(np.float32, (batch, n_lines), elements=hostile_floats))
    scale = draw(st.one_of(st.sampled_from([1.0, 28.0, 64.0]), st.floats(1e-3, 1e6)))
    return lines, widths, opacity, height, width, scale


@needs_native
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_batches(), st.integers(0, 4))
def test_hostile_input_gives_finite_images_in_the_unit_interval(case, threads):
    lines, widths, opacity, height, width, scale = case
    out = render_native(lines, widths, opacity, height, width, scale, threads)
    assert out.shape == (lines.shape[0], height, width)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert (out >= 0.0).all() and (out <= 1.0).all()


@needs_native
@settings(max_examples=100, deadline=None)
@given(hostile_batches(), st.randoms(use_true_random=False))
def test_stroke_order_does_not_matter(case, random):
    lines, widths, opacity, height, width, scale = case
    order = list(range(lines.shape[1]))
    random.shuffle(order)
    out = render_native(lines, widths, opacity, height, width, scale)
    shuffled = render_native(lines[:, order], widths[:, order], opacity[:, order], height, width, scale)
    np.testing.assert_allclose(shuffled, out, atol=1e-5)


@needs_native
def test_strokes_split_in_two_halves_composite_to_the_whole():
    """1 - (1 - first half)(1 - second half) = all strokes at once, for 100,000 strokes."""
    rng = np.random.default_rng(2)
    n_lines = 100_000
    lines = rng.uniform(-0.1, 1.1, (1, n_lines, 4)).astype(np.float32)
    widths = rng.uniform(0.0, 0.02, (1, n_lines)).astype(np.float32)
    opacity = rng.uniform(0.0, 0.004, (1, n_lines)).astype(np.float32)
    whole = render_native(lines, widths, opacity, 32, 32, 32.0)
    half = n_lines // 2
    first = render_native(lines[:, :half], widths[:, :half], opacity[:, :half], 32, 32, 32.0)
    second = render_native(lines[:, half:], widths[:, half:], opacity[:, half:], 32, 32, 32.0)
    np.testing.assert_allclose(whole, 1.0 - (1.0 - first) * (1.0 - second), atol=1e-4)
    assert 0.1 < float(whole.mean()) < 0.99


# Validation happens in Python, before the library is called.


def arrays(batch=2, n_lines=3):
    return (
        np.zeros((batch, n_lines, 4), np.float32),
        np.zeros((batch, n_lines), np.float32),
        np.zeros((batch, n_lines), np.float32),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: (a[0][0], a[1], a[2]), "lines must have shape"),
        (lambda a: (a[0][..., :3], a[1], a[2]), "lines must have shape"),
        (lambda a: (a[0], a[1][:, :2], a[2]), "widths must have shape"),
        (lambda a: (a[0], a[1], a[2][None]), "opacity must have shape"),
        (lambda a: (a[0].astype(np.complex64), a[1], a[2]), "lines must hold real numbers"),
        (lambda a: (a[0], a[1].astype(object), a[2]), "widths must hold real numbers"),
        (lambda a: (a[0], a[1], np.full((2, 3), "x")), "opacity must hold real numbers"),
        (lambda a: (a[0], a[1], a[2].astype(bool)), "opacity must hold real numbers"),
    ],
)
def test_malformed_arrays_are_refused(change, message):
    lines, widths, opacity = change(arrays())
    with pytest.raises(ValueError, match=message):
        render_native(lines, widths, opacity, 28, 28, 28.0)


@pytest.mark.parametrize(
    ("height", "width", "scale", "threads", "message"),
    [
        (-1, 28, 28.0, 0, "height"),
        (28, 2.5, 28.0, 0, "width"),
        (True, 28, 28.0, 0, "height"),
        (28, 28, 0.0, 0, "scale"),
        (28, 28, -3.0, 0, "scale"),
        (28, 28, math.nan, 0, "scale"),
        (28, 28, math.inf, 0, "scale"),
        (28, 28, 1e-50, 0, "scale"),
        (28, 28, "big", 0, "scale"),
        (2**31, 0, 28.0, 0, "height must be below"),
        (28, 28, 28.0, -1, "threads"),
        (28, 28, 28.0, 2**32, "threads"),
    ],
)
def test_bad_sizes_and_scales_are_refused(height, width, scale, threads, message):
    with pytest.raises(ValueError, match=message):
        render_native(*arrays(), height, width, scale, threads)


def test_outputs_beyond_eight_gibibytes_are_refused():
    with pytest.raises(ValueError, match="bytes"):
        render_native(*arrays(batch=1), 1 << 16, 1 << 15 | 1, 1.0)


def test_contiguous_float32_input_is_not_copied():
    lines = np.zeros((2, 3, 4), np.float32)
    assert native._as_c_floats(lines) is lines
    converted = native._as_c_floats(lines.astype(np.float64))
    assert converted.dtype == np.float32 and converted.flags.c_contiguous


def test_library_failure_is_reported_with_its_code(monkeypatch):
    class FailingLibrary:
        @staticmethod
        def mnistvec_render(*args):
            return -3

    monkeypatch.setattr(native, "load_library", lambda: FailingLibrary())
    with pytest.raises(RuntimeError, match=r"code -3 \(panic inside the renderer\)"):
        render_native(*arrays(), 4, 4, 4.0)


def test_missing_library_is_reported(monkeypatch):
    monkeypatch.setattr(native, "load_library", lambda: None)
    with pytest.raises(RuntimeError, match="not built"):
        render_native(*arrays(), 4, 4, 4.0)


def test_a_file_that_is_not_a_library_is_ignored(tmp_path):
    bogus = tmp_path / "_native.so"
    bogus.write_bytes(b"not a shared library")
    assert native._open_library(bogus) is None


@pytest.fixture
def fresh_library_cache():
    """Forget the loaded library before and after the test, so that it is looked for again."""
    load_library.cache_clear()
    yield
    load_library.cache_clear()


@needs_native
def test_the_environment_can_name_the_library_file(monkeypatch, tmp_path, fresh_library_cache):
    package_library = load_library()._name
    load_library.cache_clear()
    monkeypatch.setenv(native.LIBRARY_ENV, package_library)
    assert load_library()._name == package_library
    load_library.cache_clear()
    monkeypatch.setenv(native.LIBRARY_ENV, str(tmp_path / "missing.so"))
    assert load_library() is None  # only the named file is tried


# The C ABI itself.


@needs_native
def test_abi_reports_version_five_and_refuses_null_pointers():
    library = load_library()
    assert library.mnistvec_abi_version() == 5
    values = np.zeros(4, np.float32)
    pointer = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    out = np.zeros(4, np.float32)
    out_pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    assert library.mnistvec_render(None, pointer, pointer, 1, 1, 2, 2, 1.0, 1, out_pointer) == -1
    assert library.mnistvec_render(pointer, pointer, pointer, 1, 1, 2, 2, 1.0, 1, None) == -1
    assert library.mnistvec_render(pointer, pointer, pointer, 2**63, 2**62, 2, 2, 1.0, 1, out_pointer) == -2
    assert library.mnistvec_render(pointer, pointer, pointer, 1, 1, 2, 2, 0.0, 1, out_pointer) == -4
    assert library.mnistvec_render(None, None, None, 0, 5, 28, 28, 1.0, 0, None) == 0
    # Empty however large the other sizes, even where batch * height alone overflows.
    assert library.mnistvec_render(None, None, None, 2**62, 0, 28, 0, 1.0, 0, None) == 0
