"""Graceful stops: the first Ctrl-C (SIGINT) or SIGTERM asks long work to stop at the next safe point.

Inside `graceful_stop()`, a signal only sets `requested`; the work polls it between units (an optimiser
step, an image batch), saves what it has, and stops. A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mnistvec.io.console import info


class StopRequest:
    def __init__(self) -> None:
        self.requested = False


@contextmanager
def graceful_stop() -> Iterator[StopRequest]:
    """Install SIGINT/SIGTERM handlers for the duration (main thread only; elsewhere a no-op)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True
        info("stopping at the next safe point (press Ctrl-C again to abort now)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
