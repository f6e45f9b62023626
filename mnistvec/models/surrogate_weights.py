"""Where the surrogate's trained weights come from: the copy shipped in the package, or a run of
`mnistvec train --method surrogate`.

The surrogate depends only on the renderer, not on any data, so one trained copy serves every VAE and LFI
run. `BUNDLED_NAME` inside `mnistvec/weights/` is the checkpoint of

    mnistvec train --method surrogate --out runs/surrogate

with the optimiser state removed (`export_surrogate`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mnistvec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

BUNDLED = "bundled"
BUNDLED_NAME = "surrogate.pt"


def bundled_surrogate_path() -> Path:
    """The surrogate checkpoint shipped inside the package."""
    return Path(str(resources.files("mnistvec.weights").joinpath(BUNDLED_NAME)))


def load_surrogate_state(spec: str | Path = BUNDLED) -> dict:
    """The surrogate's state dict: `bundled`, or the path of a `train --method surrogate` checkpoint."""
    path = bundled_surrogate_path() if str(spec) == BUNDLED else Path(spec)
    if str(spec) == BUNDLED and not path.is_file():
        raise CheckpointError(
            f"{path}: the bundled surrogate is missing from this installation; train one with "
            "`mnistvec train --method surrogate` and pass --surrogate RUN/model.pt"
        )
    state = load_checkpoint(path)
    if state.get("method") != "surrogate" or "model" not in state:
        raise CheckpointError(f"{path}: not a surrogate checkpoint (written by `mnistvec train --method surrogate`)")
    return state["model"]


def export_surrogate(run_checkpoint: str | Path, destination: str | Path) -> None:
    """Copy a surrogate run's weights, config and held-out metrics, without the optimiser state."""
    state = load_checkpoint(run_checkpoint)
    if state.get("method") != "surrogate":
        raise CheckpointError(f"{run_checkpoint}: not a surrogate checkpoint")
    save_checkpoint(destination, {key: state[key] for key in ("method", "config", "model", "metrics", "epoch")})
