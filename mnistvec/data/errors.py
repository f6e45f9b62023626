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

import sys
from collections.abc import Callable
from dataclasses import dataclass
from ..errors import InputError


class DataError(InputError):
    """A source cannot be read at all; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Failure:
    """One item that could not be read: ``path`` names it, ``reason`` says why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


OnFailure = Callable[[Failure], None]


def warn_on_stderr(failure: Failure) -> None:
    """Print ``warning: <path>: <reason>`` as one line on standard error."""
    notice(failure.path, failure.reason)


def notice(path, message: str) -> None:
    """Print ``warning: <path>: <message>`` as one line on standard error: something the user should know
    about an item that was read all the same."""
    print(f"warning: {path}: {message}", file=sys.stderr, flush=True)
