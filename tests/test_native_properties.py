"""Properties of the native renderer on random input: hostile values, sizes and layouts never make it crash,
write outside its output, read outside its inputs or return a pixel outside [0, 1]; ordinary input gives
the torch exact renderer's image. The same for the soft renderer's forward and backward passes: finite
images and finite gradients for every stroke it draws, nothing read or written outside the arrays, and
the torch soft renderer's images on ordinary input. `fuzz_native.py` checks the same for longer, outside
the suite."""

from __future__ import annotations

import ctypes
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from fuzz_native import SOFT_SPECIAL, SPECIAL, SPECIAL_SCALES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from native_guards import (
    INK_FILL,
    NAN_FILL,
    SOFT_INK_FILL,
    SOFT_NAN_FILL,
    GuardViolation,
    image_problems,
    render_guarded,
    soft_gradient_problems,
    soft_guarded,
    soft_problems,
)

from mnistvec.raster.exact import render_exact_px
from mnistvec.raster.native import load_library, native_available, render_native, soft_backward, soft_forward
from mnistvec.raster.soft import render_soft_torch_px

needs_native = pytest.mark.skipif(not native_available(), reason="the native library mnistvec._native is not built")

FAST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

hostile_floats = st.one_of(
    st.floats(-2.0, 2.0, width=32),
    st.sampled_from(SPECIAL.tolist()),
    st.floats(width=32),  # subnormals, NaN, infinities, anything
)
scales = st.one_of(st.sampled_from(SPECIAL_SCALES), st.floats(1e-3, 1e4))


@st.composite
def hostile_cases(draw):
    """(lines, widths, opacity, height, width, scale): zero sizes allowed, values from `hostile_floats`."""
    batch, n_lines = draw(st.integers(0, 4)), draw(st.integers(0, 30))
    height, width = draw(st.integers(0, 48)), draw(st.integers(0, 48))
    arrays = [
        draw(hnp.arrays(np.float32, shape, elements=hostile_floats))
        for shape in ((batch, n_lines, 4), (batch, n_lines), (batch, n_lines))
    ]
    return (*arrays, height, width, draw(scales))


def on_grid(lo: float, hi: float):
    """Floats in [lo, hi], with magnitudes below 1e-6 made 0 (no segment so short that float32 torch and
    the native renderer's float64 set-up disagree on its direction)."""
    return st.floats(lo, hi, width=32).map(lambda v: 0.0 if abs(v) < 1e-6 else v)


@st.composite
def ordinary_cases(draw):
    """Strokes near the canvas at a scale near the image size, with zero and negative widths and opacities
    outside [0, 1] (both renderers clamp them the same way)."""
    batch, n_lines = draw(st.integers(1, 4)), draw(st.integers(0, 12))
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    lines = draw(hnp.arrays(np.float32, (batch, n_lines, 4), elements=on_grid(-0.5, 1.5)))
    widths = draw(hnp.arrays(np.float32, (batch, n_lines), elements=on_grid(-0.0625, 0.3125)))
    opacity = draw(hnp.arrays(np.float32, (batch, n_lines), elements=st.floats(-0.5, 1.5, width=32)))
    scale = max(height, width, 1) * draw(st.floats(0.5, 2.0))
    return lines, widths, opacity, height, width, scale


def exact(lines, widths, opacity, height, width, scale):
    lines, widths, opacity = (torch.from_numpy(a) for a in (lines, widths, opacity))
    return render_exact_px(lines * scale, widths * scale / 2.0, opacity, height, width).numpy()


@needs_native
@FAST
@given(hostile_cases(), st.integers(0, 4))
def test_hostile_input_renders_inside_its_output_only(case, threads):
    lines, widths, opacity, height, width, scale = case
    out = render_native(*case, threads)
    assert image_problems(out, (lines.shape[0], height, width)) == []
    code, guarded = render_guarded(load_library(), *case, threads=threads, fill=NAN_FILL)
    assert code == 0
    assert np.array_equal(guarded.view(np.uint32), out.view(np.uint32))


