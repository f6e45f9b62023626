"""The two adversarial objectives of the likelihood-free method, on scores of (image, code) pairs.

Real pairs are (x, E(x)) with x a training image; fake pairs are (G(z), z) with z ~ N(0, I). With s_r and
s_f the critic's scores of a batch of each (means over the batch):

JS (the ALI/BiGAN game, whose optimum minimises the Jensen-Shannon divergence of the two joints):

    critic:               softplus(-s_r) + softplus(s_f)      = -log sigmoid(s_r) - log(1 - sigmoid(s_f))
    generator + encoder:  softplus(s_r) + softplus(-s_f)      (the non-saturating form: each side is
                                                               pushed to be taken for the other)

Wasserstein (WGAN-GP on the joint):

    critic:               s_f - s_r + gp * (|grad D(x^, z^)| - 1)^2 + DRIFT * s_r^2
    generator + encoder:  s_r - s_f

where (x^, z^) = a (x, E(x)) + (1 - a) (G(z), z), a ~ U(0, 1) per pair, and the gradient is over image
and code together. DRIFT keeps the critic's values near zero (they are otherwise defined up to a constant).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnistvec.config import OBJECTIVES

DRIFT = 1e-3


def _check(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")


def critic_loss(objective: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """What the critic minimises, from its scores of real and fake pairs (without the gradient penalty)."""
    _check(objective)
    if objective == "js":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    return fake.mean() - real.mean() + DRIFT * real.pow(2).mean()


def generator_loss(objective: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """What the generator and the encoder minimise, from the critic's scores of the real and fake pairs."""
    _check(objective)
    if objective == "js":
        return F.softplus(real).mean() + F.softplus(-fake).mean()
    return real.mean() - fake.mean()


def gradient_penalty(
    critic,
    real: tuple[torch.Tensor, torch.Tensor],
    fake: tuple[torch.Tensor, torch.Tensor],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """mean over pairs of (|grad_(x, z) D(x^, z^)| - 1)^2 at random points between real and fake pairs.
    The pairs are detached: the penalty trains the critic only."""
    (x_real, z_real), (x_fake, z_fake) = real, fake
    a = torch.rand(len(x_real), generator=generator).to(x_real.device)
    x_hat = (a[:, None, None] * x_real.detach() + (1 - a[:, None, None]) * x_fake.detach()).requires_grad_(True)
    z_hat = (a[:, None] * z_real.detach() + (1 - a[:, None]) * z_fake.detach()).requires_grad_(True)
    grad_x, grad_z = torch.autograd.grad(critic(x_hat, z_hat).sum(), (x_hat, z_hat), create_graph=True)
    norm = (grad_x.flatten(1).pow(2).sum(1) + grad_z.pow(2).sum(1) + 1e-12).sqrt()
    return (norm - 1.0).pow(2).mean()
