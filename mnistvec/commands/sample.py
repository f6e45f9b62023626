"""`mnistvec sample`: new digits from a model's prior, z ~ N(0, temperature^2 I) -> strokes -> native renderer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


from mnistvec.encoding.sampling import draw_samples
from mnistvec.io.atomic import write_text_atomic
from mnistvec.io.console import progress_bar
from mnistvec.io.png import make_grid, save_png
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


def sample_model(model_path: Path, count: int, out_dir: Path | None, grid: Path | None, seed: int,
                 temperature: float, size: int, device: str, overwrite: bool) -> SampleSummary:
    """Draw `count` samples; write OUT/samples.npz and OUT/svg/sample-NNNN.svg, and/or the grid (PNG + SVG)."""
    start = time.perf_counter()
    if out_dir is not None and (out_dir / NPZ_NAME).exists() and not overwrite:
        raise InputError(f"{out_dir / NPZ_NAME} already exists: use --overwrite to replace it or choose another --out")
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
    written: list[Path] = []
    if out_dir is not None:
        samples.save(out_dir / NPZ_NAME)
        written.append(out_dir / NPZ_NAME)
        with progress_bar("writing SVGs", count) as advance:
            for i in range(count):
                svg = svg_drawing(samples.lines[i], samples.widths[i], samples.opacity[i], canvas_frame(size),
                                  title=samples.name(i))
                write_text_atomic(out_dir / "svg" / f"{samples.name(i)}.svg", svg)
                advance()
        written.append(out_dir / "svg")
    if grid is not None:
        images = render_numpy(samples.lines, samples.widths, samples.opacity, size, size, float(size))
        save_png(grid, make_grid(images))
        grid_svg = grid.with_suffix(".svg")
        write_text_atomic(grid_svg, svg_grid(samples.lines, samples.widths, samples.opacity, size,
                                             title=f"{count} samples from {model_path.name}"))
        written += [grid, grid_svg]
    return SampleSummary(count, time.perf_counter() - start, written)
