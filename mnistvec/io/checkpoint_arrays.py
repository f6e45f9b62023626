"""A checkpoint's contents as numpy arrays, read without importing torch.

`torch.save` writes a zip archive of stored members: `<prefix>/data.pkl`, a pickle of the payload whose
tensors point at `<prefix>/data/<key>`, one member of raw little-endian bytes per storage. Importing torch
takes seconds, so a command that only needs the weights' numbers reads them here: the result is the nested
dict `torch.load(path, weights_only=True)` gives, each tensor a numpy array of its dtype and shape.

Nothing the file holds is trusted. The pickle is read by an unpickler that knows only `OrderedDict`, the
tensor rebuilder and the storage types of STORAGE_DTYPES; any other name it holds makes the whole file
unreadable here, and nothing it names is ever imported or run. A storage must hold the bytes it claims,
a tensor may only reach elements inside its storage, and all arrays together hold at most
MAX_GROWTH times the file's bytes (views of one storage are copied apart). The zip and header checks are
those of `load_checkpoint` (`refuse_inflating`, `check_fields`, `check_config`). Anything unreadable,
untrusted or failing a check gives None, never an exception: the caller then falls back on
`load_checkpoint`, which says what is wrong.
"""

from __future__ import annotations

import collections
import math
import pickle
import zipfile
from pathlib import Path

import numpy as np

from mnistvec.io.checkpoint import FORMAT, FORMAT_VERSION, CheckpointError, check_config, check_fields, refuse_inflating

STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
"""The torch storage types read here and the (little-endian) numpy dtype of their bytes; bfloat16 and the
others numpy cannot hold are not among them."""

MAX_GROWTH = 4
"""How many times the file's bytes the arrays read from it may hold together."""


class _Refused(Exception):
    """The pickle holds something this reader does not rebuild."""


class _Sealed:
    """An object the pickle may name but not change: no `__dict__`, and a pickle that would set its state
    (BUILD) is refused."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Refused("a pickle that changes what it names")


class _StorageType(_Sealed):
    """A torch storage type the pickle names (never a dtype it could pass to numpy itself)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Storage(_Sealed):
    """A storage's elements, a read-only flat array, as the pickle names it."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = values


class _Rebuild(_Sealed):
    """The stand-in for torch's `_rebuild_tensor_v2`."""

    __slots__ = ("reader",)

    def __init__(self, reader: _Unpickler):
        self.reader = reader

    def __call__(self, *args):
        return self.reader.rebuild_tensor(*args)


class _Unpickler(pickle.Unpickler):
    """Rebuilds plain containers, OrderedDicts and tensors (as arrays) from `<prefix>/data/<key>` members."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, budget: int):
        super().__init__(file)
        self.archive, self.prefix, self.budget = archive, prefix, budget
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Rebuild(self)
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _Refused("a persistent reference other than a storage")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType) or type(key) is not str or type(numel) is not int or numel < 0:
            raise _Refused("a malformed storage reference")
        dtype = STORAGE_DTYPES[storage_type.name]
        if key not in self.storages:
            info = self.archive.getinfo(f"{self.prefix}/data/{key}")
            nbytes = numel * dtype.itemsize
            if info.file_size < nbytes:
                raise _Refused(f"storage {key} holds {info.file_size} bytes, not {nbytes}")
            with self.archive.open(info) as member:
                raw = member.read(nbytes)
            if len(raw) != nbytes:
                raise _Refused(f"storage {key} is short")
            self.storages[key] = _Storage(np.frombuffer(raw, dtype=dtype))
        storage = self.storages[key]
        if storage.values.dtype != dtype or storage.values.size != numel:
            raise _Refused(f"storage {key} named with two types or sizes")
        return storage

    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, *rest):
        """The tensor torch's `_rebuild_tensor_v2` would build, as a contiguous numpy copy, once every
        element its view reaches is known to lie inside the storage."""
        del requires_grad, backward_hooks  # no meaning for an array
        if not isinstance(storage, _Storage) or any(rest):
            raise _Refused("a tensor with metadata or without a storage")
        if type(size) is not tuple or type(stride) is not tuple or len(size) != len(stride):
            raise _Refused("a tensor's size and stride do not match")
        if not all(type(n) is int and n >= 0 for n in (storage_offset, *size, *stride)):
            raise _Refused("a tensor with a negative or non-integer size, stride or offset")
        values = storage.values
        count = math.prod(size)
        self.budget -= count * values.itemsize
        if self.budget < 0:
            raise _Refused("the tensors hold far more than the file")
        if count == 0:
            return np.empty(size, dtype=values.dtype.newbyteorder("="))
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= values.size:
            raise _Refused("a tensor reaches past its storage")
        view = np.lib.stride_tricks.as_strided(
            values[storage_offset:],
            shape=size,
            strides=tuple(s * values.itemsize for s in stride),
            writeable=False,
        )
        return np.array(view, dtype=values.dtype.newbyteorder("="), order="C", copy=True)


def _unpickle(path: Path) -> object:
    """The payload of the torch.save archive at `path` with arrays for tensors; _Refused, or whatever the
    zip and pickle readers raise, for a file this cannot read."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        prefix = names[0].split("/", 1)[0] if names and "/" in names[0] else None
        if prefix is None or any(not name.startswith(prefix + "/") for name in names):
            raise _Refused("not one archive folder")
        if f"{prefix}/byteorder" in names and archive.read(f"{prefix}/byteorder") != b"little":
            raise _Refused("not little-endian")
        with archive.open(f"{prefix}/data.pkl") as pkl:
            return _Unpickler(pkl, archive, prefix, MAX_GROWTH * path.stat().st_size).load()


def read_checkpoint_arrays(path: str | Path) -> dict | None:
    """The checkpoint at `path` as `torch.load(path, weights_only=True)` reads it, with numpy arrays of the
    same dtypes and shapes for its tensors, without importing torch; None for a file that cannot be read
    this way, is not trusted or fails a check of `load_checkpoint` (which then says why)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0 or not zipfile.is_zipfile(path):
            return None
        refuse_inflating(path)
        data = _unpickle(path)
    except Exception:  # CheckpointError, _Refused, and the many kinds the zip and pickle readers raise
        return None
    if not isinstance(data, dict) or not isinstance(data.get("format"), str) or data["format"] != FORMAT:
        return None
    try:
        check_fields(data, path, tensor_type=np.ndarray)
        if data.get("format_version", 0) > FORMAT_VERSION:
            return None
        if "config" in data:
            check_config(data["config"], path)
    except CheckpointError:
        return None
    return data
