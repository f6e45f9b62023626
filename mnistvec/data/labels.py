"""Labels for a user's own digits: a CSV file of ``name,label`` rows, or class sub-folders ``0/`` … ``9/``.

The CSV file's first row names its columns; ``name`` and ``label`` must be among them (any order, any
case; other columns are ignored). A name is an item's name as the readers give it (for a folder, the
file's path below the folder with its extension, ``7/img_001.png``; the same without the extension is
accepted too, when it names one image); a label is a digit 0–9. Every item scored needs a label, and
every name must be an item of the source: a mistake in the file is one :class:`DataError` naming the
file, the line and the problem.

Without a CSV file, a folder whose images all lie in sub-folders named ``0`` … ``9`` takes its labels from
them (``FOLDER/7/a.png`` is a 7).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from mnistvec.data.errors import DataError
from mnistvec.data.folder import IMAGE_EXTENSIONS

COLUMNS = ("name", "label")
SHOWN = 3
"""How many offending names an error message lists."""


def read_labels_csv(path: str | Path) -> dict[str, tuple[int, int]]:
    """name -> (label, line number) from the CSV file at ``path`` (module docstring)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _rows(csv.reader(handle), path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (expected UTF-8 CSV with columns name,label)") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV file ({error})") from None


def _rows(reader: Iterable[list[str]], path: Path) -> dict[str, tuple[int, int]]:
    header = next(iter(reader), None)
    columns = [cell.strip().lower() for cell in header or []]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise DataError(
            f"{path}: no column named {' or '.join(missing)}: the first row must name the columns, as in name,label"
        )
    at_name, at_label = columns.index("name"), columns.index("label")
    table: dict[str, tuple[int, int]] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        name, value = (row[k].strip() if k < len(row) else "" for k in (at_name, at_label))
        if not name:
            raise DataError(f"{path}: line {line}: no name")
        if value not in {str(d) for d in range(10)}:
            raise DataError(f"{path}: line {line}: the label of {name!r} is {value!r}, not a digit 0-9")
        if name in table and table[name][0] != int(value):
            raise DataError(
                f"{path}: line {line}: {name!r} is labelled {value}, but {table[name][0]} on line {table[name][1]}"
            )
        table[name] = (int(value), line)
    return table


def labels_for(
    names: Sequence[str], table: dict[str, tuple[int, int]], known: Iterable[str], path: Path, source: str
) -> np.ndarray:
    """int64 labels of ``names`` from ``table`` (:func:`read_labels_csv` of ``path``); ``known`` are all the
    item names of ``source``. DataError when the table names an item ``source`` does not have, gives one
    item two labels, or has no label for one of ``names``."""
    known = set(known)
    by_stem: dict[str, list[str]] = {}
    for name in known:
        by_stem.setdefault(_without_image_extension(name), []).append(name)
    by_item: dict[str, tuple[int, int, str]] = {}
    unknown = []
    for written, (label, line) in table.items():
        item = _item_name(written, known, by_stem)
        if item is None:
            unknown.append(written)
        elif item in by_item and by_item[item][0] != label:
            raise DataError(
                f"{path}: line {line}: {written!r} is labelled {label}, but {by_item[item][2]!r} "
                f"({by_item[item][0]}, line {by_item[item][1]}) is the same image"
            )
        else:
            by_item[item] = (label, line, written)
    if unknown:
        raise DataError(
            f"{path}: {len(unknown)} name(s) are no image of {source}: {_some(unknown)} (an image's "
            f"name is the one encode gives it in vectors.npz)"
        )
    unlabelled = [name for name in names if name not in by_item]
    if unlabelled:
        raise DataError(f"{path}: no label for {len(unlabelled)} of the {len(names)} images: {_some(unlabelled)}")
    return np.array([by_item[name][0] for name in names], np.int64)


def _item_name(written: str, known: set[str], by_stem: dict[str, list[str]]) -> str | None:
    """The item a CSV name means: itself; else the one item whose name is it with an image extension added
    or taken away (`by_stem`: known names by their name without an image extension); None when it means
    none or several."""
    if written in known:
        return written
    path = str(PurePosixPath(written.replace("\\", "/")))
    if path in known:
        return path
    matches = by_stem.get(_without_image_extension(path), [])
    return matches[0] if len(matches) == 1 else None


def _without_image_extension(name: str) -> str:
    path = PurePosixPath(name)
    return str(path.with_suffix("")) if path.suffix.lower() in IMAGE_EXTENSIONS else name


def class_folder_labels(names: Sequence[str]) -> tuple[np.ndarray | None, list[str]]:
    """(labels, names outside class folders): each item's label is its first folder when that is ``0`` …
    ``9``; labels are None unless every item has one."""
    firsts = [name.split("/", 1)[0] if "/" in name else "" for name in names]
    outside = [name for name, first in zip(names, firsts) if first not in {str(d) for d in range(10)}]
    if outside or not names:
        return None, outside
    return np.array([int(first) for first in firsts], np.int64), []


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in list(names)[:SHOWN])
    return shown + (", …" if len(names) > SHOWN else "")
