"""One-file checkpoints: weights + the config that built them + training state + versions.

Saved with `torch.save` atomically and read with `torch.load(weights_only=True)`, which only rebuilds
tensors and plain containers (dict, list, str, int, float, bool): a checkpoint cannot run code when it is
loaded, and a file that would is refused. Nothing it holds is trusted before it is checked: a zip member
that would inflate (torch.save stores its members as they are) is refused before anything is read, and
the header's fields, the training settings (`check_config`) and the weights' container are checked
for their types and ranges before any caller uses them. torch is imported only by the functions that
use it, so the checks here serve `checkpoint_arrays`, which reads a checkpoint without torch.
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from pathlib import Path
from typing import get_type_hints

from mnistvec import __version__
from mnistvec.config import GRADIENTS, OBJECTIVES, RECONSTRUCTIONS, TrainConfig
from mnistvec.errors import InputError
from mnistvec.io.atomic import write_bytes_atomic

FORMAT = "mnistvec-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(InputError, ValueError):
    """A file that is not a usable mnistvec checkpoint (message names the file and the problem)."""


def versions() -> dict:
    import torch

    return {"mnistvec": str(__version__), "torch": str(torch.__version__)}


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write `payload` (plain containers and tensors) with the format header, atomically."""
    import torch

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
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: not a mnistvec checkpoint (the file is empty)")
    refuse_inflating(path)
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines()]
        code = next((line for line in lines if "GLOBAL" in line), None)  # a callable the pickle would run
        if code is not None:
            raise CheckpointError(
                f"{path}: refused: the file would load code, not only weights and settings ({code.rstrip('.')})"
            ) from None
        detail = next((line for line in lines if line.startswith("Unsupported")), "unreadable pickle data")
        raise CheckpointError(f"{path}: not a mnistvec checkpoint ({detail})") from None
    except Exception as err:  # the weights-only unpickler raises many kinds on a file that is not ours
        raise CheckpointError(f"{path}: not a mnistvec checkpoint ({_first_line(err)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a mnistvec checkpoint")
    check_fields(data, path)
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data['format_version']} is newer than this mnistvec reads")
    if "config" in data:
        check_config(data["config"], path)
    return data


def refuse_inflating(path: Path) -> None:
    """CheckpointError when `path` is a zip archive whose members would inflate: torch.save stores every
    member as it is, so a compressed member was not written by it and could inflate to any size; nor can
    stored members hold more bytes than the file."""
    if not zipfile.is_zipfile(path):
        return  # not a zip archive: torch.load names what it is
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # an archive zipfile cannot list: torch.load refuses it too, with its reason
    packed = next((m for m in members if m.compress_type != zipfile.ZIP_STORED), None)
    if packed is not None:
        raise CheckpointError(
            f"{path}: not a mnistvec checkpoint (its member {packed.filename} is compressed; "
            "torch.save stores every member as it is)"
        )
    claimed, size = sum(m.file_size for m in members), path.stat().st_size
    if claimed > size:
        raise CheckpointError(
            f"{path}: not a mnistvec checkpoint (its members claim {claimed:,} bytes, more than the file's {size:,})"
        )


FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "format_version": (int,),
    "method": (str,),
    "config": (dict,),
    "model": (dict,),
    "optimizer": (dict,),
    "epoch": (int,),
    "step": (int,),
    "epoch_seen": (int,),
    "world_size": (int,),
    "complete": (bool,),
    "metrics": (list,),
    "epoch_sums": (dict,),
    "surrogate": (str, type(None)),
    "omitted": (list,),
}
"""The type of every header field a checkpoint may hold (training state included)."""

KINDS = {
    int: "a whole number",
    float: "a finite number",
    bool: "true or false",
    str: "text",
    dict: "a dict",
    list: "a list",
    type(None): "nothing",
}
"""How a message names the type a value should have."""

MAX_SHIFT = 8
"""The largest random translation (pixels) a run may augment with."""

MAX_REFINER_STEPS = 8
"""The most amortised refinement steps a model may have."""

MAX_PRIOR_COMPONENTS = 1000
"""The most components a model's learned prior may have."""

