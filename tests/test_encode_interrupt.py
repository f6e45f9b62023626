"""Stopping `mnistvec encode` at any point loses nothing: Ctrl-C, SIGTERM and kill -9 mid-batch leave only
complete files, and running the same command again finishes with outputs identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from mnistvec.cli import EXIT_INTERRUPTED, cli
from mnistvec.io.journal import read_entries
from mnistvec.io.vectors import Vectors

COUNT = 480
OPTIONS = ["--png", "--size", "192", "--batch-size", "16", "--device", "cpu"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(0)
    for i in range(COUNT):
        image = Image.new("L", (28, 28), 0)
        points = [tuple(p) for p in rng.uniform(5, 23, (3, 2))]
        ImageDraw.Draw(image).line(points, fill=255, width=int(rng.integers(2, 4)))
        image.save(folder / f"{i:04d}.png")
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, digits, tiny_model) -> Path:
    """The outputs of one uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = CliRunner().invoke(cli, ["encode", str(digits), str(out), "--model", str(tiny_model), *OPTIONS])
    assert result.exit_code == 0, result.output
    return out


def output_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def start_encode(digits: Path, out: Path, model: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-c",
        "from mnistvec.cli import main; main()",
        "encode",
        str(digits),
        str(out),
        "--model",
        str(model),
        *OPTIONS,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def wait_for_svgs(out: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        folder = out / "svg"
        if folder.exists() and sum(1 for _ in folder.iterdir()) >= count:
            return
        assert process.poll() is None, f"encode finished before it could be interrupted: {process.stderr.read()}"
        time.sleep(0.005)
    raise AssertionError(f"fewer than {count} SVGs after {timeout} s")


def saved_items(out: Path) -> int:
    """How many items the stopped run left on record: in vectors.npz after a graceful stop, in the journal
    after a kill."""
    if (out / ".vectors.journal").exists():
        return sum(len(entries) for entries in read_entries(out / ".vectors.journal"))
    return len(Vectors.load(out / "vectors.npz")) if (out / "vectors.npz").exists() else 0


def assert_only_complete_files(out: Path) -> None:
    """Every file at an output path is whole (temporary files, hidden, may remain after kill -9)."""
    for path in out.rglob("*"):
        if path.is_dir() or path.name.startswith("."):
            continue
        if path.suffix == ".svg":
            ET.parse(path)
        elif path.suffix == ".png":
            Image.open(path).load()
        elif path.name == "vectors.npz":
            Vectors.load(path)


@pytest.mark.parametrize(
    "sig, fraction",
    [
        (signal.SIGINT, 0.3),
        (signal.SIGTERM, 0.6),
        (signal.SIGKILL, 0.05),
        (signal.SIGKILL, 0.5),
        (signal.SIGKILL, 0.9),
    ],
    ids=["ctrl-c", "sigterm", "kill-9-early", "kill-9-midway", "kill-9-late"],
)
def test_interrupted_then_rerun_equals_an_uninterrupted_run(tmp_path, digits, tiny_model, reference, sig, fraction):
    out = tmp_path / "out"
    process = start_encode(digits, out, tiny_model)
    wait_for_svgs(out, max(1, int(COUNT * fraction)), process)
    process.send_signal(sig)
    code = process.wait(timeout=120)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else EXIT_INTERRUPTED), process.stderr.read()
    assert_only_complete_files(out)
    kept = saved_items(out)
    if fraction >= 0.5:
        assert kept > 0  # batches finished before the stop are on record, whatever the signal

    again = CliRunner().invoke(cli, ["encode", str(digits), str(out), "--model", str(tiny_model), *OPTIONS])
    assert again.exit_code == 0, again.output
    encoded, skipped = (
        int(n.replace(",", "")) for n in re.search(r"│\s+([\d,]+) │\s+([\d,]+) │", again.output).groups()
    )
    assert skipped == kept and encoded == COUNT - kept  # only the unfinished work is done again
    assert output_files(out) == output_files(reference)  # byte for byte; no journal or temporary file left


def test_a_graceful_stop_saves_the_finished_items_in_vectors_npz(tmp_path, digits, tiny_model):
    out = tmp_path / "out"
    process = start_encode(digits, out, tiny_model)
    wait_for_svgs(out, COUNT // 4, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == EXIT_INTERRUPTED
    assert "run the same command to finish" in process.stderr.read().decode()
    saved = Vectors.load(out / "vectors.npz")
    assert 0 < len(saved) < COUNT and saved.names == [f"{i:04d}.png" for i in range(len(saved))]
    assert not (out / ".vectors.journal").exists()
