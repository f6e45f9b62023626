"""One-file checkpoints: weights + the config that built them + training state + versions.

Saved with `torch.save` atomically and read with `torch.load(weights_only=True)`, which only rebuilds
tensors and plain containers (dict, list, str, int, float, bool): a checkpoint cannot run code when it is
loaded, and a file that would is refused.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch

from mnistvec import __version__
from mnistvec.io.atomic import write_bytes_atomic
from mnistvec.errors import InputError

FORMAT = "mnistvec-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(InputError, ValueError):
    """A file that is not a usable mnistvec checkpoint (message names the file and the problem)."""


def versions() -> dict:
    return {"mnistvec": str(__version__), "torch": str(torch.__version__)}


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write `payload` (plain containers and tensors) with the format header, atomically."""
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": versions(), **payload}
    buffer = io.BytesIO()  # serialised in memory first: a full disk is then an OSError naming `path`
    torch.save(full, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def _first_line(err: Exception) -> str:
    """A short reason from a loader's exception: its first message line, else its type."""
    lines = str(err).strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) > 3 else f"not a file torch.save wrote: {type(err).__name__}"


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint safely; CheckpointError for anything that is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: not a mnistvec checkpoint (the file is empty)")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines()]
        code = next((line for line in lines if "GLOBAL" in line), None)  # a callable the pickle would run
        if code is not None:
            raise CheckpointError(f"{path}: refused: the file would load code, not only weights and settings "
                                  f"({code.rstrip('.')})") from None
        detail = next((line for line in lines if line.startswith("Unsupported")), "unreadable pickle data")
        raise CheckpointError(f"{path}: not a mnistvec checkpoint ({detail})") from None
    except Exception as err:  # the weights-only unpickler raises many kinds on a file that is not ours
        raise CheckpointError(f"{path}: not a mnistvec checkpoint ({_first_line(err)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a mnistvec checkpoint")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data['format_version']} is newer than this mnistvec reads")
    return data
