"""Training under torchrun: two gloo processes on this machine train one model through
DistributedDataParallel, each on its half of every epoch, and rank 0 alone writes the run folder.

Run as a script (by torchrun), this file is each process: it records every file the process creates,
changes or removes in the run folder, runs `mnistvec train` with the arguments after the first, and saves
the replica of the model it trained (and what it wrote) in the folder named by the first argument. With
STOP_RANK_1_AFTER=N in its environment, rank 1 asks to stop after N steps, as if it alone got SIGTERM.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mnistvec.errors import InputError
from mnistvec.io.checkpoint import load_checkpoint
from mnistvec.models.registry import load_model
from mnistvec.raster import render_torch
from mnistvec.training.distributed import Ranks, rank_device
from mnistvec.training.loop import check_world_size, epoch_sampler, split_indices, step_generator

PROCESSES = 2
BATCH = 8
TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(replicas: Path, *train_args, **env) -> subprocess.CompletedProcess:
    """`mnistvec train TRAIN_ARGS` in PROCESSES processes started by torchrun (each runs this file)."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(PROCESSES),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        __file__,
        str(replicas),
        "train",
        *map(str, train_args),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", **{k: str(v) for k, v in env.items()})
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)


def test_one_process_keeps_its_order_and_noise_and_processes_split_the_epoch():
    """With one process nothing changes (the order and the random streams of a plain run); with two, the
    epoch is dealt out in equal shares that cover it, and the two draw different noise."""
    old_order = torch.randperm(86, generator=torch.Generator().manual_seed(7 * 100_003 + 3 + 1))
    sampler = epoch_sampler(86, 7)
    sampler.set_epoch(3)
    assert list(sampler) == old_order.tolist()
    old_stream = torch.Generator().manual_seed(((7 * 100_003 + 3) * 1_000_003 + 5) % (2**63))
    assert torch.equal(torch.rand(4, generator=step_generator(7, 3, 5)), torch.rand(4, generator=old_stream))
    assert not torch.equal(
        torch.rand(4, generator=step_generator(7, 3, 5, rank=1)),
        torch.rand(4, generator=step_generator(7, 3, 5, rank=0)),
    )
    shares = []
    for rank in range(2):
        share = epoch_sampler(86, 7, Ranks(rank=rank, world_size=2))
        share.set_epoch(3)
        shares.append(list(share))
    assert len(shares[0]) == len(shares[1]) == 43 and sorted(shares[0] + shares[1]) == list(range(86))


def test_a_checkpoint_from_mid_epoch_resumes_only_with_as_many_processes():
    check_world_size({"epoch": 1, "step": 0, "world_size": 2}, Ranks())  # an epoch boundary: any number
    check_world_size({"epoch": 1, "step": 3}, Ranks())
    with pytest.raises(InputError, match="resume it with 2 process"):
        check_world_size({"epoch": 1, "step": 3, "world_size": 2}, Ranks())


def test_each_process_needs_its_own_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert rank_device("cuda", 0, 1) == torch.device("cuda", 0) and rank_device("cpu", 1, 2) == torch.device("cpu")
    with pytest.raises(InputError, match="2 processes on this machine need 2 GPUs, it has 1"):
        rank_device("auto", 1, 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert rank_device("auto", 1, 2) == torch.device("cpu")
    with pytest.raises(InputError, match="no CUDA device"):
        rank_device("cuda", 0, 2)


@pytest.fixture(scope="module")
def digits(tmp_path_factory, tiny_images):
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, images=(tiny_images * 255).astype(np.uint8))
    return path


def tiny_run(method: str, digits: Path) -> list:
    return [
        "--method",
        method,
        "--data",
        digits,
        "--epochs",
        1,
        "--lines",
        4,
        "--batch-size",
        BATCH,
        "--latent",
        4,
        "--device",
        "cpu",
    ]


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory, digits):
    """plain_run(method): (run folder, replicas folder, torchrun's result) of one uninterrupted tiny run, made
    on first use."""
    runs = {}

    def run(method: str):
        if method not in runs:
            base = tmp_path_factory.mktemp(method)
            runs[method] = (
                base / "run",
                base / "replicas",
                torchrun(base / "replicas", *tiny_run(method, digits), "--out", base / "run"),
            )
        return runs[method]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ae", "vae", "lfi"])
