"""SVG output: one drawing per item, strokes as `<line>` elements with round caps.

The picture is the pixel formula of `raster/coverage.py` in SVG's painter's model: a background rectangle,
then each stroke painted with `stroke-opacity` alpha. For white ink over black, each stroke maps a pixel
value v to v (1 - alpha cov) + alpha cov, so the result is 1 - prod_k (1 - alpha_k cov_k), the renderers'
formula. For a source with a light background (`inverted`), ink is black over white: the exact negative.

Coordinates: the `viewBox` is in pixels of the source canvas. Canvas units c map to ``offset + c * scale``;
without a source frame the canvas is `size` x `size` pixels (scale = size, offset 0).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from xml.sax.saxutils import escape

import numpy as np
import svgwrite

from mnistvec.io.names import printable
from mnistvec.native import load_library

FrameTuple = tuple[float, float, float, float, float, float]


def canvas_frame(size: int) -> FrameTuple:
    """The frame of a square canvas of `size` pixels: (width, height, scale, offset_x, offset_y, inverted)."""
    return (float(size), float(size), float(size), 0.0, 0.0, 0.0)


_LINES_PLACEHOLDER = "mnistvec-lines"
_TITLE_PLACEHOLDER = "mnistvec-title"
_LINE = '<line x1="%g" y1="%g" x2="%g" y2="%g" stroke-width="%g" stroke-opacity="%g" />'


def _fmt(value: float) -> str:
    """Short decimal, rounded to 1/1000 pixel."""
    text = f"{round(float(value), 3):.6g}"
    return "0" if text == "-0" else text


@functools.lru_cache(maxsize=256)
def _skeleton(width: str, height: str, inverted: bool, with_title: bool) -> tuple[str, str, str]:
    """The document around the strokes, built by svgwrite, split where the title and the strokes go."""
    ink, paper = ("black", "white") if inverted else ("white", "black")
    dwg = svgwrite.Drawing(size=(width, height), viewBox=f"0 0 {width} {height}", debug=False)
    if with_title:
        dwg.set_desc(title=_TITLE_PLACEHOLDER)
    dwg.add(dwg.rect(insert=(0, 0), size=(width, height), fill=paper))
    dwg.add(dwg.g(id=_LINES_PLACEHOLDER, stroke=ink, stroke_linecap="round", fill="none"))
    text = dwg.tostring()
    head, tail = text.split(f' id="{_LINES_PLACEHOLDER}"', 1)
    tail = tail.replace(" />", ">", 1).removesuffix("</svg>")
    before_title, _, after_title = head.partition(_TITLE_PLACEHOLDER)
    return before_title, after_title + tail, "</g></svg>"


def svg_drawing(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    frame: FrameTuple,
    title: str | None = None,
) -> str:
    """The SVG text of one item: lines [N, 4], widths [N], opacity [N] in canvas units (`svg_drawings`)."""
    return svg_drawings(
        np.asarray(lines)[None],
        np.asarray(widths)[None],
        np.asarray(opacity)[None],
        np.asarray(frame, np.float64)[None],
        [title],
    )[0]


def svg_drawings(
    lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray, frames: np.ndarray, titles: list[str | None]
) -> list[str]:
    """The SVG texts of a batch: lines [B, N, 4], widths [B, N], opacity [B, N] in canvas units, frames [B, 6].

    svgwrite builds the document (root, viewBox, background, the stroke group and its shared attributes)
    once per canvas size and polarity; titles are made printable (`names.printable`: a file name that is
    not UTF-8, characters XML forbids) and escaped for XML; the strokes' numbers are scaled and
    rounded for the whole batch at once and formatted as `<line>` elements, which keeps writing thousands
    of files fast. A stroke with opacity 0 draws nothing and is not written."""
    lines = np.asarray(lines, np.float64).reshape(len(frames), -1, 4)
    frames = np.asarray(frames, np.float64).reshape(-1, 6)
    scale, offsets = frames[:, 2, None, None], frames[:, [3, 4, 3, 4]][:, None, :]
    opacity = np.asarray(opacity, np.float64).reshape(lines.shape[:2])
    rows = np.concatenate(
        [
            lines * scale + offsets,
            (np.maximum(np.asarray(widths, np.float64).reshape(lines.shape[:2]), 0.0) * frames[:, 2, None])[..., None],
            np.clip(opacity, 0.0, 1.0)[..., None],
        ],
        axis=2,
    )
    _refuse_non_finite(rows[..., :4][opacity > 0], rows[..., 4][opacity > 0])
    rows = np.round(rows, 3) + 0.0  # 1/1000 pixel; adding 0.0 turns -0.0 into 0.0
    texts = []
    for body, frame, title in zip(_line_elements(rows, opacity > 0), frames.tolist(), titles):
        before_title, before_lines, end = _skeleton(_fmt(frame[0]), _fmt(frame[1]), bool(frame[5]), bool(title))
        texts.append(before_title + (escape(printable(title)) if title else "") + before_lines + body + end)
    return texts


_MAX_ELEMENT_BYTES = 144
"""The most bytes the native library's `<line>` element takes (the template and six numbers of 13)."""


