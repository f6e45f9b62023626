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
