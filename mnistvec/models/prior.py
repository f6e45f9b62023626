"""A learned prior over the latent space: a K-component Gaussian mixture with full covariances.

    p(z) = sum_k w_k N(z; m_k, L_k L_k^T)        w_k >= 0, sum_k w_k = 1, L_k lower triangular, diag > 0

    log N(z; m, L L^T) = -1/2 (D log 2 pi + 2 sum_j log L_jj + |y|^2),   L y = z - m  (a triangular solve)
    log p(z)           = logsumexp_k (log w_k + log N(z; m_k, L_k L_k^T))

    sampling at temperature t:   k ~ Categorical(w),  eps ~ N(0, I_D),  z = m_k + t L_k eps

It is fitted after training to the posterior means of the training images (`training/prior.py`), so that
samples come from where the encoder put the data rather than from the parts of N(0, I) that no image maps
to (ex-post density estimation: Ghosh et al. 2020, "From variational to deterministic autoencoders";
the two-stage VAE of Dai and Wipf 2019 is the same idea). The VAE's training objective keeps N(0, I).

The parameters are buffers in float64 (`DTYPE`), never trained by the optimiser, and a bundled export keeps
them at that precision (`models/bundled.py`): rounded to float16, a Cholesky factor of a narrow component
would lose the positive diagonal it needs. An unfitted mixture has every component at N(0, I).
"""

from __future__ import annotations

import math

import torch
from torch import nn

DTYPE = torch.float64
"""The precision of the mixture's buffers (and of its fit)."""


def component_log_densities(z: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> torch.Tensor:
    """log N(z_i; m_k, L_k L_k^T) for points z [N, D], means [K, D], Cholesky factors [K, D, D] -> [N, K]."""
    diff = (z[None, :, :] - means[:, None, :]).transpose(1, 2)  # [K, D, N]
    y = torch.linalg.solve_triangular(scale_tril, diff, upper=False)  # L_k y = z - m_k
    half_log_det = torch.log(torch.diagonal(scale_tril, dim1=1, dim2=2)).sum(1)  # [K]
    maha = y.pow(2).sum(1)  # [K, N]
    dim = z.shape[1]
    return (-0.5 * (dim * math.log(2 * math.pi) + maha) - half_log_det[:, None]).T


def mixture_log_prob(
    z: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor
) -> torch.Tensor:
    """log p(z_i) = logsumexp_k (log w_k + log N(z_i; m_k, L_k L_k^T)) for z [N, D] -> [N]."""
    return torch.logsumexp(torch.log(weights)[None, :] + component_log_densities(z, means, scale_tril), dim=1)


def mixture_sample(
    count: int,
    weights: torch.Tensor,
    means: torch.Tensor,
    scale_tril: torch.Tensor,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """[count, D] draws z = m_k + temperature * L_k eps, k ~ Categorical(w), eps ~ N(0, I), from `generator`
    (the components first, then every eps), in the buffers' dtype."""
    picks = torch.multinomial(weights, count, replacement=True, generator=generator)
    eps = torch.randn(count, means.shape[1], generator=generator, dtype=means.dtype)
    return means[picks] + temperature * torch.einsum("nij,nj->ni", scale_tril[picks], eps)


class MixturePrior(nn.Module):
    """p(z) of the module docstring over `latent` dimensions with `components` components, held in the
    buffers `weights` [K], `means` [K, D] and `scale_tril` [K, D, D] (float64)."""

    def __init__(self, components: int, latent: int):
        super().__init__()
        if components < 1:
            raise ValueError(f"a mixture needs at least one component, got {components}")
        self.register_buffer("weights", torch.full((components,), 1.0 / components, dtype=DTYPE))
        self.register_buffer("means", torch.zeros(components, latent, dtype=DTYPE))
        self.register_buffer("scale_tril", torch.eye(latent, dtype=DTYPE).repeat(components, 1, 1))

    @property
    def components(self) -> int:
        return len(self.weights)

    def set_parameters(self, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> None:
        """Copy fitted parameters (of this mixture's shapes) into the buffers."""
        for name, value in (("weights", weights), ("means", means), ("scale_tril", scale_tril)):
            buffer = getattr(self, name)
            if value.shape != buffer.shape:
                raise ValueError(f"{name} of shape {list(value.shape)}, the prior holds {list(buffer.shape)}")
            buffer.copy_(value.to(DTYPE))

    def sample(self, count: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """[count, D] draws at `temperature` (module docstring), float64 on the CPU."""
        return mixture_sample(
            count, self.weights.cpu(), self.means.cpu(), self.scale_tril.cpu(), generator, temperature
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) [N] of points z [N, D] (computed in float64)."""
        return mixture_log_prob(z.to(self.means), self.weights, self.means, self.scale_tril)
