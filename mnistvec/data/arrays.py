"""Build an :class:`ImageSet` from a stack of images held in an array (IDX and ``.npz`` contents).

Accepted values: unsigned/signed integers in ``0..255`` (read as ``v / 255``),
booleans (0 or 1), and finite floats in ``[0, 1]``.  Every item then goes through
:func:`~mnistvec.data.normalise.to_canvas` (28×28 items as they are, light
backgrounds inverted; other sizes fitted and centred MNIST-style).  Items with
values outside the accepted ones (NaN, infinities, out of range) or without ink
become failures named ``<source>[<index>]``; the other items are kept.

Files are read a few items at a time (:func:`iter_array_batches`): at most
:data:`READ_BYTES` of values (or one item, if it is larger) are held at once,
so memory does not grow with the number of items. An item of more than
:func:`~mnistvec.images.max_image_pixels` pixels is refused before anything is
read (:func:`check_item_size`), and an item whose longer side exceeds
:data:`~.grayscale.WORKING_MAX_SIDE` is reduced the way a large image file is
(box averages of ``f × f`` pixels), a strip of rows at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mnistvec.data.errors import DataError, Failure, OnFailure, warn_on_stderr
from mnistvec.data.grayscale import WORKING_MAX_SIDE
from mnistvec.data.imageset import ImageSet, indexed_names
from mnistvec.data.normalise import CanvasBatch, NoInk, canvases_from_stack, to_canvas
from mnistvec.io.png import max_image_pixels

DEFAULT_BATCH_SIZE = 256
"""Images per batch when a source is read in batches without being told how many."""

READ_BYTES = 1 << 24
"""The most bytes of item values read from a file at once (16 MiB; one item is read whole however large)."""


STRIP_VALUES = 1 << 22
"""Values converted to float at a time while a large item is reduced (16 MiB of float32)."""


def item_problems(array: np.ndarray) -> dict[int, str]:
    """index -> what is wrong with the values of item ``index`` of ``[B, H, W]`` ``array``: NaN or infinite
    values, or values outside ``0..255`` (integers) or ``[0, 1]`` (floats). Such items are left out alone."""
    flat = array.reshape(len(array), -1)
    problems: dict[int, str] = {}
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(flat)
        for index in np.flatnonzero(~finite.all(axis=1)):
            problems[int(index)] = f"{flat[index].size - np.count_nonzero(finite[index])} NaN or infinite values"
        lowest, highest, kind = 0.0, 1.0, "float values must lie in [0, 1]"
    elif np.issubdtype(array.dtype, np.integer):
        lowest, highest, kind = 0, 255, "integer values must lie in 0..255"
    else:
        return problems
    if flat.size == 0:
        return problems
    low, high = np.fmin.reduce(flat, axis=1), np.fmax.reduce(flat, axis=1)  # NaN skipped: judged above
    for index in np.flatnonzero((low < lowest) | (high > highest)):
        problems.setdefault(int(index), f"{kind}, found {low[index]:g} to {high[index]:g}")
    return problems


def unit_range(array: np.ndarray, source: str) -> np.ndarray:
    """``array`` (whose values are all valid, see :func:`item_problems`) as float32 in ``[0, 1]``, or
    :class:`DataError` naming ``source`` when its values are not numbers at all."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float32) / 255.0
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    raise DataError(f"{source}: images must be numbers (uint8 0..255 or float in [0, 1]), not {array.dtype}")


def check_item_size(source, height: int, width: int) -> None:
    """DataError naming `source` when items of height × width pixels are above the limit image files are
    read under (:func:`~mnistvec.images.max_image_pixels`), before any of them is read."""
    limit = max_image_pixels()
    if limit is not None and height * width > limit:
        raise DataError(
            f"{source}: images of {width:,}×{height:,} pixels are too large ({height * width:,} pixels "
            f"each; image files are read up to {limit:,})"
        )


