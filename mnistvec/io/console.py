"""Terminal output: one console on stderr for warnings, progress bars and summaries, one on stdout for results.

Diagnostics never stop the work: `guard_std_streams` (the command line installs it) makes a write to a
stdout or stderr that is gone — a closed pipe (``mnistvec encode ... 2>&1 | head -1``), a closed terminal —
switch that stream to /dev/null and carry on silently, so the job finishes its outputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True, highlight=False)
results = Console(highlight=False)
"""Standard output, for a command's results (tables a script may read); everything else goes to `console`."""

PROGRESS_MIN_ITEMS = 200
"""Batches smaller than this finish too fast for a progress bar to help."""


def warn(message: str) -> None:
    """One warning line on stderr."""
    console.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def info(message: str) -> None:
    """One plain line on stderr."""
    console.print(escape(message), soft_wrap=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator:
    """A rich progress bar (count, rate, ETA) for long work; `advance(n)` moves it. Silent for small totals."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=total < PROGRESS_MIN_ITEMS,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


class _Quiet:
    """A text stream whose writes never raise: when its file is gone, it goes on into /dev/null."""

    def __init__(self, stream):
        self._stream = stream

    def _silence(self) -> None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())  # the buffer's next flush (and Python's at exit) succeeds
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text):
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._silence()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guard_std_streams() -> None:
    """Make sys.stdout and sys.stderr quiet on error (module docstring); idempotent."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Quiet):
            setattr(sys, name, _Quiet(stream))
