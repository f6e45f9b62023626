"""Method 2, the VAE whose decoder ends in the real (native, non-differentiable) renderer.

    q(z|x) = N(mu(x), diag sigma^2(x))              encoder: the CNN of `encoder.py`, z in R^latent
    p(z)   = N(0, I)                                (in training; samples may come from a mixture fitted after it)
    p(x|z) = prod_pixels Bernoulli(x | N(squash(g(z))))   g: MLP latent -> N strokes' raw parameters

A latent code z (not the raw stroke parameters themselves) is what the prior covers: with a prior put
directly on the 6N stroke numbers the generative model would have no parameters, and its samples would
be random scribbles. The decoder g learns which arrangements of strokes make digits.

Loss per image (the negative ELBO, beta-weighted):

    L = -log p(x | z) + beta(p) * KL(q(z|x) || p(z)),     z = mu + sigma * eps,  eps ~ N(0, I)
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
    beta(p) = kl_weight * min(1, p / kl_warmup)           (p = training progress in [0, 1])

The reconstruction is rendered by the native renderer and differentiated through the learned surrogate
(`models/gradients.py`). While it trains, the surrogate keeps being fitted to the native renderer on the
strokes the decoder currently draws (cross-entropy of each stroke's coverage, as in its pretraining), so it
stays accurate where it is used; that term only trains the surrogate.

With `prior_components` K > 0 the model also holds a K-component Gaussian mixture (`prior.py`), fitted
after training to the posterior means of its training images; new digits are drawn from it, which avoids
the parts of N(0, I) that no image maps to. It changes nothing in training, encoding or reconstruction.

Reconstructions and `mnistvec encode` use the mean of q; `strokes(images, sample=True)` draws from q.

With `refiner_steps`, encoding ends in amortised refinement steps (`refiner.py`) that move the decoded
strokes towards the image. They are trained beside the VAE on its reconstructions (detached: their loss,
the soft renderer's at the schedule's temperature, reaches only their own weights), so the generative model
and its samples are the same with or without them.
"""

from __future__ import annotations

import torch

from mnistvec.config import DEFAULTS
from mnistvec.models.ae import staged_soft_loss
from mnistvec.models.encoder import StrokeEncoder
from mnistvec.models.gradients import GRADIENTS, native_loss_through_surrogate
from mnistvec.models.latent import LatentStrokeModel
from mnistvec.models.refiner import refine_steps, refined_stages
from mnistvec.models.surrogate import coverage_fit
from mnistvec.strokes import squash


class StrokeVAE(LatentStrokeModel):
    """Encoder q(z|x), decoder z -> strokes, and the surrogate that carries the renderer's gradients."""

    method = "vae"
    has_posterior = True

    def __init__(
        self,
        n_lines: int = DEFAULTS.lines,
        hidden: int = DEFAULTS.hidden,
        channels: int = DEFAULTS.channels,
        latent: int = DEFAULTS.latent,
        kl_weight: float = DEFAULTS.kl_weight,
        kl_warmup: float = DEFAULTS.kl_warmup,
        gradients: str = DEFAULTS.gradients,
        pixel_noise: float = DEFAULTS.pixel_noise,
        refiner_steps: int = DEFAULTS.refiner_steps,
        prior_components: int = DEFAULTS.prior_components,
    ):
        if gradients not in GRADIENTS:
            raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
        super().__init__(
            StrokeEncoder(2, latent, hidden=hidden, channels=channels), n_lines, hidden, latent, prior_components
        )
        self.kl_weight, self.kl_warmup, self.gradients = kl_weight, kl_warmup, gradients
        self.pixel_noise = pixel_noise
        self.refiner = refine_steps(refiner_steps, n_lines, hidden, channels)

    def parameter_groups(self) -> list[dict]:
        """Optimiser groups: the VAE at the full learning rate, the surrogate at SURROGATE_LR_SCALE of it."""
        return [{"params": self.model_parameters()}, self.surrogate_group()]

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images [B, 28, 28] -> (mu, log sigma^2), each [B, latent]."""
        out = self.encoder(images)
        return out[:, 0], out[:, 1].clamp(-12.0, 8.0)

    def raw_strokes(
        self, images: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Raw strokes at the mean of q(z|x) (what reconstructions and `encode` use), or at a draw from it."""
        mu, logvar = self.posterior(images)
        raw = self.decode_raw(self._draw(mu, logvar, generator) if sample else mu)
        return refined_stages(self.refiner, images, raw)[-1]

    def strokes(self, images: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None):
        """images -> (lines, widths, opacity) at the mean of q(z|x), or at a draw from it with `sample`."""
        return squash(self.raw_strokes(images, sample, generator))

    @staticmethod
    def _draw(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def refined_loss(
        self, images: torch.Tensor, raw: torch.Tensor, temperature: float, reconstruction: str
    ) -> torch.Tensor:
        """The refinement steps' loss, from the decoded strokes `raw` (detached) at the mean of q."""
        return staged_soft_loss(refined_stages(self.refiner, images, raw)[1:], images, temperature, reconstruction)

    def beta(self, progress: float) -> float:
        """The KL weight at training progress p in [0, 1] (linear warm-up, then constant)."""
        if self.kl_warmup <= 0:
            return self.kl_weight
        return self.kl_weight * min(1.0, progress / self.kl_warmup)

    def forward(
        self,
        images: torch.Tensor,
        temperature: float = 0.0,
        reconstruction: str = "bce",
        progress: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """The negative ELBO and its parts (mean over images). In training, z is drawn from q and the
        surrogate's fit to the native renderer is added; in evaluation, z is the mean of q."""
        mu, logvar = self.posterior(images)
        z = self._draw(mu, logvar, generator) if self.training else mu
        raw = self.decode_raw(z)
        lines, widths, opacity = squash(raw)
        recon = native_loss_through_surrogate(
            self.surrogate, lines, widths, opacity, images, reconstruction, self.gradients, self.pixel_noise
        )
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        terms = {"loss": recon + self.beta(progress) * kl, "recon": recon, "kl": kl}
        if len(self.refiner):
            at_mean = self.decode_raw(mu) if self.training else raw  # in evaluation z is the mean already
            terms["refined"] = self.refined_loss(images, at_mean.detach(), temperature, reconstruction)
            terms["loss"] = terms["loss"] + terms["refined"]
        if self.training:
            fit, terms["surrogate_mse"] = coverage_fit(self.surrogate, lines, widths)
            terms["loss"] = terms["loss"] + fit
        return terms
