"""`mnistvec train`: train a vectoriser, or the surrogate renderer (the work: `training/start.py`).

Every option's default comes from `mnistvec.config` (per method where `METHOD_DEFAULTS` says so), and
every option named like a `TrainConfig` field sets that field: the command builds the run's config from
its options without naming each one again.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import click

from mnistvec.commands.common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    SEED,
    FiniteFloat,
    device_option,
    mirror_option,
    user_errors,
)
from mnistvec.config import (
    DEFAULTS,
    GRADIENTS,
    METHOD_DEFAULTS,
    OBJECTIVES,
    RECONSTRUCTIONS,
    TRAINABLE,
    TrainConfig,
    method_defaults,
)

SETTINGS = {f.name for f in fields(TrainConfig)}


def per_method(name: str) -> str:
    """The help text's default of a setting that differs by method: `[default: ae 80, vae 100, ...]`."""
    return "[default: " + ", ".join(f"{method} {values[name]:g}" for method, values in METHOD_DEFAULTS.items()) + "]"


def default(name: str, help: str) -> dict:
    """The keyword arguments of an option whose default is the config's."""
    return {"default": getattr(DEFAULTS, name), "show_default": True, "help": help}


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--method",
    type=click.Choice(TRAINABLE),
    **default(
        "method",
        "ae: autoencoder through the soft renderer; vae: variational autoencoder drawn by the native "
        "renderer (gradients via the surrogate), can sample; lfi: likelihood-free, adversarial on "
        "(image, code) pairs, can sample; surrogate: the learned renderer vae and lfi use (no images "
        "needed; one ships with mnistvec).",
    ),
)
@click.option(
    "--data",
    metavar="SOURCE",
    **default("data", "Training images: mnist (downloaded on first use), a folder, an image, an IDX file or an .npz."),
)
@click.option("--lines", type=click.IntRange(1, 256), **default("lines", "Strokes per image."))
@click.option(
    "--epochs",
    type=click.IntRange(1),
    default=None,
    help="Passes over the training images (surrogate: rounds of 1,000 steps) " + per_method("epochs"),
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=None,
    help="Images per step (surrogate: BATCH_SIZE x LINES random strokes per step); under torchrun, "
    "per process (a step learns from BATCH_SIZE x processes images) " + per_method("batch_size"),
)
@click.option(
    "--lr",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Peak learning rate (Adam, cosine decay to a tenth) " + per_method("lr"),
)
@click.option("--seed", type=SEED, **default("seed", "Same seed, data and device: same model."))
@device_option
@click.option(
    "--out",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder for model.pt, metrics.csv and the per-epoch grids [default: runs/METHOD].",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--overwrite", is_flag=True, help="Start again even if --out already holds a model.")
