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

from mnistvec.config import GRADIENTS
from mnistvec.models.surrogate import StrokeSurrogate
from mnistvec.raster import render_torch

DELTA = 0.1 * 0.9


def frozen_surrogate(
    surrogate: StrokeSurrogate, lines: torch.Tensor, widths: torch.Tensor, opacity: torch.Tensor
) -> torch.Tensor:
    """S(strokes) with gradients to the strokes only: the surrogate's own weights are not trained by this."""
    params = {name: p.detach() for name, p in surrogate.named_parameters()}
    return functional_call(surrogate, params, (lines, widths, opacity))


def drawn(
    surrogate: StrokeSurrogate,
    lines: torch.Tensor,
    widths: torch.Tensor,
    opacity: torch.Tensor,
    gradients: str = "straight-through",
) -> torch.Tensor:
    """Images [B, 28, 28] of strokes for any loss downstream (a critic's, say), with gradients to the strokes.

    ``straight-through``: the value is the native image N, the gradient that of S,

        drawn = N + (S - stop_gradient(S))      so  d drawn / d strokes = dS / d strokes

    ``surrogate``: S itself."""
    imitation = frozen_surrogate(surrogate, lines, widths, opacity)
    if gradients == "surrogate":
        return imitation
    if gradients != "straight-through":
        raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
    exact = render_torch(lines.detach(), widths.detach(), opacity.detach(), 28, "native")
    return exact + (imitation - imitation.detach())


def observed(image: torch.Tensor, noise: float) -> torch.Tensor:
    """The pixel probabilities of the observation model: p = noise + (1 - 2 noise) * image.

    With noise > 0 every pixel may flip with probability `noise` (a scanner's speck, a stray mark), so an
    exact image whose pixels are exactly 0 or 1 still gives every target a finite likelihood."""
    return image if noise == 0 else noise + (1.0 - 2.0 * noise) * image


def native_loss_through_surrogate(
    surrogate: StrokeSurrogate,
    lines: torch.Tensor,
    widths: torch.Tensor,
    opacity: torch.Tensor,
    target: torch.Tensor,
    reconstruction: str = "bce",
    gradients: str = "straight-through",
    noise: float = 0.0,
) -> torch.Tensor:
    """Reconstruction loss (summed over pixels, mean over images) of strokes against `target` [B, 28, 28],
    under the observation model `observed(image, noise)`.

    ``surrogate``: the loss of S(strokes), differentiated as usual.

    ``straight-through``: the loss of the native image N, with gradient g . dS/dstrokes, where g is the
    loss's pixel gradient at N (p = observed(N, noise)):

        bce: g = (1 - 2 noise) (p - x) / max(p (1 - p), DELTA)        mse: g = 2 (1 - 2 noise) (p - x)

    The floor DELTA (0.1 * 0.9) bounds g where p is near 0 or 1, which the exact renderer produces
    everywhere away from the ink when noise = 0: without it one empty pixel under the target's ink would
    outweigh the rest of the image by orders of magnitude. (On held-out training images, 0.1 * 0.9 gave
    lower MSE than 0.01 * 0.99 or 0.25.)
    """
    from mnistvec.models.ae import reconstruction_loss

    imitation = frozen_surrogate(surrogate, lines, widths, opacity)
    if gradients == "surrogate":
        return reconstruction_loss(observed(imitation, noise), target, reconstruction)
    if gradients != "straight-through":
        raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
    exact = render_torch(lines, widths, opacity, 28, "native")
    with torch.no_grad():
        p = observed(exact, noise)
        value = reconstruction_loss(p, target, reconstruction)
        if reconstruction == "bce":
            pixel_grad = (1.0 - 2.0 * noise) * (p - target) / (p * (1.0 - p)).clamp(min=DELTA)
        else:
            pixel_grad = 2.0 * (1.0 - 2.0 * noise) * (p - target)
    carrier = (pixel_grad * (imitation - imitation.detach())).flatten(1).sum(1).mean()
    return value + carrier
