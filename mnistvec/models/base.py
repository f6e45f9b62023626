"""What every vectoriser is: the interface the training loop, `encode`, `sample` and `eval` use.

    model(images, temperature, reconstruction, progress, generator) -> {"loss": ..., other terms}
        the training step's computation (`forward`, so DistributedDataParallel can wrap the model)
    model.raw_strokes(images) -> [B, N, 6]      unconstrained stroke parameters (`strokes.squash`)
    model.strokes(images) -> lines, widths, opacity

What a model can do beyond that is declared, not probed:

    can_sample     a prior to draw from: `latent` and `decode(z)` (vae, lfi)
    has_posterior  a distribution q(z|x) to draw strokes from: `raw_strokes(images, sample=True)` (vae)
"""

from __future__ import annotations

import torch
from torch import nn

from mnistvec.strokes import squash


class StrokeModel(nn.Module):
    """Base of the vectorisers (module docstring)."""

    method: str = ""
    can_sample: bool = False
    has_posterior: bool = False

    def raw_strokes(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 28, 28] in [0, 1] -> unconstrained stroke parameters [B, N, 6]."""
        raise NotImplementedError

    def strokes(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """images [B, 28, 28] in [0, 1] -> lines [B, N, 4], widths [B, N], opacity [B, N]."""
        return squash(self.raw_strokes(images))

    def parameter_groups(self) -> list[dict]:
        """The optimiser's parameter groups (a group's `lr_scale` scales the learning rate); one by default."""
        return [{"params": list(self.parameters())}]

    def prepare_training(self, config) -> None:
        """Called once before a fresh run's first step (not on resume); nothing by default."""
