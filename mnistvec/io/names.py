"""Item names to output file stems: safe relative paths, one per name, the same for a name on every run.

A stem is the name itself when the name is already a tidy relative path: components of ``A-Z a-z 0-9 . _ -``,
none empty, ``.`` or ``..``, none starting with a dot, none longer than `MAX_COMPONENT` bytes, and no folder
component ending in ``.svg`` or ``.png`` (where another item's file could have to go). Any other name is
tidied — unsafe characters become ``_``, a leading dot ``_``, empty, ``.`` and ``..`` components are dropped,
long components cut — and marked with ``~`` and 16 hex digits of the SHA-256 of the whole name
(``a b.png`` -> ``a_b.png~47c1591e5957a3c3``). A tidy name never holds ``~``, so the stems of distinct
names differ (up to a 64-bit hash collision), whatever the names; a stem depends on its name alone, so
it is stable across runs and folders. `output_stems` also numbers repeats of one name in a list (``~1``, ``~2``, ...),
so even a file with duplicate names gets one output file per item.

Every stem is ASCII, and each of its components fits, with ``.svg``, ``.png`` and a temporary file's name
around it, in the 255 bytes a file name may have.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_COMPONENT = 200
"""Bytes of one tidied component (before the ``~`` mark and the output's extension)."""
_OUTPUT_SUFFIXES = (".svg", ".png")
HASH_DIGITS = 16


def _tidy(part: str, last: bool) -> str:
    part = _UNSAFE.sub("_", part)[:MAX_COMPONENT]
    if part.startswith("."):
        part = "_" + part[1:]
    if not last and part.lower().endswith(_OUTPUT_SUFFIXES):
        part += "_"
    return part


def output_stem(name: str) -> str:
    """The stem of one name (module docstring): 'digits/7.png' -> 'digits/7.png', 'a b.png' -> 'a_b.png~<hash>'."""
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".", "..")]
    tidy = [_tidy(p, k == len(parts) - 1) for k, p in enumerate(parts)] or ["_"]
    stem = "/".join(tidy)
    if stem == name:
        return stem
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]
    return f"{stem}~{digest}"


def output_stems(names: list[str], seen: dict[str, int] | None = None) -> list[str]:
    """`output_stem` of each name; the k-th repeat of a name (k >= 1) gets ``~k`` after its stem.

    Pass the same `seen` dict to successive calls to number repeats across the batches of a stream.
    """
    seen = {} if seen is None else seen
    stems = []
    for name in names:
        stem = output_stem(name)
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        stems.append(stem if count == 0 else f"{stem}~{count}")
    return stems


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def printable(name: str) -> str:
    """`name` as text any UTF-8 file can hold: the bytes of a file name that is not UTF-8 (held as lone
    surrogates, as `os.fsdecode` gives them) and characters XML forbids become U+FFFD."""
    try:
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        pass
    return _XML_ILLEGAL.sub("\ufffd", name)


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of `text`, the bytes of non-UTF-8 file names restored (surrogateescape), any other lone
    surrogate written as a backslash escape: what a list of file names should hold."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")
