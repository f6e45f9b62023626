"""Read and write IDX files, the format MNIST is distributed in (optionally gzip-compressed).

An IDX file is a 4-byte magic number ``00 00 T D`` (``T`` the element type,
``D`` the number of dimensions), ``D`` big-endian uint32 sizes, then the
``n₁ × … × n_D`` elements in C order, big-endian.  MNIST images are magic
2051 (``T = 0x08`` unsigned byte, ``D = 3``: count, rows, columns) and labels
2049 (``T = 0x08``, ``D = 1``: count).  A file is valid when its length is
exactly ``4 + 4·D + itemsize · Π nᵢ`` bytes (after decompression).

The header is checked before any element is read (:func:`read_idx_header`):
the sizes a file claims are never allocated unless the file holds them, and
images are read a batch at a time (:func:`iter_idx_images`).
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnistvec.data.arrays import DEFAULT_BATCH_SIZE, check_item_size, iter_array_batches
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.imageset import ImageSet
from mnistvec.io.npz_archive import MAX_DEFLATE_RATIO

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_MAGIC = b"\x1f\x8b"

ELEMENT_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
TYPE_CODES = {dtype: code for code, dtype in ELEMENT_TYPES.items()}

IDX_NAME = re.compile(r"-idx\d-ubyte(\.gz)?$", re.IGNORECASE)
"""File names in the MNIST style, e.g. ``t10k-images-idx3-ubyte.gz``."""


def peek_magic(path: str | Path) -> int | None:
    """The first 4 bytes as a big-endian integer (after gunzipping), or ``None`` when unreadable or shorter."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4)
            if start.startswith(GZIP_MAGIC):
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as unzipped:
                    start = unzipped.read(4)
    except (OSError, EOFError, zlib.error):
        return None
    return int.from_bytes(start, "big") if len(start) == 4 else None


@dataclass(frozen=True)
class IdxHeader:
    """The checked header of an IDX file: the big-endian element type and the sizes."""

    path: Path
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def offset(self) -> int:
        """Bytes before the first element: the magic number and the sizes."""
        return 4 + 4 * len(self.shape)

    @property
    def data_bytes(self) -> int:
        """Bytes of the elements the sizes describe."""
        return self.dtype.itemsize * math.prod(self.shape)

    def described(self) -> str:
        """The sizes as messages give them: ``3 × 28 × 28``."""
        return " × ".join(str(n) for n in self.shape)

    @contextmanager
    def elements(self) -> Iterator[IdxElements]:
        """The elements of the file (gunzipped when compressed), to read in order."""
        with _opened(self.path) as stream:
            elements = IdxElements(self, stream)
            elements.read(self.offset, header=True)
            yield elements


class IdxElements:
    """Sequential reads of an IDX file's bytes that check its length as they go: a file that ends before
    the elements its header promises, or holds bytes after them, and damaged gzip data are DataErrors."""

    def __init__(self, header: IdxHeader, stream: BinaryIO):
        self.header, self.stream, self.done = header, stream, 0

    def read(self, count: int, header: bool = False) -> bytes:
        """The next `count` bytes (of the header when `header`, else of the elements)."""
        data = _guarded(self.header.path, lambda: self.stream.read(count))
        self.done += len(data)
        if len(data) < count and not header:
            h = self.header
            raise DataError(
                f"{h.path}: truncated IDX file: the header promises {h.described()} elements "
                f"({h.data_bytes} bytes of data) but only {self.done - h.offset} bytes follow"
            )
        return data

    def end(self) -> None:
        """Check that nothing follows the elements (counted, not kept)."""
        extra = 0
        while block := _guarded(self.header.path, lambda: self.stream.read(1 << 20)):
            extra += len(block)
        if extra:
            raise DataError(
                f"{self.header.path}: IDX file has {extra} unexpected bytes after the "
                f"{self.header.described()} elements its header describes"
            )


def _guarded(path: Path, read):
    """`read()`, with a read error and truncated or corrupt gzip data as DataErrors naming `path`."""
    try:
        return read()
    except gzip.BadGzipFile as error:
        raise DataError(f"{path}: corrupt gzip data ({error})") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    except EOFError as error:
        raise DataError(f"{path}: truncated gzip stream (the compressed file ends early)") from error
    except zlib.error as error:
        raise DataError(f"{path}: corrupt gzip data ({error})") from error


@contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    """The file's bytes as a stream, gunzipped when they start with the gzip magic."""
    handle = _guarded(path, lambda: open(path, "rb"))
    with handle:
        gzipped = _guarded(path, lambda: handle.read(2)) == GZIP_MAGIC
        handle.seek(0)
        with gzip.GzipFile(fileobj=handle) if gzipped else nullcontext(handle) as stream:
            yield stream


def read_idx_header(path: str | Path, expected_magic: int | None = None) -> IdxHeader:
    """The header of an IDX file (``.gz`` or raw), checked before any element is read: the magic number (when
    ``expected_magic`` is given, that one), the sizes, for images each image's pixels against the limit
    image files are read under, and the length the sizes need: exactly the length of a raw file, and no
    more than a gzip file's compressed bytes can inflate to (its exact length is checked as it is read)."""
    path = Path(path)
    with _opened(path) as stream:
        start = _guarded(path, lambda: stream.read(4))
        if len(start) < 4:
            raise DataError(f"{path}: not an IDX file: only {len(start)} bytes, too short for the 4-byte magic number")
        magic = int.from_bytes(start, "big")
        zero, type_code, ndim = int.from_bytes(start[:2], "big"), start[2], start[3]
        if expected_magic is not None and magic != expected_magic:
            kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
            found = f" ({kind[magic]})" if magic in kind else ""
            raise DataError(
                f"{path}: bad IDX magic number {magic} (0x{magic:08x}){found}; "
                f"expected {expected_magic} (IDX {kind.get(expected_magic, 'data')})"
            )
        if zero != 0 or type_code not in ELEMENT_TYPES or ndim == 0:
            raise DataError(f"{path}: not an IDX file: bad magic number 0x{magic:08x}")
        sizes = _guarded(path, lambda: stream.read(4 * ndim))
        gzipped = isinstance(stream, gzip.GzipFile)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: {4 + len(sizes)} bytes, the {ndim} sizes need {4 + 4 * ndim}")
    shape = tuple(int.from_bytes(sizes[4 * k : 4 * k + 4], "big") for k in range(ndim))
    header = IdxHeader(path, ELEMENT_TYPES[type_code], shape)
    if magic == IMAGES_MAGIC:
        check_item_size(path, *shape[1:])
    size = path.stat().st_size
    if gzipped and header.data_bytes > MAX_DEFLATE_RATIO * size:
        raise DataError(
            f"{path}: the IDX header promises {header.described()} elements ({header.data_bytes:,} "
            f"bytes), more than a gzip file of {size:,} bytes can hold"
        )
    if not gzipped and size - header.offset < header.data_bytes:
        raise DataError(
            f"{path}: truncated IDX file: the header promises {header.described()} elements "
            f"({header.data_bytes} bytes of data) but only {size - header.offset} bytes follow"
        )
    if not gzipped and size - header.offset > header.data_bytes:
        raise DataError(
            f"{path}: IDX file has {size - header.offset - header.data_bytes} unexpected bytes after "
            f"the {header.described()} elements its header describes"
        )
    return header


def read_idx(path: str | Path, expected_magic: int | None = None) -> np.ndarray:
    """Read a whole IDX file (``.gz`` or raw) as a native-endian array; its header is checked first
    (:func:`read_idx_header`), so nothing is allocated for sizes the file does not hold."""
    header = read_idx_header(path, expected_magic)
    with header.elements() as elements:
        data = elements.read(header.data_bytes)
        elements.end()
    return np.frombuffer(data, dtype=header.dtype).reshape(header.shape).astype(header.dtype.newbyteorder("="))


