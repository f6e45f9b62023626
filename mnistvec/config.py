"""The one home of every default: the lists of choices, the commands' defaults, and the training settings.

`TrainConfig` is a run's settings (stored in its checkpoint); `METHOD_DEFAULTS` the settings that differ by
method when the command line does not give them. The command line's options, their help texts, the
models' constructors and the loading of checkpoints all read their defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

METHODS = ("ae", "vae", "lfi")
"""Methods whose checkpoints are vectorisers (image -> strokes)."""
SAMPLING_METHODS = ("vae", "lfi")
"""Methods with a prior to draw new digits from."""
TRAINABLE = (*METHODS, "surrogate")
"""What `mnistvec train --method` trains: the vectorisers and the surrogate renderer."""
GRADIENTS = ("straight-through", "surrogate")
"""How vae and lfi take gradients through the native renderer (`models/gradients.py`)."""
OBJECTIVES = ("js", "wasserstein")
"""The likelihood-free model's adversarial games (`models/adversarial.py`)."""
RECONSTRUCTIONS = ("bce", "mse")
"""Reconstruction losses: Bernoulli likelihood or squared error."""
PRIORS = ("learned", "standard")
"""What `sample` and `eval` draw latent codes from: the model's own prior (its fitted mixture, or N(0, I)
for a model without one) or N(0, I) always."""
RENDERERS = ("native", "exact", "soft")
"""The renderers (`raster/`)."""
DEVICES = ("auto", "cpu", "cuda")
"""Where a command runs: `auto` picks CUDA when present."""

RENDER_TEMPERATURE = 0.5
"""The soft renderer's blur, in pixels, when none is given."""
ENCODE_BATCH = 256
"""Images encoded (and scored) at once."""
ENCODE_MODEL = "ae"
"""The shipped model `encode` and the Python API use when none is named."""
SAMPLE_MODEL = "vae"
"""The shipped model `sample` draws from when none is named (the best Frechet distance to real digits)."""
SCORED_SAMPLES = 1000
"""Samples drawn to score a model with a prior (`eval`, and every training epoch)."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint)."""

    method: str = "ae"
    data: str = "mnist"
    lines: int = 16
    epochs: int = 80
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    val_fraction: float = 0.1
    temperature_start: float = 1.0
    temperature_end: float = 0.3
    reconstruction: str = "bce"
    hidden: int = 512
    channels: int = 16
    coords: bool = False
    refiner_steps: int = 0
    init: str | None = None
    shift: int = 2
    latent: int = 32
    kl_weight: float = 1.0
    kl_warmup: float = 0.1
    gradients: str = "straight-through"
    surrogate: str = "bundled"
    pixel_noise: float = 0.0
    objective: str = "wasserstein"
    recon_weight: float = 1.0
    adv_weight: float = 5.0
    gp_weight: float = 10.0
    instance_noise: float = 0.1
    instance_noise_end: float = 0.0
    critic_lr_scale: float = 2.0
    spectral: bool = False
    prior_components: int = 0
    """vae: 0 samples from the standard normal prior N(0, I); K > 0 fits a K-component full-covariance
    Gaussian mixture to the posterior means of the training split after the last epoch, and samples from it
    (`models/prior.py`; the training objective keeps N(0, I))."""
    encode_refine: int = 0
    """Steps of per-image refinement that `encode`, `eval` and the Python API give this model's strokes when
    not told otherwise (set for a model whose strokes it pays to refine; it changes nothing in training)."""

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


METHOD_DEFAULTS = {
    "ae": {"epochs": 80, "lr": 2e-3, "shift": 2, "batch_size": 64},
    "vae": {"epochs": 100, "lr": 2e-3, "shift": 0, "batch_size": 32},
    "lfi": {"epochs": 40, "lr": 1e-3, "shift": 0, "batch_size": 32},
    "surrogate": {"epochs": 30, "lr": 1e-3, "shift": 0, "batch_size": 64},
}


def method_defaults(method: str) -> dict:
    """The epochs, learning rate, shift augmentation and batch size a method trains with when the command
    line does not say (chosen per method on held-out training images)."""
    return METHOD_DEFAULTS.get(method, METHOD_DEFAULTS["ae"])


DEFAULTS = TrainConfig()
"""Every setting at its default (the models' constructors take theirs from it)."""


def encode_refine(config: dict, asked: int | None) -> int:
    """The refinement steps to encode with: those `asked` for, else the model's own default (its config's
    `encode_refine`, 0 in checkpoints that do not hold one)."""
    return int(config.get("encode_refine", 0)) if asked is None else asked
