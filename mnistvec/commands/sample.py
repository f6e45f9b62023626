"""`mnistvec sample`: new digits from a model's prior, z ~ N(0, temperature^2 I) -> strokes -> native renderer.

One run at a time writes into an OUT (`mnistvec.lock`). Ctrl-C or SIGTERM stops after the file being
written (`interrupted`): every file is whole, no temporary file is left. A sample whose SVG cannot be
written (a folder where it must go) is one warning line; the others are written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


from mnistvec.encoding.sampling import draw_samples
from mnistvec.io.atomic import is_item_error, remove_stale_temps, write_text_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.png import make_grid, save_png
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.vectors import Vectors
from mnistvec.io.lock import output_lock
from mnistvec.models.registry import SAMPLING_METHODS, load_model
from mnistvec.raster import render_numpy
from mnistvec.io.svg import canvas_frame, svg_drawing, svg_grid
from mnistvec.device import resolve_device
from mnistvec.errors import InputError

NPZ_NAME = "samples.npz"


@dataclass
class SampleSummary:
    count: int
    seconds: float
    written: list[Path]
    failed: int = 0
    interrupted: bool = False


def sample_model(model_path: Path, count: int, out_dir: Path | None, grid: Path | None, seed: int,
                 temperature: float, size: int, device: str, overwrite: bool) -> SampleSummary:
    """Draw `count` samples; write OUT/samples.npz and OUT/svg/sample-NNNN.svg, and/or the grid (PNG + SVG)."""
    start = time.perf_counter()
    with graceful_stop() as stop:
        summary = _sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, stop)
    summary.seconds = time.perf_counter() - start
    return summary


def _refuse_existing(out_dir: Path | None, overwrite: bool) -> None:
    if out_dir is not None and (out_dir / NPZ_NAME).exists() and not overwrite:
        raise InputError(f"{out_dir / NPZ_NAME} already exists: use --overwrite to replace it or choose another --out")


def _sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, stop) -> SampleSummary:
    _refuse_existing(out_dir, overwrite)
    from mnistvec.models.bundled import resolve_model

    model_path = resolve_model(model_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: no such checkpoint file; train a VAE with `mnistvec train --method vae` "
                         "(it writes runs/vae/model.pt) or name one with --model")
    dev = resolve_device(device)
    model, config = load_model(model_path, dev)
    if not model.can_sample:
        raise InputError(f"{model_path}: this {config['method']!r} model has no prior to sample from; models that can "
                         f"sample: {', '.join(SAMPLING_METHODS)} (train one with `mnistvec train --method vae`)")
    samples = draw_samples(model, count, seed, temperature, dev)
    samples.meta.update({"model": str(model_path), "method": config["method"], "seed": seed,
                         "temperature": temperature})
    summary = SampleSummary(count, 0.0, [])
    if stop.requested:
        summary.interrupted = True
        return summary
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        with output_lock(out_dir):
            _refuse_existing(out_dir, overwrite)  # again: another run may have written it meanwhile
            remove_stale_temps(out_dir)
            _write_out(samples, out_dir, size, summary, stop)
        if summary.interrupted:
            return summary
    if grid is not None:
        images = render_numpy(samples.lines, samples.widths, samples.opacity, size, size, float(size))
        save_png(grid, make_grid(images))
        grid_svg = grid.with_suffix(".svg")
        write_text_atomic(grid_svg, svg_grid(samples.lines, samples.widths, samples.opacity, size,
                                             title=f"{count} samples from {model_path.name}"))
        summary.written += [grid, grid_svg]
    summary.interrupted = stop.requested
    return summary


def _write_out(samples: Vectors, out_dir: Path, size: int, summary: SampleSummary, stop) -> None:
    """OUT/samples.npz, then one SVG per sample until a stop is requested."""
    samples.save(out_dir / NPZ_NAME)
    summary.written.append(out_dir / NPZ_NAME)
    with progress_bar("writing SVGs", len(samples)) as advance:
        for i in range(len(samples)):
            if stop.requested:
                summary.interrupted = True
                return
            svg = svg_drawing(samples.lines[i], samples.widths[i], samples.opacity[i], canvas_frame(size),
                              title=samples.name(i))
            try:
                write_text_atomic(out_dir / "svg" / f"{samples.name(i)}.svg", svg)
            except OSError as err:
                if not is_item_error(err):
                    raise
                warn(f"{samples.name(i)}: cannot write {err.filename}: {err.strerror or err}; skipped")
                summary.failed += 1
            advance()
    summary.written.append(out_dir / "svg")
