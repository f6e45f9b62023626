"""The autoencoder's encoder without torch: the native library's network (`rust/src/encoder.rs`) on the
weights of a checkpoint read without torch (`io/checkpoint_arrays.py`).

An `ae` checkpoint without amortised refinement steps draws the encoder's output and nothing else:

    raw = head(GELU(linear(flatten(conv stages(x)))))        (`models/encoder.py`)
    lines, widths, opacity = squash(raw)                     (`strokes.py`)

so encoding with it needs none of torch, which takes seconds to import, as long as its CPU kernels. The
native network computes the same formula in float32 with its own summation order and its own GELU (to
1e-7, `rust/src/gelu.rs`): its raw numbers agree with the torch model's to float rounding (a test holds
them within 1e-4), and an image's numbers depend on that image alone, not on its batch nor the threads.

`load_native_encoder(path)` returns None whenever this path cannot run a checkpoint: the native library
missing or of another version, another method, coordinate planes it does not know, refinement steps,
weights of other names or shapes, a file it does not read or trust. The caller then loads the model with
torch, which also explains what is wrong with a bad file.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from mnistvec.config import TrainConfig
from mnistvec.data.imageset import CANVAS_PIXELS
from mnistvec.io.checkpoint_arrays import read_checkpoint_arrays
from mnistvec.native import as_threads, check_code, load_library
from mnistvec.strokes import PARAMS_PER_LINE, squash

CONV_LAYERS = ("features.0", "features.1", "features.3", "features.4", "features.6", "features.7")
"""The encoder's conv and group-norm layers, in the order the network takes their weights."""

ERROR_CODES = {
    -1: "null pointer",
    -2: "array size overflow",
    -3: "panic inside the encoder",
    -5: "misaligned pointer",
    -7: "sizes the encoder does not run",
}
"""Meaning of the encoder functions' negative return codes."""

_float_pointer = ctypes.POINTER(ctypes.c_float)


def encoder_shapes(in_planes: int, channels: int, hidden: int, outputs: int) -> dict[str, tuple[int, ...]]:
    """The state-dict names (under `encoder.`) and shapes of a `StrokeEncoder`, in the network's order."""
    c = channels
    shapes: dict[str, tuple[int, ...]] = {}
    for (conv, norm), (c_in, c_out) in zip(
        zip(CONV_LAYERS[::2], CONV_LAYERS[1::2]), [(in_planes, c), (c, 2 * c), (2 * c, 4 * c)]
    ):
        shapes |= {f"{conv}.weight": (c_out, c_in, 3, 3), f"{conv}.bias": (c_out,)}
        shapes |= {f"{norm}.weight": (c_out,), f"{norm}.bias": (c_out,)}
    shapes |= {"features.10.weight": (hidden, 4 * c * 49), "features.10.bias": (hidden,)}
    shapes |= {"head.weight": (outputs, hidden), "head.bias": (outputs,)}
    return {f"encoder.{name}": shape for name, shape in shapes.items()}


class NativeEncoder:
    """An `ae` model's encoder in the native library: numpy images in, numpy strokes out."""

    method = "ae"
    can_sample = False
    has_posterior = False

    def __init__(self, weights: dict[str, np.ndarray], n_lines: int, channels: int, hidden: int, coords: bool):
        library = load_library()
        if library is None:
            raise RuntimeError("the native library is not available")
        self._library = library
        self.n_lines = n_lines
        self.dims = (3 if coords else 1, channels, hidden, n_lines * PARAMS_PER_LINE)
        shapes = encoder_shapes(*self.dims)
        if set(weights) != set(shapes) or any(weights[k].shape != shape for k, shape in shapes.items()):
            raise ValueError("weights of other names or shapes than the encoder's")
        torch_len, packed_len = ctypes.c_uint64(), ctypes.c_uint64()
        code = library.mnistvec_encoder_sizes(*self.dims, ctypes.byref(torch_len), ctypes.byref(packed_len))
        check_code("mnistvec_encoder_sizes", code, ERROR_CODES)
        flat = np.concatenate([np.asarray(weights[k], np.float32).ravel() for k in shapes])
        if flat.size != torch_len.value:
            raise RuntimeError(f"the encoder takes {torch_len.value} weights, the model has {flat.size}")
        self._packed = np.empty(packed_len.value, np.float32)
        code = library.mnistvec_encoder_pack(
            flat.ctypes.data_as(_float_pointer),
            flat.size,
            *self.dims,
            self._packed.ctypes.data_as(_float_pointer),
            self._packed.size,
        )
        check_code("mnistvec_encoder_pack", code, ERROR_CODES)

    def raw_strokes(self, images: np.ndarray, threads: int = 0) -> np.ndarray:
        """images [B, 28, 28] in [0, 1] -> float32 unconstrained stroke parameters [B, N, 6], on up to
        `threads` threads (0: every core)."""
        images = np.ascontiguousarray(images, np.float32)
        if images.ndim != 3 or images.shape[1:] != (CANVAS_PIXELS, CANVAS_PIXELS):
            raise ValueError(f"images must be [B, {CANVAS_PIXELS}, {CANVAS_PIXELS}], got {list(images.shape)}")
        out = np.empty((len(images), self.n_lines, PARAMS_PER_LINE), np.float32)
        code = self._library.mnistvec_encode(
            self._packed.ctypes.data_as(_float_pointer),
            self._packed.size,
            *self.dims,
            images.ctypes.data_as(_float_pointer),
            len(images),
            as_threads(threads),
            out.ctypes.data_as(_float_pointer),
        )
        check_code("mnistvec_encode", code, ERROR_CODES)
        return out

    def strokes(self, images: np.ndarray, threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """images [B, 28, 28] in [0, 1] -> float32 lines [B, N, 4], widths [B, N], opacity [B, N]."""
        return squash(self.raw_strokes(images, threads))


def load_native_encoder(path: str | Path) -> tuple[NativeEncoder, dict] | None:
    """(the native encoder, the checkpoint's config) of an `ae` checkpoint without refinement steps, or None
    when this path cannot run it (module docstring)."""
    if load_library() is None:
        return None
    state = read_checkpoint_arrays(path)
    if state is None:
        return None
    config, weights = state.get("config"), state.get("model")
    if not isinstance(config, dict) or config.get("method") != "ae" or not isinstance(weights, dict):
        return None
    settings = TrainConfig.from_dict(config)
    if settings.refiner_steps != 0 or not all(isinstance(v, np.ndarray) for v in weights.values()):
        return None
    if not all(np.issubdtype(v.dtype, np.floating) for v in weights.values()):
        return None
    try:
        encoder = NativeEncoder(weights, settings.lines, settings.channels, settings.hidden, settings.coords)
    except ValueError:
        return None
    return encoder, config
