"""The `mnistvec` command line: option parsing only; the work lives in `mnistvec.commands`."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from . import __version__
from .console import console

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_AVAILABLE = 4

EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}  everything succeeded
  {EXIT_ERROR}  an error stopped the command (unreadable input, unwritable output, ...)
  {EXIT_USAGE}  the command line itself was wrong
  {EXIT_PARTIAL}  some items failed (each named in a warning line); all the others were written
  {EXIT_NOT_AVAILABLE}  the command is not available in this version
"""


class UserError(click.ClickException):
    """A mistake in the user's input or environment: printed as one line, no traceback."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def user_errors(func):
    """Turn the package's own input errors and OS errors into one-line `UserError`s."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .lines import LinesError

        try:
            return func(*args, **kwargs)
        except (LinesError, ValueError) as err:
            raise UserError(str(err)) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            raise UserError(f"{where}{err.strerror or err}") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", "-V", prog_name="mnistvec")
def cli() -> None:
    """Turn images of handwritten digits into a fixed number of straight strokes (vector drawings).

    \b
    Typical use:
      mnistvec train --method vae            train a vectoriser on MNIST
      mnistvec encode images/ out/           vectorise a folder of digit images to NPZ, SVG and PNG
      mnistvec sample --n 64 --grid grid.png draw new digits from a model's prior
      mnistvec render vectors.npz out/       draw a vectors file as PNG and SVG
    """


def _parse_formats(value: str) -> tuple[str, ...]:
    from .commands.render import FORMATS

    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), got {value!r}")
    return formats


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("vectors", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", type=click.IntRange(1, 8192), default=28, show_default=True,
              help="Output images are SIZE x SIZE pixels (the canvas, the unit square, is scaled to fit).")
@click.option("--format", "formats", default="png,svg", show_default=True, callback=lambda c, p, v: _parse_formats(v),
              help="Comma-separated outputs: png (OUT/png/NAME.png), svg (OUT/svg/NAME.svg).")
@click.option("--renderer", type=click.Choice(["native", "exact", "soft"]), default="native", show_default=True,
              help="native: compiled, fast; exact: the same pixels in torch; soft: the blurred, differentiable one.")
@click.option("--temperature", type=click.FloatRange(min=0.0, min_open=True), default=0.5, show_default=True,
              help="Blur of the soft renderer, in pixels (soft only).")
@click.option("--grid", "grid", is_flag=False, flag_value="grid.png", default=None, metavar="[FILE]",
              help="Also write all items tiled in one PNG (default name OUT/grid.png; a relative FILE is under OUT).")
@click.option("--source-frame", is_flag=True,
              help="Draw each item in its source image's frame and polarity when the file records one "
                   "(PNG size then follows the source image, --size is ignored).")
@user_errors
def render(vectors, out_dir, size, formats, renderer, temperature, grid, source_frame):
    """Draw the vectors in VECTORS (.npz) as PNG and/or SVG files under OUT.

    Items that cannot be drawn (NaN or infinite values, negative widths) are reported one line each and
    skipped; everything else is written. Every file is written atomically, so an interrupted run leaves
    no half-written file.

    \b
    Example:
      mnistvec render examples/vectors/digits.npz out/ --size 112 --grid
    """
    from .commands.render import render_file

    grid_path = None if grid is None else (Path(grid) if Path(grid).is_absolute() else out_dir / grid)
    summary = render_file(vectors, out_dir, size, formats, renderer, temperature, grid_path, source_frame)
    rate = summary.rendered / summary.seconds if summary.seconds > 0 else float("inf")
    console.print(
        f"rendered {summary.rendered} item(s) ({', '.join(summary.outputs)}) in {summary.seconds:.2f} s "
        f"({rate:,.0f} images/s) -> {out_dir}"
        + (f"; {summary.failed} item(s) skipped" if summary.failed else ""),
        highlight=False,
    )
    if summary.failed:
        sys.exit(EXIT_PARTIAL)


def _not_available(name: str, what: str):
    @cli.command(name=name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                 add_help_option=True, help=f"{what} (not available in this version yet).")
    def command():
        click.echo(f"error: `mnistvec {name}` is not available in mnistvec {__version__} yet: {what.lower()} "
                   "is still being built. Nothing was done.", err=True)
        sys.exit(EXIT_NOT_AVAILABLE)

    return command


train = _not_available("train", "Train a vectoriser (autoencoder, VAE or likelihood-free)")
encode = _not_available("encode", "Vectorise images with a trained model")
sample = _not_available("sample", "Draw new digits from a model's prior")
evaluate = _not_available("eval", "Measure a model or a classical baseline")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mnistvec")


if __name__ == "__main__":
    main()
