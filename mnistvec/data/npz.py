"""NumPy ``.npz`` archives of images.

The archive must hold an ``images`` array, ``[B, H, W]`` or a single ``[H, W]``,
either integers in ``0..255`` (read as ``v / 255``) or floats in ``[0, 1]``;
it may hold ``names`` (``B`` distinct strings) and ``labels`` (``B`` integers).  Items
are normalised as folder images are (28×28 as they are, other sizes fitted and
centred MNIST-style, light backgrounds inverted); items without ink become
failures ``<file>[<index>]`` and are left out, with their names and labels.
A missing ``images`` key, NaN or infinite values, values out of range,
names/labels of the wrong length, or a name given twice raise :class:`DataError`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mnistvec.data.arrays import images_from_array
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.imageset import ImageSet


def read_npz(path: str | Path, on_failure: OnFailure | None = None) -> ImageSet:
    """Read an ``.npz`` archive of images (see the module docstring)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            if "images" not in keys:
                raise DataError(f"{path}: no 'images' array in this .npz ({_holding(keys)})")
            images = archive["images"]
            names = _names(archive["names"], path) if "names" in keys else None
            labels = archive["labels"] if "labels" in keys else None
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    except ValueError as error:
        raise DataError(f"{path}: cannot load an array: {error}") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    return images_from_array(images, str(path), names=names, labels=labels, on_failure=on_failure)


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
            raise DataError(f"{path}: 'names' holds {name!r} twice (items {first[name]} and {index}); "
                            "item names must be unique")
        first[name] = index
    return names


def npz_count(path: str | Path) -> int:
    """How many images the archive's ``images`` array holds, read from its header only."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if "images.npy" not in archive.namelist():
                raise DataError(f"{path}: no 'images' array in this .npz ({_holding(archive.namelist())})")
            with archive.open("images.npy") as member:
                major, _ = np.lib.format.read_magic(member)
                read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, _, _ = read_header(member)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    return 1 if len(shape) == 2 else int(shape[0]) if shape else 0
