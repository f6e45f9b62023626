"""The soft renderer: the exact pixel formula blurred by a Gaussian, differentiable in every stroke parameter.

Exact coverage is cov = F(r - d) - F(-r - d), with F the cumulative distribution of the pixel footprint
(a trapezoid, the sum of two uniform variables of widths a and b; see `coverage.py`). The soft renderer
adds Gaussian noise of standard deviation sigma = `temperature` pixels to that footprint, so

    F_sigma(x) = [R(x + p) - R(x + m) - R(x - m) + R(x - p)] / (a b),    p = (a+b)/2, m = (a-b)/2,
    R(x)       = E[max(x + sigma Z, 0)^2 / 2] = ((x^2 + sigma^2) Phi(x/sigma) + x sigma phi(x/sigma)) / 2,

with Phi and phi the standard normal CDF and density. As sigma -> 0, R(x) -> max(x, 0)^2 / 2 and F_sigma
-> F, so the soft image tends to the exact one; a large sigma spreads every stroke's influence over more
pixels (useful early in training). Only x <= 0 is evaluated (F(x) = 1 - F(-x)), which keeps the
differences of R free of cancellation.

On the CPU, when the native library is built, the same formula runs natively with a hand-derived backward
pass (`soft_native.py`), each stroke evaluated only near its segment; CUDA tensors, and CPU tensors without
the library (after one warning), take the torch path below (`render_soft_torch_px`).

Memory of the torch path is bounded: images and pixels are processed in chunks of at most `max_elements`
(image, line, pixel) triples; the forward pass keeps no graph and the backward pass recomputes one chunk at
a time, so the peak holds one chunk's intermediates plus the inputs, the output and the gradients.
"""

from __future__ import annotations

import math
import os

import torch

from mnistvec.config import RENDER_TEMPERATURE
from mnistvec.errors import InputError
from mnistvec.raster.coverage import composite, pixel_centres, segment_geometry
from mnistvec.raster.native import SOFT_TOLERANCE, native_available, warn_native_missing_once
from mnistvec.raster.soft_native import render_soft_native_px

