"""`mnistvec render`: a vectors file to PNG and SVG files, and optionally one PNG grid."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic
from ..console import progress_bar, warn
from ..images import GridImage, check_grid_size, max_image_pixels, pixel_batches, save_png
from ..lines import Lines
from ..names import output_stems
from ..render import render_numpy
from ..svg import canvas_frame, svg_drawing

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
    """Render every drawable item of `vectors`; bad items (bad values, and with `source_frame` a bad frame)
    get one warning line each and are skipped. Images are drawn a bounded batch at a time (`pixel_batches`)
    and the grid is filled tile by tile, so memory does not grow with the number of items or their size;
    a grid above the pixel limit is refused before anything is drawn."""
    start = time.perf_counter()
    batch = Lines.load(vectors)
    use_frames = source_frame and batch.frames is not None
    bad = dict(batch.bad_items())
    for i, reason in batch.bad_frames(max_image_pixels()) if use_frames else []:
        bad.setdefault(i, reason)
    for i, reason in sorted(bad.items()):
        warn(f"{vectors}: item {i} ({batch.name(i)}): {reason}; skipped")
    good = batch.subset(np.array([i for i in range(len(batch)) if i not in bad], dtype=np.int64))
    if grid is not None:
        check_grid_size(grid, len(good), size, "--size, or leave out --grid")
    stems = output_stems([good.name(i) for i in range(len(good))])
    tiles = GridImage(len(good), size, size) if grid is not None and len(good) else None
    with progress_bar("rendering", len(good)) as advance:
        for part in pixel_batches(_pixels(good, size, formats, use_frames, tiles is not None), len(good), CHUNK):
            _draw_part(good.subset(part), stems[part], part.start, out_dir, size, formats, renderer, temperature,
                       use_frames, tiles)
            advance(part.stop - part.start)
    if tiles is not None:
        tiles.save(grid)
    outputs = [f for f in formats] + (["grid"] if grid is not None else [])
    return RenderSummary(len(good), len(bad), time.perf_counter() - start, outputs)


def _draw_part(part: Lines, stems: list[str], first: int, out_dir: Path, size: int, formats: tuple[str, ...],
               renderer: str, temperature: float, use_frames: bool, tiles: GridImage | None) -> None:
    """Write the files of one batch of items (the first is item `first` of the drawable ones) and place
    their grid tiles; its images are released on return."""
    images = _render_part(part, size, renderer, temperature, use_frames) if "png" in formats else None
    for k in range(len(part)):
        frame = tuple(part.frames[k]) if use_frames else canvas_frame(size)
        if "png" in formats:
            save_png(out_dir / "png" / f"{stems[k]}.png", images[k], inverted=bool(frame[5]))
        if "svg" in formats:
            text = svg_drawing(part.lines[k], part.widths[k], part.opacity[k], frame, title=part.name(k))
            write_text_atomic(out_dir / "svg" / f"{stems[k]}.svg", text)
    if tiles is not None:  # grid tiles are always the square canvas
        reuse = images is not None and not use_frames
        for k, tile in enumerate(images if reuse else _render_part(part, size, renderer, temperature, False)):
            tiles.place(first + k, tile)


def _pixels(items: Lines, size: int, formats: tuple[str, ...], use_frames: bool, tiled: bool) -> list[int] | int:
    """The pixels drawn for each item: its PNG (in its source frame, or size x size) and its grid tile when
    that is drawn apart from the PNG."""
    square = size * size
    if not use_frames:
        return square if "png" in formats or tiled else 0
    own = [int(round(w)) * int(round(h)) for w, h in items.frames[:, :2]] if "png" in formats else [0] * len(items)
    return [n + (square if tiled else 0) for n in own]


def _render_part(part: Lines, size: int, renderer: str, temperature: float, use_frames: bool) -> list[np.ndarray]:
    """Images of one chunk: on the square canvas, or each in its own source frame (sizes may differ)."""
    if not use_frames:
        return list(render_numpy(part.lines, part.widths, part.opacity, size, size, float(size), renderer, temperature))
    images = []
    for k in range(len(part)):
        width, height, scale, off_x, off_y, _ = part.frames[k]
        shifted = part.lines[k : k + 1] + np.array([off_x, off_y, off_x, off_y], dtype=np.float32) / scale
        images.append(
            render_numpy(
                shifted, part.widths[k : k + 1], part.opacity[k : k + 1],
                int(round(height)), int(round(width)), float(scale), renderer, temperature,
            )[0]
        )
    return images
