"""Overlapping stages of batch work with threads: read ahead while encoding, write behind.

PIL decoding, torch kernels, the native library's calls and file system calls release the GIL, so a
reader thread, the main thread and a writer thread each make progress while the others wait on I/O or
compute.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


@contextmanager
def single_torch_thread(enabled: bool = True) -> Iterator[None]:
    """Run torch's CPU kernels on one thread for the duration (when `enabled`).

    With a reader and a writer thread busy beside it, torch's own worker threads oversubscribe the cores and
    every parallel kernel waits for a descheduled worker; one torch thread leaves the other cores to I/O.
    """
    if not enabled:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
HEAP_MMAP_THRESHOLD = 64 << 20
HEAP_TRIM_THRESHOLD = 256 << 20


@functools.cache
def steady_heap() -> bool:
    """Keep the memory of large freed blocks in the process heap for reuse (glibc only; returns whether it
    applied).

    The encoder allocates and frees activations of several MiB for every batch. By default glibc serves
    blocks that large with fresh memory maps and returns them on free, so every batch page-faults its
    activations in again (zeroed by the kernel): that doubles the encoder's time on a small CPU. Raising
    the map threshold to `HEAP_MMAP_THRESHOLD` and the trim threshold to `HEAP_TRIM_THRESHOLD` keeps those
    pages; the process holds on to its peak working set (a few hundred MiB at most) until it exits."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
        if mallopt is None or getattr(libc, "gnu_get_libc_version", None) is None:
            return False
        return bool(mallopt(_M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD)) and bool(
            mallopt(_M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD)
        )
    except OSError:
        return False


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate `items` in a background thread, up to `depth` ahead; exceptions re-raise in the consumer."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((True, _DONE))
        except BaseException as err:  # handed to the consumer
            buffer.put((False, err))

    thread = threading.Thread(target=produce, name="mnistvec-reader", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = buffer.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()


class WriteBehind:
    """Run write jobs in one background thread, in order; `drain()` waits and re-raises the first error."""

    def __init__(self, max_pending: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnistvec-writer")
        self._pending: list[Future] = []
        self._max_pending = max_pending

    def submit(self, job: Callable[[], None]) -> None:
        self._pending.append(self._pool.submit(job))
        while len(self._pending) > self._max_pending:
            self._pending.pop(0).result()

    def drain(self) -> None:
        try:
            while self._pending:
                self._pending.pop(0).result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc) -> None:
        self.drain()