MAX_ELEMENTS = 1 << 20
DEFAULT_TEMPERATURE = RENDER_TEMPERATURE
LENGTH_EPS = 1e-3  # pixels: smooths |B - A| and d near zero so gradients stay finite

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _smoothed_ramp2(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """R(x) = E[max(x + sigma Z, 0)^2 / 2] for Z ~ N(0, 1)."""
    z = x / sigma
    cdf = torch.special.ndtr(z)
    pdf = torch.exp(-0.5 * z * z) * _INV_SQRT_2PI
    return 0.5 * ((x * x + sigma * sigma) * cdf + x * sigma * pdf)


def soft_footprint_cdf(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, sigma: float) -> torch.Tensor:
    """F_sigma(x) for any x (evaluated at -|x| and mirrored)."""
    neg = -x.abs()
    p = 0.5 * (a + b)
    m = 0.5 * (a - b)
    total = (
        _smoothed_ramp2(neg + p, sigma)
        - _smoothed_ramp2(neg + m, sigma)
        - _smoothed_ramp2(neg - m, sigma)
        + _smoothed_ramp2(neg - p, sigma)
    ) / (a * b)
    return torch.where(x > 0, 1.0 - total, total)


def _soft_chunk(lines_px, radius, alpha, centres, sigma: float) -> torch.Tensor:
    """[b, N, 4], [b, N], [b, N], [P, 2] -> [b, P] soft pixel values."""
    d, a, b = segment_geometry(lines_px, centres, eps=LENGTH_EPS)
    r = radius.unsqueeze(-1)
    cov = soft_footprint_cdf(r - d, a, b, sigma) - soft_footprint_cdf(-r - d, a, b, sigma)
    return composite(alpha.unsqueeze(-1) * cov.clamp(0.0, 1.0), dim=1)


class _ChunkedSoftRender(torch.autograd.Function):
    """Chunked rendering with recomputation: the forward pass keeps no graph, and the backward pass rebuilds
    one chunk's graph at a time, so peak memory is one chunk's intermediates plus inputs and output."""

    @staticmethod
    def forward(ctx, lines_px, radius, alpha, centres, sigma, image_chunk, pixel_chunk):
        batch, n_pixels = lines_px.shape[0], centres.shape[0]
        out = lines_px.new_empty(batch, n_pixels)
        for sl, cols in _chunks(batch, n_pixels, image_chunk, pixel_chunk):
            out[sl, cols] = _soft_chunk(lines_px[sl], radius[sl], alpha[sl], centres[cols], sigma)
        ctx.save_for_backward(lines_px, radius, alpha, centres)
        ctx.sizes = (sigma, image_chunk, pixel_chunk)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        lines_px, radius, alpha, centres = ctx.saved_tensors
        sigma, image_chunk, pixel_chunk = ctx.sizes
        wanted = ctx.needs_input_grad[:3]
        grads = [torch.zeros_like(t) if w else None for t, w in zip((lines_px, radius, alpha), wanted)]
        for sl, cols in _chunks(lines_px.shape[0], centres.shape[0], image_chunk, pixel_chunk):
            with torch.enable_grad():
                inputs = [t[sl].detach().requires_grad_(w) for t, w in zip((lines_px, radius, alpha), wanted)]
                part = _soft_chunk(*inputs, centres[cols], sigma)
                chosen = [x for x, w in zip(inputs, wanted) if w]
                parts = torch.autograd.grad(part, chosen, grad_out[sl, cols])
            it = iter(parts)
            for k, w in enumerate(wanted):
                if w:
                    grads[k][sl] += next(it)
        return (*grads, None, None, None, None)


def _chunks(batch: int, n_pixels: int, image_chunk: int, pixel_chunk: int):
    for i in range(0, batch, image_chunk):
        for j in range(0, n_pixels, pixel_chunk):
            yield slice(i, i + image_chunk), slice(j, j + pixel_chunk)


BACKENDS = ("auto", "native", "torch")

BACKEND_ENV = "MNISTVEC_SOFT_BACKEND"
"""Environment variable: `torch` makes the default ("auto") soft backend the torch path everywhere (to
compare the two, or to rule the native one out); `auto` or unset keeps the native path on the CPU."""


def resolve_backend(backend: str, device_type: str) -> str:
    """The backend ("native" or "torch") that `backend` means for tensors on `device_type`: "auto" is
    native on the CPU when the library is built (torch, after one warning, when it is not) and torch on
    other devices or when the environment sets MNISTVEC_SOFT_BACKEND=torch."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown soft backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    chosen = os.environ.get(BACKEND_ENV, "auto") or "auto"
    if chosen not in ("auto", "torch"):
        raise InputError(f"{BACKEND_ENV}={chosen!r}; set it to auto or torch")
    if chosen == "torch" or device_type != "cpu":
        return "torch"
    if native_available():
        return "native"
    warn_native_missing_once()
    return "torch"


def render_soft_px(
    lines_px: torch.Tensor,
    radius: torch.Tensor,
    alpha: torch.Tensor,
    height: int,
    width: int,
    temperature: float = DEFAULT_TEMPERATURE,
    max_elements: int = MAX_ELEMENTS,
    backend: str = "auto",
    tolerance: float = SOFT_TOLERANCE,
) -> torch.Tensor:
    """Render strokes given in pixel units (lines_px [B,N,4], radius [B,N], alpha [B,N]) -> [B,H,W].

    Differentiable with respect to all three inputs; runs on the inputs' device (CPU or CUDA).
    `backend` "auto" computes CPU tensors natively when the library is built (each pixel then within
    `tolerance` of the full formula) and everything else with torch (and everything with torch when the
    environment sets MNISTVEC_SOFT_BACKEND=torch); "native" and "torch" force one.
    `max_elements` bounds the torch path's chunks.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 pixels, got {temperature}")
    backend = resolve_backend(backend, lines_px.device.type)
    if backend == "native":
        return render_soft_native_px(lines_px, radius, alpha, height, width, temperature, tolerance)
    return render_soft_torch_px(lines_px, radius, alpha, height, width, temperature, max_elements)


def render_soft_torch_px(
    lines_px: torch.Tensor,
    radius: torch.Tensor,
    alpha: torch.Tensor,
    height: int,
    width: int,
    temperature: float = DEFAULT_TEMPERATURE,
    max_elements: int = MAX_ELEMENTS,
) -> torch.Tensor:
    """`render_soft_px` in torch, on any device (the reference the native path is tested against)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 pixels, got {temperature}")
    batch, n_lines = radius.shape
    if batch == 0 or height == 0 or width == 0:
        return lines_px.new_zeros(batch, height, width)
    if n_lines == 0:
        return lines_px.new_zeros(batch, height, width) + 0.0 * lines_px.sum()
    centres = pixel_centres(height, width, device=lines_px.device, dtype=lines_px.dtype)
    n_pixels = height * width
    pixel_chunk = max(1, min(n_pixels, max_elements // n_lines))
    image_chunk = max(1, max_elements // (n_lines * pixel_chunk))
    if image_chunk >= batch and pixel_chunk >= n_pixels:
        return _soft_chunk(lines_px, radius, alpha, centres, temperature).view(batch, height, width)
    out = _ChunkedSoftRender.apply(lines_px, radius, alpha, centres, temperature, image_chunk, pixel_chunk)
    return out.view(batch, height, width)
