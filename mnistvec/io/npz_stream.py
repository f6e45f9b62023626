"""Write vectors.npz from a journal array by array, so memory stays flat however many items it holds.

The archive is the one `Vectors.save` writes (``lines``, ``widths``, ``opacity``, ``names``, ``frames``,
``suspect``, ``suspect_reason``, ``meta``), deflate-compressed; each array's ``.npy`` header states its
full shape up front and its data follows in journal-record-sized pieces, one pass over the journal per
array (a journal of at most `IN_MEMORY_BYTES` is read once and held instead). Written atomically, deflated
at level 1: stroke numbers barely compress, and a higher level only costs time.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnistvec.io.atomic import atomic_path
from mnistvec.io.journal import FRAME_SIZE, Entries, read_entries
from mnistvec.io.vectors import FORMAT_VERSION

IN_MEMORY_BYTES = 64 << 20
"""Journals up to this size are parsed once and held while the archive is written."""

COMPRESS_LEVEL = 1


def npz_from_journal(path: Path, journal: Path, meta: dict) -> int:
    """Write the journal's items to the vectors file `path`; return how many (0: nothing is written)."""
    held = list(read_entries(journal)) if journal.stat().st_size <= IN_MEMORY_BYTES else None

    def records():
        return iter(held) if held is not None else read_entries(journal)

    count, longest, longest_doubt = 0, 1, 1
    for entries in records():
        count += len(entries)
        longest = max(longest, *(len(name) for name in entries.names))
        longest_doubt = max(longest_doubt, *(len(doubt) for doubt in entries.doubts))
    if count == 0:
        return 0
    n_lines = int(meta["n_lines"])
    names_dtype, doubts_dtype = f"<U{longest}", f"<U{longest_doubt}"
    columns: dict[str, tuple[str, tuple, Callable[[Entries], np.ndarray]]] = {
        "lines": ("<f4", (count, n_lines, 4), lambda e: e.lines),
        "widths": ("<f4", (count, n_lines), lambda e: e.widths),
        "opacity": ("<f4", (count, n_lines), lambda e: e.opacity),
        "names": (names_dtype, (count,), lambda e: np.array(e.names, dtype=names_dtype)),
        "frames": ("<f8", (count, FRAME_SIZE), lambda e: e.frames),
        "suspect": ("|b1", (count,), lambda e: np.array([bool(d) for d in e.doubts], dtype=bool)),
        "suspect_reason": (doubts_dtype, (count,), lambda e: np.array(e.doubts, dtype=doubts_dtype)),
    }
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive,
    ):
        for key, (dtype, shape, column) in columns.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": dtype, "fortran_order": False, "shape": shape})
                for entries in records():
                    member.write(np.ascontiguousarray(column(entries), dtype).tobytes())
        with archive.open("meta.npy", "w") as member:
            np.lib.format.write_array(member, np.array(json.dumps({"format_version": FORMAT_VERSION, **meta})))
    return count
