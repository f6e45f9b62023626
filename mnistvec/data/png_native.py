"""Decoding many small PNG files at once with the native library, without holding the GIL.

`decode_png_gray` hands a list of paths to the library's `mnistvec_decode_png_gray`, which reads and decodes
them on its own threads. It decodes a file only when it is an 8-bit gray or 8-bit RGB PNG, not interlaced,
of exactly the requested height and width, with no chunks but `IHDR`, one run of consecutive `IDAT`
chunks, `IEND` last in the file, and the harmless ancillary chunks `gAMA`, `cHRM`, `sRGB`, `iCCP` (a small
one), `pHYs`, `tIME`, `sBIT` and `bKGD`, every chunk's CRC and the image data's Adler-32 correct and no byte
of image data missing or left over. Gray pixels are returned as stored; RGB ones as Pillow's `convert("L")`
computes them, `L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16`. Such a file decodes to exactly the pixels
of `np.asarray(Image.open(path).convert("L"))`.

Every other file is left to the caller (`decoded` False), which reads it with Pillow and so gets Pillow's
own pixels and error messages: other colour types and bit depths, interlaced images, transparency (`tRNS`),
EXIF (`eXIf`, or text chunks, which may hold it), animation, any other chunk, any damage, another size,
files over 16 MiB or images over 89,478,485 pixels (Pillow's decompression bomb warning), and anything that
is not a readable regular file (a folder, a FIFO, which is never waited on, a missing file).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence

import numpy as np

from mnistvec.native import as_size, as_threads, byte_blob, check_code, load_library

ERROR_CODES = {
    -1: "null pointer",
    -2: "array size overflow",
    -3: "panic inside the decoder",
    -5: "misaligned pointer",
}
"""Meaning of `mnistvec_decode_png_gray`'s negative return codes."""


def _path_table(paths: Sequence[str | os.PathLike]) -> tuple[np.ndarray, np.ndarray]:
    """The paths' bytes (`os.fsencode`) concatenated, as uint8, and the `len(paths) + 1` offsets."""
    joined, offsets = byte_blob([os.fsencode(path) for path in paths])
    return np.frombuffer(joined or b"\0", dtype=np.uint8), offsets


def decode_png_gray(
    paths: Sequence[str | os.PathLike], height: int, width: int, threads: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Decode the PNG files `paths` to 8-bit gray with the native library (see the module docs).

    Returns `(images, decoded)`: `images` uint8 `[len(paths), height, width]` and `decoded` bool
    `[len(paths)]`; `images[k]` holds file `k`'s pixels where `decoded[k]`, and is unspecified elsewhere.
    `threads` 0 uses every core the machine has (fewer for small batches); the result does not depend on it.
    Returns None when the native library is missing. Raises ValueError for a bad size or thread count.
    """
    height, width, threads = as_size("height", height), as_size("width", width), as_threads(threads)
    library = load_library()
    if library is None:
        return None
    images = np.empty((len(paths), height, width), dtype=np.uint8)
    status = np.ones(len(paths), dtype=np.int32)
    if len(paths) == 0:
        return images, status == 0
    joined, offsets = _path_table(paths)
    code = library.mnistvec_decode_png_gray(
        joined.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
        offsets.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)),
        len(paths),
        height,
        width,
        threads,
        images.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
        status.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
    )
    check_code("mnistvec_decode_png_gray", code, ERROR_CODES)
    return images, status == 0
