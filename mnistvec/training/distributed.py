"""Training on several processes at once (torchrun): which process this is, its device, the process group,
and the few collective operations the training loop needs.

torchrun starts one process per device and describes the run to each through environment variables
(`training/launch.py`; MASTER_ADDR and MASTER_PORT say where rank 0 listens). Without them, or with WORLD_SIZE 1,
a run is one process: no process group is started and every operation here leaves its input as it is,
so a plain run behaves exactly as it would without this module.

Under torchrun:

- every process holds the same model and trains on its own share of each epoch's images; the model is
  wrapped in DistributedDataParallel, which averages the gradients of each step over the processes, so
  every replica takes the same optimiser step and the replicas stay identical;
- CUDA processes use cuda:LOCAL_RANK and talk over NCCL; CPU processes talk over gloo;
- rank 0 alone validates, writes the run folder and prints; the others wait for it at a barrier;
- a stop request (Ctrl-C, SIGTERM) seen by any process stops all of them after the same step.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from mnistvec.errors import InputError
from mnistvec.training import launch


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run: its rank among `world_size` processes, its rank on this
    machine, and the device its collective operations use. The default is a single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes the run folder and prints."""
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True on every process when `flag` is true on at least one (called by all at the same point)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def total(self, sums: dict[str, float], seen: int) -> tuple[dict[str, float], int]:
        """(sums, seen) added up over the processes, on every process; every process must hold the same
        names in the same order."""
        if not self.distributed:
            return sums, seen
        names = list(sums)
        values = torch.tensor([float(seen), *(sums[name] for name in names)], dtype=torch.float64, device=self.device)
        dist.all_reduce(values)
        return dict(zip(names, values[1:].tolist())), int(round(values[0].item()))

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.distributed:
            dist.barrier()


SINGLE = Ranks()
"""The one process of a run started without torchrun."""


def rank_device(name: str, local_rank: int, local_world_size: int) -> torch.device:
    """The device of process LOCAL_RANK under torchrun: cuda:LOCAL_RANK for `cuda` (and for `auto` when a GPU
    is present), which needs a GPU for each process on this machine; `cpu` otherwise."""
    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        if name == "auto":
            return torch.device("cpu")
        raise InputError(f"--device {name}: no CUDA device is available (use --device cpu or auto)")
    if available < local_world_size:
        raise InputError(
            f"--device {name}: {local_world_size} processes on this machine need {local_world_size} "
            f"GPUs, it has {available} (start at most {available} with torchrun --nproc_per_node, "
            "or use --device cpu)"
        )
    return torch.device("cuda", local_rank)


def process_ranks(device: str) -> Ranks:
    """This process's `Ranks` from torchrun's environment (checking that it has a device to use), or `SINGLE`
    when torchrun did not start several processes. Joins nothing yet (`replicated` does)."""
    if not launch.launched():
        return SINGLE
    local_rank = launch.local_rank()
    return Ranks(
        launch.rank(), launch.world_size(), local_rank, rank_device(device, local_rank, launch.local_world_size())
    )


@contextmanager
def replicated(model: nn.Module, ranks: Ranks) -> Iterator[Callable[..., dict[str, torch.Tensor]]]:
    """Join the run's process group for the duration (NCCL on CUDA, gloo on CPU; the address from MASTER_ADDR
    and MASTER_PORT) and yield what a training step calls for its loss terms: the model inside
    DistributedDataParallel (a model's `forward` is its training step). Every parameter of the models
    reaches the loss, so DDP needs no search for unused ones. For one process: the model itself.

    On leaving, DDP is freed before the group is destroyed: DDP sits in reference cycles, and when the
    cycle collector frees it later, its reducer drops the group's last reference while holding the GIL,
    and the gloo group's destructor can then wait forever for a worker thread that needs the GIL."""
    if not ranks.distributed:
        yield model
        return
    cuda = ranks.device.type == "cuda"
    if cuda:
        torch.cuda.set_device(ranks.device)
    dist.init_process_group(
        "nccl" if cuda else "gloo",
        rank=ranks.rank,
        world_size=ranks.world_size,
        device_id=ranks.device if cuda else None,
    )
    ddp: list[nn.Module] = []  # the only reference to DDP, so that leaving can drop it
    try:
        ddp.append(nn.parallel.DistributedDataParallel(model, device_ids=[ranks.device.index] if cuda else None))
        yield lambda *args, **kwargs: ddp[0](*args, **kwargs)
    finally:
        ddp.clear()
        gc.collect()  # frees DDP's cycles now, while the group is still registered (docstring)
        dist.destroy_process_group()
