"""`mnistvec render`: a vectors file to PNG and SVG files, and optionally one PNG grid.

Each item gets its own files whatever the names (`names.output_stems`); an item that cannot be drawn (bad
values, with `--source-frame` a bad frame) or whose file cannot be written (a folder where it must go, a
name the filesystem refuses) is one warning line and the rest is written. Images are drawn a bounded batch
at a time (`pixel_batches`) and the grid is filled tile by tile, so memory does not grow with the number of
items or their size; a grid above the pixel limit is refused before anything is drawn. One run at a time
writes into an OUT (`io/lock.py`). Ctrl-C or SIGTERM stops after the item being written (`interrupted`):
every file is whole, no temporary file is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.io.atomic import is_item_error, remove_stale_temps, write_text_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.lock import output_lock
from mnistvec.io.names import output_stems
from mnistvec.io.png import GridImage, check_grid_size, max_image_pixels, pixel_batches, save_png
from mnistvec.io.svg import canvas_frame, svg_drawing
from mnistvec.io.vectors import Vectors
from mnistvec.raster import render_in_frame, render_numpy

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
    """Render every drawable item of `vectors` into `out_dir` (module docstring)."""
    start = time.perf_counter()
    with graceful_stop() as stop:
        batch = Vectors.load(vectors)
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with output_lock(out_dir):
                remove_stale_temps(out_dir)
                summary = _render_locked(
                    vectors, batch, out_dir, size, formats, renderer, temperature, grid, source_frame, stop
                )
        finally:
            if created and out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
    summary.seconds = time.perf_counter() - start
    return summary


def _render_locked(
    vectors, batch: Vectors, out_dir, size, formats, renderer, temperature, grid, source_frame, stop
) -> RenderSummary:
    use_frames = source_frame and batch.frames is not None
    bad = dict(batch.bad_items())
    for i, reason in batch.bad_frames(max_image_pixels()) if use_frames else []:
        bad.setdefault(i, reason)
    for i, reason in sorted(bad.items()):
        warn(f"{vectors}: item {i} ({batch.name(i)}): {reason}; skipped")
    kept = np.array([i for i in range(len(batch)) if i not in bad], dtype=np.int64)
    good = batch.subset(kept)
    if grid is not None:
        check_grid_size(grid, len(good), size, "--size, or leave out --grid")
    stems = output_stems([good.name(i) for i in range(len(good))])
    tiles = GridImage(len(good), size, size) if grid is not None and len(good) else None
    outputs = [f for f in formats] + (["grid"] if grid is not None else [])
    rendered = unwritten = 0
    with progress_bar("rendering", len(good)) as advance:
        for part in pixel_batches(_pixels(good, size, formats, use_frames, tiles is not None), len(good), CHUNK):
            done, failed = _draw_part(
                vectors,
                good.subset(part),
                kept[part],
                stems[part],
                part.start,
                out_dir,
                size,
                formats,
                renderer,
                temperature,
                use_frames,
                tiles,
                stop,
            )
            rendered, unwritten = rendered + done, unwritten + failed
            if stop.requested:
                return RenderSummary(rendered, len(bad) + unwritten, 0.0, outputs, interrupted=True)
            advance(part.stop - part.start)
    if tiles is not None:
        tiles.save(grid)
    return RenderSummary(rendered, len(bad) + unwritten, 0.0, outputs)


def _draw_part(
    vectors,
    part: Vectors,
    indices,
    stems: list[str],
    first: int,
    out_dir: Path,
    size: int,
    formats: tuple[str, ...],
    renderer: str,
    temperature: float,
    use_frames: bool,
    tiles: GridImage | None,
    stop,
) -> tuple[int, int]:
    """Write the files of one batch of items (the first is item `first` of the drawable ones; `indices` are
    their places in the file) and place their grid tiles, until a stop is requested; (items written, items
    whose files could not be). Its images are released on return."""
    images = _render_part(part, size, renderer, temperature, use_frames) if "png" in formats else None
    written = failed = 0
    for k in range(len(part)):
        if stop.requested:
            return written, failed
        frame = tuple(part.frames[k]) if use_frames else canvas_frame(size)
        try:
            if "png" in formats:
                save_png(out_dir / "png" / f"{stems[k]}.png", images[k], inverted=bool(frame[5]))
            if "svg" in formats:
                text = svg_drawing(part.lines[k], part.widths[k], part.opacity[k], frame, title=part.name(k))
                write_text_atomic(out_dir / "svg" / f"{stems[k]}.svg", text)
            written += 1
        except OSError as err:
            if not is_item_error(err):
                raise
            warn(
                f"{vectors}: item {indices[k]} ({part.name(k)}): cannot write {err.filename}: "
                f"{err.strerror or err}; skipped"
            )
            failed += 1
    if tiles is not None:  # grid tiles are always the square canvas
        reuse = images is not None and not use_frames
        for k, tile in enumerate(images if reuse else _render_part(part, size, renderer, temperature, False)):
            tiles.place(first + k, tile)
    return written, failed


def _pixels(items: Vectors, size: int, formats: tuple[str, ...], use_frames: bool, tiled: bool) -> list[int] | int:
    """The pixels drawn for each item: its PNG (in its source frame, or size x size) and its grid tile when
    that is drawn apart from the PNG."""
    square = size * size
    if not use_frames:
        return square if "png" in formats or tiled else 0
    own = [int(round(w)) * int(round(h)) for w, h in items.frames[:, :2]] if "png" in formats else [0] * len(items)
    return [n + (square if tiled else 0) for n in own]


def _render_part(part: Vectors, size: int, renderer: str, temperature: float, use_frames: bool) -> list[np.ndarray]:
    """Images of one chunk: on the square canvas, or each in its own source frame (sizes may differ)."""
    if not use_frames:
        return list(render_numpy(part.lines, part.widths, part.opacity, size, size, float(size), renderer, temperature))
    return [
        render_in_frame(part.lines[k], part.widths[k], part.opacity[k], part.frames[k], None, renderer, temperature)
        for k in range(len(part))
    ]
