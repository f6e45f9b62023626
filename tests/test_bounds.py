"""Bounds on what an input can make mnistvec do, through the command line as a user runs it.

Claims that would take more memory than any machine has (an image size, an item count, a model size) are
refused in one line before anything is allocated: those cases run in a subprocess whose address space is
capped, where the allocation they used to attempt fails at once. Non-finite numbers are refused where they
enter (options, checkpoints, training losses) and never reach an output file.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import REPO, synthetic_digits
from mnistvec.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, cli
from mnistvec.models.bundled import bundled_model_path

MEMORY_CAP = 4 << 30
"""Address space of a capped run: ample for every command on small inputs (they peak below 1 GiB)."""


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def run_capped(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """`mnistvec ARGS` in a subprocess limited to MEMORY_CAP bytes of address space and one thread per pool."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mnistvec", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=cap, env=env)


def one_error(stderr: str, named: str, pattern: str) -> str:
    """The single `error:` line of a run, which names `named` and matches `pattern`; no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0], stderr
    assert re.search(pattern, errors[0]), errors[0]
    return errors[0]


def digits_npz(path: Path, count: int = 24) -> Path:
    np.savez(path, images=synthetic_digits(count))
    return path


# ------------------------------------------------------------------ options


def float_options() -> list[tuple[str, str]]:
    """(command, option) for every option of every command that takes a float."""
    return [(name, param.opts[0]) for name, command in sorted(cli.commands.items()) for param in command.params
            if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType)]


def test_there_are_float_options_to_check():
    assert {("train", "--kl-weight"), ("train", "--lr"), ("sample", "--temperature"),
            ("render", "--temperature")} <= set(float_options())


@pytest.mark.parametrize("command, option", float_options(), ids=[" ".join(o) for o in float_options()])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_float_option_refuses_non_finite_values(tmp_path, command, option, value):
    """A usage error naming the option; were the value accepted, the command would fail later on its
    missing input with exit code 1 instead."""
    missing = tmp_path / "missing"
    args = {"train": ["--data", missing, "--out", tmp_path / "run", "--device", "cpu"],
            "sample": ["--model", missing, "--out", tmp_path / "samples"],
            "render": [missing, tmp_path / "out"]}[command]
    result = invoke(command, *args, option, value)
    assert result.exit_code == EXIT_USAGE, result.output
    assert re.search(rf"Invalid value for '{option}'.*{value}.* not a finite number", result.output), result.output


def test_a_seed_beyond_what_generators_take_is_a_usage_error(tmp_path):
    result = invoke("sample", "--seed", 10**20, "--out", tmp_path / "samples")
    assert result.exit_code == EXIT_USAGE and "Invalid value for '--seed'" in result.output


# ------------------------------------------------------------------ checkpoints


def bundled_ae() -> dict:
    return torch.load(bundled_model_path("ae"), weights_only=True)


def altered_checkpoint(path: Path, config: dict | None = None, **fields) -> Path:
    """The shipped autoencoder's checkpoint with some settings (`config`) or header fields replaced."""
    state = bundled_ae()
    state.update(fields)
    state["config"] = {**state["config"], **(config or {})}
    torch.save(state, path)
    return path


def test_a_huge_model_size_in_the_settings_is_refused_before_it_is_built(tmp_path):
    """hidden = 10 million would build a 125 GB layer; the weights in the file say 512."""
    model = altered_checkpoint(tmp_path / "model.pt", {"hidden": 10_000_000})
    result = run_capped("encode", REPO / "examples" / "digits" / "mnist", tmp_path / "out", "--model", model,
                        "--device", "cpu")
    assert result.returncode == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"weights do not fit .*\[512, 3136\], the settings make \[10000000, 3136\]")


SETTINGS_OF_THE_WRONG_KIND = {
    "lines as text": ({"config": {"lines": "16"}}, r"config 'lines' is '16', not a whole number"),
    "NaN learning rate": ({"config": {"lr": float("nan")}}, r"config 'lr' is nan, not a finite number"),
    "negative latent size": ({"config": {"latent": -3}}, r"config 'latent' is -3; it must be at least 1"),
    "unknown gradients": ({"config": {"gradients": "magic"}}, r"config 'gradients' is 'magic', not one of"),
    "odd channel count": ({"config": {"channels": 12}}, r"'channels' is 12, not a multiple of 8"),
    "model as a list": ({"model": [1, 2]}, r"'model' is \[1, 2\], not a dict"),
    "a weight that is not a tensor": ({"model": {"encoder.head.bias": "zeros"}},
                                      r"weight 'encoder.head.bias' is not a tensor"),
    "format version as text": ({"format_version": "1"}, r"'format_version' is '1', not a whole number"),
    "epoch as a float": ({"epoch": 2.5}, r"'epoch' is 2.5, not a whole number"),
}


@pytest.mark.parametrize("case", SETTINGS_OF_THE_WRONG_KIND, ids=list(SETTINGS_OF_THE_WRONG_KIND))
def test_checkpoint_fields_of_the_wrong_kind_are_one_line(tmp_path, case):
    changes, problem = SETTINGS_OF_THE_WRONG_KIND[case]
    model = altered_checkpoint(tmp_path / "model.pt", **changes)
    result = invoke("encode", REPO / "examples" / "digits" / "mnist", tmp_path / "out", "--model", model,
                    "--device", "cpu")
    assert result.exit_code == EXIT_ERROR, result.output
    one_error(result.stderr, "model.pt", problem)


def test_a_checkpoint_with_compressed_members_is_refused_before_it_inflates(tmp_path):
    """torch.save stores its members as they are; a deflated one could inflate to any size."""
    model = tmp_path / "model.pt"
    with zipfile.ZipFile(bundled_model_path("ae")) as source, \
            zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as packed:
        for member in source.infolist():
            packed.writestr(member.filename, source.read(member.filename))
    result = invoke("sample", "--model", model, "--n", 2, "--out", tmp_path / "samples")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"member .*data\.pkl is compressed")


def test_resuming_from_a_shipped_model_points_to_init(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(bundled_model_path("ae").read_bytes())
    result = invoke("train", "--resume", "--out", run, "--data", digits_npz(tmp_path / "d.npz"), "--device", "cpu")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"no training state to resume .*use --init .*model\.pt")


# ------------------------------------------------------------------ training that diverges


def test_a_diverged_run_stops_in_one_line_and_keeps_the_last_good_checkpoint(tmp_path):
    data = digits_npz(tmp_path / "d.npz")
    common = ["train", "--data", data, "--epochs", 1, "--lines", 2, "--batch-size", 4, "--device", "cpu",
              "--out", tmp_path / "run"]
    assert invoke(*common).exit_code == EXIT_OK
    good = (tmp_path / "run" / "model.pt").read_bytes()
    result = invoke(*common, "--overwrite", "--lr", 1e30)  # the weights overflow within the first epoch
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "run", r"training diverged in epoch 1: the weights hold NaN or infinite values; "
                                    r"stopped, .*model\.pt is left as it was")
    assert (tmp_path / "run" / "model.pt").read_bytes() == good


def test_a_loss_that_is_not_finite_stops_training_before_anything_is_saved(tmp_path):
    result = invoke("train", "--method", "vae", "--data", digits_npz(tmp_path / "d.npz"), "--epochs", 1,
                    "--lines", 2, "--latent", 4, "--batch-size", 4, "--lr", 1e30, "--device", "cpu",
                    "--out", tmp_path / "run")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "run", r"training diverged in epoch 1 at step \d+: the loss is nan; stopped, "
                                    r"no checkpoint was saved")
    assert not (tmp_path / "run" / "model.pt").exists()
