"""The `mnistvec` command line: option parsing only; the work lives in `mnistvec.commands`."""

from __future__ import annotations

import errno
import functools
import math
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .baselines import BASELINES, MissingComponentError
from .console import console

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_AVAILABLE = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}  everything succeeded
  {EXIT_ERROR}  an error stopped the command (unreadable input, unwritable output, ...)
  {EXIT_USAGE}  the command line itself was wrong
  {EXIT_PARTIAL}  some items failed (each named in a warning line); all the others were written
  {EXIT_NOT_AVAILABLE}  an optional component the command needs is not installed (scikit-image, potrace)
  {EXIT_INTERRUPTED}  stopped by Ctrl-C or SIGTERM (what was finished is saved)
"""


BUG_REPORT = ("error: this is a bug in mnistvec, not a problem with your input; please report it with the "
              "traceback above and the command you ran")
FULL_DISK_HINT = " (free some space and run the same command again: finished work is kept)"


class UserError(click.ClickException):
    """A mistake in the user's input or environment: printed as one line, no traceback."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class FiniteFloat(click.FloatRange):
    """The type of every float option: a finite number (NaN and infinities are a usage error naming the
    option), within the given range when there is one."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


SEED = click.IntRange(0, 2**32 - 1)
"""The type of every seed option: the seeds every random generator takes, and the streams derived from them."""


def user_errors(func):
    """A user's mistake (`InputError`) or an OS error about their files as one line, no traceback; any other
    exception is a bug: its traceback, then a line asking to report it."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import InputError

        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except InputError as err:
            raise UserError(str(err)) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            hint = FULL_DISK_HINT if err.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise UserError(f"{where}{err.strerror or err}{hint}") from None
        except Exception:
            traceback.print_exc()
            click.echo(BUG_REPORT, err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", "-V", prog_name="mnistvec")
def cli() -> None:
    """Turn images of handwritten digits into a fixed number of straight strokes (vector drawings).

    \b
    Typical use:
      mnistvec train --method vae --out runs/vae              train a vectoriser on MNIST
      mnistvec encode images/ out/ --model runs/vae/model.pt  vectorise a folder to NPZ, SVG (and PNG)
      mnistvec sample --model runs/vae/model.pt --grid g.png  draw new digits from the VAE's prior
      mnistvec render out/vectors.npz drawn/ --size 112       draw a vectors file as PNG and SVG
      mnistvec eval --model runs/vae/model.pt --report rep/   score a model (or --baseline skeleton)
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
@click.option("--temperature", type=FiniteFloat(min=0.0, min_open=True), default=0.5, show_default=True,
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


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--method", type=click.Choice(["ae", "vae", "lfi", "surrogate"]), default="ae", show_default=True,
              help="ae: autoencoder through the soft renderer; vae: variational autoencoder drawn by the native "
                   "renderer (gradients via the surrogate), can sample; lfi: likelihood-free, adversarial on "
                   "(image, code) pairs, can sample; surrogate: the learned renderer vae and lfi use (no images "
                   "needed; one ships with mnistvec).")
@click.option("--data", default="mnist", show_default=True, metavar="SOURCE",
              help="Training images: mnist (downloaded on first use), a folder, an image, an IDX file or an .npz.")
@click.option("--lines", type=click.IntRange(1, 256), default=16, show_default=True, help="Strokes per image.")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="Passes over the training images (surrogate: rounds of 1,000 steps) "
                   "[default: ae 80, vae 100, lfi 40, surrogate 30].")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Images per step (surrogate: BATCH_SIZE x LINES random strokes per step); under torchrun, "
                   "per process (a step learns from BATCH_SIZE x processes images) "
                   "[default: ae 64, vae 32, lfi 32, surrogate 64].")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Peak learning rate (Adam, cosine decay to a tenth) [default: 2e-3; lfi, surrogate 1e-3].")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Same seed, data and device: same model.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder for model.pt, metrics.csv and the per-epoch grids [default: runs/METHOD].")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--overwrite", is_flag=True, help="Start again even if --out already holds a model.")
@click.option("--val-fraction", type=FiniteFloat(0, 0.9, min_open=True), default=0.1, show_default=True,
              help="Share of the images held out for validation (never trained on).")
@click.option("--temperature-start", type=FiniteFloat(min=0, min_open=True), default=1.0, show_default=True,
              help="ae: soft-renderer blur (pixels) at the start; it falls geometrically to --temperature-end.")
@click.option("--temperature-end", type=FiniteFloat(min=0, min_open=True), default=0.3, show_default=True)
@click.option("--reconstruction", type=click.Choice(["bce", "mse"]), default="bce", show_default=True,
              help="Reconstruction loss: Bernoulli likelihood (bce) or squared error.")
@click.option("--coords/--no-coords", default=False, show_default=True,
              help="ae: give the encoder each pixel's coordinates as two extra input planes.")
@click.option("--refiner-steps", type=click.IntRange(0, 8), default=0, show_default=True,
              help="ae, vae: amortised refinement steps after the encoder, each a network that sees the image "
                   "and its current drawing and moves the strokes (vae: trained beside it, for encoding only).")
@click.option("--init", metavar="NAME|PATH", default=None,
              help="Fine-tune: start from this model's weights (a shipped name or RUN/model.pt of the same "
                   "method and size; refinement steps it lacks start as the identity).")
@click.option("--shift", type=click.IntRange(0, 8), default=None,
              help="Augment training images by random translations of up to this many pixels "
                   "[default: ae 2, vae 0, lfi 0].")
@click.option("--latent", type=click.IntRange(1, 1024), default=32, show_default=True,
              help="vae, lfi: dimension of the latent code z (prior N(0, I)).")
@click.option("--kl-weight", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="vae: beta, the weight of KL(q(z|x) || p(z)); 0 trains an unregularised autoencoder.")
@click.option("--kl-warmup", type=FiniteFloat(0, 1), default=0.1, show_default=True,
              help="vae: share of training over which beta rises linearly from 0.")
@click.option("--gradients", type=click.Choice(["straight-through", "surrogate"]), default="straight-through",
              show_default=True,
              help="vae, lfi: straight-through draws images with the native renderer and takes gradients "
                   "from the surrogate; surrogate uses the surrogate for both.")
@click.option("--pixel-noise", type=FiniteFloat(0, 0.5, max_open=True), default=0.0, show_default=True,
              help="vae: observation noise: each pixel of the drawing may flip with this probability.")
@click.option("--surrogate", default="bundled", show_default=True, metavar="PATH",
              help="vae, lfi: the surrogate to start from: bundled, or RUN/model.pt of `train --method surrogate`.")
@click.option("--objective", type=click.Choice(["js", "wasserstein"]), default="wasserstein", show_default=True,
              help="lfi: the adversarial game: js (ALI/BiGAN, Jensen-Shannon) or wasserstein (with a gradient "
                   "penalty).")
@click.option("--recon-weight", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="lfi: weight of the reconstruction term -log p(x | G(E(x))); 0 is the pure adversarial game.")
@click.option("--adv-weight", type=FiniteFloat(min=0), default=5.0, show_default=True,
              help="lfi: weight of the adversarial term for the generator and the encoder.")
@click.option("--gp-weight", type=FiniteFloat(min=0), default=10.0, show_default=True,
              help="lfi (wasserstein): weight of the critic's gradient penalty.")
@click.option("--instance-noise", type=FiniteFloat(min=0), default=0.1, show_default=True,
              help="lfi: std of the noise added to every image the critic sees, at the start of training.")
@click.option("--instance-noise-end", type=FiniteFloat(min=0), default=0.0, show_default=True,
              help="lfi: the same at the end; it changes linearly in between.")
@click.option("--critic-lr-scale", type=FiniteFloat(min=0, min_open=True), default=2.0, show_default=True,
              help="lfi: the critic learns at this multiple of --lr (two time-scale learning rates).")
@click.option("--spectral-norm", "spectral", is_flag=True, help="lfi: spectral normalisation of the critic's layers.")
@click.option("--mirror", metavar="URL", default=None, help="Download MNIST from this base URL instead.")
@click.pass_context
@user_errors
def train(ctx, method, data, lines, epochs, batch_size, lr, seed, device, run_dir, resume, overwrite,
          val_fraction, temperature_start, temperature_end, reconstruction, coords, refiner_steps, init, shift,
          latent, kl_weight, kl_warmup,
          gradients, pixel_noise, surrogate, objective, recon_weight, adv_weight, gp_weight, instance_noise,
          instance_noise_end, critic_lr_scale, spectral, mirror):
    """Train a vectoriser: images in, a model that draws each image with N strokes out.

    Every epoch appends a row to RUN/metrics.csv (train and validation losses, validation MSE through the
    native renderer; for vae and lfi the class histogram of 1,000 samples and its entropy), writes
    RUN/recon-epoch-NNN.png (originals above their reconstructions), for vae and lfi
    RUN/samples-epoch-NNN.png (draws from the prior), and saves RUN/model.pt atomically. Ctrl-C stops
    after the current step with the checkpoint saved; --resume continues exactly. Labels are never read.

    \b
    Examples:
      mnistvec train --method ae --data mnist --out runs/ae
      mnistvec train --method vae --data mnist --out runs/vae
      mnistvec train --method vae --kl-weight 0 --out runs/vae-beta0
      mnistvec train --method lfi --out runs/lfi
      mnistvec train --method lfi --objective js --instance-noise-end 0.1 --out runs/lfi-js
    """
    from . import launch
    from .commands.train import run_training
    from .train import TrainConfig, TrainingInterrupted, method_defaults

    run_dir = run_dir or Path("runs") / method
    defaults = method_defaults(method)
    config = TrainConfig(method=method, data=str(data), lines=lines, epochs=epochs or defaults["epochs"],
                         batch_size=batch_size or defaults["batch_size"], lr=lr or defaults["lr"], seed=seed,
                         val_fraction=val_fraction,
                         temperature_start=temperature_start, temperature_end=temperature_end,
                         reconstruction=reconstruction, coords=coords, refiner_steps=refiner_steps, init=init,
                         shift=defaults["shift"] if shift is None else shift,
                         latent=latent, kl_weight=kl_weight, kl_warmup=kl_warmup, gradients=gradients,
                         pixel_noise=pixel_noise, surrogate=surrogate, objective=objective,
                         recon_weight=recon_weight, adv_weight=adv_weight, gp_weight=gp_weight,
                         instance_noise=instance_noise, instance_noise_end=instance_noise_end,
                         critic_lr_scale=critic_lr_scale, spectral=spectral)
    explicit = {name for name in ctx.params
                if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    try:
        run_training(config, run_dir, device, resume, overwrite, mirror, explicit)
    except TrainingInterrupted as stop:
        if launch.rank() == 0:  # rank 0 saved the checkpoint and speaks for every process
            click.echo(f"{stop}: {stop.run_dir / 'model.pt'}; continue with --resume --out {stop.run_dir}", err=True)
        sys.exit(EXIT_INTERRUPTED)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("source", metavar="INPUT")
@click.argument("out_dir", metavar="OUTPUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", "model_path", default="ae", show_default=True, metavar="NAME|PATH",
              help="ae, vae or lfi: a model shipped with mnistvec (trained on MNIST); or a checkpoint written by "
                   "`mnistvec train` (RUN/model.pt).")
@click.option("--png", is_flag=True, help="Also write OUTPUT/png/NAME.png, rendered by the native renderer.")
@click.option("--size", type=click.IntRange(1, 8192), default=28, show_default=True, help="PNG size in pixels.")
@click.option("--refine", "refine_steps", type=click.IntRange(0), default=0, show_default=True, metavar="K",
              help="K steps of per-image gradient descent on the strokes after the encoder (slower, closer).")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Encode everything again instead of skipping finished items.")
@click.option("--sample-posterior", "posterior_seed", type=SEED, default=None, metavar="SEED",
              help="vae: draw each image's code from q(z|x) (seeded) instead of using its mean.")
@click.option("--mirror", metavar="URL", default=None, help="Download MNIST from this base URL instead.")
@user_errors
def encode(source, out_dir, model_path, png, size, refine_steps, batch_size, device, overwrite, posterior_seed,
           mirror):
    """Vectorise the images of INPUT into OUTPUT.

    INPUT is a folder of images (searched recursively), an image, an IDX file, an .npz with an `images`
    array, or mnist / mnist:test. OUTPUT gets vectors.npz (all items, names kept), svg/NAME.svg for each
    image (in the source image's frame and polarity) and, with --png, png/NAME.png.

    Unreadable files get one warning line each and are listed in OUTPUT/errors.txt; everything else is
    encoded (exit code 3 when some failed). Every file is written atomically and finished batches are
    journaled as they go: after Ctrl-C, a kill or a full disk, running the same command again finishes
    the job with the same outputs as an uninterrupted run. Re-running skips items already done unless
    --overwrite; vectors.npz also keeps the items of earlier runs into the same OUTPUT.

    \b
    Example:
      mnistvec encode my-digits/ out/ --model runs/ae/model.pt --png --size 112
    """
    from rich.table import Table

    from .commands.encode import encode_source

    summary = encode_source(source, out_dir, model_path, png, size, refine_steps, batch_size, device, overwrite,
                            mirror, posterior_seed)
    table = Table(title=f"encoded into {out_dir}", title_justify="left")
    for column in ("images", "skipped (done)", "failed", "time", "images/s", "mean MSE (native)"):
        table.add_column(column, justify="right")
    rate = summary.encoded / summary.seconds if summary.seconds > 0 else 0.0
    table.add_row(f"{summary.encoded:,}", f"{summary.skipped:,}", f"{len(summary.failures):,}",
                  f"{summary.seconds:.2f} s", f"{rate:,.0f}", f"{summary.mean_mse:.4f}" if summary.encoded else "-")
    console.print(table)
    if summary.kept:
        console.print(f"{out_dir / 'vectors.npz'} also keeps {summary.kept:,} item(s) of earlier runs into "
                      f"{out_dir} (--overwrite starts afresh)", highlight=False, soft_wrap=True)
    if summary.interrupted:
        click.echo(f"interrupted: finished items are saved in {out_dir}; run the same command to finish", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if summary.failures:
        sys.exit(EXIT_PARTIAL)
def _png_path(ctx, param, value):
    if value is not None and value.suffix.lower() != ".png":
        raise click.BadParameter(f"{value}: the grid is a PNG file (its SVG twin is written beside it); "
                                 "give a name ending in .png")
    return value


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--model", "model_path", default="lfi", show_default=True, metavar="NAME|PATH",
              help="lfi or vae: a model shipped with mnistvec (lfi's samples are closer to real digits, by "
                   "Frechet distance); or a checkpoint of a model with a prior (vae, lfi) written by "
                   "`mnistvec train`.")
@click.option("--n", "count", type=click.IntRange(1, 1_000_000), default=64, show_default=True,
              help="How many samples to draw.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write OUT/samples.npz and OUT/svg/sample-NNNN.svg [default: samples/ when --grid is not given].")
@click.option("--grid", type=click.Path(dir_okay=False, path_type=Path), default=None, callback=_png_path,
              metavar="FILE.png", help="Also draw all samples tiled in a square-ish grid: FILE.png and FILE.svg.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Same seed and model: same samples.")
@click.option("--temperature", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Scale of z ~ N(0, temperature^2 I): below 1 gives more typical, less varied digits.")
@click.option("--size", type=click.IntRange(1, 8192), default=28, show_default=True,
              help="Pixels per sample in the grid PNG and the SVGs.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT/samples.npz.")
@user_errors
def sample(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite):
    """Draw new digits from a model's prior: z ~ N(0, I) -> strokes, rendered by the native renderer.

    Only models with a prior can sample (vae, lfi); an autoencoder cannot.

    \b
    Examples:
      mnistvec sample --model runs/vae/model.pt --n 64 --grid grid.png
      mnistvec sample --n 1000 --out samples/ --seed 1
    """
    from .commands.sample import sample_model

    if out_dir is None and grid is None:
        out_dir = Path("samples")
    summary = sample_model(model_path, count, out_dir, grid, seed, temperature, size, device, overwrite)
    console.print(f"drew {summary.count} sample(s) in {summary.seconds:.2f} s -> "
                  + ", ".join(str(p) for p in summary.written)
                  + (f"; {summary.failed} left out" if summary.failed else ""), highlight=False, soft_wrap=True)
    if summary.failed:
        sys.exit(EXIT_PARTIAL)


class MissingComponent(UserError):
    """An optional package or program the command needs is not installed."""

    exit_code = EXIT_NOT_AVAILABLE


@cli.command(name="eval", epilog=EXIT_CODES_HELP)
@click.option("--model", "model_path", default=None, metavar="NAME|PATH",
              help="A model to score: ae, vae or lfi (shipped with mnistvec), or a checkpoint of `mnistvec train` "
                   "(ae, vae, lfi).")
@click.option("--baseline", type=click.Choice(BASELINES), default=None,
              help="Score a classical vectoriser instead of a model: skeleton (needs scikit-image) or potrace "
                   "(needs the potrace and rsvg-convert programs).")
@click.option("--data", default="mnist:test", show_default=True, metavar="SOURCE",
              help="Labelled digits to score on: mnist:test, an IDX images file (labels beside it), an .npz "
                   "with images and labels, or a folder (no labels: no accuracy).")
@click.option("--lines", type=click.IntRange(1, 256), default=None,
              help="Strokes per digit for the skeleton baseline [default: 16]; a model draws its own number "
                   "(giving another one is an error).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Score the first N images only.")
@click.option("--samples", type=click.IntRange(0), default=1000, show_default=True,
              help="Models with a prior: how many samples to score (0: none).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the samples.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every figure to this JSON file.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write DIR/report.md with PNG figures (reconstructions, worst digits, samples, "
                   "per-digit accuracy).")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--mirror", metavar="URL", default=None, help="Download MNIST from this base URL instead.")
@user_errors
def evaluate(model_path, baseline, data, lines, limit, samples, seed, json_path, report_dir, batch_size, device,
             mirror):
    """Score a vectoriser on labelled digits: a trained model (--model) or a classical baseline (--baseline).

    Each digit is vectorised, drawn back at its own size (native renderer; potrace's SVG by rsvg-convert)
    and compared with the original: pixel MSE, BCE, IoU of the ink at 0.5, chamfer distance between the
    ink pixels, and the accuracy of the bundled digit classifier on the drawings (its own accuracy on the
    MNIST test set is shown beside). Also: numbers per digit, bytes per SVG, images/s, and for models
    with a prior the confidence and class entropy of samples. Unreadable files are named one line each and
    left out (exit code 3).

    \b
    Examples:
      mnistvec eval --model runs/vae/model.pt --data mnist:test --report report/
      mnistvec eval --baseline skeleton --lines 16 --json skeleton.json
    """
    import json

    from rich.table import Table

    from .atomic import write_text_atomic
    from .commands.evaluate import evaluate_source
    from .report import format_rows, write_report

    if (model_path is None) == (baseline is None):
        raise click.UsageError("name either a model (--model PATH) or a baseline (--baseline NAME)")
    try:
        evaluation = evaluate_source(data, model_path, baseline, lines, limit, samples, seed, device, batch_size,
                                     mirror)
    except MissingComponentError as err:
        raise MissingComponent(str(err)) from None
    table = Table(title=f"{evaluation.name} on {evaluation.data}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in format_rows(evaluation):
        table.add_row(name, value)
    console.print(table)
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(evaluation.as_dict(), indent=2) + "\n")
        console.print(f"wrote {json_path}", highlight=False)
    if report_dir is not None:
        console.print(f"wrote {write_report(evaluation, report_dir)}", highlight=False)
    if evaluation.failed:
        click.echo(f"{evaluation.failed} unreadable item(s) were left out (each named above)", err=True)
        sys.exit(EXIT_PARTIAL)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mnistvec")


if __name__ == "__main__":
    main()
