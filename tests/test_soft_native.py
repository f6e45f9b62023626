"""The native soft renderer draws the soft formula of `soft.py` and differentiates it by hand: the same images
and gradients as the torch reference (in float64) on every kind of stroke, size, blur and stroke count; its
span limit stays within its tolerance; the thread count changes no bit; strokes it cannot draw are skipped;
a pixel made opaque by one stroke keeps the others' gradients finite; arguments are checked; and
`render_soft_px` runs it on the CPU, falling back to torch with one warning when the library is missing."""

from __future__ import annotations

import ctypes
import math
import warnings

import numpy as np
import pytest
import torch

from mnistvec.raster import native, soft
from mnistvec.raster.native import load_library, native_available, soft_backward, soft_forward
from mnistvec.raster.soft import render_soft_px, render_soft_torch_px
from mnistvec.raster.soft_native import render_soft_native_px

pytestmark = pytest.mark.skipif(
    not native_available(),
    reason="the native library mnistvec._native is not built (install the package with a Rust toolchain)",
)

SIGMAS = (0.05, 0.3, 1.0, 3.0)
SIZES = ((1, 1), (2, 3), (28, 28))
COUNTS = (0, 1, 16, 64)

FLOAT32_TOLERANCE = 1e-5
"""Native float32 images against the torch reference in float64. (Torch's own float32 soft path is off by up
to 4e-4 at sigma 3, so float32 images are never compared with it.)"""

FLOAT64_TOLERANCE = 1e-6
"""Native float64 images (span tolerance 1e-6) against the torch reference in float64."""

GRADIENT_TOLERANCE = 1e-3
"""Largest relative error of a native gradient against torch autograd (see `relative_error`)."""

GRADIENT_FLOOR = 1e-4
"""Gradient entries below this fraction of the largest one of their tensor are compared absolutely."""

ABSOLUTE_GRADIENT_FLOOR = 1e-9
"""...and entries below this, whatever the others: the native renderer takes the blurred ramp as flat where
it is below 1e-12 (z < -6.5) and skips pixels beyond its span, where torch evaluates the tails."""


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The torch references here are small: one thread computes them faster than two, and does not stall
    at OpenMP's barriers when other work keeps the cores busy (seen 25 times slower on two busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


KINDS = (
    "ordinary",
    "zero length",
    "horizontal",
    "vertical",
    "45 degrees",
    "alpha 0",
    "alpha 1",
    "radius 0",
    "off the canvas, within the blur",
    "far off the canvas",
    "partly off the canvas",
)


def awkward_px(seed: int, batch: int, n_lines: int, height: int, width: int, dtype=torch.float32, first_kind=None):
    """(lines [B,N,4], radius [B,N], alpha [B,N]) in pixel units, every kind of `KINDS` taken in turn along
    each image's strokes (so each occurs once N >= len(KINDS)), from a different start in each image
    (image b starts at kind `first_kind + 3 b`, by default `seed + 3 b`).

    No pixel centre lies exactly on a kink of the formula (on a stroke's axis, or on the line through an
    end perpendicular to it): the endpoints are random, and the exactly-45-degree strokes lie on a grid of
    1/64 pixel offset by 1/256 and 1/128, where no such line passes through a pixel centre. A radius of
    exactly 0 is no kink for the comparison with torch (both clamp cov inclusively, and cov is exactly 0).
    """
    rng = np.random.default_rng(seed)
    side = max(height, width)
    size = np.array([width, height, width, height], np.float64)
    lines = rng.uniform(0.1, 0.9, (batch, n_lines, 4)) * size
    radius = rng.uniform(0.05, 0.05 * side + 1.0, (batch, n_lines))
    alpha = rng.uniform(0.2, 1.0, (batch, n_lines))
    first_kind = seed if first_kind is None else first_kind
    for b, k in np.ndindex(batch, n_lines):
        kind = KINDS[(k + 3 * b + first_kind) % len(KINDS)]
        x0, y0, x1, y1 = lines[b, k]
        if kind == "zero length":
            x1, y1 = x0, y0
        elif kind == "horizontal":
            y1 = y0
        elif kind == "vertical":
            x1 = x0
        elif kind == "45 degrees":
            x0, y0 = round(x0 * 64) / 64 + 1 / 256, round(y0 * 64) / 64 + 1 / 128
            offset = max(1, round(rng.uniform(0.2, 0.6) * side * 64)) / 64 * rng.choice([-1.0, 1.0])
            x1, y1 = x0 + offset, y0 + offset * rng.choice([-1.0, 1.0])
        elif kind == "alpha 0":
            alpha[b, k] = 0.0
        elif kind == "alpha 1":
            alpha[b, k] = 1.0
        elif kind == "radius 0":
            radius[b, k] = 0.0
        elif kind == "off the canvas, within the blur":  # left of the canvas, its edge 1-3 pixels away
            x0, x1 = -(radius[b, k] + 1.0 + rng.uniform(0.0, 2.0, 2))
        elif kind == "far off the canvas":  # beyond any blur's reach
            x0, y0, x1, y1 = (v + 3 * side + 60 for v in (x0, y0, x1, y1))
        elif kind == "partly off the canvas":
            x0, y1 = -0.4 * side - 1.0, 1.3 * height + 1.0
        lines[b, k] = x0, y0, x1, y1
    return tuple(torch.from_numpy(a).to(dtype) for a in (lines, radius, alpha))


