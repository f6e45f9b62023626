"""New digits from a model's prior: z = temperature * eps, eps ~ N(0, I) -> decoder -> strokes."""

from __future__ import annotations

import numpy as np
import torch

from mnistvec.io.vectors import Vectors
from mnistvec.raster.visibility import without_invisible

CHUNK = 1024
"""Prior draws decoded at once."""


def draw_samples(model, count: int, seed: int, temperature: float, device) -> Vectors:
    """`count` stroke drawings decoded from z = temperature * eps, eps ~ N(0, I) drawn from `seed`, named
    sample-0000, sample-0001, ...; strokes no one can see get opacity 0."""
    generator = torch.Generator().manual_seed(seed)
    z = temperature * torch.randn(count, model.latent, generator=generator)
    parts = []
    with torch.no_grad():
        for lo in range(0, count, CHUNK):
            parts.append([t.cpu().numpy() for t in model.decode(z[lo : lo + CHUNK].to(device))])
    lines, widths, opacity = (np.concatenate([p[k] for p in parts]) for k in range(3))
    opacity = without_invisible(lines, widths, opacity)
    names = [f"sample-{i:04d}" for i in range(count)]
    return Vectors(lines, widths, opacity, names=names)