def test_two_processes_train_one_model_and_only_rank_0_writes(plain_run, tiny_images, method):
    """lfi takes the gradient penalty (autograd.grad with create_graph) and the frozen critic through DDP."""
    run, replicas, done = plain_run(method)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count("epoch 1/1:") == 1 and output.count(f"training {method} with 4 lines") == 1, output

    expected = {"model.pt", "metrics.csv", "recon-epoch-001.png"}
    expected |= {"samples-epoch-001.png"} if method != "ae" else set()
    assert set(os.listdir(run)) == expected  # one set of outputs, no temporary files left behind
    assert len(list(csv.DictReader(open(run / "metrics.csv")))) == 1
    first, second = (torch.load(replicas / f"rank{r}.pt", weights_only=True) for r in range(PROCESSES))
    assert first["writes"] and not second["writes"], second["writes"]

    saved = load_checkpoint(run / "model.pt")
    n_train = len(split_indices(len(tiny_images), 0.1, 0)[0])
    steps = math.ceil(n_train / (PROCESSES * BATCH))  # a single process would take ceil(n_train / BATCH)
    assert saved["world_size"] == PROCESSES and saved["complete"] is True
    assert {int(s["step"]) for s in saved["optimizer"]["state"].values()} == {steps}

    assert first["model"].keys() == second["model"].keys()
    for name, tensor in first["model"].items():  # DDP kept the replicas identical, and rank 0 saved them
        assert torch.equal(tensor, second["model"][name]), name
        assert torch.equal(tensor, saved["model"][name]), name

    model, _ = load_model(run / "model.pt")
    images = torch.from_numpy(tiny_images[:3])
    with torch.no_grad():
        drawn = render_torch(*model.strokes(images), 28, "native")
    assert drawn.shape == (3, 28, 28) and torch.isfinite(drawn).all()


@pytest.mark.slow
def test_a_stop_asked_of_one_process_stops_both_and_resume_under_torchrun_is_exact(tmp_path, digits, plain_run):
    args = tiny_run("ae", digits)
    stopped = torchrun(tmp_path / "replicas", *args, "--out", tmp_path / "run", STOP_RANK_1_AFTER=3)
    output = stopped.stdout + stopped.stderr
    assert stopped.returncode != 0, output  # the processes exit with 130; torchrun reports their failure
    assert output.count("interrupted in epoch 1 after 3 batch(es); checkpoint saved") == 1, output
    saved = load_checkpoint(tmp_path / "run" / "model.pt")
    assert (saved["epoch"], saved["step"], saved["complete"]) == (0, 3, False)

    resumed = torchrun(tmp_path / "replicas", *args, "--out", tmp_path / "run", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    straight, _, done = plain_run("ae")
    assert done.returncode == 0
    a, b = (load_checkpoint(run / "model.pt")["model"] for run in (tmp_path / "run", straight))
    assert all(torch.equal(a[key], b[key]) for key in a)


def run_one_process(replicas: Path, cli_args: list[str]) -> None:
    """What each torchrun process does (module docstring)."""
    from mnistvec.cli import cli
    from mnistvec.io import interrupt

    if os.environ.get("STOP_RANK_1_AFTER") and os.environ["RANK"] == "1":
        interrupt.StopRequest = stop_after(int(os.environ["STOP_RANK_1_AFTER"]))

    run_dir = Path(cli_args[cli_args.index("--out") + 1]).resolve()
    writes: list[str] = []

    def in_run(path) -> bool:
        return isinstance(path, (str, bytes, os.PathLike)) and Path(os.fsdecode(path)).resolve().is_relative_to(run_dir)

    def audit(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if mode else bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing and in_run(path):
                writes.append(f"open {path}")
        elif event in ("os.rename", "os.mkdir", "os.remove", "os.rmdir", "os.truncate") and in_run(args[0]):
            writes.append(f"{event} {args[0]}")

    sys.addaudithook(audit)
    models = []

    import mnistvec.training.loop as training

    replicated = training.replicated

    @contextlib.contextmanager
    def keep_model(model, ranks):
        models.append(model)
        with replicated(model, ranks) as step:
            yield step

    training.replicated = keep_model
    try:
        cli.main(cli_args, prog_name="mnistvec")
    finally:
        replicas.mkdir(parents=True, exist_ok=True)
        state = models[0].state_dict() if models else {}
        torch.save({"model": state, "writes": writes}, replicas / f"rank{os.environ['RANK']}.pt")


def stop_after(steps: int):
    """A StopRequest whose flag turns on at its `steps`-th reading (the training loop reads it once a step)."""
    from mnistvec.io.interrupt import StopRequest

    class StopAfter(StopRequest):
        readings = 0

        @property
        def requested(self) -> bool:
            self.readings += 1
            return self.signalled or self.readings >= steps

        @requested.setter
        def requested(self, value: bool) -> None:
            self.signalled = value

    return StopAfter


if __name__ == "__main__":
    run_one_process(Path(sys.argv[1]), sys.argv[2:])