@needs_native
@FAST
@given(hostile_cases())
def test_inputs_are_read_within_their_bounds_only(case):
    """Strokes that cover every pixel lie just past each input; reading one would change the image."""
    out = render_native(*case, threads=1)
    code, guarded = render_guarded(load_library(), *case, threads=3, fill=INK_FILL)
    assert code == 0
    assert np.array_equal(guarded.view(np.uint32), out.view(np.uint32))


@needs_native
@settings(FAST, max_examples=100)
@given(ordinary_cases())
def test_ordinary_input_matches_the_exact_renderer(case):
    got = render_native(*case)
    want = exact(*case)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-3


@needs_native
@pytest.mark.parametrize(
    ("batch", "n_lines", "height", "width"),
    [(0, 5, 28, 28), (3, 5, 0, 28), (3, 5, 28, 0), (0, 0, 0, 0), (2, 3, 2**31 - 1, 0), (0, 1, 2**31 - 1, 2**30)],
)
def test_zero_size_outputs_are_empty_arrays_of_that_shape(batch, n_lines, height, width):
    lines = np.full((batch, n_lines, 4), np.nan, np.float32)
    strokes = np.full((batch, n_lines), 1e30, np.float32)
    out = render_native(lines, strokes, strokes, height, width, 28.0)
    assert out.shape == (batch, height, width) and out.dtype == np.float32 and out.size == 0


@pytest.mark.parametrize(("batch", "height", "width"), [(0, 2**31 - 1, 2**31 - 1), (2**40, 2**31 - 1, 0)])
def test_empty_outputs_numpy_cannot_shape_are_refused_clearly(batch, height, width):
    """numpy cannot make an empty array whose non-zero sides multiply past 2**63 bytes."""
    lines = np.broadcast_to(np.float32(0.5), (batch, 0, 4))
    strokes = np.broadcast_to(np.float32(0.5), (batch, 0))
    with pytest.raises(ValueError, match="empty output"):
        render_native(lines, strokes, strokes, height, width, 28.0)


@needs_native
def test_no_strokes_give_black_images():
    empty = np.zeros((3, 0), np.float32)
    out = render_native(np.zeros((3, 0, 4), np.float32), empty, empty, 5, 7, 7.0)
    assert out.shape == (3, 5, 7) and (out == 0.0).all()


