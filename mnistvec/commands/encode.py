"""`mnistvec encode INPUT OUTPUT`: images in, strokes out (the work: `encoding/folder.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mnistvec.commands.common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    SEED,
    batch_size_option,
    device_option,
    mirror_option,
    refine_option,
    user_errors,
)
from mnistvec.config import ENCODE_BATCH, ENCODE_MODEL
from mnistvec.io.console import info, results


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("source", metavar="INPUT")
@click.argument("out_dir", metavar="OUTPUT", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--model",
    "model_path",
    default=ENCODE_MODEL,
    show_default=True,
    metavar="NAME|PATH",
    help="ae, vae or lfi: a model shipped with mnistvec (trained on MNIST); or a checkpoint written by "
    "`mnistvec train` (RUN/model.pt).",
)
@click.option(
    "--png",
    is_flag=True,
    help="Also write OUTPUT/png/NAME.png, rendered by the native renderer: the SVG's picture, in the "
    "source image's frame and polarity.",
)
@click.option(
    "--size",
    type=click.IntRange(1, 8192),
    default=None,
    help="PNG size: its longer side in pixels, the source's shape kept [default: the source's size].",
)
@refine_option("refine_steps")
@batch_size_option(ENCODE_BATCH)
@device_option
@click.option("--overwrite", is_flag=True, help="Encode everything again instead of skipping finished items.")
@click.option(
    "--sample-posterior",
    "posterior_seed",
    type=SEED,
    default=None,
    metavar="SEED",
    help="vae: draw each image's code from q(z|x) (seeded) instead of using its mean.",
)
@mirror_option
@user_errors
def encode(source, out_dir, model_path, png, size, refine_steps, batch_size, device, overwrite, posterior_seed, mirror):
    """Vectorise the images of INPUT into OUTPUT.

    INPUT is a folder of images (searched recursively), an image, an IDX file, an .npz with an `images`
    array, or mnist / mnist:test. OUTPUT gets vectors.npz (all items, names kept), svg/NAME.svg for each
    image (in the source image's frame and polarity) and, with --png, png/NAME.png (the same picture).

    Items are named by their path relative to INPUT, extension included (7/img_001.png), and each gets its
    own files whatever the names. Unreadable files (and items whose own output file cannot be written)
    get one warning line each and are listed in OUTPUT/errors.txt; everything else is encoded (exit code 3
    when some failed). An image that is clearly not one digit on a plain background (noise, speckle,
    several digits, specks on an empty page) is encoded too, named in a warning line and flagged in
    vectors.npz (suspect, suspect_reason); the exit code stays 0 for it. One run at a time may write into
    an OUTPUT, which may not be INPUT or inside it.

    Every file is written atomically and finished batches are journaled as they go: after Ctrl-C, a kill
    or a full disk, running the same command again finishes the job with the same outputs as an
    uninterrupted run. Re-running skips items already done unless --overwrite; vectors.npz also keeps the
    items of earlier runs into the same OUTPUT.

    \b
    Example:
      mnistvec encode my-digits/ out/ --model runs/ae/model.pt --png --size 112
    """
    from rich.table import Table

    from mnistvec.encoding.folder import encode_source

    summary = encode_source(
        source, out_dir, model_path, png, size, refine_steps, batch_size, device, overwrite, mirror, posterior_seed
    )
    table = Table(title=f"encoded into {out_dir}", title_justify="left")
    for column in ("images", "skipped (done)", "failed", "time", "images/s", "mean MSE (native)"):
        table.add_column(column, justify="right")
    rate = summary.encoded / summary.seconds if summary.seconds > 0 else 0.0
    table.add_row(
        f"{summary.encoded:,}",
        f"{summary.skipped:,}",
        f"{len(summary.failures):,}",
        f"{summary.seconds:.2f} s",
        f"{rate:,.0f}",
        f"{summary.mean_mse:.4f}" if summary.encoded else "-",
    )
    results.print(table)
    if summary.doubted:
        info(
            f"{summary.doubted:,} image(s) did not look like one digit on a plain background: encoded, "
            f"each named above and flagged in {out_dir / 'vectors.npz'} (suspect)"
        )
    if summary.kept:
        info(
            f"{out_dir / 'vectors.npz'} also keeps {summary.kept:,} item(s) of earlier runs into "
            f"{out_dir} (--overwrite starts afresh)"
        )
    if summary.interrupted:
        click.echo(f"interrupted: finished items are saved in {out_dir}; run the same command to finish", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if summary.failures:
        sys.exit(EXIT_PARTIAL)
