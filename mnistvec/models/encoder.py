"""The encoder: a small CNN from a 28x28 image to N strokes' raw parameters.

    x [B, 1, 28, 28] -> conv 3x3 (c) -> conv 3x3 stride 2 (2c) -> conv 3x3 stride 2 (4c)
      -> flatten (4c * 7 * 7) -> linear (hidden) -> linear (N * out_per_line)

with c = `channels` (16 by default: it reconstructed better than 32 on held-out training images, at a
third of the cost).

Each conv and the hidden linear layer are followed by a GELU (and group norm on convs, which works per
image, so the output of one image never depends on the others in its batch).
"""

from __future__ import annotations

import torch
from torch import nn


class StrokeEncoder(nn.Module):
    """Image -> [B, n_lines, out_per_line] unconstrained numbers (see `strokes.squash`)."""

    def __init__(self, n_lines: int, out_per_line: int, hidden: int = 512, channels: int = 16):
        super().__init__()
        self.n_lines = n_lines
        self.out_per_line = out_per_line
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.GroupNorm(8, c), nn.GELU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.GroupNorm(8, 2 * c), nn.GELU(),
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1), nn.GroupNorm(8, 4 * c), nn.GELU(),
            nn.Flatten(),
            nn.Linear(4 * c * 7 * 7, hidden), nn.GELU(),
        )
        self.head = nn.Linear(hidden, n_lines * out_per_line)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        return self.head(self.features(images)).view(-1, self.n_lines, self.out_per_line)
