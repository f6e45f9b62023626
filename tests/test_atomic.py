"""Atomic writes leave either the old file or the whole new one, with ordinary permissions."""

import os
import stat

import pytest

from mnistvec.io.atomic import TEMP_PREFIX, atomic_path, write_bytes_atomic, write_text_atomic


def test_new_files_get_umask_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a" / "b.svg", "<svg/>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "b.svg").stat().st_mode) == 0o644
    assert (tmp_path / "a" / "b.svg").read_text() == "<svg/>"


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    write_bytes_atomic(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_replacing_and_recreating_a_removed_folder(tmp_path):
    target = tmp_path / "d" / "x.txt"
    write_text_atomic(target, "1")
    write_text_atomic(target, "2")
    assert target.read_text() == "2"
    target.unlink()
    target.parent.rmdir()
    write_text_atomic(target, "3")
    assert target.read_text() == "3"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]
