"""`mnistvec sample`: new digits from a model's prior, z ~ N(0, temperature^2 I) -> strokes -> native renderer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, write_text_atomic
from ..console import progress_bar, warn
from ..images import GridImage, check_grid_size, pixel_batches
from ..lines import Lines
from ..models.registry import SAMPLING_METHODS, load_model
from ..render import render_numpy
from ..render.visibility import without_invisible
from ..svg import canvas_frame, svg_drawing, svg_grid
from ..train import resolve_device
from ..errors import InputError

NPZ_NAME = "samples.npz"
CHUNK = 1024


@dataclass
class SampleSummary:
    count: int
    seconds: float
    written: list[Path]
    failed: int = 0


def draw_samples(model, count: int, seed: int, temperature: float, device) -> Lines:
    """`count` stroke drawings decoded from z = temperature * eps, eps ~ N(0, I) drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    z = temperature * torch.randn(count, model.latent, generator=generator)
    parts = []
    with torch.no_grad():
        for lo in range(0, count, CHUNK):
            parts.append([t.cpu().numpy() for t in model.decode(z[lo : lo + CHUNK].to(device))])
    lines, widths, opacity = (np.concatenate([p[k] for p in parts]) for k in range(3))
    opacity = without_invisible(lines, widths, opacity)
    names = [f"sample-{i:04d}" for i in range(count)]
    return Lines(lines, widths, opacity, names=names)


def drawable(samples: Lines, model_path: Path) -> tuple[Lines, int]:
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


def sample_model(model_path: Path, count: int, out_dir: Path | None, grid: Path | None, seed: int,
                 temperature: float, size: int, device: str, overwrite: bool) -> SampleSummary:
    """Draw `count` samples; write OUT/samples.npz and OUT/svg/sample-NNNN.svg, and/or the grid (PNG + SVG).
    A grid above the pixel limit is refused before anything is drawn; its tiles are drawn a bounded batch
    at a time and its SVG is written a cell at a time."""
    start = time.perf_counter()
    if out_dir is not None and (out_dir / NPZ_NAME).exists() and not overwrite:
        raise InputError(f"{out_dir / NPZ_NAME} already exists: use --overwrite to replace it or choose another --out")
    if grid is not None:
        check_grid_size(grid, count, size, "--n or --size")
    from ..models.bundled import resolve_model

    model_path = resolve_model(model_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: no such checkpoint file; train a VAE with `mnistvec train --method vae` "
                         "(it writes runs/vae/model.pt) or name one with --model")
    dev = resolve_device(device)
    model, config = load_model(model_path, dev)
    if not hasattr(model, "decode"):
        raise InputError(f"{model_path}: this {config['method']!r} model has no prior to sample from; models that can "
                         f"sample: {', '.join(SAMPLING_METHODS)} (train one with `mnistvec train --method vae`)")
    samples, failed = drawable(draw_samples(model, count, seed, temperature, dev), model_path)
    samples.meta.update({"model": str(model_path), "method": config["method"], "seed": seed,
                         "temperature": temperature})
    written: list[Path] = []
    if out_dir is not None:
        samples.save(out_dir / NPZ_NAME)
        written.append(out_dir / NPZ_NAME)
        with progress_bar("writing SVGs", len(samples)) as advance:
            for i in range(len(samples)):
                svg = svg_drawing(samples.lines[i], samples.widths[i], samples.opacity[i], canvas_frame(size),
                                  title=samples.name(i))
                write_text_atomic(out_dir / "svg" / f"{samples.name(i)}.svg", svg)
                advance()
        written.append(out_dir / "svg")
    if grid is not None:
        tiles = GridImage(len(samples), size, size)
        for part in pixel_batches(size * size, len(samples)):
            images = render_numpy(samples.lines[part], samples.widths[part], samples.opacity[part], size, size,
                                  float(size))
            for k, image in enumerate(images):
                tiles.place(part.start + k, image)
        tiles.save(grid)
        grid_svg = grid.with_suffix(".svg")
        with atomic_path(grid_svg) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(svg_grid(samples.lines, samples.widths, samples.opacity, size,
                                       title=f"{count} samples from {model_path.name}"))
        written += [grid, grid_svg]
    return SampleSummary(len(samples), time.perf_counter() - start, written, failed)
