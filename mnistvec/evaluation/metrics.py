"""Per-image distances between an original x and its reconstruction y, both [H, W] in [0, 1].

    MSE      = mean_pixels (x - y)^2
    BCE      = mean_pixels -(x log y + (1 - x) log(1 - y))      (y clamped to [EPS, 1 - EPS])
    IoU      = |X ∩ Y| / |X ∪ Y|                                  (1 when both are empty)
    chamfer  = 1/2 (mean_{p in X} min_{q in Y} |p - q| + mean_{q in Y} min_{p in X} |p - q|)   (pixels)

where X = {x > 0.5} and Y = {y > 0.5} are the ink pixels. Chamfer is 0 when both images are empty and the
canvas diagonal (the largest distance two pixels can have) when only one is: a drawing that lost all of its
ink is as far as a drawing can be.
"""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-5
INK = 0.5


def mse(originals: np.ndarray, recon: np.ndarray) -> np.ndarray:
    return ((originals - recon) ** 2).reshape(len(originals), -1).mean(1)


def bce(originals: np.ndarray, recon: np.ndarray) -> np.ndarray:
    y = np.clip(recon, EPS, 1 - EPS)
    per_pixel = -(originals * np.log(y) + (1 - originals) * np.log(1 - y))
    return per_pixel.reshape(len(originals), -1).mean(1)


def iou_at_half(originals: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Per-image IoU of the pixels above 0.5 (1 where both images have none)."""
    a, b = originals > INK, recon > INK
    inter = (a & b).reshape(len(a), -1).sum(1)
    union = (a | b).reshape(len(a), -1).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def chamfer(originals: np.ndarray, recon: np.ndarray, chunk: int = 32) -> np.ndarray:
    """Per-image symmetric chamfer distance between the ink pixels, in pixels (module docstring)."""
    count, height, width = originals.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij"
    )
    grid = torch.stack([ys.flatten(), xs.flatten()], 1)
    distances = torch.cdist(grid, grid)  # [P, P], P = H * W
    diagonal = float(np.hypot(height, width))
    out = np.empty(count, np.float64)
    for lo in range(0, count, chunk):
        a = torch.from_numpy(np.ascontiguousarray(originals[lo : lo + chunk] > INK)).flatten(1)
        b = torch.from_numpy(np.ascontiguousarray(recon[lo : lo + chunk] > INK)).flatten(1)
        out[lo : lo + chunk] = _chamfer_chunk(a, b, distances, diagonal)
    return out


def _one_way(a: torch.Tensor, b: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """mean over the ink pixels p of each image of a of min over the ink pixels q of b of |p - q|."""
    to_nearest = torch.where(b[:, None, :], distances[None], torch.tensor(float("inf"))).amin(2)  # [B, P]
    return (to_nearest * a).sum(1) / a.sum(1).clamp(min=1)


def _chamfer_chunk(a: torch.Tensor, b: torch.Tensor, distances: torch.Tensor, diagonal: float) -> np.ndarray:
    a_ink, b_ink = a.any(1), b.any(1)
    both = a_ink & b_ink
    value = torch.zeros(len(a), dtype=torch.float64)
    if both.any():
        a_both, b_both = a[both], b[both]
        value[both] = (0.5 * (_one_way(a_both, b_both, distances) + _one_way(b_both, a_both, distances))).double()
    value[a_ink ^ b_ink] = diagonal
    return value.numpy()
