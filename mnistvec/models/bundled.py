"""Trained models shipped inside the package, named on the command line by `--model ae`, `vae` or `lfi`.

Each is the checkpoint of the documented training command (examples/train-bundled.sh) with the optimiser
state removed, the weights stored as float16 (half the bytes; the models compute in float32 after loading;
the strokes they draw move by about 1e-3 canvas units) and, for the VAE, its copy of the surrogate left out:
the surrogate only carries gradients while a model trains and draws nothing, so the bundled surrogate
(`mnistvec/weights/surrogate.pt`) stands in for it when the model is loaded. The likelihood-free model's
critic, which judges drawings only while the model trains, is left out too (it starts afresh if the model
is trained further with `train --init`). A VAE's learned prior (`models/prior.py`) keeps its float64
buffers: its Cholesky factors must stay exact to stay positive definite, and they are few bytes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mnistvec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

BUNDLED_MODELS = {"ae": "ae.pt", "vae": "vae.pt", "lfi": "lfi.pt"}
"""Names that `--model` takes for the shipped models (a path names a checkpoint file instead)."""

SURROGATE_PREFIX = "surrogate."
TRAINING_ONLY = ("critic.",)
"""Weights of parts that only training uses, left out of a bundled model."""
FULL_PRECISION = ("prior.",)
"""Buffers a bundled model keeps at their own precision (the learned prior's mixture)."""


def bundled_model_path(name: str) -> Path:
    return Path(str(resources.files("mnistvec.weights").joinpath(BUNDLED_MODELS[name])))


def resolve_model(spec: str | Path) -> Path:
    """The checkpoint file that `--model SPEC` names: a bundled model's (ae, vae, lfi) or the path itself."""
    if str(spec) in BUNDLED_MODELS:
        path = bundled_model_path(str(spec))
        if not path.is_file():
            raise CheckpointError(
                f"{path}: the bundled {spec} model is missing from this installation; "
                "train one with `mnistvec train` and pass its RUN/model.pt"
            )
        return path
    return Path(spec)


def with_bundled_surrogate(weights: dict) -> dict:
    """A model's weights with the bundled surrogate's filled in where the checkpoint left them out."""
    from mnistvec.models.surrogate_weights import load_surrogate_state

    surrogate = load_surrogate_state()
    return {**{SURROGATE_PREFIX + k: v for k, v in surrogate.items()}, **weights}


def halved(name: str, value):
    """A weight as a bundled model stores it: float16 unless it is one of FULL_PRECISION."""
    return value.half() if value.is_floating_point() and not name.startswith(FULL_PRECISION) else value


def export_bundled(run_checkpoint: str | Path, destination: str | Path, encode_refine: int = 0) -> None:
    """Write a run's model as a bundled one: no optimiser state, float16 weights (the prior's excepted), no
    surrogate weights; it encodes with `encode_refine` steps of per-image refinement unless told otherwise
    (`config.py`)."""
    state = load_checkpoint(run_checkpoint)
    if "model" not in state or not state.get("complete", False):
        raise CheckpointError(f"{run_checkpoint}: not a finished training run")
    state["config"] = {**state["config"], "encode_refine": encode_refine}
    kept = {k: v for k, v in state["model"].items() if not k.startswith(TRAINING_ONLY)}
    weights = {k: halved(k, v) for k, v in kept.items() if not k.startswith(SURROGATE_PREFIX)}
    save_checkpoint(
        destination,
        {
            "method": state["method"],
            "config": state["config"],
            "model": weights,
            "metrics": state["metrics"],
            "epoch": state["epoch"],
            "complete": True,
            "surrogate": "bundled" if len(weights) < len(kept) else None,
            "omitted": [p for p in TRAINING_ONLY if len(kept) < len(state["model"])],
        },
    )
