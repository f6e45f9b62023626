"""An append-only journal of finished vectors, so a long batch job keeps its results on disk as it goes.

`mnistvec encode` appends each finished batch here (after its SVG and PNG files are written) instead of
holding every result in memory, and turns the journal into vectors.npz at the end (`npz_stream`). Memory
stays flat however many images there are; a run killed outright (even `kill -9`) leaves a journal whose
complete records the next run reuses.

File layout: the header ``MAGIC, u32 length, JSON meta`` (the model that made the vectors, N), then one
record per batch:

    u32 RECORD, u32 count, u64 payload length, u32 crc32(payload), payload

with payload = ``count`` u32 name lengths, the UTF-8 names (a name that is not valid Unicode text — the
name of a file whose bytes are not UTF-8, held as lone surrogates by `os.fsdecode` — is kept exactly with
Python's ``surrogatepass``), then lines f32 [count, N, 4], widths f32 [count, N], opacity f32 [count, N]
and frames f64 [count, 6], then ``count`` u32 lengths and the UTF-8 doubts (why an item is not one digit
on a plain background, "" for most), little-endian; records of journals written before doubts were kept
end after the frames, and read with no doubts. A record cut short by a kill (too short, or a CRC that does
not match) ends the journal: everything before it is intact.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnistvec.errors import InputError

MAGIC = b"MNVJ\x01\n"
RECORD = 0x4A564E4D
_RECORD_HEAD = struct.Struct("<IIQI")
_LENGTH = struct.Struct("<I")
FRAME_SIZE = 6


class JournalError(InputError, ValueError):
    """A file that is not a journal (message names the file)."""


@dataclass
class Entries:
    """A batch of finished items: names and their arrays (frames as in `mnistvec.lines`), and why each
    item is doubted (`mnistvec.data.doubts`; "" when it is not, all "" when not given)."""

    names: list[str]
    lines: np.ndarray
    widths: np.ndarray
    opacity: np.ndarray
    frames: np.ndarray
    doubts: list[str] | None = None

    def __post_init__(self) -> None:
        self.doubts = [""] * len(self.names) if self.doubts is None else list(self.doubts)

    def __len__(self) -> int:
        return len(self.names)

    def without(self, positions: list[int]) -> Entries:
        """The entries less those at `positions`."""
        if not positions:
            return self
        dropped = set(positions)
        keep = [i for i in range(len(self)) if i not in dropped]
        return Entries(
            [self.names[i] for i in keep],
            self.lines[keep],
            self.widths[keep],
            self.opacity[keep],
            self.frames[keep],
            [self.doubts[i] for i in keep],
        )


class JournalWriter:
    """Append batches to the journal at `path`, each flushed to disk. The file is created (replacing any
    older journal) at the first append, so a run that finishes nothing leaves an older journal alone."""

    def __init__(self, path: Path, meta: dict):
        self.path = Path(path)
        self.meta = meta
        self.n_lines = int(meta["n_lines"])
        self.count = 0
        self._file: BinaryIO | None = None

    def append(self, entries: Entries) -> None:
        """Append one record (a no-op for an empty batch)."""
        if len(entries) == 0:
            return
        if self._file is None:
            self._file = open(self.path, "wb")
            encoded = json.dumps(self.meta).encode("utf-8")
            self._file.write(MAGIC + _LENGTH.pack(len(encoded)) + encoded)
        names = _texts(entries.names)
        payload = b"".join(
            [
                names,
                np.ascontiguousarray(entries.lines, "<f4").reshape(len(entries), self.n_lines, 4).tobytes(),
                np.ascontiguousarray(entries.widths, "<f4").reshape(len(entries), self.n_lines).tobytes(),
                np.ascontiguousarray(entries.opacity, "<f4").reshape(len(entries), self.n_lines).tobytes(),
                np.ascontiguousarray(entries.frames, "<f8").reshape(len(entries), FRAME_SIZE).tobytes(),
                _texts(entries.doubts),
            ]
        )
        self._file.write(_RECORD_HEAD.pack(RECORD, len(entries), len(payload), zlib.crc32(payload)) + payload)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.count += len(entries)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _texts(texts: list[str]) -> bytes:
    """``len(texts)`` u32 byte lengths, then the UTF-8 texts (lone surrogates kept: ``surrogatepass``)."""
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    return np.array([len(e) for e in encoded], "<u4").tobytes() + b"".join(encoded)


def read_meta(path: Path) -> dict:
    """The journal's meta; JournalError when the file is not a journal."""
    with open(path, "rb") as handle:
        return _read_header(handle, path)


def read_entries(path: Path) -> Iterator[Entries]:
    """The journal's complete records in order; a torn or corrupt tail ends the iteration quietly."""
    with open(path, "rb") as handle:
        n_lines = int(_read_header(handle, path)["n_lines"])
        while True:
            head = handle.read(_RECORD_HEAD.size)
            if len(head) < _RECORD_HEAD.size:
                return
            tag, count, size, crc = _RECORD_HEAD.unpack(head)
            payload = handle.read(size) if tag == RECORD else b""
            if tag != RECORD or len(payload) < size or zlib.crc32(payload) != crc:
                return
            yield _parse(payload, count, n_lines)


def _read_header(handle: BinaryIO, path: Path) -> dict:
    start = handle.read(len(MAGIC) + _LENGTH.size)
    if len(start) < len(MAGIC) + _LENGTH.size or not start.startswith(MAGIC):
        raise JournalError(f"{path}: not an encode journal")
    (length,) = _LENGTH.unpack(start[len(MAGIC) :])
    try:
        return json.loads(handle.read(length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JournalError(f"{path}: damaged encode journal header") from None


def _parse(payload: bytes, count: int, n_lines: int) -> Entries:
    at = 0

    def texts() -> list[str]:
        nonlocal at
        lengths = np.frombuffer(payload, "<u4", count, at)
        at += 4 * count
        found = []
        for length in lengths.tolist():
            found.append(payload[at : at + length].decode("utf-8", "surrogatepass"))
            at += length
        return found

    def take(dtype: str, shape: tuple) -> np.ndarray:
        nonlocal at
        array = np.frombuffer(payload, dtype, int(np.prod(shape)), at).reshape(shape)
        at += array.nbytes
        return array.astype(np.dtype(dtype).newbyteorder("="))

    names = texts()
    arrays = (
        take("<f4", (count, n_lines, 4)),
        take("<f4", (count, n_lines)),
        take("<f4", (count, n_lines)),
        take("<f8", (count, FRAME_SIZE)),
    )
    return Entries(names, *arrays, texts() if at < len(payload) else None)
