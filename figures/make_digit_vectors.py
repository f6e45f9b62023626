"""Write examples/vectors/digits.npz: the ten digits drawn by hand as polylines, 16 strokes each.

Each digit is a few polylines in canvas units (the unit square, y down); consecutive points become
strokes, and unused strokes are switched off (opacity 0) so every item has exactly 16.

    python figures/make_digit_vectors.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mnistvec.io.vectors import Vectors

N_LINES = 16
WIDTH = 0.085


def arc(cx, cy, rx, ry, start_deg, end_deg, steps):
    """Points on an ellipse arc (angles in degrees, 0 = right, 90 = down)."""
    angles = np.linspace(math.radians(start_deg), math.radians(end_deg), steps + 1)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


DIGITS = {
    "zero": [arc(0.5, 0.5, 0.2, 0.3, 0, 360, 12)],
    "one": [[(0.42, 0.3), (0.53, 0.2), (0.53, 0.8)]],
    "two": [arc(0.5, 0.36, 0.19, 0.16, 190, 360, 6) + arc(0.5, 0.36, 0.19, 0.16, 0, 60, 2) + [(0.3, 0.8), (0.72, 0.8)]],
    "three": [arc(0.48, 0.35, 0.18, 0.15, 200, 450, 6), arc(0.48, 0.64, 0.2, 0.16, 270, 520, 7)],
    "four": [[(0.6, 0.8), (0.6, 0.2), (0.28, 0.62), (0.75, 0.62)]],
    "five": [[(0.7, 0.2), (0.36, 0.2), (0.32, 0.48)] + arc(0.49, 0.63, 0.2, 0.17, 240, 500, 8)],
    "six": [[(0.64, 0.2), (0.46, 0.34), (0.33, 0.55)] + arc(0.5, 0.64, 0.17, 0.16, 180, 540, 10)],
    "seven": [[(0.28, 0.2), (0.72, 0.2), (0.46, 0.8)], [(0.4, 0.5), (0.66, 0.5)]],
    "eight": [arc(0.5, 0.35, 0.15, 0.14, 90, 450, 7), arc(0.5, 0.64, 0.19, 0.16, -90, 270, 7)],
    "nine": [arc(0.5, 0.36, 0.17, 0.16, 0, 360, 10), [(0.67, 0.36), (0.58, 0.8)]],
}


def strokes(polylines) -> list[tuple[float, float, float, float]]:
    """Consecutive points of each polyline become (x0, y0, x1, y1) strokes."""
    return [(*p, *q) for line in polylines for p, q in zip(line[:-1], line[1:])]


def build() -> Vectors:
    names = list(DIGITS)
    lines = np.zeros((len(names), N_LINES, 4), np.float32)
    widths = np.full((len(names), N_LINES), WIDTH, np.float32)
    opacity = np.zeros((len(names), N_LINES), np.float32)
    for i, name in enumerate(names):
        segs = strokes(DIGITS[name])
        assert len(segs) <= N_LINES, (name, len(segs))
        lines[i, : len(segs)] = segs
        opacity[i, : len(segs)] = 1.0
        lines[i, len(segs) :] = 0.5  # switched-off strokes: zero-length, opacity 0
    return Vectors(lines, widths, opacity, names=names, meta={"model": "hand-drawn"})


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "examples" / "vectors" / "digits.npz"
    build().save(out)
    print(f"wrote {out}")
