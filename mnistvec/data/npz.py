"""NumPy ``.npz`` archives of images.

The archive must hold an ``images`` array, ``[B, H, W]`` or a single ``[H, W]``,
either integers in ``0..255`` (read as ``v / 255``) or floats in ``[0, 1]``;
it may hold ``names`` (``B`` strings) and ``labels`` (``B`` integers).  Items
are normalised as folder images are (28×28 as they are, other sizes fitted and
centred MNIST-style, light backgrounds inverted); items without ink become
failures ``<file>[<index>]`` and are left out, with their names and labels.
A missing ``images`` key, NaN or infinite values, values out of range, or
names/labels of the wrong length raise :class:`DataError`.

Nothing an archive claims is trusted before it is checked (:func:`npy_headers`):
every array's header must describe no more bytes than its member holds, and a
member no more than its compressed bytes can inflate to, so a small file cannot
make mnistvec allocate more than it could really hold. Images are then read a
batch at a time (:func:`iter_npz_images`).
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrays import DEFAULT_BATCH_SIZE, MAX_DEFLATE_RATIO, check_item_size, iter_array_batches
from .errors import DataError, OnFailure
from .imageset import ImageSet


@dataclass(frozen=True)
class NpyHeader:
    """The checked header of one array of an archive: its member, shape, element type and order, and where
    its values start in the member."""

    member: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int


def npy_headers(archive: zipfile.ZipFile, path: Path) -> dict[str, NpyHeader]:
    """The header of every ``.npy`` array of `archive`, by key, each checked before anything is read:
    stored or deflated, its member no larger than its compressed bytes can make, its values no more
    bytes than the member holds after the header, and no Python objects (which are never unpickled)."""
    size = path.stat().st_size
    headers = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        key = info.filename.removesuffix(".npy")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DataError(f"{path}: array {key!r} is compressed with a method .npz files do not use")
        compressed = min(info.compress_size, size)
        holds = compressed if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO * compressed
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read(member)
            offset = member.tell()
        if dtype.hasobject:
            raise DataError(f"{path}: array {key!r} holds Python objects, which mnistvec does not read")
        claimed = dtype.itemsize * math.prod(shape)
        if info.file_size > holds or claimed > info.file_size - offset:
            described = " × ".join(str(n) for n in shape) or "1"
            raise DataError(f"{path}: array {key!r} claims {described} values of {dtype} ({claimed:,} bytes), more "
                            f"than its {info.compress_size:,} bytes in the archive can hold")
        headers[key] = NpyHeader(info, tuple(shape), dtype, fortran_order, offset)
    return headers


def open_checked(path: Path) -> tuple[zipfile.ZipFile, dict[str, NpyHeader]]:
    """The open archive (the caller closes it) and its checked headers (:func:`npy_headers`); an archive
    that cannot be read is a DataError naming `path`."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such file") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    try:
        return archive, npy_headers(archive, path)
    except BaseException as error:
        archive.close()
        if isinstance(error, (zipfile.BadZipFile, zlib.error, EOFError, ValueError)):
            raise DataError(f"{path}: cannot load an array: {error}") from error
        raise


@contextmanager
def _reading(path: Path, key: str) -> Iterator[None]:
    """Reading array `key`'s values: damaged data (a bad checksum, a truncated member) is a DataError."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DataError(f"{path}: array {key!r} cannot be read ({error})") from error


def read_whole(archive: zipfile.ZipFile, header: NpyHeader, path: Path) -> np.ndarray:
    """One checked array, read whole (it holds no more than the archive does)."""
    with _reading(path, header.member.filename.removesuffix(".npy")), archive.open(header.member) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def iter_npz_images(path: str | Path, batch_size: int, on_failure: OnFailure | None = None,
                    limit: int | None = None) -> Iterator[ImageSet]:
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
    name_of = (lambda i: names[i]) if names is not None else (lambda i: path.stem) if single else \
        (lambda i: f"{path.stem}-{i:0{digits}d}")
    item_bytes = images.dtype.itemsize * height * width

    def batches() -> Iterator[ImageSet]:
        archive, _ = open_checked(path)
        with archive, _reading(path, "images"), archive.open(images.member) as member:
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

            yield from iter_array_batches(read, count, item_bytes, str(path), name_of, labels, on_failure,
                                          batch_size, limit)

    return batches()


def _slicer(whole: np.ndarray):
    """`read(k)` over an array in memory: its next k items each call."""
    start = 0

    def read(k: int) -> np.ndarray:
        nonlocal start
        start += k
        return whole[start - k:start]

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
        return [str(n) for n in array]
    if array.dtype.kind == "S":
        return [bytes(n).decode("utf-8", errors="replace") for n in array]
    raise DataError(f"{path}: 'names' must be an array of strings, not {array.dtype}")


def npz_count(path: str | Path) -> int:
    """How many images the archive's ``images`` array holds, read from its checked header only."""
    path = Path(path)
    archive, headers = open_checked(path)
    with archive:
        if "images" not in headers:
            raise DataError(f"{path}: no 'images' array in this .npz ({_holding(archive.namelist())})")
        shape = headers["images"].shape
    return 1 if len(shape) == 2 else int(shape[0]) if shape else 0
