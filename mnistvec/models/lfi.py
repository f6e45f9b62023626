"""Method 3, likelihood-free inference: adversarial training on (image, code) pairs (ALI / BiGAN).

    generative side:  z ~ N(0, I) -> G(z) = squash(g(z)) strokes -> native renderer -> image
    inference side:   real image x -> E(x) = z (deterministic CNN encoder)
    critic:           D(x, z) tells real pairs (x, E(x)) from fake pairs (render(G(z)), z)

No likelihood of an image under the model is ever written down: the generator and the encoder only learn
to make the two joints indistinguishable to D (`adversarial.py`: JS or Wasserstein). Rendering has no
gradients, so a fake image is the native renderer's, with the learned surrogate's gradients
(`models/gradients.py: drawn`); D always sees exactly what a user gets.

What keeps it stable (each measured in the README):

- a reconstruction term, recon_weight * -log p(x | G(E(x))) (Bernoulli, summed over pixels, through the
  surrogate as in the VAE); with it the game is ALICE's (ALI plus conditional entropy), which makes E and
  G approximately inverse so reconstructions are the image's own digit, not just any digit;
- instance noise: Gaussian noise on both images D sees, of standard deviation
  sigma(p) = instance_noise * (1 - p) + instance_noise_end * p (p = training progress), so the two image
  distributions overlap: strokes can never reproduce a pen's texture exactly, and without noise a JS critic
  learns to tell them apart by texture alone, after which the generator retreats to the digits that fool
  it best (1s and 7s);
- two time-scale learning rates: D learns at critic_lr_scale times the generator's rate;
- for Wasserstein, a gradient penalty (gp_weight); for JS, optionally spectral norm on D.

In training, the total loss (one optimiser step for all parts) is

    critic_loss(D) [+ gp_weight * GP] + adv_weight * generator_loss(G, E) + recon_weight * recon + fit(S)

where each part reaches only its own parameters: D's loss sees detached images and codes, and the
generator's loss is taken through a frozen copy of D's weights.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from mnistvec.config import DEFAULTS
from mnistvec.models.adversarial import OBJECTIVES, critic_loss, generator_loss, gradient_penalty
from mnistvec.models.critic import PairCritic
from mnistvec.models.encoder import StrokeEncoder
from mnistvec.models.gradients import GRADIENTS, drawn, native_loss_through_surrogate
from mnistvec.models.latent import LatentStrokeModel
from mnistvec.models.surrogate import coverage_fit

ADAM_BETAS = (0.5, 0.999)
"""A shorter momentum than Adam's default 0.9, as usual for adversarial games."""


class StrokeLFI(LatentStrokeModel):
    """Encoder E, generator G (the shared latent decoder), critic D, and the surrogate for gradients."""

    method = "lfi"

    def __init__(
        self,
        n_lines: int = DEFAULTS.lines,
        hidden: int = DEFAULTS.hidden,
        channels: int = DEFAULTS.channels,
        latent: int = DEFAULTS.latent,
        objective: str = DEFAULTS.objective,
        recon_weight: float = DEFAULTS.recon_weight,
        adv_weight: float = DEFAULTS.adv_weight,
        gp_weight: float = DEFAULTS.gp_weight,
        instance_noise: float = DEFAULTS.instance_noise,
        instance_noise_end: float = DEFAULTS.instance_noise_end,
        critic_lr_scale: float = DEFAULTS.critic_lr_scale,
        spectral: bool = DEFAULTS.spectral,
        gradients: str = DEFAULTS.gradients,
    ):
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        if gradients not in GRADIENTS:
            raise ValueError(f"unknown gradients {gradients!r}; choose one of {', '.join(GRADIENTS)}")
        super().__init__(StrokeEncoder(1, latent, hidden=hidden, channels=channels), n_lines, hidden, latent)
        self.critic = PairCritic(latent, spectral=spectral)
        self.objective, self.gradients = objective, gradients
        self.recon_weight, self.adv_weight, self.gp_weight = recon_weight, adv_weight, gp_weight
        self.instance_noise, self.instance_noise_end = instance_noise, instance_noise_end
        self.critic_lr_scale = critic_lr_scale

    def parameter_groups(self) -> list[dict]:
        """Encoder and generator at the learning rate, the critic at critic_lr_scale of it, the surrogate at
        SURROGATE_LR_SCALE of it."""
        critic = list(self.critic.parameters())
        ids = {id(p) for p in critic}
        players = [p for p in self.model_parameters() if id(p) not in ids]
        return [
            {"params": players, "betas": ADAM_BETAS},
            {"params": critic, "lr_scale": self.critic_lr_scale, "betas": ADAM_BETAS},
            {**self.surrogate_group(), "betas": ADAM_BETAS},
        ]

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 28, 28] -> codes z = E(x) [B, latent]."""
        return self.encoder(images)[:, 0]

    def raw_strokes(self, images: torch.Tensor) -> torch.Tensor:
        """images -> raw strokes of G(E(x)) (what reconstructions and `encode` use)."""
        return self.decode_raw(self.encode(images))

    def _frozen_critic(self, images: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """D(x, z) with gradients to x and z only (the generator's and encoder's view of the critic)."""
        params = {name: p.detach() for name, p in self.critic.named_parameters()}
        return functional_call(self.critic, params, (images, codes))

    def _seen(self, images: torch.Tensor, progress: float, generator: torch.Generator | None) -> torch.Tensor:
        """What D sees: the image plus instance noise N(0, sigma(p)^2) while training (module docstring)."""
        sigma = self.instance_noise * (1.0 - progress) + self.instance_noise_end * progress
        if not self.training or sigma <= 0:
            return images
        return images + sigma * torch.randn(images.shape, generator=generator).to(images.device)

    def forward(
        self,
        images: torch.Tensor,
        temperature: float = 0.0,
        reconstruction: str = "bce",
        progress: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """The training loss (module docstring) and its parts, each a mean over the batch. The prior draws and
        the instance noise come from `generator` (a fixed one when none is given, so evaluation repeats)."""
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        z_real = self.encode(images)
        z_fake = torch.randn(len(images), self.latent, generator=generator).to(images.device)
        fake_lines, fake_widths, fake_opacity = self.decode(z_fake)
        x_fake = drawn(self.surrogate, fake_lines, fake_widths, fake_opacity, self.gradients)
        x_real_seen, x_fake_seen = self._seen(images, progress, generator), self._seen(x_fake, progress, generator)

        d_real, d_fake = self.critic(x_real_seen, z_real.detach()), self.critic(x_fake_seen.detach(), z_fake)
        d_loss = critic_loss(self.objective, d_real, d_fake)
        g_loss = generator_loss(
            self.objective, self._frozen_critic(x_real_seen, z_real), self._frozen_critic(x_fake_seen, z_fake)
        )
        recon = native_loss_through_surrogate(
            self.surrogate, *self.decode(z_real), images, reconstruction, self.gradients
        )
        terms = {"d_loss": d_loss, "g_loss": g_loss, "recon": recon, "d_real": d_real.mean(), "d_fake": d_fake.mean()}
        loss = d_loss + self.adv_weight * g_loss + self.recon_weight * recon
        if self.training:
            if self.objective == "wasserstein":
                terms["gp"] = gradient_penalty(self.critic, (x_real_seen, z_real), (x_fake_seen, z_fake), generator)
                loss = loss + self.gp_weight * terms["gp"]
            fit, terms["surrogate_mse"] = coverage_fit(self.surrogate, fake_lines, fake_widths)
            loss = loss + fit
        return {"loss": loss, **terms}