def _line_elements(rows: np.ndarray, drawn: np.ndarray) -> list[str]:
    """Each item's `<line>` elements: `rows` [B, N, 6] (x0, y0, x1, y1, width, opacity in pixels, rounded),
    the strokes where `drawn` [B, N] is true, each number as `%g` writes it. The native library formats
    the batch outside Python's global lock when it is there (the same text, byte for byte)."""
    library = load_library()
    if library is None or rows.size == 0:
        return [
            "".join([_LINE % tuple(row) for row, on in zip(item_rows, item_drawn) if on])
            for item_rows, item_drawn in zip(rows.tolist(), drawn.tolist())
        ]
    rows = np.ascontiguousarray(rows, np.float64)
    flags = np.ascontiguousarray(drawn, np.uint8)
    batch, n_lines = flags.shape
    out = np.empty(batch * n_lines * _MAX_ELEMENT_BYTES, np.uint8)
    offsets = np.empty(batch + 1, np.uint64)
    code = library.mnistvec_svg_lines(
        rows.ctypes.data, flags.ctypes.data, batch, n_lines, out.ctypes.data, out.size, offsets.ctypes.data
    )
    if code != 0:
        raise RuntimeError(f"mnistvec_svg_lines failed with code {code}")
    text = out[: int(offsets[-1])].tobytes().decode("ascii")
    bounds = offsets.tolist()
    return [text[start:end] for start, end in zip(bounds, bounds[1:])]


def svg_grid(
    lines: np.ndarray,
    widths: np.ndarray,
    opacity: np.ndarray,
    size: int,
    columns: int | None = None,
    pad: int = 2,
    title: str | None = None,
) -> Iterator[str]:
    """Many items tiled in one SVG, laid out like `png.make_grid`: each item on a `size`-pixel black
    square (a nested `<svg>` that clips it, as the PNG grid does), squares separated by `pad` pixels of grey.
    lines [B, N, 4], widths/opacity [B, N], canvas units. The text comes in pieces (the document's head, one
    cell each, its end), so that a grid of many items is written without holding all of it."""
    from mnistvec.io.png import grid_shape, grid_size, tile_corner

    total_h, total_w = grid_size(len(lines), size, size, columns, pad)
    cols = grid_shape(len(lines), columns)[1]
    dwg = svgwrite.Drawing(size=(total_w, total_h), viewBox=f"0 0 {total_w} {total_h}", debug=False)
    if title:
        dwg.set_desc(title=printable(title))
    dwg.add(dwg.rect(insert=(0, 0), size=(total_w, total_h), fill="rgb(64,64,64)"))
    yield dwg.tostring().removesuffix("</svg>")
    for k in range(len(lines)):
        y, x = tile_corner(k, cols, size, size, pad)
        cell = dwg.svg(insert=(x, y), size=(size, size))  # a nested <svg> clips its strokes to the cell
        cell.add(dwg.rect(insert=(0, 0), size=(size, size), fill="black"))
        group = cell.add(dwg.g(stroke="white", stroke_linecap="round", fill="none"))
        pts = np.asarray(lines[k], np.float64).reshape(-1, 4) * size
        item_widths = np.asarray(widths[k], np.float64) * size
        _refuse_non_finite(pts, item_widths)
        for (x0, y0, x1, y1), w, a in zip(pts, item_widths, np.asarray(opacity[k])):
            if not a > 0:  # draws nothing
                continue
            group.add(
                dwg.line(
                    (_fmt(x0), _fmt(y0)),
                    (_fmt(x1), _fmt(y1)),
                    stroke_width=_fmt(max(w, 0.0)),
                    stroke_opacity=_fmt(min(max(float(a), 0.0), 1.0)),
                )
            )
        yield cell.tostring()
    yield "</svg>"


def _refuse_non_finite(points: np.ndarray, widths: np.ndarray) -> None:
    """ValueError when a number bound for an SVG file is not finite: callers leave such items out (as
    per-item failures) before they get here, so reaching this is a bug, never a file with "nan" in it."""
    if not (np.isfinite(points).all() and np.isfinite(widths).all()):
        raise ValueError("non-finite stroke coordinates reached the SVG writer")
