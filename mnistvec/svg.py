"""SVG output: one drawing per item, strokes as `<line>` elements with round caps.

The picture is the pixel formula of `render/coverage.py` in SVG's painter's model: a background rectangle,
then each stroke painted with `stroke-opacity` alpha. For white ink over black, each stroke maps a pixel
value v to v (1 - alpha cov) + alpha cov, so the result is 1 - prod_k (1 - alpha_k cov_k), the renderers'
formula. For a source with a light background (`inverted`), ink is black over white: the exact negative.

Coordinates: the `viewBox` is in pixels of the source canvas. Canvas units c map to ``offset + c * scale``;
without a source frame the canvas is `size` x `size` pixels (scale = size, offset 0).
"""

from __future__ import annotations

import numpy as np
import svgwrite

FrameTuple = tuple[float, float, float, float, float, float]


def canvas_frame(size: int) -> FrameTuple:
    """The frame of a square canvas of `size` pixels: (width, height, scale, offset_x, offset_y, inverted)."""
    return (float(size), float(size), float(size), 0.0, 0.0, 0.0)


def _fmt(value: float) -> str:
    """Short, exact-enough decimal (1/1000 pixel) for coordinates."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def svg_drawing(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    frame: FrameTuple,
    title: str | None = None,
) -> str:
    """The SVG text of one item: lines [N, 4], widths [N], opacity [N] in canvas units."""
    width, height, scale, off_x, off_y, inverted = (float(v) for v in frame)
    ink, paper = ("black", "white") if inverted else ("white", "black")
    dwg = svgwrite.Drawing(
        size=(_fmt(width), _fmt(height)), viewBox=f"0 0 {_fmt(width)} {_fmt(height)}", debug=False
    )
    if title:
        dwg.set_desc(title=title)  # svgwrite escapes the text
    dwg.add(dwg.rect(insert=(0, 0), size=(_fmt(width), _fmt(height)), fill=paper))
    group = dwg.g(stroke=ink, stroke_linecap="round", fill="none")
    pts = lines.astype(np.float64) * scale + np.array([off_x, off_y, off_x, off_y])
    for (x0, y0, x1, y1), w, a in zip(pts, widths.astype(np.float64) * scale, opacity):
        group.add(
            dwg.line(
                start=(_fmt(x0), _fmt(y0)),
                end=(_fmt(x1), _fmt(y1)),
                stroke_width=_fmt(max(w, 0.0)),
                stroke_opacity=_fmt(float(np.clip(a, 0.0, 1.0))),
            )
        )
    dwg.add(group)
    return dwg.tostring()
