"""The exact renderer in torch: the pixel formula of `coverage.py`, vectorised, non-differentiable use.

It is the reference the native renderer is tested against, and the fallback when the native library is
missing. Memory is bounded by rendering a chunk of images at a time: a chunk holds at most
`max_elements` (image, line, pixel) triples.
"""

from __future__ import annotations

import torch

from mnistvec.raster.coverage import composite, footprint_cdf, pixel_centres, segment_geometry

MAX_ELEMENTS = 1 << 24


def sanitise(lines_px: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor, limit: float):
    """Make hostile input harmless: non-finite strokes get opacity 0, coordinates and radii are clamped.

    Clamping to +-limit pixels keeps every product finite in float32; strokes that reach that far are
    already far outside any canvas the renderer draws.
    """
    finite = torch.isfinite(lines_px).all(-1) & torch.isfinite(radius) & torch.isfinite(alpha)
    alpha = torch.where(finite, alpha.nan_to_num(0.0).clamp(0.0, 1.0), torch.zeros_like(alpha))
    lines_px = lines_px.nan_to_num(0.0, posinf=limit, neginf=-limit).clamp(-limit, limit)
    radius = radius.nan_to_num(0.0, posinf=limit, neginf=0.0).clamp(0.0, limit)
    return lines_px, radius, alpha


@torch.no_grad()
def render_exact_px(
    lines_px: torch.Tensor,
    radius: torch.Tensor,
    alpha: torch.Tensor,
    height: int,
    width: int,
    max_elements: int = MAX_ELEMENTS,
) -> torch.Tensor:
    """Render strokes given in pixel units: lines_px [B,N,4], radius [B,N], alpha [B,N] -> [B,H,W]."""
    batch, n_lines = radius.shape
    out = torch.zeros(batch, height, width, dtype=torch.float32, device=lines_px.device)
    if batch == 0 or height == 0 or width == 0 or n_lines == 0:
        return out
    limit = 4.0 * max(height, width) + 16.0
    lines_px, radius, alpha = sanitise(lines_px.float(), radius.float(), alpha.float(), limit)
    centres = pixel_centres(height, width, device=lines_px.device)
    per_image = n_lines * height * width
    chunk = max(1, max_elements // max(per_image, 1))
    for start in range(0, batch, chunk):
        sl = slice(start, start + chunk)
        d, a, b = segment_geometry(lines_px[sl], centres)
        r = radius[sl].unsqueeze(-1)
        cov = (footprint_cdf(r - d, a, b) - footprint_cdf(-r - d, a, b)).clamp(0.0, 1.0)
        img = composite(alpha[sl].unsqueeze(-1) * cov, dim=1)
        out[sl] = img.view(-1, height, width)
    return out
