"""Loading the native library (`mnistvec._native`, a plain C-ABI shared library built from `rust/`).

The renderer (`mnistvec.raster.native`) and the batch file functions of `mnistvec.io` and `mnistvec.data`
share one library; this module finds it, checks that it speaks this package's ABI version and declares the
argument types of its functions (the renderers, the stroke visibility test, the encoder network behind
`mnistvec.models.native_encoder`, and `mnistvec_decode_png_gray`,
the batch PNG decoder behind `mnistvec.data.png_native`: file paths in, 8-bit gray pixels and a per-file
decoded-or-not status out). Setting the environment variable `MNISTVEC_NATIVE_LIBRARY` to a library file
loads that file instead, and only it (for instance the debug build `rust/target/debug/libmnistvec_native.so`).
It is read once, when the library is first loaded. A missing or broken library is never an error here:
`load_library()` returns None and each caller falls back to its Python path.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import operator
import os
from pathlib import Path

import numpy as np

ABI_VERSION = 5
"""The C ABI version this package speaks."""

LIBRARY_ENV = "MNISTVEC_NATIVE_LIBRARY"
"""Environment variable naming a library file to load instead of the package's `_native*` extension."""

_LIBRARY_PATTERNS = ("_native*.so", "_native*.pyd", "_native*.dylib")


MAX_THREADS = 2**32 - 1
"""`threads` travels as a uint32."""


def as_size(name: str, value) -> int:
    """`value` as a plain non-negative int (a bool is refused), else ValueError naming `name`."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    try:
        size = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}") from None
    if size < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {size}")
    return size


def as_threads(value) -> int:
    """A thread count for the library (0: as many as the machine has) that fits a uint32, else ValueError."""
    threads = as_size("threads", value)
    if threads > MAX_THREADS:
        raise ValueError(f"threads must be at most {MAX_THREADS}, got {threads}")
    return threads


def check_code(function: str, code: int, meanings: dict[int, str]) -> None:
    """RuntimeError naming `function`, its code and the code's meaning, unless `code` is 0 (success)."""
    if code != 0:
        raise RuntimeError(f"{function} failed with code {code} ({meanings.get(code, 'unknown error')})")


def byte_blob(items: list[bytes]) -> tuple[bytes, np.ndarray]:
    """Byte strings as the batch functions take them: one after another, and the `len(items) + 1` uint64
    offsets where each starts (the last: where the last one ends)."""
    offsets = np.zeros(len(items) + 1, np.uint64)
    np.cumsum([len(item) for item in items], out=offsets[1:])
    return b"".join(items), offsets


_float_pointer = ctypes.POINTER(ctypes.c_float)
_double_pointer = ctypes.POINTER(ctypes.c_double)
_uint32_pointer = ctypes.POINTER(ctypes.c_uint32)


def _library_candidates() -> list[Path]:
    """The file `$MNISTVEC_NATIVE_LIBRARY` names when it is set, else the files in the `mnistvec` package
    directory that may hold the native library, in a stable order."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return [Path(override).absolute()]
    package = importlib.import_module("mnistvec")
    found: list[Path] = []
    for directory in getattr(package, "__path__", []):
        for pattern in _LIBRARY_PATTERNS:
            found.extend(sorted(Path(directory).glob(pattern)))
    return found


def _open_library(path: Path) -> ctypes.CDLL | None:
    """Open one candidate and declare its functions; None unless it speaks ABI version `ABI_VERSION`."""
    try:
        library = ctypes.CDLL(str(path))
        library.mnistvec_abi_version.argtypes = []
        library.mnistvec_abi_version.restype = ctypes.c_uint32
        if library.mnistvec_abi_version() != ABI_VERSION:
            return None
        library.mnistvec_render.argtypes = [
            _float_pointer,
            _float_pointer,
            _float_pointer,
            ctypes.c_uint64,
            ctypes.c_uint64,
            ctypes.c_uint64,
            ctypes.c_uint64,
            ctypes.c_float,
            ctypes.c_uint32,
            _float_pointer,
        ]
        library.mnistvec_render.restype = ctypes.c_int32
        sizes = [ctypes.c_uint64] * 4
        soft_common = [_double_pointer] * 3 + sizes + [ctypes.c_double, ctypes.c_double, ctypes.c_uint32]
        library.mnistvec_soft_forward.argtypes = soft_common + [_double_pointer, _double_pointer, _uint32_pointer]
        library.mnistvec_soft_forward.restype = ctypes.c_int32
        library.mnistvec_soft_backward.argtypes = soft_common + [
            _double_pointer,
            _double_pointer,
            _uint32_pointer,
            _double_pointer,
        ]
        library.mnistvec_soft_backward.restype = ctypes.c_int32
        library.mnistvec_soft_loss.argtypes = (
            [_double_pointer] * 4
            + sizes
            + [
                ctypes.c_double,
                ctypes.c_double,
                ctypes.c_uint32,
                ctypes.c_double,
                ctypes.c_uint32,
                _double_pointer,
                _double_pointer,
            ]
        )
        library.mnistvec_soft_loss.restype = ctypes.c_int32
        library.mnistvec_visible_strokes.argtypes = (
            [_float_pointer] * 3
            + sizes
            + [ctypes.c_float, ctypes.c_double, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint8)]
        )
        library.mnistvec_visible_strokes.restype = ctypes.c_int32
        blob = [ctypes.c_void_p, ctypes.c_void_p]  # bytes, then count + 1 uint64 offsets
        library.mnistvec_write_files.argtypes = blob * 3 + [ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p]
        library.mnistvec_write_files.restype = ctypes.c_int32
        library.mnistvec_svg_lines.argtypes = (
            [ctypes.c_void_p] * 2
            + [ctypes.c_uint64] * 2
            + [
                ctypes.c_void_p,
                ctypes.c_uint64,
                ctypes.c_void_p,
            ]
        )
        library.mnistvec_svg_lines.restype = ctypes.c_int32
        library.mnistvec_decode_png_gray.argtypes = [
            ctypes.POINTER(ctypes.c_uint8),
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.c_uint64,
            ctypes.c_uint64,
            ctypes.c_uint64,
            ctypes.c_uint32,
            ctypes.POINTER(ctypes.c_uint8),
            ctypes.POINTER(ctypes.c_int32),
        ]
        library.mnistvec_decode_png_gray.restype = ctypes.c_int32
        dims = [ctypes.c_uint64] * 4  # in_planes, channels, hidden, outputs
        library.mnistvec_encoder_sizes.argtypes = dims + [ctypes.POINTER(ctypes.c_uint64)] * 2
        library.mnistvec_encoder_sizes.restype = ctypes.c_int32
        library.mnistvec_encoder_pack.argtypes = [
            _float_pointer,
            ctypes.c_uint64,
            *dims,
            _float_pointer,
            ctypes.c_uint64,
        ]
        library.mnistvec_encoder_pack.restype = ctypes.c_int32
        library.mnistvec_encode.argtypes = [
            _float_pointer,
            ctypes.c_uint64,
            *dims,
            _float_pointer,
            ctypes.c_uint64,
            ctypes.c_uint32,
            _float_pointer,
        ]
        library.mnistvec_encode.restype = ctypes.c_int32
    except (OSError, AttributeError):
        return None
    return library


@functools.cache
def load_library() -> ctypes.CDLL | None:
    """The native library, or None when it is missing, unloadable or of another ABI version. Never raises."""
    try:
        for path in _library_candidates():
            library = _open_library(path)
            if library is not None:
                return library
    except Exception:  # a broken install must only disable the native path
        return None
    return None
