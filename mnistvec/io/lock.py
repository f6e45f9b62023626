"""One run at a time per output folder: an advisory lock on a file inside it.

`encode`, `render` and `sample` hold `output_lock(OUTPUT)` while they write there, so two runs into one
folder cannot share (and delete) one journal or overwrite each other's files: the second gets one line
(`OutputBusy`, exit code 1). The lock is `fcntl.flock` on ``OUTPUT/.mnistvec.lock``, which the kernel
releases when the process ends in any way; the file is removed on a normal exit, and one left behind by
`kill -9` is harmless (the next run locks it and removes it). The holder's process id is written in it,
for the message.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnistvec.errors import InputError

LOCK_NAME = ".mnistvec.lock"

try:
    import fcntl
except ImportError:  # not a POSIX system: no locking
    fcntl = None


class OutputBusy(InputError):
    """Another run holds the output folder."""


@contextmanager
def output_lock(folder: str | Path) -> Iterator[None]:
    """Hold the lock of `folder` (which must exist) for the duration; `OutputBusy` when another process holds it.

    On a filesystem without locks (some network filesystems) the work goes on unlocked."""
    path = Path(folder) / LOCK_NAME
    fd = _acquire(path, Path(folder))
    try:
        yield
    finally:
        if fd is not None:
            _release(path, fd)


def _acquire(path: Path, folder: Path) -> int | None:
    if fcntl is None:
        return None
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise OutputBusy(
                f"{folder}: another mnistvec run ({who}) is writing into this folder; wait for it to "
                "finish or choose another output folder"
            ) from None
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return None
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file the previous holder removed between our open and our lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    try:
        os.unlink(path)  # while still locked: whoever opened this file will see it is gone and retry
    except OSError:
        pass
    os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if text.isdigit() else ""
