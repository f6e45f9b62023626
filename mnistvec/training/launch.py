"""What torchrun told this process about the run, from its environment variables; torch-free, so the
command line can ask without importing torch.

torchrun sets WORLD_SIZE (processes in all), RANK (this one, 0 .. WORLD_SIZE - 1), LOCAL_RANK and
LOCAL_WORLD_SIZE (the same on this machine). Without them this process is the only one: rank 0 of 1.
"""

from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def world_size() -> int:
    """How many processes the run has."""
    return _env_int("WORLD_SIZE", 1)


def rank() -> int:
    """This process's place among them; rank 0 writes the run folder and prints."""
    return _env_int("RANK", 0)


def local_rank() -> int:
    """This process's place among those on this machine (which GPU it takes)."""
    return _env_int("LOCAL_RANK", 0)


def local_world_size() -> int:
    """How many processes run on this machine."""
    return _env_int("LOCAL_WORLD_SIZE", world_size())


def launched() -> bool:
    """Whether torchrun started this process as one of several."""
    return world_size() > 1
