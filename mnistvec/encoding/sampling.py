"""New digits from a model's prior -> decoder -> strokes (`draw_samples`), and `mnistvec sample`'s outputs
(`sample_model`). The codes come from the model's own prior (`learned`: its fitted mixture, z = m_k +
temperature * L_k eps, or z = temperature * eps, eps ~ N(0, I), for a model without one) or from N(0, I)
(`standard`); `models/latent.py` draws them.

One run at a time writes into an OUT (`io/lock.py`). Ctrl-C or SIGTERM stops after the file being written
(`interrupted`): every file is whole, no temporary file is left. A sample whose strokes are not finite
numbers is left out of every output, and one whose SVG cannot be written (a folder where it must go) is one
warning line; the others are written. A grid above the pixel limit is refused before anything is drawn;
its tiles are drawn a bounded batch at a time and its SVG is written a cell at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mnistvec.config import SAMPLING_METHODS
from mnistvec.device import resolve_device
from mnistvec.errors import InputError
from mnistvec.io.atomic import atomic_path, is_item_error, remove_stale_temps, write_text_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.lock import output_lock
from mnistvec.io.png import GridImage, check_grid_size, pixel_batches
from mnistvec.io.svg import canvas_frame, svg_drawing, svg_grid
from mnistvec.io.vectors import Vectors
from mnistvec.models.registry import load_model
from mnistvec.raster import render_numpy
from mnistvec.raster.visibility import without_invisible

CHUNK = 1024
"""Prior draws decoded at once."""


NPZ_NAME = "samples.npz"


def draw_samples(model, count: int, seed: int, temperature: float, device, prior: str = "learned") -> Vectors:
    """`count` stroke drawings decoded from codes drawn from `prior` (module docstring) at `temperature`
    from `seed`, named sample-0000, sample-0001, ...; strokes no one can see get opacity 0."""
    generator = torch.Generator().manual_seed(seed)
    z = model.draw_latent(count, generator, temperature, prior)
    parts = []
    with torch.no_grad():
        for lo in range(0, count, CHUNK):
            parts.append([t.cpu().numpy() for t in model.decode(z[lo : lo + CHUNK].to(device))])
    lines, widths, opacity = (np.concatenate([p[k] for p in parts]) for k in range(3))
    opacity = without_invisible(lines, widths, opacity)
    names = [f"sample-{i:04d}" for i in range(count)]
    return Vectors(lines, widths, opacity, names=names)


def prior_name(model, prior: str) -> str:
    """What the codes were drawn from: `mixture-K` (a learned prior of K components) or `standard`."""
    mixture = getattr(model, "prior", None)
    return f"mixture-{mixture.components}" if prior == "learned" and mixture is not None else "standard"


@dataclass
class SampleSummary:
    count: int
    seconds: float
    written: list[Path]
    failed: int = 0
    interrupted: bool = False


def sample_model(
    model_path: Path,
    count: int,
    out_dir: Path | None,
    grid: Path | None,
    seed: int,
    temperature: float,
    size: int,
    device: str,
    overwrite: bool,
    prior: str = "learned",
) -> SampleSummary:
    """Draw `count` samples; write OUT/samples.npz and OUT/svg/sample-NNNN.svg, and/or the grid (PNG + SVG)
    (module docstring)."""
    start = time.perf_counter()
    with graceful_stop() as stop:
        summary = _sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, prior, stop)
    summary.seconds = time.perf_counter() - start
    return summary


def drawable(samples: Vectors, model_path: Path) -> tuple[Vectors, int]:
    """(the samples that can be drawn, how many cannot): each sample whose strokes are not finite numbers
    (a model whose weights overflow) gets one warning line and is left out of every output; InputError when
    none is left."""
    bad = samples.bad_items()
    for i, reason in bad:
        warn(f"{samples.name(i)}: {reason}; left out")
    if len(bad) == len(samples):
        raise InputError(f"{model_path}: none of the {len(samples)} samples can be drawn (each is named above)")
    failed = {i for i, _ in bad}
    return samples.subset(np.array([i for i in range(len(samples)) if i not in failed], dtype=np.int64)), len(bad)


def _refuse_existing(out_dir: Path | None, overwrite: bool) -> None:
    if out_dir is not None and (out_dir / NPZ_NAME).exists() and not overwrite:
        raise InputError(f"{out_dir / NPZ_NAME} already exists: use --overwrite to replace it or choose another --out")


def _sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, prior, stop) -> SampleSummary:
    _refuse_existing(out_dir, overwrite)
    if grid is not None:
        check_grid_size(grid, count, size, "--n or --size")
    from mnistvec.models.bundled import resolve_model

    model_path = resolve_model(model_path)
    if not model_path.is_file():
        raise InputError(
            f"{model_path}: no such checkpoint file; train a VAE with `mnistvec train --method vae` "
            "(it writes runs/vae/model.pt) or name one with --model"
        )
    dev = resolve_device(device)
    model, config = load_model(model_path, dev)
    if not model.can_sample:
        raise InputError(
            f"{model_path}: this {config['method']!r} model has no prior to sample from; models that can "
            f"sample: {', '.join(SAMPLING_METHODS)} (train one with `mnistvec train --method vae`)"
        )
    samples, left_out = drawable(draw_samples(model, count, seed, temperature, dev, prior), model_path)
    samples.meta.update(
        {
            "model": str(model_path),
            "method": config["method"],
            "seed": seed,
            "temperature": temperature,
            "prior": prior_name(model, prior),
        }
    )
    summary = SampleSummary(len(samples), 0.0, [], left_out)
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
        _write_grid(samples, grid, size, f"{count} samples from {model_path.name}")
        summary.written += [grid, grid.with_suffix(".svg")]
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
            svg = svg_drawing(
                samples.lines[i], samples.widths[i], samples.opacity[i], canvas_frame(size), title=samples.name(i)
            )
            try:
                write_text_atomic(out_dir / "svg" / f"{samples.name(i)}.svg", svg)
            except OSError as err:
                if not is_item_error(err):
                    raise
                warn(f"{samples.name(i)}: cannot write {err.filename}: {err.strerror or err}; skipped")
                summary.failed += 1
            advance()
    summary.written.append(out_dir / "svg")


def _write_grid(samples: Vectors, grid: Path, size: int, title: str) -> None:
    """GRID (PNG), its tiles drawn a bounded batch at a time, and GRID.svg, written a cell at a time."""
    tiles = GridImage(len(samples), size, size)
    for part in pixel_batches(size * size, len(samples)):
        images = render_numpy(samples.lines[part], samples.widths[part], samples.opacity[part], size, size, float(size))
        for k, image in enumerate(images):
            tiles.place(part.start + k, image)
    tiles.save(grid)
    with atomic_path(grid.with_suffix(".svg")) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(svg_grid(samples.lines, samples.widths, samples.opacity, size, title=title))
