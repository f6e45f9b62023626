"""Decode an image file into one gray channel in ``[0, 1]``, at a bounded working size.

Pixel modes are reduced to gray as follows (``L`` is 8-bit luma):

* ``L``: ``g = L / 255``; ``1`` (1-bit) gives 0 or 1;
* ``RGB``, ``CMYK``, ``YCbCr`` …: ITU-R 601 luma ``L = 0.299 R + 0.587 G + 0.114 B``;
* ``I;16*`` (16-bit) and ``I`` (32-bit integer): ``g = v / 65535``, clipped to
  ``[0, 1]`` (16-bit data is scaled, never clipped at 255);
* ``F`` (32-bit float): taken as it is when it lies in ``[0, 1]``, else divided
  by its maximum (negative values become 0);
* with an alpha channel (``RGBA``, ``LA``, ``P`` with transparency):
  composited over a backdrop ``b``, ``g = a·L + (1 - a)·b``, where ``b`` is
  white when the opaque pixels are dark on average (their alpha-weighted mean
  luma is below 1/2) and black otherwise, so a digit drawn on a transparent
  background reads as ink on a contrasting background whether the ink is dark
  or light.

Large images are read at reduced resolution: the working image has its longer
side at most :data:`WORKING_MAX_SIDE` pixels.  JPEG files are decoded directly
at 1/2, 1/4 or 1/8 size (``Image.draft``); other formats are decoded and then
box-averaged by an integer factor ``f`` (``Image.reduce``).  Either way working
pixel ``(i, j)`` covers source pixels ``[f·j, f·(j+1)] × [f·i, f·(i+1)]`` (the
last row and column may cover fewer), so source coordinates are ``f`` times
working coordinates.

The EXIF orientation tag (phone photos) is honoured: the working image is
flipped/rotated into the orientation the image is displayed in, and source
coordinates are those of the displayed image.  Along a reversed axis of stored
length ``L`` reduced to ``n`` working pixels, working pixel ``j`` covers
displayed ``[f·j + (L - f·n), f·(j+1) + (L - f·n)]``, so in general
``source = f · working + shift`` with ``shift = L - f·n`` on reversed axes
(zero when ``f`` divides ``L``) and 0 elsewhere.

A file of several frames (an animated GIF, PNG or WebP, a multi-page TIFF)
is read from its first frame, with one warning line saying so.

Images above Pillow's decompression-bomb limit (``2 × Image.MAX_IMAGE_PIXELS``,
about 179 megapixels by default) are reported as failures ("image too large"),
not read; images between ``Image.MAX_IMAGE_PIXELS`` and that limit are read
without Pillow's warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mnistvec.data.errors import notice

WORKING_MAX_SIDE = 2048
"""Longest side, in pixels, of the working image that larger sources are reduced to."""


class UnreadableImage(Exception):
    """One image file cannot be decoded; the message is the one-line reason."""


@dataclass(frozen=True)
class GrayImage:
    """A decoded image: ``pixels`` float32 ``[h, w]`` in ``[0, 1]``; source = ``factor`` × working + ``shift``.

    ``source_width`` × ``source_height`` is the size of the image as displayed
    (after any EXIF rotation).
    """

    pixels: np.ndarray
    source_width: int
    source_height: int
    factor: int = 1
    shift_x: float = 0.0
    shift_y: float = 0.0


def read_gray(path: str | Path) -> GrayImage:
    """Decode ``path`` to gray (see the module docstring); raise :class:`UnreadableImage` on any problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                draft_factor = _decode_with_draft(image)
                orientation = _orientation(image)
                reduced, reduce_factor = _reduce(_canonical_mode(image))
                pixels = _to_gray(reduced)
                frames = _frame_count(image)
    except UnreadableImage:
        raise
    except Image.DecompressionBombError as error:
        raise UnreadableImage(f"image too large: {error}") from error
    except PermissionError as error:
        raise UnreadableImage("permission denied") from error
    except Image.UnidentifiedImageError as error:
        raise UnreadableImage("not an image file in a format Pillow can read") from error
    except MemoryError as error:
        raise UnreadableImage("not enough memory to decode this image") from error
    except Exception as error:  # any decoder error is a per-file failure, never a crash of the batch
        raise UnreadableImage(f"corrupt or truncated image data ({_describe(error)})") from error
    if width == 0 or height == 0:
        raise UnreadableImage(f"image has no pixels ({width}×{height})")
    if frames > 1:
        notice(path, f"{frames} frames, the first is used")
    return _orient(GrayImage(pixels, width, height, draft_factor * reduce_factor), orientation)


