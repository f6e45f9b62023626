"""The differentiable renderer as a `torch.nn.Module`, to drop into one's own models.

    SoftRenderer(size, temperature)(lines [B, N, 4], widths [B, N], opacity [B, N]) -> [B, size, size]

Strokes are in canvas units (the unit square; `io/vectors.py`); the image is the soft renderer's Gaussian-
blurred pixel formula (`soft.py`), with gradients to every input. On the CPU it runs natively (the Rust
library's forward and hand-derived backward passes) when the library is built, on CUDA in torch.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistvec.raster import render_torch
from mnistvec.raster.soft import DEFAULT_TEMPERATURE


class SoftRenderer(nn.Module):
    """Strokes -> grey images in [0, 1], differentiably (module docstring). No parameters of its own."""

    def __init__(self, size: int = 28, temperature: float = DEFAULT_TEMPERATURE):
        super().__init__()
        if size < 1:
            raise ValueError(f"size must be at least 1 pixel, got {size}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0 pixels, got {temperature}")
        self.size, self.temperature = int(size), float(temperature)

    def forward(self, lines: torch.Tensor, widths: torch.Tensor, opacity: torch.Tensor) -> torch.Tensor:
        return render_torch(lines, widths, opacity, self.size, "soft", self.temperature)

    def extra_repr(self) -> str:
        return f"size={self.size}, temperature={self.temperature}"