def reference(lines, radius, alpha, height, width, sigma):
    """The torch soft renderer in float64 on the same values."""
    return render_soft_torch_px(lines.double(), radius.double(), alpha.double(), height, width, sigma)


def max_abs(a, b) -> float:
    return float((a - b).abs().max()) if a.numel() else 0.0


def gradients(render, lines, radius, alpha, weights):
    """Gradients of sum(weights * render(lines, radius, alpha)) with respect to the three inputs (zeros for
    an input the image does not depend on: torch's path leaves those without a gradient when N = 0)."""
    inputs = [t.detach().clone().requires_grad_(True) for t in (lines, radius, alpha)]
    (render(*inputs) * weights).sum().backward()
    return [torch.zeros_like(t) if t.grad is None else t.grad for t in inputs]


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| / max(|want|, GRADIENT_FLOOR * max|want|, ABSOLUTE_GRADIENT_FLOOR): the relative
    error of each entry, except that entries more than 1e4 times smaller than the largest of their tensor
    (or below 1e-9) are measured against that floor (their own relative error would measure only the
    rounding of sums that cancel)."""
    if want.numel() == 0:
        return 0.0
    floor = max(GRADIENT_FLOOR * float(want.abs().max()), ABSOLUTE_GRADIENT_FLOOR)
    return float(((got - want).abs() / want.abs().clamp(min=floor)).max())


def weights_for(seed: int, batch: int, height: int, width: int) -> torch.Tensor:
    return torch.randn(batch, height, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def batch_for(height: int, width: int, n_lines: int) -> int:
    """3 images, or 1 when that is enough work (N = 64 at 28 x 28 holds every kind several times)."""
    return 1 if height * width * n_lines > 28 * 28 * 16 else 3


def seed_of(*values) -> int:
    """A seed for one parametrised case (stable across runs, unlike `hash`)."""
    return int(sum(round(abs(v) * 1000) * 31**i for i, v in enumerate(values))) % 2**31


# Forward: the torch reference's images.


@pytest.mark.parametrize("sigma", SIGMAS)
@pytest.mark.parametrize("n_lines", COUNTS)
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_images_match_the_torch_reference(height, width, n_lines, sigma):
    batch = batch_for(height, width, n_lines)
    lines, radius, alpha = awkward_px(seed_of(height, width, n_lines), batch, n_lines, height, width)
    want = reference(lines, radius, alpha, height, width, sigma)
    got32 = render_soft_native_px(lines, radius, alpha, height, width, sigma)
    assert got32.dtype == torch.float32 and got32.shape == (batch, height, width)
    assert max_abs(got32.double(), want) <= FLOAT32_TOLERANCE
    got64 = render_soft_native_px(lines.double(), radius.double(), alpha.double(), height, width, sigma)
    assert got64.dtype == torch.float64 and got64.shape == (batch, height, width)
    assert max_abs(got64, want) <= FLOAT64_TOLERANCE
    if n_lines >= 16:
        assert float(want.max()) > 0.1  # not two blank batches


@pytest.mark.parametrize("sigma", SIGMAS)
@pytest.mark.parametrize(("height", "width", "n_lines"), [(256, 256, 3), (9, 40, 16)])
def test_images_match_the_torch_reference_on_large_and_non_square_images(height, width, n_lines, sigma):
    """(At 256 x 256 an ordinary, a zero-length and a horizontal stroke, to keep the reference cheap.)"""
    lines, radius, alpha = awkward_px(seed_of(height, width, n_lines, sigma), 1, n_lines, height, width, first_kind=0)
    want = reference(lines, radius, alpha, height, width, sigma)
    got = render_soft_native_px(lines, radius, alpha, height, width, sigma)
    assert got.shape == (1, height, width)
    assert max_abs(got.double(), want) <= FLOAT32_TOLERANCE
    got64 = render_soft_native_px(lines.double(), radius.double(), alpha.double(), height, width, sigma)
    assert max_abs(got64, want) <= FLOAT64_TOLERANCE
    assert float(want.max()) > 0.1


@pytest.mark.parametrize("sigma", [1e-8, 1e-30, 1e-100, 1e-160, 1e-200, 1e-300])
def test_a_tiny_blur_draws_the_unblurred_formula(sigma):
    """Any finite positive sigma is valid; as it falls the soft image tends to the exact one (torch's float64
    path stays finite and exact down to the smallest doubles)."""
    lines, radius, alpha = awkward_px(11, 2, 16, 6, 7, dtype=torch.float64)
    want = reference(lines, radius, alpha, 6, 7, sigma)
    assert torch.isfinite(want).all()
    weights = weights_for(3, 2, 6, 7)
    got = render_soft_native_px(lines, radius, alpha, 6, 7, sigma, tolerance=0.0)
    assert torch.isfinite(got).all(), f"sigma {sigma}: {int((~torch.isfinite(got)).sum())} non-finite pixels"
    assert max_abs(got, want) <= FLOAT64_TOLERANCE
    grads = gradients(lambda *x: render_soft_native_px(*x, 6, 7, sigma, tolerance=0.0), lines, radius, alpha, weights)
    assert all(torch.isfinite(g).all() for g in grads), f"sigma {sigma}: non-finite gradients"


# Backward: torch autograd's gradients.


@pytest.mark.parametrize("sigma", SIGMAS)
@pytest.mark.parametrize("n_lines", COUNTS)
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_gradients_match_torch_autograd(height, width, n_lines, sigma):
    """Of a random weighted sum of the pixels, in float64 both. With tolerance 0 (the full formula) every
    entry agrees to `GRADIENT_TOLERANCE` relative (`relative_error`); with the default span limit, which
    drops each stroke's far pixels, every entry to 1e-4 of the largest of its tensor."""
    batch = batch_for(height, width, n_lines)
    lines, radius, alpha = awkward_px(
        seed_of(height, width, n_lines) + 1, batch, n_lines, height, width, dtype=torch.float64
    )
    weights = weights_for(seed_of(height, width, n_lines, sigma), batch, height, width)
    want = gradients(lambda *x: render_soft_torch_px(*x, height, width, sigma), lines, radius, alpha, weights)
    full = gradients(
        lambda *x: render_soft_native_px(*x, height, width, sigma, tolerance=0.0), lines, radius, alpha, weights
    )
    limited = gradients(lambda *x: render_soft_native_px(*x, height, width, sigma), lines, radius, alpha, weights)
    for name, w, f, lim in zip(("lines", "radius", "alpha"), want, full, limited):
        assert f.shape == w.shape and f.dtype == torch.float64
        assert relative_error(f, w) <= GRADIENT_TOLERANCE, name
        if w.numel():
            assert max_abs(lim, w) <= 1e-4 * float(w.abs().max()), name
    if n_lines >= 16:
        assert float(want[0].abs().max()) > 0.0  # not two vanishing gradients


