"""The skeleton baseline: a digit's centre lines, traced and simplified to at most N straight strokes.

For one image x [28, 28] in [0, 1]:

1. ink = x > 0.5; its skeleton S (one pixel wide, scikit-image's `skeletonize`);
2. S as a graph of 8-connected pixels, cut into polylines at its ends and junctions (pixels whose number of
   skeleton neighbours is not 2); a closed loop with neither is cut where it starts. Links of one pixel step
   between two junction pixels (a junction is often a clump of them) are dropped: the round caps of the
   strokes that meet there cover them;
3. Douglas-Peucker on every polyline with tolerance t (`approximate_polygon`), t growing by half from
   0.5 px until all polylines together have at most N segments, or t reaches MAX_TOLERANCE; then the
   shortest segments are dropped;
4. each segment's width is twice the mean distance from its skeleton pixels to the background (the
   Euclidean distance transform of the ink), so a stroke is as thick as the pen was; opacity 1.

Coordinates are pixel centres in canvas units, (column + 0.5) / 28 and (row + 0.5) / 28. Unused strokes get
opacity 0, so every drawing has exactly N strokes, like a model's.
"""

from __future__ import annotations

import numpy as np

from mnistvec.baselines import MissingComponentError

NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
INK = 0.5
MAX_TOLERANCE = 4.0


def require_scikit_image():
    """(skeletonize, approximate_polygon, distance_transform_edt), or MissingComponentError saying how to
    install scikit-image."""
    try:
        from scipy import ndimage
        from skimage.measure import approximate_polygon
        from skimage.morphology import skeletonize
    except ImportError:
        raise MissingComponentError(
            'the skeleton baseline needs scikit-image: pip install "mnistvec[baselines]"'
        ) from None
    return skeletonize, approximate_polygon, ndimage.distance_transform_edt


def trace_polylines(skeleton: np.ndarray) -> list[np.ndarray]:
    """The skeleton's pixels [H, W] (bool) as polylines, each [K, 2] (row, column), cut at ends and junctions."""
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton))}
    neighbours = {
        p: [(p[0] + dr, p[1] + dc) for dr, dc in NEIGHBOURS if (p[0] + dr, p[1] + dc) in pixels] for p in pixels
    }
    nodes = {p for p, n in neighbours.items() if len(n) != 2}
    used: set[frozenset] = set()
    polylines: list[np.ndarray] = []

    def walk(start, first):
        path, previous, current = [start], start, first
        used.add(frozenset((start, first)))
        while current not in nodes and current != start:
            path.append(current)
            ahead = (q for q in neighbours[current] if q != previous and frozenset((current, q)) not in used)
            step = next(ahead, None)
            if step is None:
                break
            used.add(frozenset((current, step)))
            previous, current = current, step
        path.append(current)
        return np.array(path, dtype=np.float64)

    for node in sorted(nodes):
        if not neighbours[node]:
            polylines.append(np.array([node, node], dtype=np.float64))  # an isolated dot
        for first in neighbours[node]:
            if first in nodes and len(neighbours[first]) > 2 and len(neighbours[node]) > 2:
                used.add(frozenset((node, first)))  # a link inside a junction clump
            elif frozenset((node, first)) not in used:
                polylines.append(walk(node, first))
    for pixel in sorted(pixels):  # closed loops: every pixel has two neighbours
        for first in neighbours[pixel]:
            if frozenset((pixel, first)) not in used:
                polylines.append(walk(pixel, first))
    return polylines


def _segments(polylines: list[np.ndarray], tolerance: float, approximate_polygon) -> list[np.ndarray]:
    segments = []
    for line in polylines:
        corners = approximate_polygon(line, tolerance) if len(line) > 2 else line
        segments += [corners[i : i + 2] for i in range(len(corners) - 1)]
    return segments


def skeleton_strokes(image: np.ndarray, n_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image [H, W] -> (lines [N, 4], widths [N], opacity [N]) in canvas units (module docstring)."""
    skeletonize, approximate_polygon, distance_transform = require_scikit_image()
    height, width = image.shape
    ink = image > INK
    lines = np.zeros((n_lines, 4), np.float32)
    widths = np.zeros(n_lines, np.float32)
    opacity = np.zeros(n_lines, np.float32)
    if not ink.any():
        return lines, widths, opacity
    polylines = trace_polylines(skeletonize(ink))
    tolerance = 0.5
    segments = _segments(polylines, tolerance, approximate_polygon)
    while len(segments) > n_lines and tolerance < MAX_TOLERANCE:
        tolerance *= 1.5
        segments = _segments(polylines, tolerance, approximate_polygon)
    if len(segments) > n_lines:
        segments = sorted(segments, key=lambda s: -np.hypot(*(s[1] - s[0])))[:n_lines]
    depth = distance_transform(ink)
    for k, ((r0, c0), (r1, c1)) in enumerate(segments):
        steps = max(2, int(np.ceil(np.hypot(r1 - r0, c1 - c0))) + 1)
        rows = np.clip(np.round(np.linspace(r0, r1, steps)).astype(int), 0, height - 1)
        cols = np.clip(np.round(np.linspace(c0, c1, steps)).astype(int), 0, width - 1)
        lines[k] = [(c0 + 0.5) / width, (r0 + 0.5) / height, (c1 + 0.5) / width, (r1 + 0.5) / height]
        widths[k] = 2.0 * float(depth[rows, cols].mean()) / width
        opacity[k] = 1.0
    return lines, widths, opacity


def skeleton_batch(images: np.ndarray, n_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[B, H, W] -> lines [B, N, 4], widths [B, N], opacity [B, N]."""
    parts = [skeleton_strokes(image, n_lines) for image in images]
    return tuple(np.stack([p[k] for p in parts]) for k in range(3))
