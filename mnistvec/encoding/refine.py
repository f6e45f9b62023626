"""Per-image refinement: gradient descent on one image's strokes, starting from the encoder's answer.

For each image x with encoder output u (unconstrained stroke parameters, see `strokes.py`):

    u <- Adam step on  sum_pixels (soft_T(squash(u)) - x)^2         (K steps, temperature T pixels)

After every step each image's strokes are scored by the native renderer, MSE(native(squash(u)), x), and the
best strokes seen (the encoder's own answer included) are kept, so refinement never makes an image worse
in what the user gets.
"""

from __future__ import annotations

import torch

from mnistvec.models.losses import soft_reconstruction_loss
from mnistvec.raster import render_torch
from mnistvec.strokes import squash

REFINE_LR = 0.05
REFINE_TEMPERATURE = 0.3


def native_mse(raw: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error of the native rendering of `raw` strokes."""
    with torch.no_grad():
        return ((render_torch(*squash(raw), images.shape[-1], "native") - images) ** 2).flatten(1).mean(1)


def refine(
    raw: torch.Tensor, images: torch.Tensor, steps: int, lr: float = REFINE_LR, temperature: float = REFINE_TEMPERATURE
) -> torch.Tensor:
    """The best raw strokes [B, N, 6] found in `steps` steps (module docstring)."""
    best = raw.detach().clone()
    best_err = native_mse(best, images)
    if steps <= 0:
        return best
    current = best.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([current], lr=lr)
    for _ in range(steps):
        with torch.enable_grad():
            loss = soft_reconstruction_loss(*squash(current), images, temperature, "squared_error").sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        optimizer.step()
        err = native_mse(current.detach(), images)
        better = err < best_err
        best[better] = current.detach()[better]
        best_err = torch.where(better, err, best_err)
    return best
