"""Errors and per-item failures reported by the data readers.

Two kinds of problem are distinguished:

* a whole-source problem (the path does not exist, an empty folder, a bad IDX
  header, an ``.npz`` without ``images``) raises :class:`DataError`, whose
  message names the file and the problem in one line;
* a problem with one item of a larger source (a corrupt PNG in a folder, a
  blank image) becomes a :class:`Failure`: it is passed to an ``on_failure``
  callback (by default :func:`warn_on_stderr`), recorded in
  ``ImageSet.failures``, and the rest of the source is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mnistvec.errors import DataError  # noqa: F401  (data's errors, defined with the others)
from mnistvec.io.console import warn


@dataclass(frozen=True)
class Failure:
    """One item that could not be read: ``path`` names it, ``reason`` says why; ``name`` is the item's name
    as the reader would have given it (``""`` where it has none, as for a folder that cannot be listed)."""

    path: str
    reason: str
    name: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


OnFailure = Callable[[Failure], None]


def warn_on_stderr(failure: Failure) -> None:
    """Print ``warning: <path>: <reason>`` as one line on standard error."""
    notice(failure.path, failure.reason)


def notice(path, message: str) -> None:
    """Print ``warning: <path>: <message>`` as one line on standard error: something the user should know
    about an item that was read all the same."""
    warn(f"{path}: {message}")
