"""Rendering with gradients for a decoder whose real renderer (native) has none.

Two ways to differentiate the native renderer N through the learned surrogate S (`surrogate.py`):

    surrogate          loss(S(strokes))        forward and backward through S
    straight-through   loss(N(strokes))        forward: the exact native image; backward: the loss's
                                               pixel gradient at N, carried to the strokes by dS/dstrokes

Straight-through evaluates the loss on the image the user will get, so the surrogate's small errors do not
bias what the model learns; the surrogate only supplies the direction. The surrogate's own weights never
get gradients from these losses (it is fitted to the native renderer separately).
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from . import render_torch
from .surrogate import StrokeSurrogate

GRADIENTS = ("straight-through", "surrogate")
DELTA = 0.01 * 0.99


def frozen_surrogate(surrogate: StrokeSurrogate, lines: torch.Tensor, widths: torch.Tensor,
                     opacity: torch.Tensor) -> torch.Tensor:
    """S(strokes) with gradients to the strokes only: the surrogate's own weights are not trained by this."""
    params = {name: p.detach() for name, p in surrogate.named_parameters()}
    return functional_call(surrogate, params, (lines, widths, opacity))


def native_loss_through_surrogate(surrogate: StrokeSurrogate, lines: torch.Tensor, widths: torch.Tensor,
                                  opacity: torch.Tensor, target: torch.Tensor, reconstruction: str = "bce",
                                  gradients: str = "straight-through") -> torch.Tensor:
    """Reconstruction loss (summed over pixels, mean over images) of strokes against `target` [B, 28, 28].

    ``surrogate``: the loss of S(strokes), differentiated as usual.

    ``straight-through``: the loss of the native image N, with gradient g . dS/dstrokes, where g is the
    loss's pixel gradient at N:

        bce: g = (N - x) / max(N (1 - N), DELTA)        mse: g = 2 (N - x)

    The floor DELTA (0.01 * 0.99) bounds g where N is exactly 0 or 1, which the exact renderer produces
    everywhere away from the ink; without it one empty pixel under the target's ink would outweigh the
    rest of the image by orders of magnitude.
    """
    from ..models.ae import reconstruction_loss

    imitation = frozen_surrogate(surrogate, lines, widths, opacity)
    if gradients == "surrogate":
        return reconstruction_loss(imitation, target, reconstruction)
    if gradients != "straight-through":
        raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
    exact = render_torch(lines, widths, opacity, 28, "native")
    with torch.no_grad():
        value = reconstruction_loss(exact, target, reconstruction)
        if reconstruction == "bce":
            pixel_grad = (exact - target) / (exact * (1.0 - exact)).clamp(min=DELTA)
        else:
            pixel_grad = 2.0 * (exact - target)
    carrier = (pixel_grad * (imitation - imitation.detach())).flatten(1).sum(1).mean()
    return value + carrier
