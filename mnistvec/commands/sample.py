"""`mnistvec sample`: new digits from a model's prior (the work: `encoding/sampling.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mnistvec.commands.common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    SEED,
    FiniteFloat,
    device_option,
    prior_option,
    user_errors,
)
from mnistvec.config import SAMPLE_MODEL
from mnistvec.io.console import results


def _png_path(ctx, param, value):
    if value is not None and value.suffix.lower() != ".png":
        raise click.BadParameter(
            f"{value}: the grid is a PNG file (its SVG twin is written beside it); give a name ending in .png"
        )
    return value


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--model",
    "model_path",
    default=SAMPLE_MODEL,
    show_default=True,
    metavar="NAME|PATH",
    help="vae or lfi: a model shipped with mnistvec (the vae's samples, from its learned prior, are closer "
    "to real digits by Frechet distance); or a checkpoint of a model with a prior (vae, lfi) written by "
    "`mnistvec train`.",
)
@click.option(
    "--n", "count", type=click.IntRange(1, 1_000_000), default=64, show_default=True, help="How many samples to draw."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write OUT/samples.npz and OUT/svg/sample-NNNN.svg [default: samples/ when --grid is not given].",
)
@click.option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=_png_path,
    metavar="FILE.png",
    help="Also draw all samples tiled in a square-ish grid: FILE.png and FILE.svg.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Same seed and model: same samples.")
@click.option(
    "--temperature",
    type=FiniteFloat(min=0),
    default=1.0,
    show_default=True,
    help="Scale of the prior's spread (z = temperature * eps, or m_k + temperature * L_k eps for a learned "
    "mixture): below 1 gives more typical, less varied digits.",
)
@prior_option(
    "learned: the model's own prior (the Gaussian mixture fitted to its training codes, as the shipped "
    "vae has; N(0, I) for a model without one); standard: N(0, I) always."
)
@click.option(
    "--size",
    type=click.IntRange(1, 8192),
    default=28,
    show_default=True,
    help="Pixels per sample in the grid PNG and the SVGs.",
)
@device_option
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT/samples.npz.")
@user_errors
def sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, prior):
    """Draw new digits from a model's prior: z ~ p(z) -> strokes, rendered by the native renderer; p(z) is
    the model's learned mixture where it has one, else N(0, I) (--prior standard: N(0, I) always).

    Only models with a prior can sample (vae, lfi); an autoencoder cannot. Ctrl-C or SIGTERM stops with
    every file whole and no temporary file left (exit code 130). One run at a time may write into an OUT.

    \b
    Examples:
      mnistvec sample --model runs/vae/model.pt --n 64 --grid grid.png
      mnistvec sample --n 1000 --out samples/ --seed 1
      mnistvec sample --model vae --prior standard --n 64 --grid vae-standard.png
    """
    from mnistvec.encoding.sampling import sample_model

    if out_dir is None and grid is None:
        out_dir = Path("samples")
    summary = sample_model(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite, prior)
    if summary.interrupted:
        saved = ", ".join(str(p) for p in summary.written) or "nothing"
        click.echo(
            f"interrupted: written so far: {saved}; run the same command with --overwrite to write all", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    results.print(
        f"drew {summary.count} sample(s) in {summary.seconds:.2f} s -> " + ", ".join(str(p) for p in summary.written),
        highlight=False,
        soft_wrap=True,
    )
    if summary.failed:
        click.echo(f"{summary.failed} SVG file(s) could not be written (each named above)", err=True)
        sys.exit(EXIT_PARTIAL)
