"""Raster outputs: float images in [0, 1] to 8-bit PNG files, one by one or laid out as a grid."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from mnistvec.io.atomic import write_bytes_atomic


def to_uint8(image: np.ndarray, inverted: bool = False) -> np.ndarray:
    """Round [0, 1] floats to 0..255 (NaN -> 0); `inverted` draws black ink on white."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0).clip(0.0, 1.0)
    if inverted:
        values = 1.0 - values
    return (values * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image_u8: np.ndarray) -> bytes:
    """Encode a 2-D uint8 array as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(image_u8, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | Path, image: np.ndarray, inverted: bool = False) -> None:
    """Write one [H, W] float image as an 8-bit grey PNG, atomically."""
    write_bytes_atomic(path, png_bytes(to_uint8(image, inverted)))


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a square-ish grid holding `count` tiles."""
    if count <= 0:
        return 0, 0
    cols = columns or math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def make_grid(images: np.ndarray, columns: int | None = None, pad: int = 2, pad_value: float = 0.25) -> np.ndarray:
    """Tile [B, H, W] images into one [rows*(H+pad)+pad, cols*(W+pad)+pad] image (grey separators)."""
    images = np.asarray(images, dtype=np.float32)
    count, height, width = images.shape
    rows, cols = grid_shape(count, columns)
    grid = np.full((rows * (height + pad) + pad, cols * (width + pad) + pad), pad_value, dtype=np.float32)
    for k in range(count):
        r, c = divmod(k, cols)
        y, x = pad + r * (height + pad), pad + c * (width + pad)
        grid[y : y + height, x : x + width] = images[k]
    return grid
