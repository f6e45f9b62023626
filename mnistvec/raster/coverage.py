"""The pixel formula shared by every renderer (native Rust, torch exact, soft).

Units are pixels: pixel (i, j) is the unit square [j, j+1] x [i, i+1], its centre c = (j + 0.5, i + 0.5).
A stroke is a capsule: the segment A-B thickened by a radius r = width / 2, with round caps.

Coverage of one pixel by one stroke (the fraction of the pixel's area inside the stroke):

    t   = (c-A).(B-A) / |B-A|^2                        (t = 0 for a zero-length segment)
    q   = A + clamp(t, 0, 1) (B - A)                   (the point of segment A-B nearest to c)
    d   = |c - q|                                      (distance from the pixel centre to the segment)
    u   = the direction the stroke's edge runs across the pixel:
          (B - A) / |B - A|        beside the segment body (0 < t < 1), or when d = 0
          (c - q) / d rotated 90   beside a round cap (t <= 0 or t >= 1); only |u_x|, |u_y| matter
          (1, 0)                   for a zero-length segment with d = 0
    a   = max(|u_x|, |u_y|),  b = max(min(|u_x|, |u_y|), B_MIN)
    cov = F(r - d) - F(-r - d)

F is the cumulative distribution of the pixel's footprint projected onto the stroke's normal: a unit square
seen across a direction at angle theta is the sum of two uniform variables of widths |cos theta| and
|sin theta| (a trapezoid of half-support p = (a + b) / 2, flat top of half-width m = (a - b) / 2):

    F(x) = 0                        x <= -p
         = (x + p)^2 / (2 a b)      -p < x <= -m
         = 1/2 + x / a              -m < x <= 0
         = 1 - F(-x)                x > 0

For a straight stroke edge this is the exact area of the pixel inside the stroke; beside a round cap the
circular edge is taken as straight across the pixel (its tangent), which is within a few hundredths of the
true area. B_MIN = 1/64 keeps
the division finite for axis-aligned strokes (it widens their footprint by 1/64 of a pixel, which moves a
pixel's value by at most 1/512, below 8-bit precision).

Compositing (white ink over a black canvas, opacity alpha_k in [0, 1]):

    pixel = 1 - prod_k (1 - alpha_k * cov_k)

which is what SVG's painter's model gives for white strokes with `stroke-opacity` over black.
A stroke touches only pixels with d < r + p, so renderers may skip every pixel farther than r + P_MAX.
"""

from __future__ import annotations

import torch

B_MIN = 1.0 / 64.0
"""Smallest footprint width across a stroke's direction (pixels); see the module docstring."""

P_MAX = 0.5**0.5 + 1e-3
"""An upper bound on the footprint half-support p = (a + b) / 2 <= 1/sqrt(2) (reached at 45 degrees), so
that cov = 0 wherever d >= r + P_MAX."""


def footprint_cdf_nonpositive(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """F(x) for x <= 0 (callers pass -|x|): the trapezoid footprint's cumulative distribution."""
    p = 0.5 * (a + b)
    m = 0.5 * (a - b)
    ramp = (x + p).clamp(min=0.0) ** 2 / (2.0 * a * b)
    flat = 0.5 + x / a
    return torch.where(x <= -m, ramp, flat)


def footprint_cdf(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """F(x) for any x, using the symmetry F(x) = 1 - F(-x) so that only x <= 0 is ever evaluated."""
    tail = footprint_cdf_nonpositive(-x.abs(), a, b)
    return torch.where(x > 0, 1.0 - tail, tail)


def segment_geometry(
    lines_px: torch.Tensor, centres: torch.Tensor, eps: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distance from pixel centres to segments, and the footprint widths (a, b) at each pixel.

    lines_px: [..., N, 4] endpoints in pixels; centres: [P, 2] pixel centres (x, y).
    Returns d, a, b, each [..., N, P].
    eps > 0 smooths |B - A| and d near zero (the soft renderer needs finite gradients there).
    """
    ax, ay, bx, by = (v.unsqueeze(-1) for v in lines_px.unbind(-1))
    vx, vy = bx - ax, by - ay
    len2 = vx * vx + vy * vy
    cx, cy = centres[:, 0], centres[:, 1]
    wx, wy = cx - ax, cy - ay  # [..., N, P]
    has_length = len2 > 0
    t_raw = (wx * vx + wy * vy) / torch.where(has_length, len2, torch.ones_like(len2))
    t_raw = torch.where(has_length, t_raw, torch.zeros_like(t_raw))
    t = t_raw.clamp(0.0, 1.0)
    dx, dy = wx - t * vx, wy - t * vy
    d2 = dx * dx + dy * dy
    d = torch.sqrt(d2 + eps * eps)

    length = torch.sqrt(len2 + eps * eps)
    seg_x = torch.where(
        length > 0, vx.abs() / torch.where(length > 0, length, torch.ones_like(length)), torch.ones_like(vx)
    )
    seg_y = torch.where(
        length > 0, vy.abs() / torch.where(length > 0, length, torch.ones_like(length)), torch.zeros_like(vy)
    )
    beside_cap = ((t_raw <= 0) | (t_raw >= 1)) & (d2 > 0)
    # Beside a cap the edge runs perpendicular to (c - q): |u| = (|dy|, |dx|) / d.
    safe_d = torch.where(beside_cap, d, torch.ones_like(d))
    ux = torch.where(beside_cap, dy.abs() / safe_d, seg_x)
    uy = torch.where(beside_cap, dx.abs() / safe_d, seg_y)
    # a >= 1/sqrt(2) for a unit direction; the clamp only guards eps-smoothed near-zero vectors.
    a = torch.maximum(ux, uy).clamp(min=0.5)
    b = torch.minimum(ux, uy).clamp(min=B_MIN)
    return d, a, b


def pixel_centres(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """[H*W, 2] pixel centres (x, y) in row-major order."""
    ys = torch.arange(height, device=device, dtype=dtype) + 0.5
    xs = torch.arange(width, device=device, dtype=dtype) + 0.5
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


def composite(alpha_cov: torch.Tensor, dim: int) -> torch.Tensor:
    """pixel = 1 - prod_k (1 - alpha_k cov_k) along `dim` (the line axis)."""
    return 1.0 - torch.prod(1.0 - alpha_cov, dim=dim)
