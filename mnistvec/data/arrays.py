"""Build an :class:`ImageSet` from an in-memory stack of images (IDX and ``.npz`` contents).

Accepted values: unsigned/signed integers in ``0..255`` (read as ``v / 255``),
booleans (0 or 1), and finite floats in ``[0, 1]``.  Every item then goes through
:func:`~mnistvec.data.normalise.to_canvas` (28×28 items as they are, light
backgrounds inverted; other sizes fitted and centred MNIST-style).  Items with
values outside the accepted ones (NaN, infinities, out of range) or without ink
become failures named ``<source>[<index>]``; the other items are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistvec.data.errors import DataError, Failure, OnFailure, warn_on_stderr
from mnistvec.data.imageset import ImageSet, indexed_names
from mnistvec.data.normalise import canvases_from_stack


def item_problems(array: np.ndarray) -> dict[int, str]:
    """index -> what is wrong with the values of item ``index`` of ``[B, H, W]`` ``array``: NaN or infinite
    values, or values outside ``0..255`` (integers) or ``[0, 1]`` (floats). Such items are left out alone."""
    flat = array.reshape(len(array), -1)
    problems: dict[int, str] = {}
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(flat)
        for index in np.flatnonzero(~finite.all(axis=1)):
            problems[int(index)] = f"{flat[index].size - np.count_nonzero(finite[index])} NaN or infinite values"
        flat = np.where(finite, flat, 0.5)  # judged above; neutral for the range check below
        lowest, highest, kind = 0.0, 1.0, "float values must lie in [0, 1]"
    elif np.issubdtype(array.dtype, np.integer):
        lowest, highest, kind = 0, 255, "integer values must lie in 0..255"
    else:
        return problems
    if flat.size == 0:
        return problems
    low, high = flat.min(axis=1), flat.max(axis=1)
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


def images_from_array(
    array: np.ndarray,
    source: str,
    names: Sequence[str] | None = None,
    labels: np.ndarray | None = None,
    on_failure: OnFailure | None = None,
) -> ImageSet:
    """An :class:`ImageSet` from ``[B, H, W]`` (or one ``[H, W]``) image values; ``source`` names them in messages.

    Default names are ``<source stem>-<index:05d>`` (just the stem for a single ``[H, W]`` image).
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
    batch = canvases_from_stack(unit_range(array[valid], source))
    kept = valid[np.asarray(batch.kept, dtype=np.int64)]
    rejected = sorted([*problems.items(), *((int(valid[i]), reason) for i, reason in batch.rejected)])
    report = on_failure or warn_on_stderr
    failures = []
    for index, reason in rejected:
        failure = Failure(f"{source}[{index}]", reason, names[index])
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
