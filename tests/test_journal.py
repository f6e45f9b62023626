"""The encode journal: records survive a kill at any byte, and vectors.npz streams out of it unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mnistvec.io.atomic import TEMP_PREFIX, remove_stale_temps
from mnistvec.io.journal import MAGIC, Entries, JournalError, JournalWriter, read_entries, read_meta
from mnistvec.io.npz_stream import npz_from_journal
from mnistvec.io.vectors import Vectors

META = {"model": "runs/ae/model.pt", "method": "ae", "n_lines": 3, "model_sha256": "0123456789abcdef"}


def batches(sizes=(2, 1, 4)) -> list[Entries]:
    rng = np.random.default_rng(0)
    out, start = [], 0
    for size in sizes:
        names = [f"digits/{start + i:03d} é\n" for i in range(size)]  # any text a file name may hold
        out.append(
            Entries(
                names,
                rng.random((size, 3, 4), np.float32),
                rng.random((size, 3), np.float32),
                rng.random((size, 3), np.float32),
                rng.random((size, 6)),
            )
        )
        start += size
    return out


def write_journal(path, entries: list[Entries]) -> None:
    writer = JournalWriter(path, META)
    for batch in entries:
        writer.append(batch)
    writer.close()


def test_records_read_back_in_order_with_the_meta(tmp_path):
    written = batches()
    write_journal(tmp_path / "j", written)
    assert read_meta(tmp_path / "j") == META
    read = list(read_entries(tmp_path / "j"))
    assert [b.names for b in read] == [b.names for b in written]
    for got, want in zip(read, written):
        for field in ("lines", "widths", "opacity", "frames"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))


def test_a_journal_cut_at_any_byte_yields_exactly_its_complete_records(tmp_path):
    """What a kill -9 during an append leaves: never an error, never a partial record."""
    written = batches()
    write_journal(tmp_path / "j", written)
    whole = (tmp_path / "j").read_bytes()
    header = len(whole) - sum(len(_record_bytes(tmp_path, b)) for b in written)
    ends = np.cumsum([header] + [len(_record_bytes(tmp_path, b)) for b in written])
    cut = tmp_path / "cut"
    for size in range(header, len(whole) + 1):
        cut.write_bytes(whole[:size])
        complete = int(np.searchsorted(ends, size, side="right")) - 1
        assert [b.names for b in read_entries(cut)] == [b.names for b in written[:complete]]


def _record_bytes(tmp_path, entries: Entries) -> bytes:
    """The bytes one record takes: a journal of it alone less the header."""
    solo = tmp_path / "solo"
    write_journal(solo, [entries])
    return solo.read_bytes()[len(MAGIC) + 4 + len(json.dumps(META).encode()) :]


def test_a_damaged_record_ends_the_journal(tmp_path):
    write_journal(tmp_path / "j", batches())
    data = bytearray((tmp_path / "j").read_bytes())
    data[-5] ^= 0xFF  # inside the last record's payload: its checksum no longer matches
    (tmp_path / "j").write_bytes(bytes(data))
    assert [len(b) for b in read_entries(tmp_path / "j")] == [2, 1]


def test_a_file_that_is_not_a_journal_is_refused(tmp_path):
    (tmp_path / "j").write_bytes(b"PK\x03\x04 something else")
    with pytest.raises(JournalError, match="not an encode journal"):
        read_meta(tmp_path / "j")


def test_streamed_npz_holds_what_lines_save_would(tmp_path):
    written = batches((5, 3))
    write_journal(tmp_path / "j", written)
    assert npz_from_journal(tmp_path / "v.npz", tmp_path / "j", META) == 8
    loaded = Vectors.load(tmp_path / "v.npz")
    whole = Vectors(
        *(np.concatenate([getattr(b, f) for b in written]) for f in ("lines", "widths", "opacity")),
        names=[n for b in written for n in b.names],
        frames=np.concatenate([b.frames for b in written]),
    )
    assert loaded.names == whole.names and loaded.meta == {"format_version": 1, **META}
    for field in ("lines", "widths", "opacity", "frames"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(whole, field))


def test_a_writer_that_appends_nothing_leaves_an_older_journal_alone(tmp_path):
    write_journal(tmp_path / "j", batches())
    before = (tmp_path / "j").read_bytes()
    JournalWriter(tmp_path / "j", {**META, "model": "another"}).close()
    assert (tmp_path / "j").read_bytes() == before


def test_only_temporary_files_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (tmp_path / "svg").mkdir()
    stale = tmp_path / "svg" / f"{TEMP_PREFIX}a.svg.{dead_pid}.0"
    live = tmp_path / "svg" / f"{TEMP_PREFIX}b.svg.{os.getpid()}.3"
    mine = tmp_path / "svg" / "a.svg"
    for path in (stale, live, mine):
        path.write_text("x")
    assert remove_stale_temps(tmp_path) == 1
    assert not stale.exists() and live.exists() and mine.exists()
