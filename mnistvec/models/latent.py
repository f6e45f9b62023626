"""What the two generative methods (vae, lfi) share: a latent code z with prior N(0, I), decoded to strokes
that the native renderer draws, and the learned surrogate that carries the renderer's gradients.

A model may also hold a learned prior (`prior`, a `models/prior.py` mixture fitted after training, vae
only): new digits are then drawn from it. `draw_latent` is the one place that draws latent codes to
sample from, for `sample`, `eval`, the Python API and the training loop's sample scores.

    g: z in R^latent -> MLP (two GELU layers of `hidden`) -> N strokes' raw parameters -> `squash`

While a model trains, the surrogate keeps being fitted to the native renderer on the strokes the decoder
currently draws (`coverage_fit`), at SURROGATE_LR_SCALE of the model's learning rate, so it stays accurate
where it is used. No other loss reaches the surrogate's weights (`models/gradients.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from mnistvec.config import PRIORS
from mnistvec.models.base import StrokeModel
from mnistvec.models.prior import MixturePrior
from mnistvec.models.surrogate import StrokeSurrogate
from mnistvec.strokes import PARAMS_PER_LINE, squash

SURROGATE_LR_SCALE = 0.1
"""The surrogate keeps learning at a tenth of the model's learning rate."""


def stroke_decoder(latent: int, hidden: int, n_lines: int) -> nn.Sequential:
    """The MLP g: [B, latent] -> [B, N * 6] raw stroke parameters."""
    return nn.Sequential(
        nn.Linear(latent, hidden),
        nn.GELU(),
        nn.Linear(hidden, hidden),
        nn.GELU(),
        nn.Linear(hidden, n_lines * PARAMS_PER_LINE),
    )


class LatentStrokeModel(StrokeModel):
    """Base of the models with a prior: `encoder`, `decoder`, `surrogate`, and the methods that `sample` and
    training use. A subclass builds its encoder (and whatever else it trains) and adds `forward`.

    Modules are registered (and initialised from the global seed) in the order encoder, decoder, surrogate."""

    can_sample = True

    def __init__(self, encoder: nn.Module, n_lines: int, hidden: int, latent: int, prior_components: int = 0):
        super().__init__()
        self.n_lines, self.latent = n_lines, latent
        self.encoder = encoder
        self.decoder = stroke_decoder(latent, hidden, n_lines)
        self.surrogate = StrokeSurrogate()
        self.prior = MixturePrior(prior_components, latent) if prior_components > 0 else None

    def draw_latent(
        self, count: int, generator: torch.Generator, temperature: float = 1.0, prior: str = "learned"
    ) -> torch.Tensor:
        """[count, latent] float32 codes on the CPU, drawn from `generator` at `temperature`: from the model's
        own prior (`learned`: its mixture, or N(0, I) when it has none) or from N(0, I) (`standard`), which
        is z = temperature * eps, eps ~ N(0, I)."""
        if prior not in PRIORS:
            raise ValueError(f"unknown prior {prior!r}; choose one of {', '.join(PRIORS)}")
        if prior == "learned" and self.prior is not None:
            return self.prior.sample(count, generator, temperature).float()
        return temperature * torch.randn(count, self.latent, generator=generator)

    def prepare_training(self, config) -> None:
        """Start from trained surrogate weights (the bundled ones unless `config.surrogate` names a file)."""
        from mnistvec.io.checkpoint import CheckpointError
        from mnistvec.models.surrogate_weights import load_surrogate_state

        try:
            self.surrogate.load_state_dict(load_surrogate_state(config.surrogate))
        except RuntimeError as err:
            raise CheckpointError(
                f"{config.surrogate}: surrogate weights of another shape than the "
                f"{self.method.upper()}'s ({str(err).splitlines()[0]})"
            ) from None

    def model_parameters(self) -> list[nn.Parameter]:
        """Every trained parameter except the surrogate's."""
        return [p for name, p in self.named_parameters() if not name.startswith("surrogate.")]  # the prior: buffers

    def surrogate_group(self) -> dict:
        """The optimiser group of the surrogate (SURROGATE_LR_SCALE of the learning rate)."""
        return {"params": list(self.surrogate.parameters()), "lr_scale": SURROGATE_LR_SCALE}

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, latent] -> unconstrained stroke parameters [B, N, 6]."""
        return self.decoder(z).view(-1, self.n_lines, PARAMS_PER_LINE)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z [B, latent] -> lines [B, N, 4], widths [B, N], opacity [B, N]."""
        return squash(self.decode_raw(z))
