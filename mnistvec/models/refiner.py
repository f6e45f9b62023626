"""Amortised refinement: a network that looks at the image and at its current drawing, and moves the strokes.

One refinement step, for an image x and raw strokes u (see `strokes.py`):

    c  = native(squash(u))                              the drawing as the user gets it (no gradient)
    h  = CNN([x, c, coordinates]) + W s(u)              s(u): the strokes' six numbers, each in [0, 1]
    u' = u + MLP(h)                                     the last layer starts at zero: u' = u at first

Steps are applied one after another, each with its own weights (the first moves strokes far, the later
ones fine-tune them), after the encoder's first guess:

    u_0 = encoder(x),   u_k = step_k(x, u_{k-1})

and the whole chain is trained end to end through the soft renderer (the loss of the last drawing, plus
`STAGE_WEIGHT` times the mean loss of the earlier ones, so the encoder's guess stays a good start).
What a step sees is the native drawing, the one the loss will be judged on: it learns to correct what the
user would get, the way Learning to Paint and Paint Transformer paint on a canvas they can see.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistvec.models.encoder import conv_layers, with_coordinates
from mnistvec.raster import render_torch
from mnistvec.strokes import PARAMS_PER_LINE, W_MAX, W_MIN, squash

STAGE_WEIGHT = 0.5
"""Weight of the earlier stages' mean loss beside the last one's."""


def stroke_numbers(raw: torch.Tensor) -> torch.Tensor:
    """raw [B, N, 6] -> [B, N * 6]: endpoints, width and opacity, each mapped to [0, 1]."""
    lines, widths, opacity = squash(raw)
    widths = (widths - W_MIN) / (W_MAX - W_MIN)
    return torch.cat([lines, widths.unsqueeze(-1), opacity.unsqueeze(-1)], dim=-1).flatten(1)


def native_canvas(raw: torch.Tensor, size: int) -> torch.Tensor:
    """[B, 1, size, size]: the native drawing of raw strokes (no gradient)."""
    with torch.no_grad():
        return render_torch(*squash(raw.detach()), size, "native").unsqueeze(1)


class RefineStep(nn.Module):
    """(images [B, 28, 28], raw strokes [B, N, 6]) -> moved raw strokes [B, N, 6] (module docstring)."""

    def __init__(self, n_lines: int, hidden: int = 512, channels: int = 16):
        super().__init__()
        self.n_lines = n_lines
        self.features = nn.Sequential(*conv_layers(4, channels), nn.Flatten(), nn.Linear(4 * channels * 7 * 7, hidden))
        self.strokes_in = nn.Linear(n_lines * PARAMS_PER_LINE, hidden)
        self.head = nn.Sequential(
            nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, n_lines * PARAMS_PER_LINE)
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, images: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        planes = with_coordinates(torch.cat([images.unsqueeze(1), native_canvas(raw, images.shape[-1])], dim=1))
        h = self.features(planes) + self.strokes_in(stroke_numbers(raw))
        return raw + self.head(h).view_as(raw)


def refine_steps(n_steps: int, n_lines: int, hidden: int, channels: int) -> nn.ModuleList:
    """`n_steps` refinement steps, each with its own weights (drawn from the global torch seed)."""
    return nn.ModuleList(RefineStep(n_lines, hidden, channels) for _ in range(n_steps))


def refined_stages(steps: nn.ModuleList, images: torch.Tensor, raw: torch.Tensor) -> list[torch.Tensor]:
    """[u_0, u_1, ..., u_K]: the first guess `raw` and the strokes after each refinement step."""
    stages = [raw]
    for step in steps:
        stages.append(step(images, stages[-1]))
    return stages


def staged_loss(stage_losses: list[torch.Tensor]) -> torch.Tensor:
    """The last stage's loss plus STAGE_WEIGHT times the mean of the earlier stages' (module docstring)."""
    if len(stage_losses) == 1:
        return stage_losses[0]
    return stage_losses[-1] + STAGE_WEIGHT * torch.stack(stage_losses[:-1]).mean(0)