@pytest.mark.parametrize("sigma", [0.3, 3.0])
def test_gradients_match_torch_autograd_on_a_large_image(sigma):
    lines, radius, alpha = awkward_px(seed_of(256, sigma), 1, 3, 256, 256, dtype=torch.float64, first_kind=0)
    weights = weights_for(5, 1, 256, 256)
    want = gradients(lambda *x: render_soft_torch_px(*x, 256, 256, sigma), lines, radius, alpha, weights)
    got = gradients(lambda *x: render_soft_native_px(*x, 256, 256, sigma, tolerance=0.0), lines, radius, alpha, weights)
    for name, w, g in zip(("lines", "radius", "alpha"), want, got):
        assert relative_error(g, w) <= GRADIENT_TOLERANCE, name


def test_float32_gradients_come_back_in_float32_and_match():
    lines, radius, alpha = awkward_px(21, 2, 16, 28, 28)
    weights = weights_for(6, 2, 28, 28)
    want = gradients(
        lambda *x: render_soft_torch_px(*x, 28, 28, 0.5), lines.double(), radius.double(), alpha.double(), weights
    )
    got = gradients(
        lambda *x: render_soft_native_px(*x, 28, 28, 0.5, tolerance=0.0), lines, radius, alpha, weights.float()
    )
    for name, w, g in zip(("lines", "radius", "alpha"), want, got):
        assert g.dtype == torch.float32, name
        assert max_abs(g.double(), w) <= 1e-5 * max(1.0, float(w.abs().max())), name


