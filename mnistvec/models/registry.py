"""Which model a method name builds, and loading a trained one from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from mnistvec.config import METHODS, TrainConfig
from mnistvec.errors import InputError
from mnistvec.io.checkpoint import CheckpointError, load_checkpoint

LFI_OPTIONS = (
    "objective",
    "recon_weight",
    "adv_weight",
    "gp_weight",
    "instance_noise",
    "instance_noise_end",
    "critic_lr_scale",
    "spectral",
    "gradients",
)
"""The settings of a training config that build a likelihood-free model."""


def build_model(config: dict) -> torch.nn.Module:
    """A freshly initialised model for a training config (weights drawn from the global torch seed); settings
    the config does not hold (older checkpoints) take their defaults from `mnistvec.config`."""
    method = config.get("method")
    settings = TrainConfig.from_dict(config)
    common = {"n_lines": settings.lines, "hidden": settings.hidden, "channels": settings.channels}
    if method == "ae":
        from mnistvec.models.ae import AutoEncoder

        return AutoEncoder(**common, coords=settings.coords, refiner_steps=settings.refiner_steps)
    if method == "vae":
        from mnistvec.models.vae import StrokeVAE

        return StrokeVAE(
            **common,
            latent=settings.latent,
            kl_weight=settings.kl_weight,
            kl_warmup=settings.kl_warmup,
            gradients=settings.gradients,
            pixel_noise=settings.pixel_noise,
            refiner_steps=settings.refiner_steps,
            prior_components=settings.prior_components,
        )
    if method == "lfi":
        from mnistvec.models.lfi import StrokeLFI

        return StrokeLFI(**common, latent=settings.latent, **{k: getattr(settings, k) for k in LFI_OPTIONS})
    if method == "surrogate":
        from mnistvec.models.surrogate import StrokeSurrogate

        return StrokeSurrogate(hidden=settings.hidden, seed=settings.seed)
    raise InputError(f"method {method!r} is not available in this version (available: {', '.join(METHODS)})")


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """(model in eval mode on `device`, its checkpoint's config) from a checkpoint file, or from a bundled
    model's name (ae, vae, lfi)."""
    from mnistvec.models.bundled import resolve_model

    path = resolve_model(path)
    state = load_checkpoint(path)
    config = state.get("config")
    if not isinstance(config, dict) or "method" not in config or "lines" not in config or "model" not in state:
        raise CheckpointError(f"{path}: checkpoint has no model (not written by mnistvec train?)")
    if config["method"] not in METHODS:
        raise CheckpointError(
            f"{path}: a {config['method']!r} model, which is not a vectoriser (vectorisers: {', '.join(METHODS)})"
        )
    check_weights(state, path, config)
    model = build_model(config)
    load_weights(model, state, path, config)
    return model.to(device).eval(), config


def checkpoint_weights(state: dict, may_lack: tuple[str, ...] = ()) -> tuple[dict, tuple[str, ...]]:
    """(the weights to load, the name prefixes that may be missing from them) of a checkpoint: a bundled
    model's surrogate filled in from the shipped one; the parts under `may_lack`, and the training-only
    parts a bundled model leaves out, may be missing."""
    from mnistvec.models.bundled import with_bundled_surrogate

    weights = with_bundled_surrogate(state["model"]) if state.get("surrogate") == "bundled" else state["model"]
    return weights, tuple(may_lack) + tuple(str(p) for p in state.get("omitted") or ())


def check_weights(state: dict, path: str | Path, config: dict, may_lack: tuple[str, ...] = ()) -> None:
    """CheckpointError unless the checkpoint's weights are the tensors, of the shapes, that a model built
    from `config` holds (those under the prefixes `checkpoint_weights` allows may be missing). The model
    is built on torch's meta device, which allocates nothing: settings that would make a huge model are
    refused before any memory is taken for it."""
    weights, optional = checkpoint_weights(state, may_lack)
    with torch.device("meta"):
        expected = build_model(config).state_dict()
    wrong = next((k for k, v in weights.items() if k in expected and v.shape != expected[k].shape), None)
    missing = [k for k in expected if k not in weights and not k.startswith(optional)]
    unexpected = [k for k in weights if k not in expected]
    if wrong is not None or missing or unexpected:
        problem = (
            f"{wrong} is {list(weights[wrong].shape)}, the settings make {list(expected[wrong].shape)}"
            if wrong is not None
            else f"missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
        raise CheckpointError(
            f"{path}: weights do not fit a {config['method']} model with {config['lines']} lines ({problem})"
        )


def load_weights(
    model: torch.nn.Module, state: dict, path: str | Path, config: dict, may_lack: tuple[str, ...] = ()
) -> None:
    """Load a checkpoint's weights into `model` (built from `config`; `checkpoint_weights` says which may be
    missing and keep the model's own). Any other difference is a CheckpointError."""
    weights, optional = checkpoint_weights(state, may_lack)
    try:
        missing, unexpected = model.load_state_dict(weights, strict=not optional)
        left = [k for k in missing if not k.startswith(optional)]
        if left or unexpected:
            raise RuntimeError(f"missing {left[:3]}, unexpected {unexpected[:3]}")
    except RuntimeError as err:
        raise CheckpointError(
            f"{path}: weights do not fit a {config['method']} model with {config['lines']} "
            f"lines ({str(err).splitlines()[0]})"
        ) from None