ORIENTATIONS: dict[int, tuple[bool, bool, bool]] = {
    2: (False, True, False),
    3: (False, True, True),
    4: (False, False, True),
    5: (True, False, False),
    6: (True, True, False),
    7: (True, True, True),
    8: (True, False, True),
}
"""EXIF orientation → (transposed, displayed x reversed, displayed y reversed).

The same transformations as ``ImageOps.exif_transpose``: 2 mirrors x, 3 turns
180°, 4 mirrors y, 5 transposes, 6 turns 90° clockwise, 7 transposes across
the other diagonal, 8 turns 90° anticlockwise.
"""


def _frame_count(image: Image.Image) -> int:
    """How many frames the file holds (animated GIF, PNG or WebP, multi-page TIFF); 1 when they cannot be
    counted: only the first is read, so a damaged later frame does not matter."""
    try:
        return int(getattr(image, "n_frames", 1))
    except Exception:  # counting walks the later frames, whatever they hold
        return 1


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a damaged EXIF block only loses the orientation
        return 1


def _orient(gray: GrayImage, orientation: int) -> GrayImage:
    """Flip/transpose the working image into display orientation and work out the source shift of each axis."""
    if orientation not in ORIENTATIONS:
        return gray
    transposed, reverse_x, reverse_y = ORIENTATIONS[orientation]
    pixels = gray.pixels.T if transposed else gray.pixels
    width, height = (gray.source_height, gray.source_width) if transposed else (gray.source_width, gray.source_height)
    pixels = pixels[:, ::-1] if reverse_x else pixels
    pixels = pixels[::-1, :] if reverse_y else pixels
    rows, cols = pixels.shape
    return GrayImage(
        np.ascontiguousarray(pixels),
        width,
        height,
        gray.factor,
        float(width - gray.factor * cols) if reverse_x else 0.0,
        float(height - gray.factor * rows) if reverse_y else 0.0,
    )


def _describe(error: Exception) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _decode_with_draft(image: Image.Image) -> int:
    """Ask a JPEG decoder for a 1/2, 1/4 or 1/8 scale decode when the image is large; return that scale."""
    width, height = image.size
    longest = max(width, height)
    if image.format != "JPEG" or longest <= WORKING_MAX_SIDE:
        image.load()
        return 1
    wanted = (math.ceil(width * WORKING_MAX_SIDE / longest), math.ceil(height * WORKING_MAX_SIDE / longest))
    image.draft("L" if image.mode in ("L", "RGB", "YCbCr") else None, wanted)
    image.load()
    for scale in (8, 4, 2, 1):
        if image.size == (math.ceil(width / scale), math.ceil(height / scale)):
            return scale
    raise UnreadableImage(f"JPEG decoder returned an unexpected size {image.size} for {width}×{height}")


def _canonical_mode(image: Image.Image) -> Image.Image:
    """Convert to one of L, LA, RGBA, I, F (modes that both ``reduce`` and :func:`_to_gray` handle)."""
    mode = image.mode
    if mode in ("L", "LA", "RGBA", "I", "F"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        return image.convert("I")
    if mode == "P" and "transparency" not in image.info:
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    if mode in ("P", "PA", "RGBa"):
        return image.convert("RGBA")
    if mode == "RGB":
        return image.convert("L")
    if mode in ("RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        return image.convert("RGB").convert("L")
    return image.convert("RGBA")


def _reduce(image: Image.Image) -> tuple[Image.Image, int]:
    longest = max(image.size)
    if longest <= WORKING_MAX_SIDE:
        return image, 1
    factor = math.ceil(longest / WORKING_MAX_SIDE)
    return image.reduce(factor), factor


def _to_gray(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "L":
        return np.asarray(image, dtype=np.float32) / 255.0
    if mode == "I":
        return np.clip(np.asarray(image, dtype=np.float32) / 65535.0, 0.0, 1.0)
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        peak = float(values.max(initial=0.0))
        return np.clip(values / peak if peak > 1.0 else values, 0.0, 1.0).astype(np.float32)
    if mode == "LA":
        luma, alpha = (np.asarray(band, dtype=np.float32) / 255.0 for band in image.split())
        return _composite(luma, alpha)
    if mode == "RGBA":
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        luma = np.asarray(image.convert("RGB").convert("L"), dtype=np.float32) / 255.0
        return _composite(luma, alpha)
    raise UnreadableImage(f"unsupported pixel mode {mode}")


def _composite(luma: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``a·L + (1 - a)·b`` with backdrop ``b`` contrasting with the opaque pixels' mean luma."""
    if alpha.size == 0 or float(alpha.min()) >= 1.0:
        return luma
    coverage = float(alpha.sum())
    mean_opaque_luma = float((luma * alpha).sum()) / coverage if coverage > 0 else 1.0
    backdrop = 1.0 if mean_opaque_luma < 0.5 else 0.0
    return (alpha * luma + (1.0 - alpha) * backdrop).astype(np.float32)
