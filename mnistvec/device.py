"""Which torch device a command runs on."""

from __future__ import annotations

import torch

from mnistvec.errors import InputError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; `cuda` without a device is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)
