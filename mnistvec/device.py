"""Which torch device a command runs on."""

from __future__ import annotations

import os
from glob import glob

from mnistvec.errors import InputError

GPU_DEVICE_FILES = ("/dev/nvidia[0-9]*", "/dev/kfd", "/dev/dxg")
"""Device files a CUDA (or ROCm, or WSL) GPU shows up as; where none exists, torch finds no GPU either."""


def resolve_device(name: str):
    """`auto` picks CUDA when present; `cuda` without a device is a clear error. Returns a torch.device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)


def runs_on_cpu(name: str) -> bool:
    """Whether `--device NAME` surely means the CPU, answered without starting torch: `cpu`, or `auto` on
    a machine with no GPU device file (`GPU_DEVICE_FILES`) or with CUDA_VISIBLE_DEVICES empty or -1."""
    if name == "cpu":
        return True
    if name != "auto":
        return False
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return True
    return not any(glob(pattern) for pattern in GPU_DEVICE_FILES)
