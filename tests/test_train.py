"""Training: the files a run writes, safe checkpoints, determinism and exact resume after an interruption."""

import csv

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from mnistvec.cli import EXIT_ERROR, EXIT_INTERRUPTED, cli
from mnistvec.config import TrainConfig
from mnistvec.io.checkpoint import CheckpointError, load_checkpoint
from mnistvec.models.registry import load_model
from mnistvec.training.loop import TrainingInterrupted, train

CONFIG = TrainConfig(epochs=2, batch_size=32, lines=4, hidden=64)


def weights(path):
    return load_checkpoint(path)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_run_writes_checkpoint_metrics_and_grids(tmp_path, tiny_images):
    last = train(CONFIG, tiny_images, tmp_path, device="cpu")
    raw = torch.load(tmp_path / "model.pt", weights_only=True)  # plain containers and tensors only
    assert raw["method"] == "ae" and raw["config"]["lines"] == 4 and raw["complete"] is True
    assert {"mnistvec", "torch"} <= raw["versions"].keys()
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"train_loss", "val_loss", "val_mse_native", "temperature", "seconds"} <= rows[0].keys()
    assert float(rows[1]["val_mse_native"]) == pytest.approx(last["val_mse_native"])
    grid = Image.open(tmp_path / "recon-epoch-002.png")
    assert grid.size == (10 * 30 + 2, 2 * 30 + 2)  # the 10 validation originals above their reconstructions
    model, config = load_model(tmp_path / "model.pt")
    lines, widths, opacity = model.strokes(torch.from_numpy(tiny_images[:3]))
    assert lines.shape == (3, 4, 4) and ((lines >= 0) & (lines <= 1)).all()
    assert ((opacity > 0) & (opacity < 1)).all() and (widths > 0).all()


def test_training_reduces_the_loss(tmp_path, tiny_images):
    train(TrainConfig(epochs=3, batch_size=16, lines=4, hidden=64), tiny_images, tmp_path, device="cpu")
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert float(rows[-1]["val_mse_native"]) < float(rows[0]["val_mse_native"])
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_same_seed_same_model_other_seed_other_model(tmp_path, tiny_images):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        train(TrainConfig(**{**CONFIG.__dict__, "seed": seed, "epochs": 1}), tiny_images, tmp_path / name, "cpu")
    assert_same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt"))
    a, c = weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "c" / "model.pt")
    assert any(not torch.equal(a[k], c[k]) for k in a)


VAE_CONFIG = TrainConfig(method="vae", epochs=2, batch_size=32, lines=4, hidden=64, latent=4)
LFI_CONFIG = TrainConfig(method="lfi", objective="wasserstein", epochs=2, batch_size=32, lines=4, hidden=64, latent=4)


@pytest.mark.parametrize("config", [CONFIG, VAE_CONFIG, LFI_CONFIG], ids=["ae", "vae", "lfi"])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, tiny_images, config):
    """The VAE's draws of z, the LFI's prior draws, instance noise and gradient-penalty points, and the
    surrogate's own updates are replayed exactly too."""
    train(config, tiny_images, tmp_path / "straight", device="cpu")

    def stop_in_second_epoch(epoch, step):
        if epoch == 1 and step == 1:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        train(config, tiny_images, tmp_path / "resumed", device="cpu", on_step=stop_in_second_epoch)
    assert (info.value.epoch, info.value.step) == (1, 1)
    saved = load_checkpoint(tmp_path / "resumed" / "model.pt")
    assert (saved["epoch"], saved["step"], saved["complete"]) == (1, 1, False)
    train(config, tiny_images, tmp_path / "resumed", device="cpu", resume=True)
    assert_same_weights(weights(tmp_path / "straight" / "model.pt"), weights(tmp_path / "resumed" / "model.pt"))
    drop_time = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    straight = list(csv.DictReader(open(tmp_path / "straight" / "metrics.csv")))
    resumed = list(csv.DictReader(open(tmp_path / "resumed" / "metrics.csv")))
    assert drop_time(straight) == drop_time(resumed)


def test_pickle_payload_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "mnistvec-checkpoint", "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(evil)
    assert not marker.exists()


def cli_run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_train_refuses_to_clobber_and_resume_needs_a_run(tmp_path, tiny_images):
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))
    out = tmp_path / "run"
    args = ["train", "--data", data, "--epochs", 1, "--lines", 4, "--batch-size", 32, "--device", "cpu", "--out", out]
    assert cli_run(*args).exit_code == 0
    again = cli_run(*args)
    assert again.exit_code == EXIT_ERROR and "already exists" in again.output
    assert cli_run(*args, "--overwrite").exit_code == 0
    missing = cli_run("train", "--data", data, "--out", tmp_path / "none", "--resume")
    assert missing.exit_code == EXIT_ERROR and "nothing to resume" in missing.output
    bad = cli_run("train", "--data", tmp_path / "absent-folder", "--out", tmp_path / "x")
    assert bad.exit_code == EXIT_ERROR and "Traceback" not in bad.output
    assert EXIT_INTERRUPTED == 130


def test_ctrl_c_stops_after_a_step_with_the_checkpoint_saved(tmp_path, tiny_images):
    """A real SIGINT to `mnistvec train`: exit 130, a resumable checkpoint, then --resume finishes the run."""
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "mnistvec.cli",
        "train",
        "--data",
        str(data),
        "--epochs",
        "200",
        "--lines",
        "4",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "model.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (out / "model.pt").exists(), "no checkpoint after the first epoch"
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, output
    assert "continue with --resume" in output and "Traceback" not in output
    saved = load_checkpoint(out / "model.pt")
    assert saved["complete"] is False and saved["epoch"] < 200
    stop_at = saved["epoch"] + 1

    def stop_next_epoch(epoch, step):
        if epoch >= stop_at:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        train(TrainConfig(), tiny_images, out, device="cpu", resume=True, on_step=stop_next_epoch)
    assert load_checkpoint(out / "model.pt")["epoch"] == stop_at


def test_training_leaves_the_processor_float_mode_as_it_was(tmp_path, tiny_images):
    """Flushing denormals speeds training up, but it must not leak into the caller's process."""
    train(TrainConfig(epochs=1, batch_size=32, lines=2, hidden=16), tiny_images[:40], tmp_path, device="cpu")
    tiny = torch.tensor(1e-40)  # a float32 denormal
    assert float(tiny * 1.0) != 0.0


def test_killed_outright_the_last_checkpoint_stands_and_resume_reaches_the_same_model(tmp_path, tiny_images):
    """kill -9 gives no chance to save: the checkpoint of the last finished epoch must be whole, and
    `--resume` from it must end where an uninterrupted run ends (both runs with one thread, in subprocesses)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))

    def command(out, *extra):
        return [
            sys.executable,
            "-m",
            "mnistvec",
            "train",
            "--data",
            str(data),
            "--epochs",
            "4",
            "--lines",
            "4",
            "--batch-size",
            "8",
            "--device",
            "cpu",
            "--out",
            str(out),
            *extra,
        ]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    straight = subprocess.run(command(tmp_path / "straight"), env=env, capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "model.pt").exists() and time.monotonic() < deadline:  # epoch 1 is saved
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    saved = load_checkpoint(killed / "model.pt")
    assert saved["step"] == 0 and 1 <= saved["epoch"] < 4 and not saved["complete"]
    resumed = subprocess.run(command(killed, "--resume"), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_weights(weights(tmp_path / "straight" / "model.pt"), weights(killed / "model.pt"))