@pytest.mark.parametrize("sigma", [0.3, 1.5])
def test_gradcheck(sigma):
    """The hand-derived backward pass is the derivative of the forward pass (finite differences in float64,
    tolerance 0 so that no span cut-off makes the image discontinuous), for every input."""
    lines = torch.tensor(
        [
            [[1.3, 2.1, 6.2, 4.7], [5.5, 1.2, 2.4, 6.9], [-0.7, 3.3, 2.9, 3.9]],
            [[3.6, 0.4, 3.9, 5.8], [0.2, 5.1, 6.6, 0.7], [4.2, 4.4, 4.9, 4.15]],
        ],
        dtype=torch.float64,
        requires_grad=True,
    )
    radius = torch.tensor([[0.8, 0.55, 1.1], [0.3, 0.9, 1.7]], dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([[0.9, 0.6, 0.75], [1.0, 0.35, 0.5]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda ln, r, a: render_soft_native_px(ln, r, a, 6, 7, sigma, tolerance=0.0), (lines, radius, alpha)
    )


# The span limit.


@pytest.mark.parametrize("tolerance", [1e-6, 1e-3])
@pytest.mark.parametrize("n_lines", [16, 64])
@pytest.mark.parametrize("sigma", SIGMAS)
def test_span_limit_stays_within_its_tolerance(sigma, n_lines, tolerance):
    lines, radius, alpha = (
        t.numpy() for t in awkward_px(seed_of(sigma, n_lines), 2, n_lines, 48, 48, dtype=torch.float64)
    )
    full = soft_forward(lines, radius, alpha, 48, 48, sigma, tolerance=0.0)[0]
    limited = soft_forward(lines, radius, alpha, 48, 48, sigma, tolerance=tolerance)[0]
    worst = float(np.abs(full - limited).max())
    assert 0.0 < worst <= tolerance  # (0 would mean that no stroke's span was limited: nothing tested)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_span_limit_holds_with_every_stroke_on_the_same_pixels(sigma):
    """64 copies of one stroke: beyond its reach all 64 add up, the case the per-stroke share of the
    tolerance is for."""
    n_lines = 64
    lines = np.tile([[[20.3, 21.7, 27.1, 25.4]]], (1, n_lines, 1))
    radius, alpha = np.full((1, n_lines), 1.5), np.full((1, n_lines), 0.9)
    full = soft_forward(lines, radius, alpha, 48, 48, sigma, tolerance=0.0)[0]
    for tolerance in (1e-6, 1e-3):
        limited = soft_forward(lines, radius, alpha, 48, 48, sigma, tolerance=tolerance)[0]
        assert float(np.abs(full - limited).max()) <= tolerance


# Threads.


@pytest.mark.parametrize("sigma", [0.05, 3.0])
def test_thread_count_changes_no_bit(sigma):
    """41 images of 48 x 48 with 16 strokes each are enough work for the library to use 8 threads."""
    lines, radius, alpha = (t.numpy() for t in awkward_px(4, 41, 16, 48, 48, dtype=torch.float64))
    weights = np.random.default_rng(0).standard_normal((41, 48, 48))
    results = []
    for threads in (1, 2, 8):
        images, product, zeros = soft_forward(lines, radius, alpha, 48, 48, sigma, threads=threads)
        grads = soft_backward(lines, radius, alpha, 48, 48, sigma, weights, product, zeros, threads=threads)
        results.append((images, product, zeros, grads))
    assert np.abs(results[0][3]).max() > 0.0
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))


# Skipped strokes and opaque pixels.


BAD_VALUES = [math.nan, math.inf, -math.inf, 1.0000001e60, -1e61, 1e300]


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("field", range(6))
def test_a_stroke_it_cannot_draw_is_skipped(field, value):
    """A stroke with a non-finite value, or one beyond 1e60, draws nothing and gets a zero gradient; the
    other stroke draws and gets exactly what it does alone (tolerance 0, so that the number of strokes does
    not change any stroke's span)."""
    good = [1.2, 0.7, 5.3, 4.1, 0.9, 0.8]
    bad = [2.5, 3.0, 0.5, 1.5, 1.2, 0.7]
    bad[field] = value
    weights = np.random.default_rng(field).standard_normal((1, 5, 6))

    def run(strokes):
        strokes = np.array([strokes], np.float64)
        lines, radius, alpha = strokes[..., :4], strokes[..., 4], strokes[..., 5]
        images, product, zeros = soft_forward(lines, radius, alpha, 5, 6, 0.4, tolerance=0.0)
        return images, soft_backward(lines, radius, alpha, 5, 6, 0.4, weights, product, zeros, tolerance=0.0)

    alone_image, alone_grads = run([good])
    assert alone_image.max() > 0.5
    for order in ([bad, good], [good, bad]):
        image, grads = run(order)
        assert np.array_equal(image, alone_image)
        k = order.index(good)
        assert np.isfinite(grads[0, k]).all() and np.array_equal(grads[0, k], alone_grads[0, 0])
        assert (grads[0, 1 - k] == 0.0).all()


