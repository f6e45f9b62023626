"""The discriminator of the likelihood-free method: a score D(x, z) for an (image, code) pair.

    x [B, 28, 28] -> conv 4x4 stride 2 (c) -> conv 4x4 stride 2 (2c) -> flatten -> linear (hidden)
    z [B, latent] -> linear (hidden)
    D(x, z) = linear(1) of LeakyReLU(linear(hidden) of [x features, z features])

LeakyReLU (slope 0.2) everywhere and no normalisation layer, so each pair's score depends on that pair
alone (a gradient penalty is taken per pair). With `spectral` the weight of every layer is divided by its
largest singular value (one power iteration per step), which bounds how fast D can change.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PairCritic(nn.Module):
    """D(x, z) -> [B] unbounded scores (logits for the JS objective, critic values for Wasserstein)."""

    def __init__(self, latent: int, hidden: int = 256, channels: int = 32, spectral: bool = False):
        super().__init__()
        c = channels
        norm = spectral_norm if spectral else (lambda layer: layer)
        self.image = nn.Sequential(
            norm(nn.Conv2d(1, c, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2),
            norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            norm(nn.Linear(2 * c * 7 * 7, hidden)),
            nn.LeakyReLU(0.2),
        )
        self.code = nn.Sequential(norm(nn.Linear(latent, hidden)), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(norm(nn.Linear(2 * hidden, hidden)), nn.LeakyReLU(0.2), norm(nn.Linear(hidden, 1)))

    def forward(self, images: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        features = torch.cat([self.image(images.unsqueeze(1)), self.code(codes)], dim=1)
        return self.joint(features).squeeze(1)
