"""Reading `.npz` archives without trusting what they claim: every array's header must describe no more
bytes than its member holds, and a member no more than its compressed bytes can inflate to, so a small file
cannot make mnistvec allocate more than it could really hold. Used by the image readers (`data/npz.py`) and
by vectors files (`io/vectors.py`)."""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.errors import DataError

MAX_DEFLATE_RATIO = 1032
"""The most deflate (gzip, zip) can inflate: one compressed byte becomes at most 1,032 bytes."""


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
            raise DataError(
                f"{path}: array {key!r} claims {described} values of {dtype} ({claimed:,} bytes), more "
                f"than its {info.compress_size:,} bytes in the archive can hold"
            )
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
def reading(path: Path, key: str) -> Iterator[None]:
    """Reading array `key`'s values: damaged data (a bad checksum, a truncated member) is a DataError."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DataError(f"{path}: array {key!r} cannot be read ({error})") from error


def read_whole(archive: zipfile.ZipFile, header: NpyHeader, path: Path) -> np.ndarray:
    """One checked array, read whole (it holds no more than the archive does)."""
    with reading(path, header.member.filename.removesuffix(".npy")), archive.open(header.member) as member:
        return np.lib.format.read_array(member, allow_pickle=False)
