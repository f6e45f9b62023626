"""The encoder: a small CNN from a 28x28 image to N strokes' raw parameters.

    x [B, 1, 28, 28] (+ 2 coordinate planes) -> conv 3x3 (c) -> conv 3x3 stride 2 (2c)
      -> conv 3x3 stride 2 (4c) -> flatten (4c * 7 * 7) -> linear (hidden) -> linear (N * out_per_line)

with c = `channels` (16 by default: it reconstructed better than 32 on held-out training images, at a
third of the cost). With `coords`, two planes holding each pixel's x and y in [-1, 1] are stacked on the
image ("CoordConv"), so a filter knows where on the canvas it looks: the outputs are positions.

Each conv and the hidden linear layer are followed by a GELU (and group norm on convs, which works per
image, so the output of one image never depends on the others in its batch).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_layers(in_planes: int, channels: int) -> list[nn.Module]:
    """The three conv stages, 28x28 -> 7x7 with 4 * channels planes (flattened by the caller)."""
    c = channels
    return [
        nn.Conv2d(in_planes, c, 3, padding=1),
        nn.GroupNorm(8, c),
        nn.GELU(),
        nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
        nn.GroupNorm(8, 2 * c),
        nn.GELU(),
        nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1),
        nn.GroupNorm(8, 4 * c),
        nn.GELU(),
    ]


def with_coordinates(planes: torch.Tensor) -> torch.Tensor:
    """[B, P, H, W] -> [B, P + 2, H, W]: each pixel's x and y in [-1, 1] appended as two planes."""
    b, _, h, w = planes.shape
    ys = torch.linspace(-1.0, 1.0, h, device=planes.device, dtype=planes.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=planes.device, dtype=planes.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))
    return torch.cat([planes, grid.expand(b, 2, h, w)], dim=1)


class StrokeEncoder(nn.Module):
    """Image -> [B, n_lines, out_per_line] unconstrained numbers (see `strokes.squash`)."""

    def __init__(self, n_lines: int, out_per_line: int, hidden: int = 512, channels: int = 16, coords: bool = False):
        super().__init__()
        self.n_lines = n_lines
        self.out_per_line = out_per_line
        self.coords = coords
        self.features = nn.Sequential(
            *conv_layers(1 + 2 * coords, channels),
            nn.Flatten(),
            nn.Linear(4 * channels * 7 * 7, hidden),
            nn.GELU(),
        )
        self.head = nn.Linear(hidden, n_lines * out_per_line)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if self.coords:
            images = with_coordinates(images)
        return self.head(self.features(images)).view(-1, self.n_lines, self.out_per_line)
