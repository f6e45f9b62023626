"""Calling the native library inside guard regions, to catch reads and writes outside the arrays it is given.

`render_guarded` calls `mnistvec_render` directly (as `render_native` does) with `out` pointing into the
middle of a larger buffer whose ends hold a sentinel bit pattern, and with each input placed in the middle
of a larger buffer whose ends hold `fill`: NaN (a stroke read from there would be skipped) or "ink" (a stroke
read from there would paint the whole image). After the call the output's guards must be bit-for-bit
unchanged, and every input buffer, guards included, must be unchanged: the library only reads its inputs.
Comparing the image with one rendered from clean copies then shows whether anything past the inputs was read.

Shared by the property tests (`test_native_properties.py`) and the fuzz run (`fuzz_native.py`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

GUARD = 256
"""Guard floats on each side of every array handed to the library."""

SENTINEL_BITS = 0x7FC5A5A5
"""A quiet NaN with a recognisable payload: the output's guards, compared as bits."""

NAN_FILL = (np.nan, np.nan, np.nan)
"""Input guards of NaN: a stroke read from them is invisible."""

INK_FILL = (0.5, 1e30, 1.0)
"""Input guards (lines, widths, opacity) that make a stroke read from them cover every pixel."""

_float_pointer = ctypes.POINTER(ctypes.c_float)


class GuardViolation(AssertionError):
    """The library wrote outside its output or wrote into an input."""


@dataclass
class Guarded:
    """`view`: float32 C-contiguous data in the middle of `buffer`, with `GUARD` floats either side."""

    buffer: np.ndarray
    view: np.ndarray

    @classmethod
    def around(cls, array: np.ndarray, fill: float) -> "Guarded":
        flat = np.ascontiguousarray(array, dtype=np.float32).reshape(-1)
        buffer = np.full(flat.size + 2 * GUARD, fill, dtype=np.float32)
        buffer[GUARD : GUARD + flat.size] = flat
        return cls(buffer, buffer[GUARD : GUARD + flat.size].reshape(np.shape(array)))

    @classmethod
    def output(cls, shape: tuple[int, ...]) -> "Guarded":
        size = int(np.prod(shape, dtype=np.int64))
        bits = np.full(size + 2 * GUARD, SENTINEL_BITS, dtype=np.uint32)
        buffer = bits.view(np.float32)
        view = buffer[GUARD : GUARD + size]
        try:
            view = view.reshape(shape)
        except ValueError:  # an empty shape numpy cannot make (sides multiplying past 2**63 bytes)
            pass
        return cls(buffer, view)

    def pointer(self):
        return self.view.ctypes.data_as(_float_pointer)

    def bits(self) -> np.ndarray:
        return self.buffer.view(np.uint32)


def render_guarded(library, lines, widths, opacity, height: int, width: int, scale: float, threads: int = 0,
                   fill=NAN_FILL) -> tuple[int, np.ndarray]:
    """(return code, image [B, H, W]) of `mnistvec_render` on float32 copies of the inputs inside guards.

    Raises GuardViolation if the library wrote to an output guard or to any part of an input buffer.
    """
    batch, n_lines = np.shape(widths)
    inputs = [Guarded.around(np.asarray(a), f) for a, f in zip((lines, widths, opacity), fill)]
    before = [g.bits().copy() for g in inputs]
    out = Guarded.output((batch, height, width))
    out_before = out.bits().copy()
    code = library.mnistvec_render(*(g.pointer() for g in inputs), batch, n_lines, height, width, scale,
                                   threads, out.pointer())
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
