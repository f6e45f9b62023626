"""Calling the native library inside guard regions, to catch reads and writes outside the arrays it is given.

`render_guarded` calls `mnistvec_render` directly (as `render_native` does) with `out` pointing into the
middle of a larger buffer whose ends hold a sentinel bit pattern, and with each input placed in the middle
of a larger buffer whose ends hold `fill`: NaN (a stroke read from there would be skipped) or "ink" (a stroke
read from there would paint the whole image). After the call the output's guards must be bit-for-bit
unchanged, and every input buffer, guards included, must be unchanged: the library only reads its inputs.
Comparing the image with one rendered from clean copies then shows whether anything past the inputs was read.

`soft_guarded` does the same for the soft renderer's `mnistvec_soft_forward` and `mnistvec_soft_backward`:
every float64 and uint32 array (the strokes, the images, the compositing state `product` and `zeros`, the
loss gradient and the stroke gradients) lies in the middle of a guarded buffer, and the backward pass reads
the forward pass's state back from guarded copies.

Shared by the property tests (`test_native_properties.py`) and the fuzz run (`fuzz_native.py`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

GUARD = 256
"""Guard elements on each side of every array handed to the library."""

SENTINEL_BITS = 0x7FC5A5A5
"""A quiet NaN with a recognisable payload: the output's guards, compared as bits."""

SENTINELS = {
    np.dtype(np.float32): SENTINEL_BITS,
    np.dtype(np.float64): 0x7FF8A5A5A5A5A5A5,  # a quiet NaN with a recognisable payload
    np.dtype(np.uint32): 0xA5A5A5A5,
}
"""The bit pattern that fills an output buffer of each element type before the call."""

_BITS = {4: np.uint32, 8: np.uint64}
_CTYPES = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
    np.dtype(np.uint32): ctypes.c_uint32,
}

NAN_FILL = (np.nan, np.nan, np.nan)
"""Input guards of NaN: a stroke read from them is invisible."""

INK_FILL = (0.5, 1e30, 1.0)
"""Input guards (lines, widths, opacity) that make a stroke read from them cover every pixel."""


class GuardViolation(AssertionError):
    """The library wrote outside its output or wrote into an input."""


@dataclass
class Guarded:
    """`view`: C-contiguous data (float32 unless told otherwise) in the middle of `buffer`, with `GUARD`
    elements either side."""

    buffer: np.ndarray
    view: np.ndarray

    @classmethod
    def around(cls, array: np.ndarray, fill: float, dtype=np.float32) -> Guarded:
        flat = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
        buffer = np.full(flat.size + 2 * GUARD, fill, dtype=dtype)
        buffer[GUARD : GUARD + flat.size] = flat
        return cls(buffer, buffer[GUARD : GUARD + flat.size].reshape(np.shape(array)))

    @classmethod
    def output(cls, shape: tuple[int, ...], dtype=np.float32) -> Guarded:
        dtype = np.dtype(dtype)
        size = int(np.prod(shape, dtype=np.int64))
        bits = np.full(size + 2 * GUARD, SENTINELS[dtype], dtype=_BITS[dtype.itemsize])
        buffer = bits.view(dtype)
        view = buffer[GUARD : GUARD + size]
        try:
            view = view.reshape(shape)
        except ValueError:  # an empty shape numpy cannot make (sides multiplying past 2**63 bytes)
            pass
        return cls(buffer, view)

    def pointer(self):
        return self.view.ctypes.data_as(ctypes.POINTER(_CTYPES[self.buffer.dtype]))

    def bits(self) -> np.ndarray:
        return self.buffer.view(_BITS[self.buffer.dtype.itemsize])


def render_guarded(
    library, lines, widths, opacity, height: int, width: int, scale: float, threads: int = 0, fill=NAN_FILL
) -> tuple[int, np.ndarray]:
    """(return code, image [B, H, W]) of `mnistvec_render` on float32 copies of the inputs inside guards.

    Raises GuardViolation if the library wrote to an output guard or to any part of an input buffer.
    """
    batch, n_lines = np.shape(widths)
    inputs = [Guarded.around(np.asarray(a), f) for a, f in zip((lines, widths, opacity), fill)]
    before = [g.bits().copy() for g in inputs]
    out = Guarded.output((batch, height, width))
    out_before = out.bits().copy()
    code = library.mnistvec_render(
        *(g.pointer() for g in inputs), batch, n_lines, height, width, scale, threads, out.pointer()
    )
    check_output_guards(out, out_before)
    for name, guarded, bits in zip(("lines", "widths", "opacity"), inputs, before):
        changed = np.flatnonzero(guarded.bits() != bits)
        if changed.size:
            raise GuardViolation(f"{name} buffer written at {changed[:8].tolist()} (data at {GUARD}..)")
    return code, out.view.copy()