def working_item(item: np.ndarray, source: str) -> tuple[np.ndarray, int]:
    """(float32 values in [0, 1], reduction factor f) of one valid [H, W] item: as it is when its longer
    side is at most WORKING_MAX_SIDE, else box averages of f × f pixels (the last row and column of
    blocks may cover fewer), computed a strip of rows at a time so that no full-size float copy is made."""
    height, width = item.shape
    factor = math.ceil(max(height, width) / WORKING_MAX_SIDE)
    if factor == 1:
        return unit_range(item, source), 1
    rows = factor * max(1, STRIP_VALUES // (factor * width))
    strips = [
        np.asarray(Image.fromarray(unit_range(item[top : top + rows], source), mode="F").reduce(factor))
        for top in range(0, height, rows)
    ]
    return np.concatenate(strips), factor


def _large_canvases(array: np.ndarray, valid: np.ndarray, source: str) -> CanvasBatch:
    """:func:`canvases_from_stack` for items too large to convert whole: each valid item reduced
    (:func:`working_item`) and normalised alone, its frame in the item's own pixels."""
    height, width = array.shape[1:]
    images, frames, kept, rejected = [], [], [], []
    for position, index in enumerate(valid):
        pixels, factor = working_item(array[index], source)
        try:
            canvas = to_canvas(pixels, width, height, factor)
        except NoInk as error:
            rejected.append((position, str(error)))
            continue
        images.append(canvas.image)
        frames.append(canvas.frame)
        kept.append(position)
    stacked = np.stack(images) if images else ImageSet.empty().images
    return CanvasBatch(stacked, frames, np.asarray(kept, dtype=np.int64), rejected)


def images_from_array(
    array: np.ndarray,
    source: str,
    names: Sequence[str] | None = None,
    labels: np.ndarray | None = None,
    on_failure: OnFailure | None = None,
    first: int = 0,
) -> ImageSet:
    """An :class:`ImageSet` from ``[B, H, W]`` (or one ``[H, W]``) image values; ``source`` names them in messages.

    Default names are ``<source stem>-<index:05d>`` (just the stem for a single ``[H, W]`` image). ``first``
    is the index of the first item in its file, for the names of failures (``<source>[<index>]``).
    """
    array = np.asarray(array)
    stem = Path(source).stem
    if array.ndim == 2:
        array = array[None]
        names = [stem] if names is None else list(names)
    if array.ndim != 3 or 0 in array.shape[1:]:
        raise DataError(f"{source}: images must have shape [B, H, W] or [H, W], got {list(array.shape)}")
    count = len(array)
    names = indexed_names(stem, count) if names is None else [str(n) for n in names]
    if len(names) != count:
        raise DataError(f"{source}: {count} images but {len(names)} names")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != count:
            raise DataError(f"{source}: {count} images but {len(labels)} labels")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{source}: labels must be integers, not {labels.dtype}")
    problems = item_problems(array)
    valid = np.array([i for i in range(count) if i not in problems], dtype=np.int64)
    if max(array.shape[1:]) > WORKING_MAX_SIDE:
        batch = _large_canvases(array, valid, source)
    else:
        batch = canvases_from_stack(unit_range(array[valid], source))
    kept = valid[np.asarray(batch.kept, dtype=np.int64)]
    rejected = sorted([*problems.items(), *((int(valid[i]), reason) for i, reason in batch.rejected)])
    report = on_failure or warn_on_stderr
    failures = []
    for index, reason in rejected:
        failure = Failure(f"{source}[{first + index}]", reason, names[index])
        report(failure)
        failures.append(failure)
    return ImageSet(
        images=batch.images,
        names=[names[i] for i in kept],
        frames=batch.frames,
        labels=None if labels is None else labels[kept],
        failures=failures,
        doubts=batch.doubts,
    )


def iter_array_batches(
    read: Callable[[int], np.ndarray],
    count: int,
    item_bytes: int,
    source: str,
    name_of: Callable[[int], str],
    labels: np.ndarray | None,
    on_failure: OnFailure | None,
    batch_size: int,
    limit: int | None = None,
) -> Iterator[ImageSet]:
    """Batches of ``batch_size`` kept images (the last may be smaller) of a file of ``count`` items, each
    ``item_bytes`` long, that ``read(k)`` returns ``k`` at a time as ``[k, H, W]`` in file order.

    At most :data:`READ_BYTES` of values (or one item) are read at once. Item ``i`` is named
    ``name_of(i)`` and labelled ``labels[i]``; its failure, reported through ``on_failure`` as it is met,
    goes with the batch being filled at that moment. ``limit`` stops after that many kept images. A file
    in which no item can be read raises :class:`DataError` at the end.
    """
    report = on_failure or warn_on_stderr
    per_read = max(1, min(batch_size, READ_BYTES // max(item_bytes, 1)))
    pending, failures = ImageSet.empty(), []
    taken = index = 0
    while index < count and (limit is None or taken < limit):
        k = min(per_read, count - index)
        part = images_from_array(
            read(k),
            source,
            [name_of(i) for i in range(index, index + k)],
            None if labels is None else labels[index : index + k],
            report,
            first=index,
        )
        index += k
        failures += part.failures
        part.failures = []
        pending = ImageSet.concat([pending, part])
        while len(pending) >= batch_size or (limit is not None and taken + len(pending) >= limit > taken):
            size = batch_size if limit is None else min(batch_size, limit - taken)
            batch, pending = pending[:size], pending[size:]
            batch.failures, failures = failures, []
            taken += len(batch)
            yield batch
    if limit is not None:
        pending = pending[: max(limit - taken, 0)]
    if taken + len(pending) == 0 and (limit is None or limit > 0):
        if failures:
            raise DataError(
                f"{source}: none of its {len(failures)} images could be read (each failure is listed above)"
            )
        raise DataError(f"{source}: holds no images")
    if len(pending) or failures:
        pending.failures = failures
        yield pending