def read_idx_images(path: str | Path) -> np.ndarray:
    """Images ``[B, rows, cols]`` uint8 from an IDX file with magic 2051."""
    return read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Labels ``[B]`` uint8 from an IDX file with magic 2049."""
    return read_idx(path, LABELS_MAGIC)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes for an array of a supported element type (uint8, int8, int16, int32, float32, float64)."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big_endian not in TYPE_CODES:
        raise ValueError(f"IDX cannot store {array.dtype}")
    header = bytes([0, 0, TYPE_CODES[big_endian], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + np.ascontiguousarray(array, dtype=big_endian).tobytes()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    path = Path(path)
    data = encode_idx(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def labels_path_for(images_path: str | Path) -> Path | None:
    """The labels file next to an images file, MNIST-style (``x-images-idx3-ubyte`` → ``x-labels-idx1-ubyte``,
    with or without ``.gz``)."""
    images_path = Path(images_path)
    name = images_path.name
    stem = name[:-3] if name.lower().endswith(".gz") else name
    if "images-idx3" not in stem:
        return None
    labels_stem = stem.replace("images-idx3", "labels-idx1")
    for candidate in (labels_stem + ".gz", labels_stem):
        candidate_path = images_path.with_name(candidate)
        if candidate_path.is_file():
            return candidate_path
    return None


def idx_stem(path: str | Path) -> str:
    """The file name without ``.gz``: ``t10k-images-idx3-ubyte.gz`` → ``t10k-images-idx3-ubyte``."""
    name = Path(path).name
    return name[:-3] if name.lower().endswith(".gz") else Path(name).stem if "." in name else name


def iter_idx_images(
    images_path: str | Path,
    batch_size: int,
    labels_path: str | Path | None = None,
    stem: str | None = None,
    on_failure: OnFailure | None = None,
    limit: int | None = None,
) -> Iterator[ImageSet]:
    """Batches of the images of an IDX images file and, when there is one, its labels file, read a few at
    a time (:func:`~.arrays.iter_array_batches`) after both headers are checked, here at the call.

    ``labels_path`` defaults to the MNIST-style sibling (:func:`labels_path_for`); names are
    ``<stem>-<index:05d>`` with ``stem`` defaulting to the file name without ``.gz``. 28×28 images are
    taken as they are; other sizes are normalised like folder images.
    """
    images_path = Path(images_path)
    header = read_idx_header(images_path, IMAGES_MAGIC)
    count, rows, cols = header.shape
    labels_path = labels_path_for(images_path) if labels_path is None else Path(labels_path)
    labels = None
    if labels_path is not None:
        found = read_idx_header(labels_path, LABELS_MAGIC).shape[0]
        if found != count:
            raise DataError(f"{labels_path}: {found} labels for the {count} images of {images_path.name}")
        labels = read_idx_labels(labels_path)
    prefix, width = stem or idx_stem(images_path), max(5, len(str(max(count - 1, 0))))
    item_bytes = header.dtype.itemsize * rows * cols

    def batches() -> Iterator[ImageSet]:
        with header.elements() as elements:

            def read(k: int) -> np.ndarray:
                values = np.frombuffer(elements.read(k * item_bytes), dtype=header.dtype).reshape(k, rows, cols)
                if elements.done == header.offset + header.data_bytes:
                    elements.end()
                return values.astype(header.dtype.newbyteorder("="), copy=False)

            yield from iter_array_batches(
                read,
                count,
                item_bytes,
                str(images_path),
                lambda i: f"{prefix}-{i:0{width}d}",
                labels,
                on_failure,
                batch_size,
                limit,
            )

    return batches()


def load_idx_images(
    images_path: str | Path,
    labels_path: str | Path | None = None,
    stem: str | None = None,
    on_failure: OnFailure | None = None,
) -> ImageSet:
    """Every image of an IDX images file in one :class:`ImageSet` (arguments as for :func:`iter_idx_images`)."""
    return ImageSet.concat(iter_idx_images(images_path, DEFAULT_BATCH_SIZE, labels_path, stem, on_failure))


def idx_count(path: str | Path) -> int:
    """The first size in an IDX header (the number of items), read without loading the data."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(2)
            handle.seek(0)
            stream = gzip.GzipFile(fileobj=handle) if start == GZIP_MAGIC else handle
            header = stream.read(8)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read the IDX header: {error}") from error
    if len(header) < 8:
        raise DataError(f"{path}: truncated IDX header ({len(header)} bytes)")
    return int.from_bytes(header[4:8], "big")