def check_output_guards(out: Guarded, before: np.ndarray) -> None:
    """Raise GuardViolation if any output guard float changed."""
    bits = out.bits()
    for side, part, old in (("before", bits[:GUARD], before[:GUARD]), ("after", bits[-GUARD:], before[-GUARD:])):
        changed = np.flatnonzero(part != old)
        if changed.size:
            raise GuardViolation(f"output guard {side} the image written at {changed[:8].tolist()}")


def image_problems(out: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    """What is wrong with a rendered batch: shape, dtype, unwritten (sentinel) or non-finite pixels,
    values outside [0, 1]. Empty when nothing is."""
    problems = []
    if out.shape != tuple(shape):
        problems.append(f"shape {out.shape}, expected {tuple(shape)}")
    if out.dtype != np.float32:
        problems.append(f"dtype {out.dtype}")
    unwritten = int((out.view(np.uint32) == SENTINEL_BITS).sum()) if out.dtype == np.float32 else 0
    if unwritten:
        problems.append(f"{unwritten} pixels never written")
    if not np.isfinite(out).all():
        problems.append(f"{int((~np.isfinite(out)).sum())} non-finite pixels")
    elif out.size and (out.min() < 0.0 or out.max() > 1.0):
        problems.append(f"values in [{out.min()}, {out.max()}]")
    return problems


# The soft renderer: float64 strokes, images, state and gradients, uint32 zero counts.

SOFT_NAN_FILL = {
    "lines": np.nan,
    "radius": np.nan,
    "alpha": np.nan,
    "grad_images": np.nan,
    "product": np.nan,
    "zeros": 1,
}
"""Input guards of NaN (a stroke or a pixel's state read from them is invisible, or poisons the gradient),
and a zero count of 1 (a pixel read from there would take the zero-factor branch)."""

SOFT_INK_FILL = {"lines": 0.5, "radius": 1e30, "alpha": 1.0, "grad_images": 1e30, "product": 1e30, "zeros": 0}
"""Input guards that make a stroke read from them cover every pixel with opaque ink, and a pixel's state
read from them huge."""

VALUE_LIMIT = 1e60
"""Strokes with a value beyond this magnitude (or not finite) are skipped by the library."""


@dataclass
class SoftGuardedResult:
    """What the two guarded calls returned and wrote (copies of the outputs' data, without the guards)."""

    forward_code: int
    images: np.ndarray
    product: np.ndarray
    zeros: np.ndarray
    backward_code: int | None
    grads: np.ndarray | None


def _check_inputs(inputs: dict[str, Guarded], before: dict[str, np.ndarray], call: str) -> None:
    for name, guarded in inputs.items():
        changed = np.flatnonzero(guarded.bits() != before[name])
        if changed.size:
            raise GuardViolation(f"{call}: {name} buffer written at {changed[:8].tolist()} (data at {GUARD}..)")


def soft_guarded(
    library,
    lines,
    radius,
    alpha,
    height: int,
    width: int,
    sigma: float,
    tolerance: float,
    threads: int = 0,
    grad_images=None,
    fill=SOFT_NAN_FILL,
) -> SoftGuardedResult:
    """`mnistvec_soft_forward`, then (when it succeeds and `grad_images` is given) `mnistvec_soft_backward`
    on the forward pass's state, every array inside guards: float64 copies of the inputs among `fill`,
    the outputs among sentinel bits, the state read back by the backward pass from guarded copies.

    Raises GuardViolation if either call wrote to an output guard or to any part of an input buffer.
    """
    batch, n_lines = np.shape(radius)
    pixels = (batch, height, width)
    strokes = {
        "lines": Guarded.around(np.asarray(lines), fill["lines"], np.float64),
        "radius": Guarded.around(np.asarray(radius), fill["radius"], np.float64),
        "alpha": Guarded.around(np.asarray(alpha), fill["alpha"], np.float64),
    }
    before = {name: g.bits().copy() for name, g in strokes.items()}
    outputs = {
        "images": Guarded.output(pixels, np.float64),
        "product": Guarded.output(pixels, np.float64),
        "zeros": Guarded.output(pixels, np.uint32),
    }
    outputs_before = {name: g.bits().copy() for name, g in outputs.items()}
    forward_code = library.mnistvec_soft_forward(
        *(g.pointer() for g in strokes.values()),
        batch,
        n_lines,
        height,
        width,
        sigma,
        tolerance,
        threads,
        *(g.pointer() for g in outputs.values()),
    )
    for name, guarded in outputs.items():
        try:
            check_output_guards(guarded, outputs_before[name])
        except GuardViolation as error:
            raise GuardViolation(f"mnistvec_soft_forward: {name}: {error}") from None
    _check_inputs(strokes, before, "mnistvec_soft_forward")
    images, product, zeros = (outputs[name].view.copy() for name in ("images", "product", "zeros"))
    if forward_code != 0 or grad_images is None:
        return SoftGuardedResult(forward_code, images, product, zeros, None, None)

    state = {
        "grad_images": Guarded.around(np.asarray(grad_images), fill["grad_images"], np.float64),
        "product": Guarded.around(product, fill["product"], np.float64),
        "zeros": Guarded.around(zeros, fill["zeros"], np.uint32),
    }
    before.update({name: g.bits().copy() for name, g in state.items()})
    grads = Guarded.output((batch, n_lines, 6), np.float64)
    grads_before = grads.bits().copy()
    backward_code = library.mnistvec_soft_backward(
        *(g.pointer() for g in strokes.values()),
        batch,
        n_lines,
        height,
        width,
        sigma,
        tolerance,
        threads,
        *(g.pointer() for g in state.values()),
        grads.pointer(),
    )
    try:
        check_output_guards(grads, grads_before)
    except GuardViolation as error:
        raise GuardViolation(f"mnistvec_soft_backward: grad_strokes: {error}") from None
    _check_inputs({**strokes, **state}, before, "mnistvec_soft_backward")
    return SoftGuardedResult(forward_code, images, product, zeros, backward_code, grads.view.copy())


def usable_strokes(lines, radius, alpha) -> np.ndarray:
    """[B, N] whether each stroke is drawn (every value finite and within `VALUE_LIMIT`) once in float64."""
    with np.errstate(invalid="ignore", over="ignore"):
        values = np.concatenate(
            [
                np.asarray(lines, np.float64),
                np.asarray(radius, np.float64)[..., None],
                np.asarray(alpha, np.float64)[..., None],
            ],
            axis=-1,
        )
        return (np.abs(values) <= VALUE_LIMIT).all(axis=-1)


def soft_problems(images, product, zeros, shape: tuple[int, ...], finite: bool = True) -> list[str]:
    """What is wrong with a soft forward pass's outputs: shapes, dtypes, unwritten (sentinel) elements,
    and (when `finite`) non-finite pixels or state. Empty when nothing is."""
    problems = []
    for name, array, dtype in (
        ("images", images, np.float64),
        ("product", product, np.float64),
        ("zeros", zeros, np.uint32),
    ):
        if array.shape != tuple(shape):
            problems.append(f"{name} shape {array.shape}, expected {tuple(shape)}")
        if array.dtype != dtype:
            problems.append(f"{name} dtype {array.dtype}, expected {np.dtype(dtype)}")
            continue
        # (No count of zero factors comes near the uint32 sentinel: it is at most the number of strokes.)
        unwritten = int((array.view(_BITS[array.dtype.itemsize]) == SENTINELS[array.dtype]).sum())
        if unwritten:
            problems.append(f"{unwritten} {name} elements never written")
    if finite and images.dtype == np.float64 and not np.isfinite(images).all():
        problems.append(f"{int((~np.isfinite(images)).sum())} non-finite pixels")
    return problems


def soft_gradient_problems(grads, lines, radius, alpha, finite: bool = True) -> list[str]:
    """What is wrong with a soft backward pass's stroke gradients [B, N, 6]: shape, dtype, unwritten
    elements, a skipped stroke with a non-zero gradient, and (when `finite`) a drawn stroke with a
    non-finite one. Empty when nothing is."""
    batch, n_lines = np.shape(radius)
    if grads.shape != (batch, n_lines, 6) or grads.dtype != np.float64:
        return [f"gradients of shape {grads.shape} and dtype {grads.dtype}, expected {(batch, n_lines, 6)} float64"]
    problems = []
    unwritten = int((grads.view(np.uint64) == SENTINELS[np.dtype(np.float64)]).sum())
    if unwritten:
        problems.append(f"{unwritten} gradient elements never written")
    usable = usable_strokes(lines, radius, alpha)
    skipped_nonzero = int((grads[~usable] != 0).any(axis=-1).sum())
    if skipped_nonzero:
        problems.append(f"{skipped_nonzero} skipped strokes have a non-zero gradient")
    if finite:
        bad = int((~np.isfinite(grads[usable])).any(axis=-1).sum())
        if bad:
            problems.append(f"{bad} drawn strokes have a non-finite gradient")
    return problems