def test_values_up_to_the_limit_are_drawn():
    """A radius of exactly 1e60 covers every pixel (1e60 is the largest value drawn)."""
    lines = np.array([[[2.0, 2.0, 3.0, 2.0]]])
    for radius, want in ((1e60, 0.5), (1.0000001e60, 0.0)):
        images, product, zeros = soft_forward(lines, np.array([[radius]]), np.array([[0.5]]), 4, 5, 1.0)
        assert (images == want).all(), radius
        grads = soft_backward(
            lines, np.array([[radius]]), np.array([[0.5]]), 4, 5, 1.0, np.ones((1, 4, 5)), product, zeros
        )
        assert np.isfinite(grads).all()


def test_a_pixel_made_opaque_keeps_the_other_strokes_gradients():
    """Stroke 0 is opaque and covers columns 0-3 completely (factor 1 - alpha cov exactly 0); stroke 2 also
    covers columns 2-3 (two zero factors there); stroke 1 is half transparent over everything. Gradients
    must be finite and equal torch autograd's, which differentiates the product without dividing."""
    lines = torch.tensor([[[2.0, -9.0, 2.0, 9.0], [-1.0, 2.3, 7.0, 1.6], [3.0, -9.0, 3.0, 9.0]]], dtype=torch.float64)
    radius = torch.tensor([[2.45, 3.0, 1.8]], dtype=torch.float64)
    alpha = torch.tensor([[1.0, 0.6, 1.0]], dtype=torch.float64)
    images, product, zeros = soft_forward(lines.numpy(), radius.numpy(), alpha.numpy(), 4, 6, 0.05, tolerance=0.0)
    assert (zeros[0, :, 0:4] >= 1).all() and (zeros[0, :, 2:4] == 2).all() and (zeros[0, :, 4:] == 0).all()
    assert (images[0, :, :4] == 1.0).all()
    weights = weights_for(9, 1, 4, 6)
    want = gradients(lambda *x: render_soft_torch_px(*x, 4, 6, 0.05), lines, radius, alpha, weights)
    got = gradients(lambda *x: render_soft_native_px(*x, 4, 6, 0.05, tolerance=0.0), lines, radius, alpha, weights)
    for name, w, g in zip(("lines", "radius", "alpha"), want, got):
        assert torch.isfinite(g).all(), name
        assert relative_error(g, w) <= GRADIENT_TOLERANCE, name
    # d(sum w p)/d alpha_1 on the opaque columns is 0 (the other factor there is 0), elsewhere it is not.
    assert float(got[2][0, 1].abs()) > 1e-3


# Choosing the soft backend.


@pytest.fixture
def auto_means_native(monkeypatch):
    """No environment override of what the "auto" backend means (a later version reads one)."""
    monkeypatch.delenv("MNISTVEC_SOFT_BACKEND", raising=False)