@click.option(
    "--val-fraction",
    type=FiniteFloat(0, 0.9, min_open=True),
    **default("val_fraction", "Share of the images held out for validation (never trained on)."),
)
@click.option(
    "--temperature-start",
    type=FiniteFloat(min=0, min_open=True),
    **default(
        "temperature_start",
        "ae: soft-renderer blur (pixels) at the start; it falls geometrically to --temperature-end.",
    ),
)
@click.option(
    "--temperature-end",
    type=FiniteFloat(min=0, min_open=True),
    **default("temperature_end", "ae: soft-renderer blur (pixels) at the end."),
)
@click.option(
    "--reconstruction",
    type=click.Choice(RECONSTRUCTIONS),
    **default("reconstruction", "Reconstruction loss: Bernoulli likelihood (bce) or squared error."),
)
@click.option(
    "--coords/--no-coords",
    **default("coords", "ae: give the encoder each pixel's coordinates as two extra input planes."),
)
@click.option(
    "--refiner-steps",
    type=click.IntRange(0, 8),
    **default(
        "refiner_steps",
        "ae, vae: amortised refinement steps after the encoder, each a network that sees the image "
        "and its current drawing and moves the strokes (vae: trained beside it, for encoding only).",
    ),
)
@click.option(
    "--encode-refine",
    type=click.IntRange(0),
    **default(
        "encode_refine",
        "Steps of per-image refinement that encode, eval and the Python API give this model's "
        "strokes unless told otherwise (changes nothing in training).",
    ),
)
@click.option(
    "--init",
    metavar="NAME|PATH",
    default=None,
    help="Fine-tune: start from this model's weights (a shipped name or RUN/model.pt of the same "
    "method and size; refinement steps it lacks start as the identity).",
)
@click.option(
    "--shift",
    type=click.IntRange(0, 8),
    default=None,
    help="Augment training images by random translations of up to this many pixels " + per_method("shift"),
)
@click.option(
    "--latent",
    type=click.IntRange(1, 1024),
    **default("latent", "vae, lfi: dimension of the latent code z (prior N(0, I))."),
)
@click.option(
    "--kl-weight",
    type=FiniteFloat(min=0),
    **default("kl_weight", "vae: beta, the weight of KL(q(z|x) || p(z)); 0 trains an unregularised autoencoder."),
)
@click.option(
    "--kl-warmup",
    type=FiniteFloat(0, 1),
    **default("kl_warmup", "vae: share of training over which beta rises linearly from 0."),
)
@click.option(
    "--gradients",
    type=click.Choice(GRADIENTS),
    **default(
        "gradients",
        "vae, lfi: straight-through draws images with the native renderer and takes gradients "
        "from the surrogate; surrogate uses the surrogate for both.",
    ),
)
@click.option(
    "--pixel-noise",
    type=FiniteFloat(0, 0.5, max_open=True),
    **default("pixel_noise", "vae: observation noise: each pixel of the drawing may flip with this probability."),
)
@click.option(
    "--surrogate",
    metavar="PATH",
    **default(
        "surrogate", "vae, lfi: the surrogate to start from: bundled, or RUN/model.pt of `train --method surrogate`."
    ),
)
@click.option(
    "--objective",
    type=click.Choice(OBJECTIVES),
    **default(
        "objective",
        "lfi: the adversarial game: js (ALI/BiGAN, Jensen-Shannon) or wasserstein (with a gradient penalty).",
    ),
)
@click.option(
    "--recon-weight",
    type=FiniteFloat(min=0),
    **default(
        "recon_weight", "lfi: weight of the reconstruction term -log p(x | G(E(x))); 0 is the pure adversarial game."
    ),
)
@click.option(
    "--adv-weight",
    type=FiniteFloat(min=0),
    **default("adv_weight", "lfi: weight of the adversarial term for the generator and the encoder."),
)
@click.option(
    "--gp-weight",
    type=FiniteFloat(min=0),
    **default("gp_weight", "lfi (wasserstein): weight of the critic's gradient penalty."),
)
@click.option(
    "--instance-noise",
    type=FiniteFloat(min=0),
    **default(
        "instance_noise", "lfi: std of the noise added to every image the critic sees, at the start of training."
    ),
)
@click.option(
    "--instance-noise-end",
    type=FiniteFloat(min=0),
    **default("instance_noise_end", "lfi: the same at the end; it changes linearly in between."),
)
@click.option(
    "--critic-lr-scale",
    type=FiniteFloat(min=0, min_open=True),
    **default("critic_lr_scale", "lfi: the critic learns at this multiple of --lr (two time-scale learning rates)."),
)
@click.option(
    "--prior-components",
    type=click.IntRange(0, 1000),
    **default(
        "prior_components",
        "vae: 0 samples from N(0, I); K > 0 fits a K-component full-covariance Gaussian mixture to the "
        "posterior means of the training images after the last epoch, saved with the model, and samples "
        "from it (training itself is unchanged).",
    ),
)
@click.option("--spectral-norm", "spectral", is_flag=True, help="lfi: spectral normalisation of the critic's layers.")
@mirror_option
@click.pass_context
@user_errors
def train(ctx, run_dir, device, resume, overwrite, mirror, **settings):
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
      mnistvec train --method vae --prior-components 10 --out runs/vae-mixture
      mnistvec train --method lfi --out runs/lfi
      mnistvec train --method lfi --objective js --instance-noise-end 0.1 --out runs/lfi-js
    """
    from mnistvec.training import launch
    from mnistvec.training.loop import TrainingInterrupted
    from mnistvec.training.start import run_training

    per_method_defaults = method_defaults(settings["method"])
    config = TrainConfig(
        **{
            name: per_method_defaults[name] if value is None and name in per_method_defaults else value
            for name, value in settings.items()
            if name in SETTINGS
        }
    )
    run_dir = run_dir or Path("runs") / config.method
    explicit = {name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    try:
        run_training(config, run_dir, device, resume, overwrite, mirror, explicit)
    except TrainingInterrupted as stop:
        if launch.rank() == 0:  # rank 0 saved the checkpoint and speaks for every process
            click.echo(f"{stop}: {stop.run_dir / 'model.pt'}; continue with --resume --out {stop.run_dir}", err=True)
        sys.exit(EXIT_INTERRUPTED)
