"""The one base class for a user's mistakes.

An `InputError` says what is wrong with something the user gave (a file, a folder, an option, a model)
in one line that names it; the command line prints that line and no traceback. Anything else raised
inside the package is a bug and keeps its traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """A problem with the user's input or environment; the message is one line naming it."""


class DataError(InputError):
    """A source of images cannot be read at all; the message is one line naming the file and the problem."""
