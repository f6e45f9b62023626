"""Terminal output: one console on stderr for warnings, progress bars and summaries, one on stdout for results."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

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
