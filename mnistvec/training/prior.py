"""Fitting a VAE's learned prior (`models/prior.py`) to the posterior means of its training images, by EM.

Points x_1..x_N in R^D (the means of q(z|x) of the training split), K components, in float64:

    initialisation (k-means++): c_1 a point drawn uniformly; c_j a point drawn with probability
        proportional to its squared distance to the nearest of c_1..c_{j-1}; each point goes to its nearest
        centre, and the M step below on those hard assignments gives the first parameters
    E step:  r_ik = w_k N(x_i; m_k, S_k) / sum_l w_l N(x_i; m_l, S_l)
    M step:  n_k = sum_i r_ik,  w_k = n_k / N,  m_k = sum_i r_ik x_i / n_k,
             S_k = sum_i r_ik (x_i - m_k)(x_i - m_k)^T / n_k + ridge I,   L_k = cholesky(S_k)

The ridge keeps every covariance positive definite (a component on few points, or on the near-constant
dimensions of codes the decoder ignores). EM stops after `iterations` rounds, or earlier once the average
log-likelihood (1/N) sum_i log p(x_i) rises by less than `tolerance` nats in a round.

`fit_prior_to_checkpoint` gives a trained VAE's checkpoint a fitted prior without retraining; the training
loop fits one after the last epoch when `prior_components` > 0 (`loop.ImageTask`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mnistvec.errors import InputError
from mnistvec.models.prior import DTYPE, MixturePrior, component_log_densities, mixture_log_prob

RIDGE = 1e-4
"""Added to every covariance's diagonal (latent units squared)."""
ITERATIONS = 200
"""The most EM rounds."""
TOLERANCE = 1e-6
"""EM stops once a round raises the average log-likelihood by less than this (nats per point)."""
ENCODE_BATCH = 256
"""Images encoded at once for their posterior means."""


@dataclass
class MixtureFit:
    """A fitted mixture: weights [K], means [K, D], Cholesky factors [K, D, D] (float64), the average
    log-likelihood of the points it was fitted to, and how many EM rounds it took."""

    weights: torch.Tensor
    means: torch.Tensor
    scale_tril: torch.Tensor
    log_likelihood: float
    iterations: int

    def log_prob(self, points: torch.Tensor) -> torch.Tensor:
        """log p(x) [N] of points [N, D] under the fitted mixture."""
        return mixture_log_prob(points.to(DTYPE), self.weights, self.means, self.scale_tril)


def kmeans_plus_plus(points: torch.Tensor, components: int, generator: torch.Generator) -> torch.Tensor:
    """[K, D] initial centres drawn from `points` [N, D] (module docstring): the first uniformly, each next
    one with probability proportional to its squared distance to the nearest centre so far."""
    first = torch.randint(len(points), (1,), generator=generator)
    centres = [points[first[0]]]
    nearest = (points - centres[0]).pow(2).sum(1)
    for _ in range(1, components):
        if float(nearest.sum()) <= 0:  # every point sits on a centre: any point will do
            pick = torch.randint(len(points), (1,), generator=generator)[0]
        else:
            pick = torch.multinomial(nearest, 1, generator=generator)[0]
        centres.append(points[pick])
        nearest = torch.minimum(nearest, (points - points[pick]).pow(2).sum(1))
    return torch.stack(centres)


