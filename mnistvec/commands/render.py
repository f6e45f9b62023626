"""`mnistvec render`: a vectors file to PNG and SVG files, and optionally one PNG grid."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.io.atomic import write_text_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.png import make_grid, save_png
from mnistvec.io.vectors import Vectors
from mnistvec.io.names import output_stems
from mnistvec.raster import render_in_frame, render_numpy
from mnistvec.io.svg import canvas_frame, svg_drawing

FORMATS = ("png", "svg")
CHUNK = 1024


@dataclass
class RenderSummary:
    rendered: int
    failed: int
    seconds: float
    outputs: list[str]


def render_file(
    vectors: Path,
    out_dir: Path,
    size: int,
    formats: tuple[str, ...],
    renderer: str,
    temperature: float,
    grid: Path | None,
    source_frame: bool,
) -> RenderSummary:
    """Render every drawable item of `vectors`; bad items get one warning line each and are skipped."""
    start = time.perf_counter()
    batch = Vectors.load(vectors)
    bad = dict(batch.bad_items())
    for i, reason in bad.items():
        warn(f"{vectors}: item {i} ({batch.name(i)}): {reason}; skipped")
    good = batch.subset(np.array([i for i in range(len(batch)) if i not in bad], dtype=np.int64))
    stems = output_stems([good.name(i) for i in range(len(good))])
    use_frames = source_frame and good.frames is not None
    tiles = []
    with progress_bar("rendering", len(good)) as advance:
        for lo in range(0, len(good), CHUNK):
            part = good.subset(slice(lo, lo + CHUNK))
            images = _render_part(part, size, renderer, temperature, use_frames) if "png" in formats else None
            for k in range(len(part)):
                stem = stems[lo + k]
                frame = tuple(part.frames[k]) if use_frames else canvas_frame(size)
                if "png" in formats:
                    save_png(out_dir / "png" / f"{stem}.png", images[k], inverted=bool(frame[5]))
                if "svg" in formats:
                    text = svg_drawing(part.lines[k], part.widths[k], part.opacity[k], frame, title=part.name(k))
                    write_text_atomic(out_dir / "svg" / f"{stem}.svg", text)
            if grid is not None:  # grid tiles are always the square canvas
                reuse = images is not None and not use_frames
                tiles.extend(images if reuse else _render_part(part, size, renderer, temperature, False))
            advance(len(part))
    if grid is not None and tiles:
        save_png(grid, make_grid(np.stack(tiles)))
    outputs = [f for f in formats] + (["grid"] if grid is not None else [])
    return RenderSummary(len(good), len(bad), time.perf_counter() - start, outputs)


def _render_part(part: Vectors, size: int, renderer: str, temperature: float, use_frames: bool) -> list[np.ndarray]:
    """Images of one chunk: on the square canvas, or each in its own source frame (sizes may differ)."""
    if not use_frames:
        return list(render_numpy(part.lines, part.widths, part.opacity, size, size, float(size), renderer, temperature))
    return [render_in_frame(part.lines[k], part.widths[k], part.opacity[k], part.frames[k], None, renderer,
                            temperature) for k in range(len(part))]
