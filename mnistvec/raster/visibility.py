"""Stroke hygiene: which strokes of a drawing can be seen at all.

A stroke is invisible when taking it away changes no pixel of the 28 x 28 drawing by `VISIBLE` (one 8-bit
grey level) or more. With P_k = alpha_k * cov_k the k-th stroke's own ink at a pixel and the compositing of
`coverage.py`, the drawing without the strokes in a set S is

    D_S = 1 - prod_{k not in S} (1 - P_k)

and D_S <= D_0 everywhere (taking ink away never adds any). Strokes are taken away greedily, one per
round, the one whose removal moves the drawing least, as long as the drawing without all of them stays
within VISIBLE of the full one at every pixel:

    S <- S + {i}    while    min_i max_pixels (D_0 - D_{S + {i}}) < VISIBLE

so what is left draws the same picture to 8-bit precision, however many faint or buried strokes there were.
"""

from __future__ import annotations

import numpy as np

VISIBLE = 1.0 / 255.0
"""One 8-bit grey level: a change smaller than this cannot be seen in an 8-bit image."""

CANVAS = 28
"""Visibility is judged on the model's canvas, 28 x 28 pixels."""


def stroke_ink(lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """[B, N, size * size]: P_k, each stroke drawn alone with its opacity (native renderer)."""
    from mnistvec.raster import render_numpy

    batch, n_lines = opacity.shape
    ink = render_numpy(
        lines.reshape(batch * n_lines, 1, 4), widths.reshape(-1, 1), opacity.reshape(-1, 1), size, size, float(size)
    )
    return ink.reshape(batch, n_lines, size * size).astype(np.float64)


def _products_without_each(kept: np.ndarray) -> np.ndarray:
    """[B, N, P]: prod_{j != k} kept_j for every k, from prefix and suffix products (no division)."""
    ones = np.ones_like(kept[:, :1])
    before = np.cumprod(np.concatenate([ones, kept[:, :-1]], axis=1), axis=1)
    after = np.cumprod(np.concatenate([ones, kept[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return before * after


def visible_strokes(
    lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray, threshold: float = VISIBLE, size: int = CANVAS
) -> np.ndarray:
    """bool [B, N]: the strokes kept by the greedy rule of the module docstring (False: invisible), found by
    the native library (the same rule in numpy, much slower, when it is missing)."""
    from mnistvec.raster.native import native_available, visible_strokes_native

    if native_available():
        return visible_strokes_native(lines, widths, opacity, size, size, float(size), threshold)
    return visible_strokes_numpy(lines, widths, opacity, threshold, size)


def visible_strokes_numpy(
    lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray, threshold: float = VISIBLE, size: int = CANVAS
) -> np.ndarray:
    """`visible_strokes` in numpy (float64), a reference for the native one."""
    lines, widths = np.asarray(lines, np.float32), np.asarray(widths, np.float32)
    opacity = np.asarray(opacity, np.float32)
    keep = opacity > 0
    if opacity.size == 0:
        return keep
    remaining = 1.0 - stroke_ink(lines, widths, opacity, size)  # 1 - P_k; a removed stroke's becomes 1
    remaining[~keep] = 1.0
    full = 1.0 - remaining.prod(axis=1)  # D_0
    todo = np.arange(len(opacity))
    while len(todo):
        without = 1.0 - _products_without_each(remaining[todo])  # D_{S + {k}} for every k
        loss = (full[todo, None, :] - without).max(axis=2)
        loss[~keep[todo]] = np.inf
        best = loss.argmin(axis=1)
        take = loss[np.arange(len(todo)), best] < threshold
        todo, best = todo[take], best[take]
        keep[todo, best] = False
        remaining[todo, best] = 1.0
    return keep


def without_invisible(
    lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray, threshold: float = VISIBLE
) -> np.ndarray:
    """`opacity` with every invisible stroke's set to 0 (the drawing keeps its N strokes)."""
    return np.where(visible_strokes(lines, widths, opacity, threshold), opacity, 0.0).astype(np.float32)
