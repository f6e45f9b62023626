"""One-file checkpoints: weights + the config that built them + training state + versions.

Saved with `torch.save` atomically and read with `torch.load(weights_only=True)`, which only rebuilds
tensors and plain containers (dict, list, str, int, float, bool): a checkpoint cannot run code when it is
loaded, and a file that would is refused.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from . import __version__
from .atomic import atomic_path

FORMAT = "mnistvec-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable mnistvec checkpoint (message names the file and the problem)."""


def versions() -> dict:
    return {"mnistvec": str(__version__), "torch": str(torch.__version__)}


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write `payload` (plain containers and tensors) with the format header, atomically."""
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": versions(), **payload}
    with atomic_path(path) as tmp:
        torch.save(full, tmp)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint safely; CheckpointError for anything that is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "unsafe content"
        raise CheckpointError(f"{path}: refused: the file holds more than weights and settings ({first})") from None
    except Exception as err:  # the weights-only unpickler raises many kinds on a file that is not ours
        raise CheckpointError(f"{path}: not a mnistvec checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a mnistvec checkpoint")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data['format_version']} is newer than this mnistvec reads")
    return data
