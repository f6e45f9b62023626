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


_LINES_PLACEHOLDER = "mnistvec-lines"
_LINE = '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke-width="{}" stroke-opacity="{}" />'


def _fmt(value: float) -> str:
    """Short decimal, rounded to 1/1000 pixel."""
    text = "%.6g" % round(float(value), 3)
    return "0" if text == "-0" else text


def _line_elements(pts: np.ndarray, widths_px: np.ndarray, opacity: np.ndarray) -> str:
    """The `<line>` elements (numbers only, nothing to escape), formatted in one pass."""
    rows = np.concatenate([pts, np.maximum(widths_px, 0.0)[:, None], np.clip(opacity, 0.0, 1.0)[:, None]], axis=1)
    return "".join(_LINE.format(*map(_fmt, row)) for row in rows.tolist())


def svg_drawing(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    frame: FrameTuple,
    title: str | None = None,
) -> str:
    """The SVG text of one item: lines [N, 4], widths [N], opacity [N] in canvas units.

    svgwrite builds the document (root, viewBox, escaped title, background, the stroke group and its
    shared attributes); the strokes' numeric `<line>` elements are then formatted in one pass, which keeps
    writing thousands of files fast.
    """
    width, height, scale, off_x, off_y, inverted = (float(v) for v in frame)
    ink, paper = ("black", "white") if inverted else ("white", "black")
    dwg = svgwrite.Drawing(
        size=(_fmt(width), _fmt(height)), viewBox=f"0 0 {_fmt(width)} {_fmt(height)}", debug=False
    )
    if title:
        dwg.set_desc(title=title)  # svgwrite escapes the text
    dwg.add(dwg.rect(insert=(0, 0), size=(_fmt(width), _fmt(height)), fill=paper))
    dwg.add(dwg.g(id=_LINES_PLACEHOLDER, stroke=ink, stroke_linecap="round", fill="none"))
    pts = np.asarray(lines, np.float64).reshape(-1, 4) * scale + np.array([off_x, off_y, off_x, off_y])
    body = _line_elements(pts, np.asarray(widths, np.float64).reshape(-1) * scale,
                          np.asarray(opacity, np.float64).reshape(-1))
    head, tail = dwg.tostring().split(f'id="{_LINES_PLACEHOLDER}"', 1)
    tail = tail.replace(" />", f">{body}</g>", 1)
    return head.rstrip() + tail
