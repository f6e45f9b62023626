"""Method 2, the VAE whose decoder ends in the real (native, non-differentiable) renderer.

    q(z|x) = N(mu(x), diag sigma^2(x))              encoder: the CNN of `encoder.py`, z in R^latent
    p(z)   = N(0, I)
    p(x|z) = prod_pixels Bernoulli(x | N(squash(g(z))))   g: MLP latent -> N strokes' raw parameters

A latent code z (not the raw stroke parameters themselves) is what the prior covers: with a prior put
directly on the 6N stroke numbers the generative model would have no parameters, and its samples would
be random scribbles. The decoder g learns which arrangements of strokes make digits.

Loss per image (the negative ELBO, beta-weighted):

    L = -log p(x | z) + beta(p) * KL(q(z|x) || p(z)),     z = mu + sigma * eps,  eps ~ N(0, I)
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
    beta(p) = kl_weight * min(1, p / kl_warmup)           (p = training progress in [0, 1])

The reconstruction is rendered by the native renderer and differentiated through the learned surrogate
(`render/through.py`). While it trains, the surrogate keeps being fitted to the native renderer on the
strokes the decoder currently draws (cross-entropy of each stroke's coverage, as in its pretraining), so it
stays accurate where it is used; that term only trains the surrogate.

Reconstructions and `mnistvec encode` use the mean of q; `strokes(images, sample=True)` draws from q.
"""

from __future__ import annotations

import torch
from torch import nn

from ..render.surrogate import StrokeSurrogate, coverage_fit
from ..render.through import GRADIENTS, native_loss_through_surrogate
from .encoder import StrokeEncoder
from .strokes import PARAMS_PER_LINE, squash

SURROGATE_LR_SCALE = 0.1
"""The surrogate keeps learning during VAE training at a tenth of the VAE's learning rate."""


class StrokeVAE(nn.Module):
    """Encoder q(z|x), decoder z -> strokes, and the surrogate that carries the renderer's gradients."""

    method = "vae"

    def __init__(self, n_lines: int = 16, hidden: int = 512, channels: int = 16, latent: int = 32,
                 kl_weight: float = 1.0, kl_warmup: float = 0.1, gradients: str = "straight-through",
                 pixel_noise: float = 0.0):
        super().__init__()
        if gradients not in GRADIENTS:
            raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
        self.n_lines, self.latent = n_lines, latent
        self.kl_weight, self.kl_warmup, self.gradients = kl_weight, kl_warmup, gradients
        self.pixel_noise = pixel_noise
        self.encoder = StrokeEncoder(2, latent, hidden=hidden, channels=channels)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, n_lines * PARAMS_PER_LINE),
        )
        self.surrogate = StrokeSurrogate()

    def prepare_training(self, config) -> None:
        """Start from trained surrogate weights (the bundled ones unless `config.surrogate` names a file)."""
        from ..checkpoint import CheckpointError
        from ..render.surrogate_weights import load_surrogate_state

        try:
            self.surrogate.load_state_dict(load_surrogate_state(config.surrogate))
        except RuntimeError as err:
            raise CheckpointError(f"{config.surrogate}: surrogate weights of another shape than the VAE's "
                                  f"({str(err).splitlines()[0]})") from None

    def parameter_groups(self) -> list[dict]:
        """Optimiser groups: the VAE at the full learning rate, the surrogate at SURROGATE_LR_SCALE of it."""
        vae = [p for name, p in self.named_parameters() if not name.startswith("surrogate.")]
        return [{"params": vae}, {"params": list(self.surrogate.parameters()), "lr_scale": SURROGATE_LR_SCALE}]

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images [B, 28, 28] -> (mu, log sigma^2), each [B, latent]."""
        out = self.encoder(images)
        return out[:, 0], out[:, 1].clamp(-12.0, 8.0)

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, latent] -> unconstrained stroke parameters [B, N, 6]."""
        return self.decoder(z).view(-1, self.n_lines, PARAMS_PER_LINE)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z [B, latent] -> lines [B, N, 4], widths [B, N], opacity [B, N]."""
        return squash(self.decode_raw(z))

    def raw_strokes(self, images: torch.Tensor, sample: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Raw strokes at the mean of q(z|x) (what reconstructions and `encode` use), or at a draw from it."""
        mu, logvar = self.posterior(images)
        return self.decode_raw(self._draw(mu, logvar, generator) if sample else mu)

    def strokes(self, images: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None):
        """images -> (lines, widths, opacity) at the mean of q(z|x), or at a draw from it with `sample`."""
        return squash(self.raw_strokes(images, sample, generator))

    @staticmethod
    def _draw(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def beta(self, progress: float) -> float:
        """The KL weight at training progress p in [0, 1] (linear warm-up, then constant)."""
        if self.kl_warmup <= 0:
            return self.kl_weight
        return self.kl_weight * min(1.0, progress / self.kl_warmup)

    def loss_terms(self, images: torch.Tensor, temperature: float = 0.0, reconstruction: str = "bce",
                   progress: float = 1.0, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The negative ELBO and its parts (mean over images). In training, z is drawn from q and the
        surrogate's fit to the native renderer is added; in evaluation, z is the mean of q."""
        mu, logvar = self.posterior(images)
        z = self._draw(mu, logvar, generator) if self.training else mu
        lines, widths, opacity = self.decode(z)
        recon = native_loss_through_surrogate(self.surrogate, lines, widths, opacity, images, reconstruction,
                                              self.gradients, self.pixel_noise)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        terms = {"loss": recon + self.beta(progress) * kl, "recon": recon, "kl": kl}
        if self.training:
            fit, terms["surrogate_mse"] = coverage_fit(self.surrogate, lines, widths)
            terms["loss"] = terms["loss"] + fit
        return terms