def hostile_arrays(seed: int, batch: int, n_lines: int):
    """Random strokes, about a third of the values replaced by `SPECIAL` ones (every stroke kind occurs:
    visible, invisible, huge, NaN)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, (lo, hi) in (
        ((batch, n_lines, 4), (-0.5, 1.5)),
        ((batch, n_lines), (-0.01, 0.05)),
        ((batch, n_lines), (-0.2, 1.2)),
    ):
        values = rng.uniform(lo, hi, shape).astype(np.float32)
        special = rng.random(shape) < 0.3
        values[special] = rng.choice(SPECIAL, int(special.sum()))
        arrays.append(values)
    return arrays


@needs_native
def test_a_hundred_thousand_hostile_strokes_in_one_image():
    lines, widths, opacity = hostile_arrays(0, 1, 100_000)
    out = render_native(lines, widths, opacity, 28, 28, 28.0)
    assert image_problems(out, (1, 28, 28)) == []
    code, guarded = render_guarded(load_library(), lines, widths, opacity, 28, 28, 28.0, fill=INK_FILL)
    assert code == 0 and np.array_equal(guarded, out)


@needs_native
def test_a_batch_of_many_images_with_hostile_strokes():
    lines, widths, opacity = hostile_arrays(1, 20_000, 3)
    out = render_native(lines, widths, opacity, 12, 10, 11.0)
    assert image_problems(out, (20_000, 12, 10)) == []
    assert 0.0 < float(out.mean()) < 1.0
    code, guarded = render_guarded(load_library(), lines, widths, opacity, 12, 10, 11.0, threads=1)
    assert code == 0 and np.array_equal(guarded, out)


@needs_native
def test_unaligned_and_big_endian_inputs_give_the_same_image():
    lines, widths, opacity = hostile_arrays(4, 3, 20)
    reference = render_native(lines, widths, opacity, 20, 20, 20.0)
    raw = np.zeros(lines.nbytes + 1, np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(lines.shape)
    unaligned[...] = lines
    assert not unaligned.flags.aligned
    for variant in (unaligned, lines.astype(">f4")):
        assert np.array_equal(render_native(variant, widths, opacity, 20, 20, 20.0), reference)


@needs_native
def test_concurrent_calls_from_python_threads_agree_with_sequential_ones():
    """ctypes releases the GIL during the call: the library must be safe to enter from several threads."""
    batches = [hostile_arrays(seed, 50, 20) for seed in range(8)]
    sequential = [render_native(*batch, 24, 24, 24.0) for batch in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda batch: render_native(*batch, 24, 24, 24.0), batches))
    for want, got in zip(sequential, concurrent):
        assert np.array_equal(got, want)


# The guards themselves catch what they are meant to catch (no native library needed).


class WritesPastTheOutput:
    """Stands in for the library: fills its output and one float more."""

    @staticmethod
    def mnistvec_render(lines, widths, opacity, batch, n_lines, height, width, scale, threads, out):
        for k in range(batch * height * width + 1):
            out[k] = 0.0
        return 0


class WritesIntoAnInput:
    """Stands in for the library: zeros its output, then overwrites the first width."""

    @staticmethod
    def mnistvec_render(lines, widths, opacity, batch, n_lines, height, width, scale, threads, out):
        for k in range(batch * height * width):
            out[k] = 0.0
        ctypes.cast(widths, ctypes.POINTER(ctypes.c_float))[0] = 7.0
        return 0


@pytest.mark.parametrize("fake", [WritesPastTheOutput, WritesIntoAnInput])
def test_guards_catch_stray_writes(fake):
    lines, widths, opacity = hostile_arrays(2, 2, 3)
    with pytest.raises(GuardViolation):
        render_guarded(fake, lines, widths, opacity, 3, 4, 4.0)


def test_unwritten_pixels_are_reported():
    class WritesNothing:
        @staticmethod
        def mnistvec_render(*args):
            return 0

    _, out = render_guarded(WritesNothing, *hostile_arrays(3, 1, 2), 2, 2, 2.0)
    assert any("never written" in problem for problem in image_problems(out, (1, 2, 2)))


# The soft renderer (float64, pixel units, no clamping).

_ordinary_px = st.floats(-40.0, 40.0)  # negative radii included
soft_hostile_floats = st.one_of(
    _ordinary_px,
    _ordinary_px,
    _ordinary_px,  # (so that about half the strokes have six drawable values)
    st.sampled_from(SOFT_SPECIAL.tolist()),  # NaN, infinities, +-1e30, +-3e38, the 1e60 limit either side
    st.floats(),  # anything
)

_ordinary_alpha = st.floats(-2.0, 2.0)
bounded_alphas = st.one_of(
    _ordinary_alpha,
    _ordinary_alpha,
    _ordinary_alpha,
    st.sampled_from([math.nan, math.inf, -math.inf, 1.0000001e60, -1e61, 1e300, 0.0, -0.0, 1.0, 5e-324, 1e6, -1e6]),
    st.floats(-1e6, 1e6),
)
"""Opacities whose compositing stays finite in float64: |1 - alpha cov| <= 1 + 1e6 over at most 40
strokes multiplies to at most 1e241. (Larger ones make `1 - prod_k (1 - alpha_k cov_k)` overflow for a
few dozen strokes on one pixel, as the formula says; the guard property below draws those too.)"""

soft_sigmas = st.one_of(st.sampled_from([0.05, 0.3, 1.0, 3.0]), st.floats(1e-3, 1e3))
soft_tolerances = st.sampled_from([0.0, 1e-6, 1e-3, 0.5, 0.999])


@st.composite
def soft_hostile_cases(draw, alphas=soft_hostile_floats):
    """(lines, radius, alpha, height, width, sigma, tolerance, grad_images), zero sizes allowed."""
    batch, n_lines = draw(st.integers(0, 3)), draw(st.integers(0, 40))
    height, width = draw(st.integers(0, 12)), draw(st.integers(0, 12))
    lines = draw(hnp.arrays(np.float64, (batch, n_lines, 4), elements=soft_hostile_floats))
    radius = draw(hnp.arrays(np.float64, (batch, n_lines), elements=soft_hostile_floats))
    alpha = draw(hnp.arrays(np.float64, (batch, n_lines), elements=alphas))
    grad_images = draw(hnp.arrays(np.float64, (batch, height, width), elements=st.floats(-10.0, 10.0)))
    return lines, radius, alpha, height, width, draw(soft_sigmas), draw(soft_tolerances), grad_images


def soft_unguarded(case, threads):
    lines, radius, alpha, height, width, sigma, tolerance, grad_images = case
    images, product, zeros = soft_forward(lines, radius, alpha, height, width, sigma, tolerance, threads)
    grads = soft_backward(lines, radius, alpha, height, width, sigma, grad_images, product, zeros, tolerance, threads)
    return images, product, zeros, grads


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@needs_native
@FAST
@given(soft_hostile_cases(alphas=bounded_alphas), st.integers(0, 4))
def test_soft_hostile_input_gives_finite_images_and_gradients(case, threads):
    lines, radius, alpha, height, width = case[:5]
    images, product, zeros, grads = soft_unguarded(case, threads)
    assert soft_problems(images, product, zeros, (lines.shape[0], height, width)) == []
    assert soft_gradient_problems(grads, lines, radius, alpha) == []


@needs_native
@FAST
@given(soft_hostile_cases(), st.integers(0, 4))
def test_soft_calls_read_and_write_inside_their_arrays_only(case, threads):
    """With NaN, then opaque ink, around every input (strokes, loss gradient, state) and another thread
    count: nothing outside the outputs written, nothing read from outside the inputs, the same bits."""
    lines, radius, alpha, height, width, sigma, tolerance, grad_images = case
    images, product, zeros, grads = soft_unguarded(case, threads)
    assert soft_problems(images, product, zeros, (lines.shape[0], height, width), finite=False) == []
    assert soft_gradient_problems(grads, lines, radius, alpha, finite=False) == []
    for fill, count in ((SOFT_NAN_FILL, threads), (SOFT_INK_FILL, 3 - min(threads, 2))):
        result = soft_guarded(
            load_library(), lines, radius, alpha, height, width, sigma, tolerance, count, grad_images, fill
        )
        assert result.forward_code == 0 and result.backward_code == 0
        for got, want in zip(
            (result.images, result.product, result.zeros, result.grads), (images, product, zeros, grads)
        ):
            assert same_bits(got, want)


@st.composite
def soft_ordinary_cases(draw):
    """Strokes on and near a small canvas, zero and negative radii, opacities outside [0, 1]."""
    batch, n_lines = draw(st.integers(1, 3)), draw(st.integers(0, 12))
    height, width = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    side = max(height, width)
    lines = draw(hnp.arrays(np.float64, (batch, n_lines, 4), elements=st.floats(-0.5 * side, 1.5 * side)))
    radius = draw(hnp.arrays(np.float64, (batch, n_lines), elements=st.floats(-0.5, 0.2 * side + 1.0)))
    alpha = draw(hnp.arrays(np.float64, (batch, n_lines), elements=st.floats(-0.5, 1.5)))
    sigma = draw(st.one_of(st.sampled_from([0.05, 0.3, 1.0, 3.0]), st.floats(0.05, 3.0)))
    return lines, radius, alpha, height, width, sigma


@needs_native
@settings(FAST, max_examples=30)
@given(soft_ordinary_cases())
def test_soft_ordinary_input_matches_the_torch_soft_renderer(case):
    lines, radius, alpha, height, width, sigma = case
    images = soft_forward(lines, radius, alpha, height, width, sigma)[0]
    want = render_soft_torch_px(*(torch.from_numpy(a) for a in (lines, radius, alpha)), height, width, sigma)
    assert np.abs(images - want.numpy()).max() <= 1e-6


def soft_hostile_arrays(seed: int, batch: int, n_lines: int, size: float):
    """Random pixel-unit strokes with about a third of the values replaced by `SOFT_SPECIAL` ones, opacities
    kept in [0, 1] or skipped (so that every image and gradient must be finite)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, (lo, hi) in (
        ((batch, n_lines, 4), (-0.5 * size, 1.5 * size)),
        ((batch, n_lines), (-1.0, 3.0)),
        ((batch, n_lines), (0.0, 1.0)),
    ):
        values = rng.uniform(lo, hi, shape)
        special = rng.random(shape) < 0.3
        choices = SOFT_SPECIAL if hi > 1.0 else np.array([np.nan, np.inf, -np.inf, 1e61, 0.0, 1.0])
        values[special] = rng.choice(choices, int(special.sum()))
        arrays.append(values)
    return arrays


