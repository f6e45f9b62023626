"""Build an :class:`ImageSet` from an in-memory stack of images (IDX and ``.npz`` contents).

Accepted values: unsigned/signed integers in ``0..255`` (read as ``v / 255``),
booleans (0 or 1), and finite floats in ``[0, 1]``.  Every item then goes through
:func:`~mnistvec.data.normalise.to_canvas` (28×28 items as they are, light
backgrounds inverted; other sizes fitted and centred MNIST-style); items without
ink become failures named ``<source>[<index>]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import DataError, Failure, OnFailure, warn_on_stderr
from .imageset import ImageSet, indexed_names
from .normalise import canvases_from_stack


def unit_range(array: np.ndarray, source: str) -> np.ndarray:
    """``array`` as float32 in ``[0, 1]``, or :class:`DataError` naming ``source`` and what is wrong with the values."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (int(array.min()) < 0 or int(array.max()) > 255):
            raise DataError(
                f"{source}: integer images must lie in 0..255, found values from {int(array.min())} to {int(array.max())}"
            )
        return array.astype(np.float32) / 255.0
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(array.size - np.count_nonzero(finite))
            first = np.unravel_index(int(np.argmin(finite.reshape(-1))), array.shape)
            raise DataError(f"{source}: images contain {bad} NaN or infinite values (the first at index {list(map(int, first))})")
        if array.size and (float(array.min()) < 0.0 or float(array.max()) > 1.0):
            raise DataError(
                f"{source}: float images must lie in [0, 1], found values from {float(array.min()):g} to {float(array.max()):g}"
            )
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
    batch = canvases_from_stack(unit_range(array, source))
    report = on_failure or warn_on_stderr
    failures = []
    for index, reason in batch.rejected:
        failure = Failure(f"{source}[{index}]", reason)
        report(failure)
        failures.append(failure)
    return ImageSet(
        images=batch.images,
        names=[names[i] for i in batch.kept],
        frames=batch.frames,
        labels=None if labels is None else labels[batch.kept],
        failures=failures,
    )