CONFIG_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "lines": (1, None, False),
    "epochs": (1, None, False),
    "batch_size": (1, None, False),
    "hidden": (1, None, False),
    "channels": (8, None, False),
    "latent": (1, None, False),
    "refiner_steps": (0, MAX_REFINER_STEPS, False),
    "shift": (0, MAX_SHIFT, False),
    "lr": (0, None, True),
    "val_fraction": (0, 1, True),
    "temperature_start": (0, None, True),
    "temperature_end": (0, None, True),
    "kl_weight": (0, None, False),
    "kl_warmup": (0, 1, False),
    "pixel_noise": (0, 0.5, False),
    "recon_weight": (0, None, False),
    "adv_weight": (0, None, False),
    "gp_weight": (0, None, False),
    "instance_noise": (0, None, False),
    "instance_noise_end": (0, None, False),
    "critic_lr_scale": (0, None, True),
    "encode_refine": (0, None, False),
    "prior_components": (0, MAX_PRIOR_COMPONENTS, False),
}
"""(lowest, highest, lowest excluded) of the settings a stored config may hold: what the command line
accepts, and what the models and the training loop can run with (None: no bound)."""

CONFIG_CHOICES = {"reconstruction": RECONSTRUCTIONS, "gradients": GRADIENTS, "objective": OBJECTIVES}
"""The settings that name one of a few choices, and those choices."""


def _has_type(value, kind) -> bool:
    """Whether `value` has the TrainConfig field type `kind`: a bool is not a number, a float is finite, and
    `str | None` takes text or None."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is int:
        return isinstance(value, int)
    if kind is float:
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, str) or (kind is not str and value is None)


def check_config(values, where) -> None:
    """CheckpointError naming `where` and the first setting of a stored config whose type or value a run
    could not use: every known setting has its TrainConfig type (a bool is not a number, numbers are
    finite), lies in CONFIG_RANGES, is one of CONFIG_CHOICES, and the channels split into the encoder's
    8 groups. Settings this version does not know are left alone (a newer version may have written them)."""

    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(f"{where}: not a usable mnistvec checkpoint (config {problem})")

    if not isinstance(values, dict):
        raise refuse(f"is a {type(values).__name__}, not a dict")
    for name, kind in get_type_hints(TrainConfig).items():
        if name not in values:
            continue
        value = values[name]
        if not _has_type(value, kind):
            raise refuse(f"{name!r} is {value!r:.40}, not {KINDS.get(kind, 'text or nothing')}")
        low, high, open_low = CONFIG_RANGES.get(name, (None, None, False))
        if (low is not None and (value <= low if open_low else value < low)) or (high is not None and value > high):
            bound = f"{'above' if open_low else 'at least'} {low}" + (f", at most {high}" if high is not None else "")
            raise refuse(f"{name!r} is {value!r}; it must be {bound}")
        if name in CONFIG_CHOICES and value not in CONFIG_CHOICES[name]:
            raise refuse(f"{name!r} is {value!r}, not one of {', '.join(CONFIG_CHOICES[name])}")
    if values.get("prior_components", 0) and values.get("method", "vae") != "vae":
        raise refuse(f"'prior_components' is {values['prior_components']!r}; only a vae has a learned prior")
    if values.get("channels", 8) % 8:
        raise refuse(f"'channels' is {values['channels']!r}, not a multiple of 8 (the encoder's groups)")


COUNTS = ("epoch", "step", "epoch_seen", "world_size")
"""Fields that count something, so are never negative."""


def check_fields(data: dict, path: Path, tensor_type: type | None = None) -> None:
    """CheckpointError naming the first field of `data` whose type or value is not what mnistvec writes:
    each field of FIELD_TYPES has its type (a bool is not a number here), counts are not negative, and
    `model` maps names to tensors (`tensor_type`: torch.Tensor unless a reader that does without torch
    names its own array type)."""
    if tensor_type is None:
        import torch

        tensor_type = torch.Tensor
    for key, types in FIELD_TYPES.items():
        value = data.get(key)
        if key in data and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise CheckpointError(
                f"{path}: not a usable mnistvec checkpoint ({key!r} is {value!r:.40}, not "
                f"{' or '.join(KINDS[t] for t in types)})"
            )
        if key in COUNTS and key in data and value < 0:
            raise CheckpointError(f"{path}: not a usable mnistvec checkpoint ({key!r} is {value}, below 0)")
    weights = data.get("model", {})
    odd = next((k for k, v in weights.items() if not isinstance(k, str) or not isinstance(v, tensor_type)), None)
    if odd is not None:
        raise CheckpointError(f"{path}: not a usable mnistvec checkpoint (its weight {odd!r:.40} is not a tensor)")
    if not all(isinstance(row, dict) for row in data.get("metrics", [])):
        raise CheckpointError(f"{path}: not a usable mnistvec checkpoint ('metrics' holds something else than rows)")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.get("epoch_sums", {}).values()):
        raise CheckpointError(
            f"{path}: not a usable mnistvec checkpoint ('epoch_sums' holds something else than numbers)"
        )
