"""Read and write IDX files, the format MNIST is distributed in (optionally gzip-compressed).

An IDX file is a 4-byte magic number ``00 00 T D`` (``T`` the element type,
``D`` the number of dimensions), ``D`` big-endian uint32 sizes, then the
``n₁ × … × n_D`` elements in C order, big-endian.  MNIST images are magic
2051 (``T = 0x08`` unsigned byte, ``D = 3``: count, rows, columns) and labels
2049 (``T = 0x08``, ``D = 1``: count).  A file is valid when its length is
exactly ``4 + 4·D + itemsize · Π nᵢ`` bytes (after decompression).
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from mnistvec.data.arrays import images_from_array
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.imageset import ImageSet, indexed_names

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


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic; errors become :class:`DataError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise DataError(f"{path}: truncated gzip stream (the compressed file ends early)") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip data ({error})") from error


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


def looks_like_idx(path: str | Path) -> bool:
    """True when the name is MNIST-style (``*-idx3-ubyte[.gz]``) or the content starts with an IDX images or labels magic."""
    return bool(IDX_NAME.search(Path(path).name)) or peek_magic(path) in (IMAGES_MAGIC, LABELS_MAGIC)


def parse_idx(data: bytes, path: str | Path = "<bytes>", expected_magic: int | None = None) -> np.ndarray:
    """Decode IDX bytes into a native-endian array, checking the magic and the length."""
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file: only {len(data)} bytes, too short for the 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    zero, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if expected_magic is not None and magic != expected_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
        found = f" ({kind[magic]})" if magic in kind else ""
        raise DataError(
            f"{path}: bad IDX magic number {magic} (0x{magic:08x}){found}; "
            f"expected {expected_magic} (IDX {kind.get(expected_magic, 'data')})"
        )
    if zero != 0 or type_code not in ELEMENT_TYPES or ndim == 0:
        raise DataError(f"{path}: not an IDX file: bad magic number 0x{magic:08x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header: {len(data)} bytes, the {ndim} sizes need {header}")
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = ELEMENT_TYPES[type_code]
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    sizes = " × ".join(str(n) for n in shape)
    if len(data) < expected:
        raise DataError(
            f"{path}: truncated IDX file: the header promises {sizes} elements "
            f"({expected - header} bytes of data) but only {len(data) - header} bytes follow"
        )
    if len(data) > expected:
        raise DataError(
            f"{path}: IDX file has {len(data) - expected} unexpected bytes after the {sizes} elements its header describes"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, expected_magic: int | None = None) -> np.ndarray:
    """Read a whole IDX file (``.gz`` or raw)."""
    return parse_idx(read_bytes(path), path, expected_magic)


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
    """The labels file next to an images file, MNIST-style (``x-images-idx3-ubyte`` → ``x-labels-idx1-ubyte``, with or without ``.gz``)."""
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


def load_idx_images(
    images_path: str | Path,
    labels_path: str | Path | None = None,
    stem: str | None = None,
    on_failure: OnFailure | None = None,
) -> ImageSet:
    """An :class:`ImageSet` from an IDX images file and, when there is one, its labels file.

    ``labels_path`` defaults to the MNIST-style sibling (:func:`labels_path_for`);
    names are ``<stem>-<index:05d>`` with ``stem`` defaulting to the file name
    without ``.gz``.  28×28 images are taken as they are; other sizes are
    normalised like folder images.
    """
    images_path = Path(images_path)
    images = read_idx_images(images_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: IDX images must have 3 dimensions (count, rows, columns), not {images.ndim}")
    labels_path = labels_path_for(images_path) if labels_path is None else Path(labels_path)
    labels = None
    if labels_path is not None:
        labels = read_idx_labels(labels_path)
        if labels.shape != (len(images),):
            raise DataError(
                f"{labels_path}: {len(labels)} labels for the {len(images)} images of {images_path.name}"
            )
    names = indexed_names(stem or idx_stem(images_path), len(images))
    return images_from_array(images, str(images_path), names=names, labels=labels, on_failure=on_failure)


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
