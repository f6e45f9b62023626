"""The Python API: what `import mnistvec` offers a notebook or one's own training code.

    model = mnistvec.load_model("ae")              # a shipped model (ae, vae, lfi) or a checkpoint's path
    vectors = model.encode(images)                 # [B, 28, 28] in [0, 1], numpy or torch -> Vectors
    vectors.save("v.npz"); mnistvec.Vectors.load("v.npz"); vectors.to_svg(0)
    pixels = mnistvec.render(vectors, size=112)    # -> numpy [B, 112, 112]
    samples = mnistvec.load_model("lfi").sample(64, seed=0)
    layer = mnistvec.SoftRenderer(size=28)         # the differentiable renderer, a torch.nn.Module

`encode` gives the strokes `mnistvec encode` writes for the same 28x28 canvases (same model, same
refinement, and on the CPU the same encoder: the native one where it runs the model,
`models/native_encoder.py`). Long work shows a `tqdm.auto` progress bar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mnistvec.config import ENCODE_BATCH, ENCODE_MODEL, PRIORS, encode_refine
from mnistvec.data.arrays import item_problems
from mnistvec.device import resolve_device
from mnistvec.encoding.sampling import draw_samples, prior_name
from mnistvec.encoding.vectorise import vectorise
from mnistvec.errors import InputError
from mnistvec.io.vectors import Vectors
from mnistvec.models.bundled import resolve_model
from mnistvec.models.native_encoder import load_native_encoder
from mnistvec.models.registry import load_model as load_checkpoint_model
from mnistvec.raster import RENDERERS, render_numpy
from mnistvec.raster.soft import DEFAULT_TEMPERATURE
from mnistvec.raster.visibility import without_invisible


class Vectoriser:
    """A trained model, ready to encode images (and, for vae and lfi, to sample new digits).

    `module` is the torch model itself (`models/base.py`), `config` its training settings; `native` the
    native encoder that `encode` uses instead of it when refining nothing (`models/native_encoder.py`),
    or None."""

    def __init__(self, module: torch.nn.Module, config: dict, source: str, native=None):
        self.module, self.config, self.source, self.native = module, config, source, native

    @property
    def method(self) -> str:
        return self.config["method"]

    @property
    def n_lines(self) -> int:
        return int(self.config["lines"])

    @property
    def can_sample(self) -> bool:
        return self.module.can_sample

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def __repr__(self) -> str:
        return f"Vectoriser({self.source!r}, method={self.method!r}, n_lines={self.n_lines})"

    def encode(
        self,
        images,
        refine: int | None = None,
        batch_size: int = ENCODE_BATCH,
        progress: bool = True,
        names: list[str] | None = None,
    ) -> Vectors:
        """Strokes for `images` [B, 28, 28] (or one [28, 28]) with values in [0, 1] (uint8 is read as 0-255),
        white ink on black as in MNIST. `refine` steps of per-image refinement follow the encoder (None: the
        model's own default, as `mnistvec encode` does; 0 for the shipped ae, 3 for the shipped vae)."""
        canvases = as_canvases(images)
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        refine = encode_refine(self.config, refine)
        if refine < 0:
            raise InputError(f"refine must be 0 or more steps, got {refine}")
        parts = []
        starts = range(0, len(canvases), batch_size)
        for lo in tqdm(starts, desc="encoding", unit="batch", disable=not progress or len(starts) < 2, leave=False):
            if refine == 0 and self.native is not None:
                lines, widths, opacity = self.native.strokes(canvases[lo : lo + batch_size])
                parts.append((lines, widths, without_invisible(lines, widths, opacity)))
                continue
            batch = torch.from_numpy(canvases[lo : lo + batch_size]).to(self.device)
            parts.append(vectorise(self.module, batch, refine))
        arrays = [
            np.concatenate([p[k] for p in parts]) if parts else np.zeros(shape, np.float32)
            for k, shape in enumerate([(0, self.n_lines, 4), (0, self.n_lines), (0, self.n_lines)])
        ]
        return Vectors(*arrays, names=names, meta={"model": self.source, "method": self.method})

    def sample(self, count: int, seed: int = 0, temperature: float = 1.0, prior: str = "learned") -> Vectors:
        """`count` new digits from the prior (vae and lfi models) drawn from `seed` at `temperature`: the
        model's own (`learned`: its fitted mixture, or N(0, I) for a model without one) or N(0, I)
        (`standard`, z = temperature * eps); the same as `mnistvec sample` with those settings."""
        if not self.can_sample:
            raise InputError(f"{self.source}: a {self.method!r} model has no prior to sample from (vae and lfi do)")
        if count < 0 or not np.isfinite(temperature) or temperature <= 0:
            raise InputError(f"count must be 0 or more and temperature finite and > 0, got {count}, {temperature}")
        if prior not in PRIORS:
            raise InputError(f"unknown prior {prior!r}; choose one of {', '.join(PRIORS)}")
        samples = draw_samples(self.module, count, seed, temperature, self.device, prior)
        samples.meta.update(
            {
                "model": self.source,
                "method": self.method,
                "seed": seed,
                "temperature": temperature,
                "prior": prior_name(self.module, prior),
            }
        )
        return samples


def load_model(model: str | Path = ENCODE_MODEL, device: str = "cpu") -> Vectoriser:
    """A shipped model by name (`ae`, `vae`, `lfi`) or a checkpoint written by `mnistvec train`, on `device`
    (`cpu`, `cuda`, `auto`)."""
    path, dev = resolve_model(model), resolve_device(device)
    module, config = load_checkpoint_model(path, dev)
    native = load_native_encoder(path) if dev.type == "cpu" else None
    return Vectoriser(module, config, str(model), None if native is None else native[0])


def as_canvases(images) -> np.ndarray:
    """float32 [B, 28, 28] in [0, 1] from a numpy array or tensor [B, 28, 28], [B, 1, 28, 28] or [28, 28];
    InputError for another shape, non-finite values or values outside [0, 1]."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InputError(f"images must be numbers, got dtype {array.dtype}")
    array = np.asarray(array, np.float32)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise InputError(
            f"images must have shape [B, 28, 28], got {list(np.shape(images))} (other sizes: "
            "`mnistvec encode` reads image files of any size and normalises them)"
        )
    problems = item_problems(array)  # the readers' check of an array's items
    if problems:
        index, reason = min(problems.items())
        raise InputError(f"images must hold finite values in [0, 1]: item {index}: {reason}")
    return np.ascontiguousarray(array)


def render(
    vectors: Vectors, size: int = 28, renderer: str = "native", temperature: float = DEFAULT_TEMPERATURE
) -> np.ndarray:
    """float32 [B, size, size] images of `vectors` on the square canvas, white ink on black: `native` (exact,
    fast), `exact` (the same formula in torch) or `soft` (blurred by `temperature` pixels)."""
    if renderer not in RENDERERS:
        raise InputError(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
    if size < 1:
        raise InputError(f"size must be at least 1 pixel, got {size}")
    vectors.validate()
    return render_numpy(vectors.lines, vectors.widths, vectors.opacity, size, size, float(size), renderer, temperature)
