"""NumPy ``.npz`` archives of images.

The archive must hold an ``images`` array, ``[B, H, W]`` or a single ``[H, W]``,
either integers in ``0..255`` (read as ``v / 255``) or floats in ``[0, 1]``;
it may hold ``names`` (``B`` distinct strings) and ``labels`` (``B`` integers).  Items
are normalised as folder images are (28×28 as they are, other sizes fitted and
centred MNIST-style, light backgrounds inverted); items without ink become
failures ``<file>[<index>]`` and are left out, with their names and labels.
A missing ``images`` key, NaN or infinite values, values out of range,
names/labels of the wrong length, or a name given twice raise :class:`DataError`.

Nothing an archive claims is trusted before it is checked (:func:`npy_headers`):
every array's header must describe no more bytes than its member holds, and a
member no more than its compressed bytes can inflate to, so a small file cannot
make mnistvec allocate more than it could really hold. Images are then read a
batch at a time (:func:`iter_npz_images`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mnistvec.data.arrays import DEFAULT_BATCH_SIZE, check_item_size, iter_array_batches
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.imageset import ImageSet
from mnistvec.io.npz_archive import open_checked, read_whole, reading


def iter_npz_images(
    path: str | Path, batch_size: int, on_failure: OnFailure | None = None, limit: int | None = None
) -> Iterator[ImageSet]:
    """Batches of the images of an ``.npz`` archive (see the module docstring), read a few at a time
    (:func:`~.arrays.iter_array_batches`) once the archive's headers, names and labels are checked, here
    at the call."""
    path = Path(path)
    archive, headers = open_checked(path)
    with archive:
        if "images" not in headers:
            raise DataError(f"{path}: no 'images' array in this .npz ({_holding(archive.namelist())})")
        images = headers["images"]
        if len(images.shape) not in (2, 3) or 0 in images.shape[-2:]:
            raise DataError(f"{path}: images must have shape [B, H, W] or [H, W], got {list(images.shape)}")
        check_item_size(path, *images.shape[-2:])
        names = _names(read_whole(archive, headers["names"], path), path) if "names" in headers else None
        labels = read_whole(archive, headers["labels"], path).reshape(-1) if "labels" in headers else None
    single = len(images.shape) == 2
    count, (height, width) = 1 if single else images.shape[0], images.shape[-2:]
    if names is not None and len(names) != count:
        raise DataError(f"{path}: {count} images but {len(names)} names")
    if labels is not None and len(labels) != count:
        raise DataError(f"{path}: {count} images but {len(labels)} labels")
    if labels is not None and not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: labels must be integers, not {labels.dtype}")
    digits = max(5, len(str(max(count - 1, 0))))
    name_of = (
        (lambda i: names[i])
        if names is not None
        else (lambda i: path.stem)
        if single
        else (lambda i: f"{path.stem}-{i:0{digits}d}")
    )
    item_bytes = images.dtype.itemsize * height * width

    def batches() -> Iterator[ImageSet]:
        archive, _ = open_checked(path)
        with archive, reading(path, "images"), archive.open(images.member) as member:
            if images.fortran_order:  # its items are not contiguous: read the (checked) array whole
                whole = np.lib.format.read_array(member, allow_pickle=False).reshape(count, height, width)
                read = _slicer(whole)
            else:
                member.read(images.offset)

                def read(k: int) -> np.ndarray:
                    data = member.read(k * item_bytes)
                    if len(data) < k * item_bytes:
                        raise EOFError("the member ends early")
                    return np.frombuffer(data, dtype=images.dtype).reshape(k, height, width)

            yield from iter_array_batches(
                read, count, item_bytes, str(path), name_of, labels, on_failure, batch_size, limit
            )

    return batches()


def _slicer(whole: np.ndarray):
    """`read(k)` over an array in memory: its next k items each call."""
    start = 0

    def read(k: int) -> np.ndarray:
        nonlocal start
        start += k
        return whole[start - k : start]

    return read


def read_npz(path: str | Path, on_failure: OnFailure | None = None) -> ImageSet:
    """Read an ``.npz`` archive of images whole (see the module docstring)."""
    return ImageSet.concat(iter_npz_images(path, DEFAULT_BATCH_SIZE, on_failure))


def _holding(keys) -> str:
    """'it holds a, b' for the arrays of an archive (member names or keys)."""
    found = sorted(key.removesuffix(".npy") for key in keys)
    return f"it holds {', '.join(found)}" if found else "it is empty"


def _names(array: np.ndarray, path: Path) -> list[str]:
    array = np.asarray(array).reshape(-1)
    if array.dtype.kind == "U":
        names = [str(n) for n in array]
    elif array.dtype.kind == "S":
        names = [bytes(n).decode("utf-8", errors="surrogateescape") for n in array]
    else:
        raise DataError(f"{path}: 'names' must be an array of strings, not {array.dtype}")
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:  # results are kept and looked up by name: two items may not share one
            raise DataError(
                f"{path}: 'names' holds {name!r} twice (items {first[name]} and {index}); item names must be unique"
            )
        first[name] = index
    return names


def npz_count(path: str | Path) -> int:
    """How many images the archive's ``images`` array holds, read from its checked header only."""
    path = Path(path)
    archive, headers = open_checked(path)
    with archive:
        if "images" not in headers:
            raise DataError(f"{path}: no 'images' array in this .npz ({_holding(archive.namelist())})")
        shape = headers["images"].shape
    return 1 if len(shape) == 2 else int(shape[0]) if shape else 0