@needs_native
def test_soft_thousands_of_hostile_strokes_in_one_image():
    lines, radius, alpha = soft_hostile_arrays(0, 1, 3000, 28)
    grad_images = np.random.default_rng(1).standard_normal((1, 28, 28))
    images, product, zeros = soft_forward(lines, radius, alpha, 28, 28, 0.5)
    assert soft_problems(images, product, zeros, (1, 28, 28)) == []
    assert 0.0 < images.min() and images.max() <= 1.0  # strokes of radius 1e30 cover everything, some only partly
    grads = soft_backward(lines, radius, alpha, 28, 28, 0.5, grad_images, product, zeros)
    assert soft_gradient_problems(grads, lines, radius, alpha) == []
    result = soft_guarded(load_library(), lines, radius, alpha, 28, 28, 0.5, 1e-6, 2, grad_images, SOFT_INK_FILL)
    assert result.forward_code == 0 and result.backward_code == 0
    assert same_bits(result.images, images) and same_bits(result.grads, grads)


# The soft guards catch what they are meant to catch (no native library needed).


def _fake_soft_forward(args, extra: int = 0) -> int:
    """A fake forward pass's writes: images 0, product 1, zeros 0, and `extra` images more."""
    batch, height, width, (out, product, zeros) = args[3], args[5], args[6], args[10:13]
    for k in range(batch * height * width):
        out[k], product[k], zeros[k] = 0.0, 1.0, 0
    for k in range(extra):
        out[batch * height * width + k] = 0.0
    return 0


