"""Which network encodes a batch for `mnistvec encode`: the native encoder where it can run the model on the
CPU (`models/native_encoder.py`: torch is then never started), else the torch model.

Either way the work is one call, numpy in and numpy out:

    encode(images [B, 28, 28] float32, draw_seed) -> lines [B, N, 4], widths [B, N], opacity [B, N]

the strokes as `encoding/vectorise.py` draws them, invisible ones not yet hidden (`folder.py` does that
behind the encoder's back). `draw_seed` seeds a VAE's draws from q(z|x) (None: its mean).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.config import encode_refine
from mnistvec.device import runs_on_cpu

Strokes = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class BatchEncoder:
    """A loaded model as `encode_source` and `eval` use it: `model` is the torch model, or the native encoder
    (which has `can_sample` and `has_posterior` too, both False)."""

    config: dict
    refine_steps: int
    model: object
    uses_torch: bool
    encode: Callable[[np.ndarray, int | None], Strokes]

    @property
    def has_posterior(self) -> bool:
        return bool(self.model.has_posterior)


def load_batch_encoder(model_path: str | Path, device: str, refine_steps: int | None) -> BatchEncoder:
    """The encoder for `--model`, `--device` and `--refine` (None: the model's own default): the native one
    when the device is surely the CPU and the native path runs the model with no refinement steps, else
    the torch model on its device."""
    if runs_on_cpu(device):
        from mnistvec.models.bundled import resolve_model
        from mnistvec.models.native_encoder import load_native_encoder

        native = load_native_encoder(resolve_model(model_path))
        if native is not None and encode_refine(native[1], refine_steps) == 0:
            encoder, config = native
            return BatchEncoder(config, 0, encoder, False, lambda images, draw_seed: encoder.strokes(images))
    return _torch_encoder(model_path, device, refine_steps)


def _torch_encoder(model_path: str | Path, device: str, refine_steps: int | None) -> BatchEncoder:
    import torch

    from mnistvec.device import resolve_device
    from mnistvec.encoding.vectorise import vectorise
    from mnistvec.models.registry import load_model

    dev = resolve_device(device)
    model, config = load_model(model_path, dev)
    steps = encode_refine(config, refine_steps)

    def encode(images: np.ndarray, draw_seed: int | None) -> Strokes:
        generator = None if draw_seed is None else torch.Generator().manual_seed(draw_seed)
        return vectorise(model, torch.from_numpy(images).to(dev), steps, generator, hide_invisible=False)

    return BatchEncoder(config, steps, model, True, encode)
