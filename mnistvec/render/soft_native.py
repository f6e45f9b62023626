"""The soft renderer on the CPU through the native library: a torch autograd function.

Same formula as `soft.py` (the torch path), computed by `mnistvec_soft_forward` and differentiated by hand
in `mnistvec_soft_backward` (the derivation is in `rust/src/soft.rs`), in float64 whatever the tensors'
dtype; results come back in the inputs' dtype. Each stroke is evaluated only near its segment, where it can
change a pixel by more than `tolerance / N`, so every pixel is within `tolerance` of the full formula
(`tolerance=0` evaluates every stroke at every pixel). Images are split over threads without changing any
sum's order, so outputs and gradients do not depend on the number of threads.
"""

from __future__ import annotations

import torch

from .native import SOFT_TOLERANCE, soft_backward, soft_forward


def _as_array(tensor: torch.Tensor):
    return tensor.detach().to("cpu", torch.float64).contiguous().numpy()


class NativeSoftRender(torch.autograd.Function):
    """(lines_px [B,N,4], radius [B,N], alpha [B,N]) -> images [B,H,W], with the native backward."""

    @staticmethod
    def forward(ctx, lines_px, radius, alpha, height, width, sigma, tolerance, threads):
        arrays = tuple(_as_array(t) for t in (lines_px, radius, alpha))
        images, product, zeros = soft_forward(*arrays, height, width, sigma, tolerance, threads)
        ctx.arrays, ctx.state = arrays, (product, zeros)
        ctx.settings = (height, width, sigma, tolerance, threads)
        return torch.from_numpy(images).to(lines_px.device, lines_px.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_images):
        height, width, sigma, tolerance, threads = ctx.settings
        lines, radius, alpha = ctx.arrays
        grads = torch.from_numpy(soft_backward(lines, radius, alpha, height, width, sigma,
                                               _as_array(grad_images), *ctx.state, tolerance, threads))
        grads = grads.to(grad_images.device)
        dtype = grad_images.dtype
        wanted = ctx.needs_input_grad
        return (grads[..., :4].to(dtype) if wanted[0] else None,
                grads[..., 4].to(dtype) if wanted[1] else None,
                grads[..., 5].to(dtype) if wanted[2] else None,
                None, None, None, None, None)


def render_soft_native_px(lines_px: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor, height: int,
                          width: int, temperature: float, tolerance: float = SOFT_TOLERANCE,
                          threads: int = 0) -> torch.Tensor:
    """`soft.render_soft_px` computed natively (module docstring); tensors on another device are copied to
    the CPU and the result back."""
    return NativeSoftRender.apply(lines_px, radius, alpha, height, width, float(temperature), tolerance, threads)
