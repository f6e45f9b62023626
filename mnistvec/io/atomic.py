"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A reader (or a re-run after an interruption) sees either the old file or the complete new one, never a
half-written file: `os.replace` is atomic within one filesystem. Temporary files are created exclusively
with the usual permissions (0666 less the umask), named after the target (its first `TEMP_NAME_BYTES`
bytes, so that the temporary name of any legal target fits in 255 bytes), this process and a counter.

`write_files_atomic` writes a batch of files the same way, in the native library when it is there (outside
Python's global lock, so that other threads run meanwhile), else one after another in Python.

An OS error that concerns one target only (its path is a folder, its name too long, its folder not
writable: `is_item_error`) is the failure of that item, not of a whole batch job.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mnistvec.native import byte_blob, load_library

TEMP_PREFIX = ".tmp-"
TEMP_NAME_BYTES = 32
_counter = itertools.count()
_made_dirs: set[Path] = set()
_lock = threading.Lock()


def _make_parent(path: Path) -> None:
    """Make the folder `path` goes in, unless this process made it already."""
    parent = path.parent
    if parent not in _made_dirs:
        parent.mkdir(parents=True, exist_ok=True)
        with _lock:
            _made_dirs.add(parent)


def _temp_name(path: Path) -> Path:
    """A temporary sibling of `path` that no other writer uses (module docstring)."""
    return path.with_name(f"{TEMP_PREFIX}{_short(path.name)}.{os.getpid()}.{next(_counter)}")


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create the temporary sibling of `path` (making its folder when needed); return it and its fd."""
    _make_parent(path)
    tmp = _temp_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return tmp, os.open(tmp, flags, 0o666)
    except FileNotFoundError:  # the folder was removed since it was made
        path.parent.mkdir(parents=True, exist_ok=True)
        return tmp, os.open(tmp, flags, 0o666)


def _short(name: str) -> str:
    """The first TEMP_NAME_BYTES bytes of a file name (cut anywhere: the bytes need not be UTF-8)."""
    try:
        return os.fsdecode(os.fsencode(name)[:TEMP_NAME_BYTES])
    except UnicodeError:  # a lone surrogate that no file name's bytes decode to
        return name[: TEMP_NAME_BYTES // 4]


ITEM_ERRNOS = frozenset(
    {
        errno.EISDIR,
        errno.ENOTDIR,
        errno.ENAMETOOLONG,
        errno.EEXIST,
        errno.EINVAL,
        errno.EILSEQ,
        errno.EACCES,
        errno.EPERM,
        errno.ELOOP,
        errno.ENOTEMPTY,
    }
)


def is_item_error(err: BaseException) -> bool:
    """True for an OS error about one output path (a folder where the file must go, a name the filesystem
    refuses, a folder that is not writable); False for a full disk, an I/O error or anything else, which
    stop a batch job."""
    return isinstance(err, OSError) and err.errno in ITEM_ERRNOS


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary path beside `path`; on success rename it to `path`, else delete it."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        raise _naming_target(err, path, tmp) from None


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (one exclusive create, one write, one rename)."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        raise _naming_target(err, path, tmp) from None


def write_files_atomic(files: Sequence[tuple[Path, bytes]]) -> list[OSError | None]:
    """Write each `(path, data)` atomically, as `write_bytes_atomic` does, every one of them tried; return
    each one's error (None when written). The paths' folders are made first; a folder that cannot be made
    is the error of the files that go in it."""
    errors: list[OSError | None] = [None] * len(files)
    library = load_library()
    if library is None:
        return _write_each(files, errors, range(len(files)))
    todo = []
    for k, (path, _) in enumerate(files):
        try:
            _make_parent(path)
            todo.append(k)
        except OSError as err:
            errors[k] = _naming_target(err, path, path)
    if not todo:
        return errors
    targets = [os.fsencode(files[k][0]) for k in todo]
    temps = [os.fsencode(_temp_name(files[k][0])) for k in todo]
    blobs = [byte_blob(targets), byte_blob(temps), byte_blob([files[k][1] for k in todo])]
    codes = np.zeros(len(todo), np.int32)
    arguments = [pointer for blob, offsets in blobs for pointer in (blob, offsets.ctypes.data)]
    code = library.mnistvec_write_files(*arguments, len(todo), 1, codes.ctypes.data)
    if code != 0:
        raise RuntimeError(f"mnistvec_write_files failed with code {code}")
    again = [k for k, c in zip(todo, codes.tolist()) if c == errno.ENOENT]  # a folder removed meanwhile
    for k, c in zip(todo, codes.tolist()):
        if c not in (0, errno.ENOENT):
            number = c if c > 0 else errno.EIO
            errors[k] = OSError(number, os.strerror(number), str(files[k][0]))
    return _write_each(files, errors, again)


def _write_each(files: Sequence[tuple[Path, bytes]], errors: list, indices) -> list[OSError | None]:
    """`write_bytes_atomic` for the files at `indices`, each one's OS error kept in `errors`."""
    for k in indices:
        try:
            write_bytes_atomic(*files[k])
        except OSError as err:
            errors[k] = err
    return errors


def _naming_target(err: BaseException, path: Path, tmp: Path) -> BaseException:
    """An OS error about the temporary file or about no file (a full disk) as one about `path`, the file
    the user asked for; any other exception unchanged."""
    if isinstance(err, OSError) and (err.filename is None or Path(err.filename) == tmp):
        return OSError(err.errno, err.strerror or str(err), str(path))
    return err


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}.+\.(\d+)\.\d+$")


def remove_stale_temps(folder: str | Path) -> int:
    """Delete the temporary files that writers killed outright (kill -9, power cut) left under `folder`,
    recognised by their name and the id of a process that no longer runs; return how many."""
    removed = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            match = _TEMP_NAME.match(name)
            if match and not _process_alive(int(match.group(1))):
                Path(parent, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True
