"""Images that are clearly not one digit on a plain background: encoded, named in one warning line each,
flagged in vectors.npz; real digits are not."""

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO
from PIL import Image

from mnistvec.cli import cli
from mnistvec.data import load_images
from mnistvec.io.vectors import Vectors

DIGITS = REPO / "examples" / "digits"


def gray(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


@pytest.fixture
def mixed_folder(tmp_path):
    """Five good digits (four MNIST PNGs and a scanned JPEG), a noise image and two digits side by side."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("digit-0-0", "digit-3-1", "digit-7-2", "digit-8-0"):
        Image.open(DIGITS / "mnist" / f"{name}.png").save(folder / f"{name}.png")
    Image.open(DIGITS / "scanned" / "scan-4.jpg").save(folder / "scan-4.jpg")
    noise = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "noise.png")
    pair = np.concatenate([gray(DIGITS / "mnist" / "digit-1-0.png"), gray(DIGITS / "mnist" / "digit-5-0.png")], 1)
    Image.fromarray(pair).save(folder / "pair.png")
    return folder


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning:")]


def test_noise_and_two_digits_are_encoded_named_and_flagged(tmp_path, mixed_folder, tiny_model):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["encode", str(mixed_folder), str(out), "--model", str(tiny_model), "--device", "cpu"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output  # a warning, not a failure
    warnings = warning_lines(result.output)
    assert len(warnings) == 2, result.output
    assert any(w.startswith("warning: noise.png: the background is not plain") for w in warnings)
    assert any(w.startswith("warning: pair.png: two separate shapes side by side") for w in warnings)
    vectors = Vectors.load(out / "vectors.npz")
    assert len(vectors) == 7 and all((out / "svg" / f"{name}.svg").exists() for name in vectors.names)
    with np.load(out / "vectors.npz") as data:
        suspect = dict(zip(data["names"].tolist(), data["suspect"].tolist()))
        reasons = dict(zip(data["names"].tolist(), data["suspect_reason"].tolist()))
    assert {name for name, flagged in suspect.items() if flagged} == {"noise.png", "pair.png"}
    assert reasons["pair.png"].startswith("two separate shapes") and reasons["digit-0-0.png"] == ""
    assert not (out / "errors.txt").exists()


def test_a_rerun_keeps_the_flags_and_an_old_vectors_file_still_reads(tmp_path, mixed_folder, tiny_model):
    out = tmp_path / "out"
    args = ["encode", str(mixed_folder), str(out), "--model", str(tiny_model), "--device", "cpu"]
    CliRunner().invoke(cli, args, catch_exceptions=False)
    again = CliRunner().invoke(cli, args, catch_exceptions=False)  # everything skipped
    assert again.exit_code == 0 and "│      0 │              7 │" in again.output
    assert sorted(n for n, d in zip(*_flags(out)) if d) == ["noise.png", "pair.png"]
    with np.load(out / "vectors.npz") as data:  # as a release before the flags wrote it
        old = {key: data[key] for key in data.files if not key.startswith("suspect")}
    np.savez(out / "vectors.npz", **old)
    assert Vectors.load(out / "vectors.npz").doubts is None
    (out / "svg" / "noise.png.svg").unlink()  # redone, the others kept from the old file
    third = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert third.exit_code == 0 and "│      1 │              6 │" in third.output
    assert sorted(n for n, d in zip(*_flags(out)) if d) == ["noise.png", "pair.png"]


def _flags(out):
    vectors = Vectors.load(out / "vectors.npz")
    return vectors.names, vectors.doubts


def test_real_digits_are_not_doubted():
    digits = load_images(str(DIGITS))
    assert len(digits) == 40 and digits.doubts == [""] * 40


def test_a_journal_of_a_run_stopped_before_doubts_were_kept_resumes(tmp_path, mixed_folder, tiny_model):
    """A record without the doubts section (the layout of earlier releases) reads with no doubts."""
    import struct
    import zlib

    from mnistvec.encoding.folder import JOURNAL_NAME
    from mnistvec.io.journal import MAGIC, Entries, JournalWriter, read_entries

    out = tmp_path / "out"
    args = ["encode", str(mixed_folder), str(out), "--model", str(tiny_model), "--device", "cpu"]
    CliRunner().invoke(cli, args, catch_exceptions=False)
    vectors = Vectors.load(out / "vectors.npz")
    journal = out / JOURNAL_NAME
    writer = JournalWriter(journal, vectors.meta | {"n_lines": vectors.n_lines})
    writer.append(
        Entries(vectors.names[:1], vectors.lines[:1], vectors.widths[:1], vectors.opacity[:1], vectors.frames[:1])
    )
    writer.close()
    data = journal.read_bytes()
    head = struct.Struct("<IIQI")
    start = len(MAGIC) + 4 + struct.unpack_from("<I", data, len(MAGIC))[0]  # after the header
    tag, count, size, _ = head.unpack_from(data, start)
    payload = data[start + head.size : start + head.size + size - 4 * count]  # the frames end it
    journal.write_bytes(data[:start] + head.pack(tag, count, len(payload), zlib.crc32(payload)) + payload)
    assert [e.doubts for e in read_entries(journal)] == [[""]]
    resumed = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert resumed.exit_code == 0 and not journal.exists()
    assert sorted(n for n, d in zip(*_flags(out)) if d) == ["noise.png", "pair.png"]