def _fake_soft_backward(args) -> int:
    """A fake backward pass's writes: zero gradients."""
    batch, n_lines, grads = args[3], args[4], args[-1]
    for k in range(batch * n_lines * 6):
        grads[k] = 0.0
    return 0


class SoftWritesPastTheImages:
    """Stands in for the library: fills the images and one double more."""

    mnistvec_soft_forward = staticmethod(lambda *args: _fake_soft_forward(args, extra=1))
    mnistvec_soft_backward = staticmethod(lambda *args: _fake_soft_backward(args))


class SoftWritesIntoTheState:
    """Stands in for the library: a forward pass that writes its outputs only, then a backward pass that
    also overwrites the first `product` value it was given to read."""

    mnistvec_soft_forward = staticmethod(lambda *args: _fake_soft_forward(args))

    @staticmethod
    def mnistvec_soft_backward(*args):
        _fake_soft_backward(args)
        ctypes.cast(args[11], ctypes.POINTER(ctypes.c_double))[0] = 7.0
        return 0


@pytest.mark.parametrize("fake", [SoftWritesPastTheImages, SoftWritesIntoTheState])
def test_soft_guards_catch_stray_writes(fake):
    lines, radius, alpha = soft_hostile_arrays(2, 2, 3, 4)
    with pytest.raises(GuardViolation):
        soft_guarded(fake, lines, radius, alpha, 3, 4, 0.5, 1e-6, 0, np.ones((2, 3, 4)))


def test_unwritten_soft_outputs_are_reported():
    class WritesNothing:
        @staticmethod
        def mnistvec_soft_forward(*args):
            return 0

        mnistvec_soft_backward = mnistvec_soft_forward

    lines, radius, alpha = soft_hostile_arrays(3, 1, 2, 4)
    result = soft_guarded(WritesNothing, lines, radius, alpha, 2, 2, 0.5, 1e-6, 0, np.ones((1, 2, 2)))
    assert any("never written" in p for p in soft_problems(result.images, result.product, result.zeros, (1, 2, 2)))
    assert any("never written" in p for p in soft_gradient_problems(result.grads, lines, radius, alpha))
