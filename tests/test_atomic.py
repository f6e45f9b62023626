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


@pytest.fixture(params=["native", "python"])
def batch_writer(request, monkeypatch):
    """`write_files_atomic` through the native library, and through its Python fallback."""
    import mnistvec.io.atomic as atomic

    if request.param == "native":
        if atomic.load_library() is None:
            pytest.skip("the native library is not built")
    else:
        monkeypatch.setattr(atomic, "load_library", lambda: None)
    return atomic.write_files_atomic


def test_batch_writes_every_file_and_reports_each_failure(tmp_path, batch_writer):
    (tmp_path / "svg").mkdir()
    (tmp_path / "svg" / "old.svg").write_bytes(b"old")
    (tmp_path / "svg" / "folder.svg").mkdir()
    (tmp_path / "svg" / "folder.svg" / "inside").write_bytes(b"kept")
    (tmp_path / "file").write_bytes(b"a file where a folder must go")
    files = [
        (tmp_path / "svg" / "old.svg", b"new"),
        (tmp_path / "svg" / "folder.svg", b"refused"),
        (tmp_path / "svg" / "deeper" / "made.svg", b"made"),
        (tmp_path / "file" / "x.svg", b"refused"),
        (tmp_path / "svg" / "empty.svg", b""),
        (tmp_path / "svg" / "\u00e9t\u00e9.svg", "\u00e9".encode() * 1000),
    ]
    errors = batch_writer(files)
    assert [type(e) for e in errors] == [type(None), IsADirectoryError, type(None), FileExistsError, *[type(None)] * 2]
    assert errors[1].filename == str(tmp_path / "svg" / "folder.svg")
    for (path, data), error in zip(files, errors):
        if error is None:
            assert path.read_bytes() == data
    assert (tmp_path / "svg" / "folder.svg" / "inside").read_bytes() == b"kept"
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(TEMP_PREFIX)]
    assert leftovers == []


def test_batch_remakes_a_folder_removed_since_it_was_made(tmp_path, batch_writer):
    target = tmp_path / "d" / "x.svg"
    assert batch_writer([(target, b"1")]) == [None]
    target.unlink()
    target.parent.rmdir()
    assert batch_writer([(target, b"2"), (tmp_path / "d" / "y.svg", b"3")]) == [None, None]
    assert target.read_bytes() == b"2" and (tmp_path / "d" / "y.svg").read_bytes() == b"3"


def test_batch_files_get_umask_permissions(tmp_path, batch_writer):
    old = os.umask(0o027)
    try:
        assert batch_writer([(tmp_path / "a.svg", b"<svg/>")]) == [None]
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.svg").stat().st_mode) == 0o640