def spy(monkeypatch, name):
    """Record the calls of `soft.<name>` (still calling it)."""
    calls = []
    real = getattr(soft, name)

    def recorded(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(soft, name, recorded)
    return calls


def test_cpu_tensors_are_rendered_natively(monkeypatch, auto_means_native):
    native_calls, torch_calls = spy(monkeypatch, "render_soft_native_px"), spy(monkeypatch, "render_soft_torch_px")
    lines, radius, alpha = awkward_px(2, 2, 16, 28, 28)
    auto = render_soft_px(lines, radius, alpha, 28, 28, 0.5)
    forced = render_soft_px(lines, radius, alpha, 28, 28, 0.5, backend="native")
    assert len(native_calls) == 2 and not torch_calls
    direct = render_soft_native_px(lines, radius, alpha, 28, 28, 0.5)
    assert torch.equal(auto, direct) and torch.equal(forced, direct)
    tolerance_calls = spy(monkeypatch, "render_soft_native_px")
    render_soft_px(lines, radius, alpha, 28, 28, 0.5, tolerance=0.0)
    assert tolerance_calls[0][6] == 0.0  # the tolerance reaches the native renderer


def test_backend_torch_forces_the_torch_path(monkeypatch):
    native_calls, torch_calls = spy(monkeypatch, "render_soft_native_px"), spy(monkeypatch, "render_soft_torch_px")
    lines, radius, alpha = awkward_px(3, 2, 16, 28, 28)
    got = render_soft_px(lines, radius, alpha, 28, 28, 0.5, backend="torch")
    assert len(torch_calls) == 1 and not native_calls
    assert torch.equal(got, render_soft_torch_px(lines, radius, alpha, 28, 28, 0.5))


def test_other_devices_take_the_torch_path(monkeypatch, auto_means_native):
    """Tensors off the CPU (here on the meta device, which only carries shapes) never reach the library."""
    torch_calls = []
    monkeypatch.setattr(soft, "render_soft_torch_px", lambda *args: torch_calls.append(args) or "torch")
    monkeypatch.setattr(soft, "render_soft_native_px", lambda *args: pytest.fail("native path taken"))
    lines, radius, alpha = (t.to("meta") for t in awkward_px(3, 1, 2, 5, 5))
    assert render_soft_px(lines, radius, alpha, 5, 5, 0.5) == "torch" and len(torch_calls) == 1


def test_a_missing_library_falls_back_to_torch_with_one_warning(monkeypatch, auto_means_native):
    monkeypatch.setattr(soft, "native_available", lambda: False)
    monkeypatch.setattr(native, "_warned_missing", False)
    monkeypatch.setattr(soft, "render_soft_native_px", lambda *args: pytest.fail("native path taken"))
    lines, radius, alpha = awkward_px(4, 2, 16, 28, 28)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = render_soft_px(lines, radius, alpha, 28, 28, 0.5)
        second = render_soft_px(lines, radius, alpha, 28, 28, 0.5)
        render_soft_px(lines, radius, alpha, 28, 28, 0.5, backend="torch")
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "native renderer" in messages[0]
    want = render_soft_torch_px(lines, radius, alpha, 28, 28, 0.5)
    assert torch.equal(first, want) and torch.equal(second, want)


def test_no_warning_when_torch_is_asked_for(monkeypatch):
    monkeypatch.setattr(soft, "native_available", lambda: False)
    monkeypatch.setattr(native, "_warned_missing", False)
    lines, radius, alpha = awkward_px(4, 1, 3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_soft_px(lines, radius, alpha, 8, 8, 0.5, backend="torch")


@pytest.mark.parametrize("backend", ["fast", "Native", "", "cuda"])
def test_an_unknown_backend_is_a_clear_error(backend):
    lines, radius, alpha = awkward_px(5, 1, 3, 8, 8)
    with pytest.raises(ValueError, match="unknown soft backend"):
        render_soft_px(lines, radius, alpha, 8, 8, 0.5, backend=backend)


# Arguments.


def good_arguments():
    return dict(
        lines=np.zeros((2, 3, 4)),
        radius=np.ones((2, 3)),
        alpha=np.ones((2, 3)),
        height=4,
        width=5,
        sigma=0.5,
        tolerance=1e-6,
        threads=0,
    )


BAD_ARGUMENTS = [
    (dict(lines=np.zeros((2, 3, 3))), "lines must have shape"),
    (dict(lines=np.zeros((2, 3))), "lines must have shape"),
    (dict(lines=np.zeros((1, 2, 3, 4))), "lines must have shape"),
    (dict(radius=np.ones((2, 4))), "radius must have shape"),
    (dict(radius=np.ones(3)), "radius must have shape"),
    (dict(alpha=np.ones((3, 2))), "alpha must have shape"),
    (dict(alpha=np.full((2, 3), "x")), "alpha must hold real numbers"),
    (dict(lines=np.zeros((2, 3, 4), bool)), "lines must hold real numbers"),
    (dict(sigma=0.0), "sigma must be finite and positive"),
    (dict(sigma=-0.5), "sigma must be finite and positive"),
    (dict(sigma=math.nan), "sigma must be finite and positive"),
    (dict(sigma=math.inf), "sigma must be finite and positive"),
    (dict(tolerance=-1e-9), r"tolerance must be in \[0, 1\)"),
    (dict(tolerance=1.0), r"tolerance must be in \[0, 1\)"),
    (dict(tolerance=math.nan), r"tolerance must be in \[0, 1\)"),
    (dict(tolerance=math.inf), r"tolerance must be in \[0, 1\)"),
    (dict(height=-1), "height must be a non-negative integer"),
    (dict(width=2.5), "width must be a non-negative integer"),
    (dict(height=True), "height must be a non-negative integer"),
    (dict(width=2**31), "width must be below"),
    (dict(threads=-1), "threads must be a non-negative integer"),
    (dict(threads=2**32), "threads must be at most"),
]


@pytest.mark.parametrize(("change", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused_before_the_library_is_called(change, message):
    args = {**good_arguments(), **change}
    with pytest.raises(ValueError, match=message):
        soft_forward(**args)
    state = np.zeros((2, 4, 5))
    with pytest.raises(ValueError, match=message):
        soft_backward(grad_images=state, product=state, zeros=state.astype(np.uint32), **args)


@pytest.mark.parametrize("name", ["grad_images", "product", "zeros"])
def test_backward_refuses_state_of_another_shape(name):
    args = good_arguments()
    images, product, zeros = soft_forward(**args)
    state = dict(grad_images=np.ones_like(images), product=product, zeros=zeros)
    state[name] = state[name][:, :, :-1]
    with pytest.raises(ValueError, match=f"{name} must have shape"):
        soft_backward(**args, **state)


def test_the_library_refuses_bad_parameters_and_pointers_itself():
    """Codes of `mnistvec_soft_forward` and `mnistvec_soft_backward` called directly."""
    library = load_library()
    ptr = ctypes.POINTER(ctypes.c_double)
    lines, radius, alpha = np.zeros((1, 2, 4)), np.ones((1, 2)), np.ones((1, 2))
    images, product = np.zeros((1, 3, 3)), np.zeros((1, 3, 3))
    zeros = np.zeros((1, 3, 3), np.uint32)
    grads = np.zeros((1, 2, 6))
    misaligned_buffer = np.zeros(12 * 8 + 8, np.uint8)  # room for the largest output
    misaligned = ctypes.cast(misaligned_buffer.ctypes.data + 1, ptr)

    def forward(sigma=0.5, tolerance=1e-6, out=None, sizes=(1, 2, 3, 3)):
        out = images.ctypes.data_as(ptr) if out is None else out
        return library.mnistvec_soft_forward(
            lines.ctypes.data_as(ptr),
            radius.ctypes.data_as(ptr),
            alpha.ctypes.data_as(ptr),
            *sizes,
            sigma,
            tolerance,
            0,
            out,
            product.ctypes.data_as(ptr),
            zeros.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
        )

    def backward(sigma=0.5, tolerance=1e-6, out=None):
        out = grads.ctypes.data_as(ptr) if out is None else out
        return library.mnistvec_soft_backward(
            lines.ctypes.data_as(ptr),
            radius.ctypes.data_as(ptr),
            alpha.ctypes.data_as(ptr),
            1,
            2,
            3,
            3,
            sigma,
            tolerance,
            0,
            images.ctypes.data_as(ptr),
            product.ctypes.data_as(ptr),
            zeros.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
            out,
        )

    assert forward() == 0 and backward() == 0
    for call in (forward, backward):
        for sigma, tolerance in (
            (0.0, 1e-6),
            (-1.0, 1e-6),
            (math.nan, 1e-6),
            (math.inf, 1e-6),
            (0.5, -0.1),
            (0.5, 1.0),
            (0.5, math.nan),
        ):
            assert call(sigma=sigma, tolerance=tolerance) == -6, (call.__name__, sigma, tolerance)
        assert call(out=ctypes.cast(None, ptr)) == -1, call.__name__
        assert call(out=misaligned) == -5, call.__name__
    assert forward(sizes=(2**40, 2, 2**31 - 1, 2**31 - 1)) == -2
    assert forward(sizes=(1, 2, 2**31, 1)) == -2
    assert forward(sigma=math.nan, sizes=(1, 2, 0, 3)) == 0  # no pixels: nothing to do, nothing checked


# The soft renderer and a reconstruction loss in one native pass.

from mnistvec.models.ae import AutoEncoder  # noqa: E402
from mnistvec.models.losses import soft_reconstruction_loss  # noqa: E402
from mnistvec.raster.native import soft_loss  # noqa: E402


def canvas_strokes(seed: int, batch: int, n_lines: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    lines = torch.rand(batch, n_lines, 4, generator=g, dtype=dtype) * 1.2 - 0.1
    widths = torch.rand(batch, n_lines, generator=g, dtype=dtype) * 0.1 - 0.01  # some negative: clamped
    opacity = torch.rand(batch, n_lines, generator=g, dtype=dtype) * 1.2 - 0.1
    opacity[0, 0] = 1.0
    targets = (torch.rand(batch, 28, 28, generator=g, dtype=dtype) > 0.7) * torch.rand(
        batch, 28, 28, generator=g, dtype=dtype
    )
    return lines, widths, opacity, targets


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_the_fused_loss_matches_rendering_then_torch_losses(monkeypatch, loss, sigma):
    lines, widths, opacity, targets = canvas_strokes(3, 4, 16)
    weights = torch.arange(1.0, 5.0, dtype=torch.float64)
    results = {}
    for backend in ("auto", "torch"):
        monkeypatch.setenv(soft.BACKEND_ENV, backend)
        inputs = [t.clone().requires_grad_(True) for t in (lines, widths, opacity)]
        values = soft_reconstruction_loss(*inputs, targets, sigma, loss)
        (values * weights).sum().backward()
        results[backend] = (values.detach(), [t.grad for t in inputs])
    (native_values, native_grads), (torch_values, torch_grads) = results["auto"], results["torch"]
    assert torch.allclose(native_values, torch_values, rtol=1e-6, atol=1e-5)
    for got, want in zip(native_grads, torch_grads):
        assert max_abs(got, want) <= 1e-4 * float(want.abs().max()), (loss, sigma)
        assert float(want.abs().max()) > 0


def test_the_fused_loss_gives_what_the_separate_passes_give_bit_for_bit():
    lines, widths, opacity, targets = canvas_strokes(4, 5, 9)
    px = [a.numpy() for a in (lines * 28, widths.clamp(min=0) * 14, opacity.clamp(0, 1))]
    images, product, zeros = soft_forward(*px, 28, 28, 0.5)
    upstream = 2.0 * (images - targets.numpy())
    expected = soft_backward(*px, 28, 28, 0.5, upstream, product, zeros)
    for threads in (1, 2, 5):
        losses, grads = soft_loss(*px, targets.numpy(), 0.5, "squared_error", threads=threads)
        assert np.array_equal(grads, expected)
        assert np.allclose(losses, ((images - targets.numpy()) ** 2).sum(axis=(1, 2)), rtol=1e-12, atol=0)


def test_the_autoencoders_loss_is_the_same_on_both_backends(monkeypatch):
    torch.manual_seed(0)
    model = AutoEncoder(n_lines=8, hidden=32, channels=8).double()
    images = canvas_strokes(5, 6, 1)[3]
    for reconstruction in ("bce", "mse"):
        seen = {}
        for backend in ("auto", "torch"):
            monkeypatch.setenv(soft.BACKEND_ENV, backend)
            model.zero_grad()
            value = model.loss(images, 0.5, reconstruction)
            value.backward()
            seen[backend] = (float(value.detach()), [p.grad.clone() for p in model.parameters()])
        assert seen["auto"][0] == pytest.approx(seen["torch"][0], rel=1e-6)
        for got, want in zip(seen["auto"][1], seen["torch"][1]):
            assert max_abs(got, want) <= 1e-4 * float(want.abs().max()) + 1e-12
    with pytest.raises(ValueError, match="unknown reconstruction loss"):
        model.loss(images, 0.5, "l1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"loss": "l1"}, "unknown loss"),
        ({"eps": 0.5}, "eps must be in"),
        ({"eps": 0.0}, "eps must be in"),
        ({"targets": np.zeros((3, 28, 28))}, "targets must hold 2 images"),
        ({"targets": np.zeros((2, 28))}, r"targets must have shape \[B, H, W\]"),
        ({"sigma": 0.0}, "sigma must be finite and positive"),
    ],
)
def test_the_fused_loss_refuses_bad_arguments(change, message):
    arguments = {
        "lines": np.zeros((2, 3, 4)),
        "radius": np.ones((2, 3)),
        "alpha": np.ones((2, 3)),
        "targets": np.zeros((2, 28, 28)),
        "sigma": 0.5,
        "loss": "cross_entropy",
        "eps": 1e-5,
    } | change
    with pytest.raises(ValueError, match=message):
        soft_loss(**arguments)


def test_the_fused_loss_skips_strokes_it_cannot_draw():
    lines, widths, opacity, targets = canvas_strokes(6, 1, 3)
    px = [a.numpy().copy() for a in (lines * 28, widths.clamp(min=0) * 14, opacity.clamp(0, 1))]
    # tolerance 0: every stroke at every pixel, so the span does not depend on the number of strokes
    alone = soft_loss(*(a[:, 1:] for a in px), targets.numpy(), 0.5, tolerance=0.0)
    px[0][0, 0, 2] = np.nan
    losses, grads = soft_loss(*px, targets.numpy(), 0.5, tolerance=0.0)
    assert np.array_equal(losses, alone[0])
    assert np.array_equal(grads[:, 1:], alone[1]) and np.all(grads[:, 0] == 0)
