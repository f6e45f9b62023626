"""`mnistvec render`: a vectors file to PNG and SVG files, and optionally one PNG grid.

Each item gets its own files whatever the names (`names.output_stems`); an item whose file cannot be
written (a folder where it must go, a name the filesystem refuses) is one warning line and the rest is
written. One run at a time writes into an OUT (`mnistvec.lock`). Ctrl-C or SIGTERM stops after the item
being written (`interrupted`): every file is whole, no temporary file is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.io.atomic import is_item_error, remove_stale_temps, write_text_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.png import make_grid, save_png
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.vectors import Vectors
from mnistvec.io.lock import output_lock
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
    interrupted: bool = False


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
    """Render every drawable item of `vectors`; bad items, and items whose files cannot be written, get one
    warning line each and are skipped."""
    start = time.perf_counter()
    with graceful_stop() as stop:
        batch = Vectors.load(vectors)
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with output_lock(out_dir):
                remove_stale_temps(out_dir)
                summary = _render_locked(vectors, batch, out_dir, size, formats, renderer, temperature, grid,
                                         source_frame, stop)
        finally:
            if created and out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
    summary.seconds = time.perf_counter() - start
    return summary


def _render_locked(vectors, batch: Vectors, out_dir, size, formats, renderer, temperature, grid, source_frame,
                   stop) -> RenderSummary:
    bad = dict(batch.bad_items())
    for i, reason in bad.items():
        warn(f"{vectors}: item {i} ({batch.name(i)}): {reason}; skipped")
    kept = np.array([i for i in range(len(batch)) if i not in bad], dtype=np.int64)
    good = batch.subset(kept)
    stems = output_stems([good.name(i) for i in range(len(good))])
    use_frames = source_frame and good.frames is not None
    tiles = []
    rendered = unwritten = 0
    outputs = [f for f in formats] + (["grid"] if grid is not None else [])
    with progress_bar("rendering", len(good)) as advance:
        for lo in range(0, len(good), CHUNK):
            part = good.subset(slice(lo, lo + CHUNK))
            images = _render_part(part, size, renderer, temperature, use_frames) if "png" in formats else None
            for k in range(len(part)):
                if stop.requested:
                    return RenderSummary(rendered, len(bad) + unwritten, 0.0, outputs, interrupted=True)
                stem = stems[lo + k]
                frame = tuple(part.frames[k]) if use_frames else canvas_frame(size)
                try:
                    if "png" in formats:
                        save_png(out_dir / "png" / f"{stem}.png", images[k], inverted=bool(frame[5]))
                    if "svg" in formats:
                        text = svg_drawing(part.lines[k], part.widths[k], part.opacity[k], frame, title=part.name(k))
                        write_text_atomic(out_dir / "svg" / f"{stem}.svg", text)
                except OSError as err:
                    if not is_item_error(err):
                        raise
                    warn(f"{vectors}: item {kept[lo + k]} ({part.name(k)}): cannot write {err.filename}: "
                         f"{err.strerror or err}; skipped")
                    unwritten += 1
                    continue
                rendered += 1
            if grid is not None:  # grid tiles are always the square canvas
                reuse = images is not None and not use_frames
                tiles.extend(images if reuse else _render_part(part, size, renderer, temperature, False))
            advance(len(part))
    if grid is not None and tiles and not stop.requested:
        save_png(grid, make_grid(np.stack(tiles)))
    return RenderSummary(rendered, len(bad) + unwritten, 0.0, outputs, interrupted=stop.requested)


def _render_part(part: Vectors, size: int, renderer: str, temperature: float, use_frames: bool) -> list[np.ndarray]:
    """Images of one chunk: on the square canvas, or each in its own source frame (sizes may differ)."""
    if not use_frames:
        return list(render_numpy(part.lines, part.widths, part.opacity, size, size, float(size), renderer, temperature))
    return [render_in_frame(part.lines[k], part.widths[k], part.opacity[k], part.frames[k], None, renderer,
                            temperature) for k in range(len(part))]
