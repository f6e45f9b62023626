"""`mnistvec train`: read the data, then run the training loop of `mnistvec.training.loop`.

Under torchrun every process runs this with the same command line; rank 0 alone prints (`training/distributed.py`).
"""

from __future__ import annotations

from pathlib import Path

from mnistvec.config import TrainConfig
from mnistvec.errors import InputError
from mnistvec.io.console import console, info, warn
from mnistvec.training import launch
from mnistvec.training.distributed import process_ranks
from mnistvec.training.loop import CHECKPOINT_NAME, resumable_state, train


def run_training(
    config: TrainConfig,
    run_dir: Path,
    device: str,
    resume: bool,
    overwrite: bool,
    mirror: str | None,
    explicit: set[str],
) -> dict:
    """Check the run folder, load the images (labels are never used; the surrogate needs none), train, return
    the last metrics."""
    from mnistvec.data import load_images

    if config.prior_components and config.method != "vae":
        raise InputError(
            f"--prior-components is for --method vae only (a {config.method} model "
            + ("has no prior" if config.method in ("ae", "surrogate") else "samples from N(0, I)")
            + "); leave it at 0"
        )
    if launch.rank() > 0:
        console.quiet = True  # every process would print the same lines: rank 0 speaks for all
    if launch.launched():
        if config.method == "surrogate":
            raise InputError("--method surrogate trains in one process: start it without torchrun")
        process_ranks(device)  # a device this process cannot use fails now, not after loading data
    ckpt = run_dir / CHECKPOINT_NAME
    if resume:
        if not ckpt.exists():
            raise InputError(f"{ckpt}: nothing to resume (no checkpoint); drop --resume to start a new run")
        stored = TrainConfig.from_dict(resumable_state(ckpt)["config"])
        ignored = sorted(k for k in explicit if getattr(stored, k, None) != getattr(config, k, None))
        if ignored:
            warn(
                f"--resume continues with the settings stored in {ckpt}; ignoring "
                + ", ".join(f"--{k.replace('_', '-')}" for k in ignored)
            )
        config = stored
    elif ckpt.exists() and not overwrite:
        raise InputError(
            f"{ckpt} already exists: use --resume to continue it, --overwrite to start again, or choose another --out"
        )
    if config.method == "surrogate":
        from mnistvec.training.surrogate import surrogate_steps_hint, train_surrogate

        info(f"training the surrogate renderer: {surrogate_steps_hint(config)} -> {run_dir}")
        return train_surrogate(config, run_dir, device=device, resume=resume)
    if config.method in ("vae", "lfi"):
        from mnistvec.models.surrogate_weights import load_surrogate_state

        load_surrogate_state(config.surrogate)  # a missing or wrong surrogate fails now, not after loading data
    images = load_images(config.data, mirror=mirror).images
    info(
        f"training {config.method} with {config.lines} lines on {len(images):,} images from {config.data} "
        f"({config.epochs} epochs) -> {run_dir}"
    )
    return train(config, images, run_dir, device=device, resume=resume)
