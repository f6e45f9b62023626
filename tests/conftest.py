"""Shared fixtures: random stroke batches and the location of the shared MNIST files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_VECTORS = REPO / "examples" / "vectors" / "digits.npz"


def random_strokes(seed: int, batch: int, n_lines: int, lo: float = 0.1, hi: float = 0.9):
    """Canvas-unit strokes like an encoder's: endpoints in [lo, hi], widths 0.02-0.08, opacity 0.5-1."""
    rng = np.random.default_rng(seed)
    lines = rng.uniform(lo, hi, (batch, n_lines, 4)).astype(np.float32)
    widths = rng.uniform(0.02, 0.08, (batch, n_lines)).astype(np.float32)
    opacity = rng.uniform(0.5, 1.0, (batch, n_lines)).astype(np.float32)
    return lines, widths, opacity


@pytest.fixture
def strokes():
    return random_strokes(0, 8, 16)


def synthetic_digits(count: int, seed: int = 0) -> np.ndarray:
    """[count, 28, 28] float32 images of 3 random thick strokes each, drawn by the exact renderer."""
    import torch

    from mnistvec.raster import render_torch

    lines, widths, opacity = random_strokes(seed, count, 3, lo=0.2, hi=0.8)
    return render_torch(
        torch.from_numpy(lines), torch.from_numpy(widths * 1.5), torch.ones(count, 3), 28, "exact"
    ).numpy()


@pytest.fixture(scope="session")
def tiny_images():
    return synthetic_digits(96)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_images):
    """A checkpoint trained for one short epoch on synthetic images (seconds)."""
    from mnistvec.config import TrainConfig
    from mnistvec.training.loop import train

    run_dir = tmp_path_factory.mktemp("run")
    train(TrainConfig(epochs=1, batch_size=32, lines=4), tiny_images, run_dir, device="cpu")
    return run_dir / "model.pt"


TINY_VAE = dict(method="vae", epochs=1, batch_size=32, lines=4, hidden=64, latent=4)
TINY_LFI = dict(TINY_VAE, method="lfi")


def trained_checkpoint(tmp_path_factory, images, settings: dict):
    """RUN/model.pt of one short epoch of `mnistvec.training.loop` with these settings (seconds)."""
    from mnistvec.config import TrainConfig
    from mnistvec.training.loop import train

    run_dir = tmp_path_factory.mktemp(settings["method"])
    train(TrainConfig(**settings), images, run_dir, device="cpu")
    return run_dir / "model.pt"


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory, tiny_images):
    """A VAE checkpoint trained for one short epoch on synthetic images with the bundled surrogate."""
    return trained_checkpoint(tmp_path_factory, tiny_images, TINY_VAE)


@pytest.fixture(scope="session")
def tiny_lfi(tmp_path_factory, tiny_images):
    """A likelihood-free checkpoint trained for one short epoch on synthetic images."""
    return trained_checkpoint(tmp_path_factory, tiny_images, TINY_LFI)
