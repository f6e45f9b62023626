"""`mnistvec encode`: images in, strokes out (vectors.npz, one SVG per image, optional PNGs).

Streaming: images are read, encoded and written one batch at a time, so memory stays flat on large
folders. Re-running skips items already done (present in vectors.npz with their files on disk) unless
`overwrite`; unreadable inputs are listed in OUTPUT/errors.txt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_text_atomic
from ..console import progress_bar, warn
from ..data import Failure, resolve_source
from ..images import save_png
from ..interrupt import graceful_stop
from ..lines import Lines, LinesError
from ..models.registry import load_model
from ..models.strokes import squash
from ..names import output_stems
from ..refine import refine
from ..pipeline import WriteBehind, prefetch, single_torch_thread
from ..render import render_numpy
from ..svg import svg_drawing
from ..train import resolve_device

VECTORS_NAME = "vectors.npz"
ERRORS_NAME = "errors.txt"


@dataclass
class EncodeSummary:
    encoded: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    squared_error_sum: float = 0.0
    interrupted: bool = False

    @property
    def mean_mse(self) -> float:
        return self.squared_error_sum / self.encoded if self.encoded else float("nan")


@dataclass
class _Collected:
    """The output batch, in input order: arrays per item, reused from a previous run or freshly encoded."""

    lines: list = field(default_factory=list)
    widths: list = field(default_factory=list)
    opacity: list = field(default_factory=list)
    names: list = field(default_factory=list)
    frames: list = field(default_factory=list)

    def add(self, lines, widths, opacity, name, frame) -> None:
        for store, value in zip((self.lines, self.widths, self.opacity, self.names, self.frames),
                                (lines, widths, opacity, name, frame)):
            store.append(value)

    def to_lines(self, indices: list[int], meta: dict) -> Lines:
        """The items at `indices` as one batch."""
        pick = lambda store: np.stack([store[i] for i in indices])  # noqa: E731
        return Lines(pick(self.lines), pick(self.widths), pick(self.opacity), [self.names[i] for i in indices],
                     pick(self.frames), meta)


def frame_tuple(frame) -> tuple:
    return (frame.width, frame.height, frame.scale, frame.offset_x, frame.offset_y, float(frame.inverted))


def _previous(out_dir: Path, overwrite: bool) -> dict[str, tuple]:
    """name -> (lines, widths, opacity) of items a previous run finished."""
    path = out_dir / VECTORS_NAME
    if overwrite or not path.exists():
        return {}
    try:
        old = Lines.load(path)
    except LinesError as err:
        raise ValueError(f"{err}; use --overwrite to replace it") from None
    return {old.name(i): (old.lines[i], old.widths[i], old.opacity[i]) for i in range(len(old))}


def encode_source(source: str, out_dir: Path, model_path: Path, png: bool, size: int, refine_steps: int,
                  batch_size: int, device: str, overwrite: bool, mirror: str | None = None,
                  posterior_seed: int | None = None) -> EncodeSummary:
    """Encode everything `source` names into `out_dir` (module docstring). With `posterior_seed`, a VAE's
    strokes come from a draw of q(z|x) (seeded per batch) instead of its mean."""
    start = time.perf_counter()
    dev = resolve_device(device)
    model, config = load_model(model_path, dev)
    if posterior_seed is not None and not hasattr(model, "posterior"):
        raise ValueError(f"{model_path}: this {config['method']!r} model has no posterior to sample from "
                         "(--sample-posterior needs a vae)")
    previous = _previous(out_dir, overwrite)
    summary = EncodeSummary()
    collected = _Collected()
    seen_stems: dict[str, int] = {}

    def on_failure(failure: Failure) -> None:
        warn(f"{failure.path}: {failure.reason}")
        summary.failures.append(failure)

    reader = resolve_source(source)
    total = reader.count()
    with progress_bar("encoding", total or 0) as advance, graceful_stop() as stop, \
            single_torch_thread(enabled=refine_steps == 0), \
            WriteBehind() as writer:
        for batch in prefetch(reader.iter_batches(batch_size, mirror=mirror, on_failure=on_failure)):
            stems = output_stems(batch.names, seen_stems, start=len(collected.names))
            todo = []
            for i, (name, stem) in enumerate(zip(batch.names, stems)):
                done = name in previous and (out_dir / "svg" / f"{stem}.svg").exists() and (
                    not png or (out_dir / "png" / f"{stem}.png").exists())
                if done:
                    collected.add(*previous[name], name, frame_tuple(batch.frames[i]))
                    summary.skipped += 1
                else:
                    todo.append(i)
                    collected.add(None, None, None, name, frame_tuple(batch.frames[i]))
            if todo:
                draw = None if posterior_seed is None else posterior_seed * 1_000_003 + len(collected.names)
                writer.submit(_encode_items(model, batch, todo, stems, collected, out_dir, png, size, refine_steps,
                                            dev, summary, draw))
            advance(len(batch.names))
            if stop.requested:
                summary.interrupted = True
                break
    _write_results(collected, out_dir, summary, model_path, config)
    summary.seconds = time.perf_counter() - start
    return summary


def _encode_items(model, batch, todo, stems, collected, out_dir, png, size, refine_steps, dev, summary,
                  draw_seed: int | None = None):
    """Encode the items `todo` of `batch` and fill their slots in `collected`; return the job that writes
    their SVG (and PNG) files, to run in the background while the next batch is encoded."""
    images = torch.from_numpy(batch.images[todo]).to(dev)
    with torch.no_grad():
        if draw_seed is None:
            raw = model.raw_strokes(images)
        else:
            raw = model.raw_strokes(images, sample=True, generator=torch.Generator().manual_seed(draw_seed))
    if refine_steps > 0:
        raw = refine(raw, images, refine_steps)
    lines, widths, opacity = (t.detach().float().cpu().numpy() for t in squash(raw))
    recon = render_numpy(lines, widths, opacity, 28, 28, 28.0)
    summary.squared_error_sum += float(((recon - batch.images[todo]) ** 2).mean(axis=(1, 2)).sum())
    summary.encoded += len(todo)
    pngs = render_numpy(lines, widths, opacity, size, size, float(size)) if png else None
    offset = len(collected.names) - len(batch.names)
    jobs = []
    for k, i in enumerate(todo):
        slot = offset + i
        collected.lines[slot], collected.widths[slot], collected.opacity[slot] = lines[k], widths[k], opacity[k]
        jobs.append((stems[i], lines[k], widths[k], opacity[k], frame_tuple(batch.frames[i]), batch.names[i],
                     None if pngs is None else pngs[k]))

    def write() -> None:
        for stem, item_lines, item_widths, item_opacity, frame, name, image in jobs:
            write_text_atomic(out_dir / "svg" / f"{stem}.svg",
                              svg_drawing(item_lines, item_widths, item_opacity, frame, title=name))
            if image is not None:
                save_png(out_dir / "png" / f"{stem}.png", image, inverted=bool(frame[5]))

    return write


def _write_results(collected: _Collected, out_dir: Path, summary: EncodeSummary, model_path: Path,
                   config: dict) -> None:
    """vectors.npz with every finished item, and errors.txt listing the failures (removed when none)."""
    finished = [i for i, value in enumerate(collected.lines) if value is not None]
    if finished:
        meta = {"model": str(model_path), "method": config["method"]}
        collected.to_lines(finished, meta).save(out_dir / VECTORS_NAME)
    errors = out_dir / ERRORS_NAME
    if summary.failures:
        write_text_atomic(errors, "".join(f"{f.path}\t{f.reason}\n" for f in summary.failures))
    elif errors.exists():
        errors.unlink()
