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

from mnistvec.raster.native import SOFT_TOLERANCE, soft_backward, soft_forward


def float64_array(tensor: torch.Tensor):
    """The tensor's values as a C-contiguous float64 numpy array on the CPU (for the native library)."""
    return tensor.detach().to("cpu", torch.float64).contiguous().numpy()


def stroke_gradients(grads: torch.Tensor, like: torch.Tensor, wanted) -> tuple:
    """The native [B, N, 6] stroke gradients split as (lines [B,N,4], radius [B,N], alpha [B,N]) in the
    dtype and on the device of `like`, None where `wanted` (autograd's needs_input_grad) says so."""
    grads = grads.to(like.device, like.dtype)
    parts = (grads[..., :4], grads[..., 4], grads[..., 5])
    return tuple(part if want else None for part, want in zip(parts, wanted))


class NativeSoftRender(torch.autograd.Function):
    """(lines_px [B,N,4], radius [B,N], alpha [B,N]) -> images [B,H,W], with the native backward."""

    @staticmethod
    def forward(ctx, lines_px, radius, alpha, height, width, sigma, tolerance, threads):
        arrays = tuple(float64_array(t) for t in (lines_px, radius, alpha))
        images, product, zeros = soft_forward(*arrays, height, width, sigma, tolerance, threads)
        ctx.arrays, ctx.state = arrays, (product, zeros)
        ctx.settings = (height, width, sigma, tolerance, threads)
        return torch.from_numpy(images).to(lines_px.device, lines_px.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_images):
        height, width, sigma, tolerance, threads = ctx.settings
        lines, radius, alpha = ctx.arrays
        grads = soft_backward(
            lines, radius, alpha, height, width, sigma, float64_array(grad_images), *ctx.state, tolerance, threads
        )
        return (
            *stroke_gradients(torch.from_numpy(grads), grad_images, ctx.needs_input_grad[:3]),
            None,
            None,
            None,
            None,
            None,
        )


def render_soft_native_px(
    lines_px: torch.Tensor,
    radius: torch.Tensor,
    alpha: torch.Tensor,
    height: int,
    width: int,
    temperature: float,
    tolerance: float = SOFT_TOLERANCE,
    threads: int = 0,
) -> torch.Tensor:
    """`soft.render_soft_px` computed natively (module docstring); tensors on another device are copied to
    the CPU and the result back."""
    return NativeSoftRender.apply(lines_px, radius, alpha, height, width, float(temperature), tolerance, threads)
