"""Method 1, the autoencoder: image -> encoder -> N strokes -> soft renderer -> reconstruction.

Loss (summed over pixels, averaged over the batch):

    L = BCE(soft_T(strokes(x)), x)

The reconstruction term is the Bernoulli negative log-likelihood of the input pixels under the rendered
image (the default) or the squared error. The soft renderer's temperature T (pixels of blur) follows a
schedule from `temperature_start` to `temperature_end`, so early gradients reach strokes far from the ink
and late ones sharpen them to what the exact renderer draws.
"""

from __future__ import annotations

import torch

from mnistvec.config import DEFAULTS
from mnistvec.models.base import StrokeModel
from mnistvec.models.encoder import StrokeEncoder
from mnistvec.models.losses import pixel_losses, soft_reconstruction_loss
from mnistvec.models.refiner import refine_steps, refined_stages, staged_loss
from mnistvec.strokes import PARAMS_PER_LINE, squash

EPS = 1e-5

PIXEL_LOSSES = {"bce": "cross_entropy", "mse": "squared_error"}
"""The reconstruction losses, by their names in `losses.py`."""


def pixel_loss_name(kind: str) -> str:
    """The name in `losses.py` of the reconstruction loss `kind` (bce or mse)."""
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"unknown reconstruction loss {kind!r}; choose bce or mse")
    return PIXEL_LOSSES[kind]


class AutoEncoder(StrokeModel):
    """Encoder + stroke squashing; rendering is done by the caller's choice of renderer."""

    method = "ae"

    def __init__(
        self,
        n_lines: int = DEFAULTS.lines,
        hidden: int = DEFAULTS.hidden,
        channels: int = DEFAULTS.channels,
        coords: bool = DEFAULTS.coords,
        refiner_steps: int = DEFAULTS.refiner_steps,
    ):
        super().__init__()
        self.n_lines = n_lines
        self.encoder = StrokeEncoder(n_lines, PARAMS_PER_LINE, hidden=hidden, channels=channels, coords=coords)
        self.refiner = refine_steps(refiner_steps, n_lines, hidden, channels)

    def stages(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's raw strokes, then those after each amortised refinement step (`refiner.py`)."""
        return refined_stages(self.refiner, images, self.encoder(images))

    def raw_strokes(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 28, 28] in [0, 1] -> unconstrained stroke parameters [B, N, 6] (after refinement)."""
        return self.stages(images)[-1]

    def loss(self, images: torch.Tensor, temperature: float, reconstruction: str = "bce") -> torch.Tensor:
        """Mean reconstruction loss of a batch through the soft renderer at `temperature` (rendering and
        loss in one native pass on the CPU, see `losses.py`); with refinement steps, the last drawing's
        loss plus a share of the earlier ones' (`refiner.staged_loss`)."""
        return staged_soft_loss(self.stages(images), images, temperature, reconstruction)

    def forward(
        self,
        images: torch.Tensor,
        temperature: float,
        reconstruction: str = "bce",
        progress: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """The training step (`base.py`): {"loss": reconstruction loss} (no other terms)."""
        return {"loss": self.loss(images, temperature, reconstruction)}


def staged_soft_loss(
    stages: list[torch.Tensor], images: torch.Tensor, temperature: float, reconstruction: str = "bce"
) -> torch.Tensor:
    """`refiner.staged_loss` of the mean soft-renderer losses of several stages' raw strokes."""
    return staged_loss(
        [
            soft_reconstruction_loss(*squash(raw), images, temperature, pixel_loss_name(reconstruction), eps=EPS).mean()
            for raw in stages
        ]
    )


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Per-pixel Bernoulli NLL (`bce`) or squared error (`mse`), summed over pixels, mean over images."""
    return pixel_losses(recon, target, pixel_loss_name(kind), eps=EPS).mean()
