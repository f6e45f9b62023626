"""`mnistvec render VECTORS OUT`: a vectors file drawn as PNG and SVG files (the work: `encoding/drawing.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mnistvec.commands.common import EXIT_CODES_HELP, EXIT_INTERRUPTED, EXIT_PARTIAL, FiniteFloat, user_errors
from mnistvec.config import RENDER_TEMPERATURE, RENDERERS
from mnistvec.io.console import results

FORMATS = ("png", "svg")


def _formats(ctx, param, value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), got {value!r}")
    return formats


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("vectors", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--size",
    type=click.IntRange(1, 8192),
    default=28,
    show_default=True,
    help="Output images are SIZE x SIZE pixels (the canvas, the unit square, is scaled to fit).",
)
@click.option(
    "--format",
    "formats",
    default="png,svg",
    show_default=True,
    callback=_formats,
    help="Comma-separated outputs: png (OUT/png/NAME.png), svg (OUT/svg/NAME.svg).",
)
@click.option(
    "--renderer",
    type=click.Choice(RENDERERS),
    default="native",
    show_default=True,
    help="native: compiled, fast; exact: the same pixels in torch; soft: the blurred, differentiable one.",
)
@click.option(
    "--temperature",
    type=FiniteFloat(min=0.0, min_open=True),
    default=RENDER_TEMPERATURE,
    show_default=True,
    help="Blur of the soft renderer, in pixels (soft only).",
)
@click.option(
    "--grid",
    "grid",
    is_flag=False,
    flag_value="grid.png",
    default=None,
    metavar="[FILE]",
    help="Also write all items tiled in one PNG (default name OUT/grid.png; a relative FILE is under OUT).",
)
@click.option(
    "--source-frame",
    is_flag=True,
    help="Draw each item in its source image's frame and polarity when the file records one "
    "(PNG size then follows the source image, --size is ignored).",
)
@user_errors
def render(vectors, out_dir, size, formats, renderer, temperature, grid, source_frame):
    """Draw the vectors in VECTORS (.npz) as PNG and/or SVG files under OUT.

    Items that cannot be drawn (NaN or infinite values, negative widths), or whose file cannot be written,
    are reported one line each and skipped (exit code 3); everything else is written, one file per item
    whatever the names. Every file is written atomically: Ctrl-C or SIGTERM stops with every file whole
    and no temporary file left (exit code 130). One run at a time may write into an OUT.

    \b
    Example:
      mnistvec render examples/vectors/digits.npz out/ --size 112 --grid
    """
    from mnistvec.encoding.drawing import render_file

    grid_path = None if grid is None else (Path(grid) if Path(grid).is_absolute() else out_dir / grid)
    summary = render_file(vectors, out_dir, size, formats, renderer, temperature, grid_path, source_frame)
    rate = summary.rendered / summary.seconds if summary.seconds > 0 else float("inf")
    results.print(
        f"rendered {summary.rendered} item(s) ({', '.join(summary.outputs)}) in {summary.seconds:.2f} s "
        f"({rate:,.0f} images/s) -> {out_dir}" + (f"; {summary.failed} item(s) skipped" if summary.failed else ""),
        highlight=False,
        soft_wrap=True,
    )
    if summary.interrupted:
        click.echo(
            f"interrupted: the items rendered so far are in {out_dir}; run the same command to render all", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    if summary.failed:
        sys.exit(EXIT_PARTIAL)
