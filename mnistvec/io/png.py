"""Raster outputs: float images in [0, 1] to 8-bit PNG files, one by one or laid out as a grid."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
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


def max_image_pixels() -> int | None:
    """The most pixels an image may have (None: no limit): Pillow's decompression-bomb limit, twice
    `Image.MAX_IMAGE_PIXELS` (about 179 million by default). Image files above it are not decoded; the
    same limit bounds images held in arrays (IDX, .npz) and the images mnistvec draws."""
    return None if Image.MAX_IMAGE_PIXELS is None else 2 * int(Image.MAX_IMAGE_PIXELS)


DRAW_PIXELS = 1 << 24
"""The most pixels a command draws at once (64 MiB of float32 images): images are drawn in batches of at
most this many pixels (one image at least), so memory does not grow with their number or size."""


def pixel_batches(pixels: int | Sequence[int], count: int, most: int | None = None) -> Iterator[slice]:
    """Consecutive slices of `count` items whose images hold at most DRAW_PIXELS pixels together (an item
    above it alone), and at most `most` items: `pixels` is every item's pixel count, or one for all."""
    per_item = [pixels] * count if isinstance(pixels, int) else pixels
    start, total = 0, 0
    for k, size in enumerate(per_item):
        if k > start and (total + size > DRAW_PIXELS or (most is not None and k - start >= most)):
            yield slice(start, k)
            start, total = k, 0
        total += size
    if start < count:
        yield slice(start, count)


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a square-ish grid holding `count` tiles."""
    if count <= 0:
        return 0, 0
    cols = columns or math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def grid_size(count: int, height: int, width: int, columns: int | None = None, pad: int = 2) -> tuple[int, int]:
    """(height, width) in pixels of the grid of `count` tiles of height x width, `pad` pixels apart."""
    rows, cols = grid_shape(count, columns)
    return rows * (height + pad) + pad, cols * (width + pad) + pad


def tile_corner(index: int, columns: int, height: int, width: int, pad: int = 2) -> tuple[int, int]:
    """(y, x) of the top-left pixel of tile `index` in a grid of `columns` columns (row by row)."""
    row, column = divmod(index, columns)
    return pad + row * (height + pad), pad + column * (width + pad)


def check_grid_size(path, count: int, size: int, lower: str) -> None:
    """InputError naming `path` when `count` tiles of size x size pixels make a grid above
    `max_image_pixels`; the message says to lower `lower` (the options that set them)."""
    from mnistvec.errors import InputError

    height, width = grid_size(count, size, size)
    limit = max_image_pixels()
    if limit is not None and height * width > limit:
        raise InputError(
            f"{path}: {count:,} tiles of {size}x{size} pixels make a {width:,}x{height:,} grid, "
            f"{height * width:,} pixels, above the limit of {limit:,}: lower {lower}"
        )


class GridImage:
    """A grid of `count` tiles of height x width pixels laid out as `make_grid` lays them, filled one tile
    at a time and held as 8-bit grey: the memory it takes is the grid's bytes, never every tile's floats,
    and it saves the same PNG that `save_png(path, make_grid(tiles))` writes."""

    def __init__(
        self, count: int, height: int, width: int, columns: int | None = None, pad: int = 2, pad_value: float = 0.25
    ):
        self.height, self.width, self.pad = height, width, pad
        self.columns = grid_shape(count, columns)[1]
        self.pixels = np.full(
            grid_size(count, height, width, columns, pad), to_uint8(np.float32(pad_value)), dtype=np.uint8
        )

    def place(self, index: int, image: np.ndarray) -> None:
        """Put the [height, width] float image of tile `index` in its cell."""
        y, x = tile_corner(index, self.columns, self.height, self.width, self.pad)
        self.pixels[y : y + self.height, x : x + self.width] = to_uint8(image)

    def save(self, path: str | Path) -> None:
        """Write the grid as an 8-bit grey PNG, atomically."""
        write_bytes_atomic(path, png_bytes(self.pixels))


def make_grid(images: np.ndarray, columns: int | None = None, pad: int = 2, pad_value: float = 0.25) -> np.ndarray:
    """Tile [B, H, W] images into one [rows*(H+pad)+pad, cols*(W+pad)+pad] image (grey separators)."""
    images = np.asarray(images, dtype=np.float32)
    count, height, width = images.shape
    cols = grid_shape(count, columns)[1]
    grid = np.full(grid_size(count, height, width, columns, pad), pad_value, dtype=np.float32)
    for k in range(count):
        y, x = tile_corner(k, cols, height, width, pad)
        grid[y : y + height, x : x + width] = images[k]
    return grid
