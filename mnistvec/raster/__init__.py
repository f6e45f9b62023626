"""Renderers: strokes in canvas units -> grey images, all drawing the pixel formula of `coverage.py`.

- ``native``: the compiled Rust library (fast, exact, no gradients); falls back to ``exact`` with one
  warning when the library was not built.
- ``exact``: the same formula in torch (reference and fallback).
- ``soft``: a Gaussian-blurred version of the formula, differentiable, CPU or CUDA (`soft.py`); on the CPU
  it runs natively, with a hand-derived backward pass, when the library is built.

The native renderer's functions (`render_numpy`, `render_in_frame`) need no torch: torch is imported only
by the torch renderers, when they run.

Canvas units c become pixels as ``c * scale`` (scale = the output size for a square canvas); widths are full
stroke widths, so the capsule radius in pixels is ``width * scale / 2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mnistvec.config import RENDER_TEMPERATURE as DEFAULT_TEMPERATURE
from mnistvec.config import RENDERERS
from mnistvec.raster import native
from mnistvec.raster.native import native_available, render_native

if TYPE_CHECKING:
    import torch


def resolve_renderer(name: str) -> str:
    """The renderer that will actually run: ``native`` becomes ``exact`` (with one warning) when missing."""
    if name not in RENDERERS:
        raise ValueError(f"unknown renderer {name!r}; choose one of {', '.join(RENDERERS)}")
    if name == "native" and not native_available():
        native.warn_native_missing_once()
        return "exact"
    return name


def render_torch(
    lines: torch.Tensor,
    widths: torch.Tensor,
    opacity: torch.Tensor,
    size: int,
    renderer: str = "soft",
    temperature: float = DEFAULT_TEMPERATURE,
) -> torch.Tensor:
    """Render canvas-unit tensors [B,N,4], [B,N], [B,N] to [B,size,size] on their device.

    ``soft`` keeps gradients; ``exact`` and ``native`` do not (native runs on the CPU and is copied back).
    """
    import torch

    name = resolve_renderer(renderer)
    if name == "native":
        images = render_native(
            lines.detach().float().cpu().numpy(),
            widths.detach().float().cpu().numpy(),
            opacity.detach().float().cpu().numpy(),
            size,
            size,
            float(size),
        )
        return torch.from_numpy(images).to(lines.device)
    return _render_tensors(lines, widths, opacity, size, size, float(size), name, temperature)


def render_numpy(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    height: int,
    width: int,
    scale: float,
    renderer: str = "native",
    temperature: float = DEFAULT_TEMPERATURE,
) -> np.ndarray:
    """Render canvas-unit arrays to float32 [B, height, width] images at `scale` pixels per canvas unit."""
    name = resolve_renderer(renderer)
    if name == "native":
        return render_native(lines, widths, opacity, height, width, scale)
    import torch

    tensors = (torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in (lines, widths, opacity))
    with torch.no_grad():
        return _render_tensors(*tensors, height, width, scale, name, temperature).numpy()


def render_in_frame(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    frame,
    size: int | None = None,
    renderer: str = "native",
    temperature: float = DEFAULT_TEMPERATURE,
) -> np.ndarray:
    """One drawing (canvas units: lines [N, 4], widths [N], opacity [N]) in its source frame ``(width,
    height, scale, offset_x, offset_y, inverted)``: the float32 [H, W] picture its SVG shows, white ink on
    black (``inverted`` is the caller's, for the polarity). H × W is the source's size, or with `size` that
    size scaled so its longer side is `size` pixels (at least 1 pixel each way)."""
    width, height, scale, off_x, off_y = (float(v) for v in tuple(frame)[:5])
    zoom = 1.0 if size is None else size / max(width, height)
    shift = np.array([off_x, off_y, off_x, off_y], np.float32) / np.float32(scale)
    return render_numpy(
        np.asarray(lines, np.float32)[None] + shift,
        np.asarray(widths)[None],
        np.asarray(opacity)[None],
        max(1, round(height * zoom)),
        max(1, round(width * zoom)),
        scale * zoom,
        renderer,
        temperature,
    )[0]


def pixel_strokes(
    lines: torch.Tensor, widths: torch.Tensor, opacity: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Canvas-unit strokes in pixel units, as the renderers take them: endpoints * scale, radius =
    width * scale / 2 (negative widths draw nothing), opacity clamped to [0, 1]."""
    return lines * scale, widths.clamp(min=0.0) * (scale / 2.0), opacity.clamp(0.0, 1.0)


def _render_tensors(
    lines, widths, opacity, height: int, width: int, scale: float, name: str, temperature: float
) -> torch.Tensor:
    """The torch renderers (`exact` or `soft`) on canvas-unit tensors (see `pixel_strokes`)."""
    from mnistvec.raster.exact import render_exact_px
    from mnistvec.raster.soft import render_soft_px

    lines_px, radius, alpha = pixel_strokes(lines, widths, opacity, scale)
    if name == "exact":
        return render_exact_px(lines_px, radius, alpha, height, width)
    return render_soft_px(lines_px, radius, alpha, height, width, temperature)
