"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A reader (or a re-run after an interruption) sees either the old file or the complete new one, never a
half-written file: `os.replace` is atomic within one filesystem. Temporary files are created exclusively
with the usual permissions (0666 less the umask), named after the target, this process and a counter.
"""

from __future__ import annotations

import itertools
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".tmp-"
_counter = itertools.count()
_made_dirs: set[Path] = set()
_lock = threading.Lock()


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create the temporary sibling of `path` (making its folder when needed); return it and its fd."""
    parent = path.parent
    if parent not in _made_dirs:
        parent.mkdir(parents=True, exist_ok=True)
        with _lock:
            _made_dirs.add(parent)
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{next(_counter)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return tmp, os.open(tmp, flags, 0o666)
    except FileNotFoundError:  # the folder was removed since it was made
        parent.mkdir(parents=True, exist_ok=True)
        return tmp, os.open(tmp, flags, 0o666)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary path beside `path`; on success rename it to `path`, else delete it."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (one exclusive create, one write, one rename)."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