def maximisation(
    points: torch.Tensor, responsibilities: torch.Tensor, ridge: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The M step: (weights [K], means [K, D], Cholesky factors [K, D, D]) from points [N, D] and their
    responsibilities [N, K] (module docstring)."""
    counts = responsibilities.sum(0).clamp_min(1e-12)  # n_k (an emptied component keeps a tiny count)
    weights = counts / counts.sum()
    means = responsibilities.T @ points / counts[:, None]
    diff = points[None, :, :] - means[:, None, :]  # [K, N, D]
    weighted = diff * responsibilities.T[:, :, None]
    covariances = weighted.transpose(1, 2) @ diff / counts[:, None, None]
    covariances = covariances + ridge * torch.eye(points.shape[1], dtype=points.dtype)
    return weights, means, torch.linalg.cholesky(covariances)


def expectation(
    points: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """The E step: (responsibilities [N, K], the average log-likelihood of the points)."""
    joint = torch.log(weights)[None, :] + component_log_densities(points, means, scale_tril)
    total = torch.logsumexp(joint, dim=1, keepdim=True)
    return torch.exp(joint - total), float(total.mean())


def fit_mixture(
    points: torch.Tensor,
    components: int,
    seed: int = 0,
    iterations: int = ITERATIONS,
    tolerance: float = TOLERANCE,
    ridge: float = RIDGE,
) -> MixtureFit:
    """EM for a `components`-component full-covariance Gaussian mixture on `points` [N, D] (module
    docstring), in float64, initialised from `seed`; the same points and seed give the same fit."""
    points = torch.as_tensor(points).to(DTYPE)
    if points.ndim != 2 or len(points) < components or components < 1:
        raise InputError(f"cannot fit {components} component(s) to {len(points)} point(s)")
    if not bool(torch.isfinite(points).all()):
        raise InputError("cannot fit a prior to codes that are not finite numbers")
    generator = torch.Generator().manual_seed(seed)
    centres = kmeans_plus_plus(points, components, generator)
    nearest = torch.cdist(points, centres).argmin(1)
    responsibilities = torch.nn.functional.one_hot(nearest, components).to(DTYPE)
    weights, means, scale_tril = maximisation(points, responsibilities, ridge)
    previous, rounds = -float("inf"), 0
    while rounds < iterations:
        rounds += 1
        responsibilities, log_likelihood = expectation(points, weights, means, scale_tril)
        weights, means, scale_tril = maximisation(points, responsibilities, ridge)
        if log_likelihood - previous < tolerance:
            break
        previous = log_likelihood
    log_likelihood = float(mixture_log_prob(points, weights, means, scale_tril).mean())
    return MixtureFit(weights, means, scale_tril, log_likelihood, rounds)


@torch.no_grad()
def posterior_means(model, images: torch.Tensor | np.ndarray, batch_size: int = ENCODE_BATCH) -> torch.Tensor:
    """[N, latent] float64: the means of q(z|x) of a VAE for `images` [N, 28, 28] (on the model's device)."""
    device = next(model.parameters()).device
    images = torch.as_tensor(np.ascontiguousarray(images, dtype=np.float32))
    was_training = model.training
    model.eval()
    parts = [
        model.posterior(images[lo : lo + batch_size].to(device))[0].cpu() for lo in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(parts).to(DTYPE)


def fit_model_prior(model, images, components: int, seed: int = 0) -> MixtureFit:
    """Fit the prior of `model` (a VAE built with `components` prior components) to the posterior means of
    `images`, store it in the model's buffers, and return the fit."""
    if getattr(model, "prior", None) is None or model.prior.components != components:
        raise InputError(f"this model holds no {components}-component prior to fit")
    fit = fit_mixture(posterior_means(model, images), components, seed)
    model.prior.set_parameters(fit.weights, fit.means, fit.scale_tril)
    return fit


def fit_prior_to_checkpoint(
    src: str | Path, dst: str | Path, data: str, components: int, seed: int = 0, mirror: str | None = None
) -> MixtureFit:
    """Write `dst`: the VAE checkpoint `src` (a run's or a bundled one) with a `components`-component prior
    fitted to the posterior means of its training split of `data` (the split of `loop.split_indices` with
    the checkpoint's own `val_fraction` and `seed`: the images it was trained on). Every other field, and
    every weight (float16 ones stay float16), is kept as it was; `prior_components` is set in its config
    (an existing prior is replaced). Returns the fit."""
    from mnistvec.data import load_images
    from mnistvec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from mnistvec.models.bundled import resolve_model
    from mnistvec.models.registry import load_model
    from mnistvec.training.loop import split_indices

    if components < 1:
        raise InputError(f"a learned prior needs at least 1 component, got {components}")
    src = resolve_model(src)
    state = load_checkpoint(src)
    config = state.get("config", {})
    if config.get("method") != "vae":
        raise CheckpointError(f"{src}: a learned prior is for vae models, not {config.get('method')!r} ones")
    model, _ = load_model(src)
    images = load_images(data, mirror=mirror).images
    train_idx, _ = split_indices(len(images), config.get("val_fraction", 0.1), config.get("seed", 0))
    prior = MixturePrior(components, model.latent)
    fit = fit_mixture(posterior_means(model, images[train_idx.numpy()]), components, seed)
    prior.set_parameters(fit.weights, fit.means, fit.scale_tril)
    weights = {k: v for k, v in state["model"].items() if not k.startswith("prior.")}
    weights.update({f"prior.{k}": v.clone() for k, v in prior.state_dict().items()})
    payload = {k: v for k, v in state.items() if k not in ("format", "format_version", "versions")}
    payload.update({"config": {**config, "prior_components": components}, "model": weights})
    save_checkpoint(dst, payload)
    return fit
