"""Reconstruction loss through the soft renderer: per image, the sum over pixels of a per-pixel loss
between the soft rendering of its strokes and the image.

    squared_error:  L_b = sum_pixels (soft(strokes_b) - x_b)^2
    cross_entropy:  L_b = sum_pixels -x ln c - (1 - x) ln(1 - c),   c = clamp(soft(strokes_b), eps, 1 - eps)

On the CPU with the native library built, rendering, loss and gradient run in one native pass
(`mnistvec_soft_loss`): the gradient is computed with the loss, kept, and scaled by the incoming gradient
in the backward pass. Elsewhere (CUDA, no library, MNISTVEC_SOFT_BACKEND=torch) the soft renderer's
torch path and torch's losses compute the same numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnistvec.raster import native, pixel_strokes
from mnistvec.raster.soft import render_soft_px, resolve_backend
from mnistvec.raster.soft_native import float64_array, stroke_gradients

LOSSES = ("squared_error", "cross_entropy")


class _NativeSoftLoss(torch.autograd.Function):
    """(lines_px, radius, alpha, targets) -> per-image losses [B], gradient computed on the way."""

    @staticmethod
    def forward(ctx, lines_px, radius, alpha, targets, sigma, loss, eps):
        arrays = [float64_array(t) for t in (lines_px, radius, alpha, targets)]
        losses, grads = native.soft_loss(*arrays, sigma, loss, eps)
        ctx.save_for_backward(torch.from_numpy(grads))
        return torch.from_numpy(losses).to(lines_px.device, lines_px.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_losses):
        (grads,) = ctx.saved_tensors
        scaled = grads * grad_losses.to("cpu", torch.float64)[:, None, None]
        return (*stroke_gradients(scaled, grad_losses, ctx.needs_input_grad[:3]), None, None, None, None)


def soft_reconstruction_loss(
    lines: torch.Tensor,
    widths: torch.Tensor,
    opacity: torch.Tensor,
    images: torch.Tensor,
    temperature: float,
    loss: str = "cross_entropy",
    eps: float = 1e-5,
    backend: str = "auto",
) -> torch.Tensor:
    """Per-image losses [B] (module docstring) of canvas-unit strokes (lines [B,N,4], widths and opacity
    [B,N]) against images [B,H,W] (square), rendered at blur `temperature` pixels; `backend` as in
    `raster.soft.render_soft_px` ("native" is the one-pass loss)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    size = images.shape[-1]
    lines_px, radius, alpha = pixel_strokes(lines, widths, opacity, float(size))
    if resolve_backend(backend, lines.device.type) == "native":
        return _NativeSoftLoss.apply(lines_px, radius, alpha, images, float(temperature), loss, eps)
    recon = render_soft_px(lines_px, radius, alpha, images.shape[-2], size, temperature, backend="torch")
    return pixel_losses(recon, images, loss, eps)


def pixel_losses(
    recon: torch.Tensor, images: torch.Tensor, loss: str = "cross_entropy", eps: float = 1e-5
) -> torch.Tensor:
    """Per-image losses [B] (module docstring) of renderings `recon` [B,H,W] against `images`, in torch."""
    if loss == "squared_error":
        per_pixel = (recon - images) ** 2
    else:
        per_pixel = F.binary_cross_entropy(recon.clamp(eps, 1 - eps), images, reduction="none")
    return per_pixel.flatten(1).sum(1)
