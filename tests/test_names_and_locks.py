"""Batch jobs on folders nobody checked: item names, output files, one run per output folder, and the
signals and closed pipes of a job left running overnight. Each test runs the command line."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import random_strokes
from PIL import Image, ImageDraw

from mnistvec.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, cli
from mnistvec.io.atomic import TEMP_PREFIX, write_bytes_atomic
from mnistvec.io.lock import LOCK_NAME, output_lock
from mnistvec.io.names import output_stems
from mnistvec.io.vectors import Vectors

SVG = "{http://www.w3.org/2000/svg}"


def invoke(*args):
    return CliRunner().invoke(
        cli, [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args], catch_exceptions=False
    )


def drawing(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(image).line([tuple(p) for p in rng.uniform(5, 23, (3, 2))], fill=255, width=3)
    return image


def title(svg: Path) -> str:
    return ET.parse(svg).getroot().find(f"{SVG}title").text


def svg_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "svg").rglob("*.svg") if p.is_file())


def command(*args) -> list[str]:
    return [sys.executable, "-c", "from mnistvec.cli import main; main()", *[str(a) for a in args]]


def environment(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(TEMP_PREFIX)]


# ---------------------------------------------------------------- 1. names


def test_every_file_is_its_own_item_and_a_rerun_keeps_each_items_strokes(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    for seed, name in enumerate(["a.png", "a.jpg", "a.png.png"]):
        drawing(seed).save(folder / name, format="JPEG" if name.endswith(".jpg") else "PNG")
    out = tmp_path / "out"
    first = invoke("encode", folder, out, "--model", tiny_model, "--device", "cpu")
    assert first.exit_code == EXIT_OK, first.output
    vectors = Vectors.load(out / "vectors.npz")
    assert vectors.names == ["a.jpg", "a.png", "a.png.png"] and len(svg_files(out)) == 3
    assert sorted(title(p) for p in svg_files(out)) == vectors.names

    again = invoke("encode", folder, out, "--model", tiny_model, "--device", "cpu")
    assert again.exit_code == EXIT_OK and "│      0 │              3 │" in again.output
    rerun = Vectors.load(out / "vectors.npz")
    assert rerun.names == vectors.names and np.array_equal(rerun.lines, vectors.lines)
    for name in vectors.names:  # each item has its own strokes, the ones its file alone gets
        alone = tmp_path / f"alone-{name}"
        assert invoke("encode", folder / name, alone, "--model", tiny_model, "--device", "cpu").exit_code == EXIT_OK
        own = Vectors.load(alone / "vectors.npz")
        assert own.names == [name]
        distances = [np.abs(rerun.lines[k] - own.lines[0]).max() for k in range(3)]
        assert distances[rerun.names.index(name)] < 1e-5 < min(np.delete(distances, rerun.names.index(name)))


def test_an_npz_with_a_name_given_twice_is_refused_in_one_line(tmp_path, tiny_images, tiny_model):
    data = tmp_path / "dupes.npz"
    np.savez(data, images=tiny_images[:3], names=np.array(["x", "y", "x"]))
    result = invoke("encode", data, tmp_path / "out", "--model", tiny_model, "--device", "cpu")
    assert result.exit_code == EXIT_ERROR
    assert result.output.strip().splitlines() == [
        f"error: {data}: 'names' holds 'x' twice (items 0 and 2); item names must be unique"
    ]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- 2. output files


TRICKY = [
    "a b.png",
    "a_b.png",
    "a_b-1.png",
    "a.png",
    "a",
    "",
    ".",
    "..",
    "../a.png",
    "/a.png",
    "a\\b.png",
    "x",
    "x.svg/y",
    "x.png/y",
    "X.SVG/y",
    ".hidden",
    "_hidden",
    "ä.png",
    "\udcff.png",
    "\x00",
    "~",
    "a~1",
    "q" * 300,
    "q" * 300 + "r",
    "d/" + "e" * 260 + "/f.png",
]


def test_output_stems_are_distinct_safe_and_depend_on_the_name_alone():
    stems = output_stems(TRICKY + ["a.png", "a.png", "a b.png"])
    assert len(set(stems)) == len(stems)
    assert stems[-3:] == [
        stems[TRICKY.index("a.png")] + "~1",
        stems[TRICKY.index("a.png")] + "~2",
        stems[TRICKY.index("a b.png")] + "~1",
    ]
    files = {f"{stem}{ext}" for stem in stems for ext in (".svg", ".png")}
    folders = {"/".join(stem.split("/")[:k]) for stem in stems for k in range(1, stem.count("/") + 1)}
    assert folders and not files & folders  # no item's file where another item's folder must be
    for stem in stems:
        assert stem.isascii() and not stem.startswith("/") and ".." not in stem.split("/")
        assert all(0 < len(part) and len(part) + len(".svg") <= 255 for part in stem.split("/"))
        assert not any(part.startswith(".") for part in stem.split("/"))
    assert output_stems(list(reversed(TRICKY))) == list(reversed(output_stems(TRICKY)))  # stable
    assert output_stems(["digits/7.png", "a_b.png"]) == ["digits/7.png", "a_b.png"]  # tidy names stay


def test_encode_and_render_give_each_item_its_own_files(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["a b.png", "a_b.png", "a_b-1.png"]
    for seed, name in enumerate(names):
        drawing(seed).save(folder / name)
    out = tmp_path / "out"
    result = invoke("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu")
    assert result.exit_code == EXIT_OK, result.output
    assert sorted(title(p) for p in svg_files(out)) == sorted(names)
    assert len(list((out / "png").iterdir())) == 3
    again = invoke("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu")
    assert "│      0 │              3 │" in again.output  # resume finds each item's files by its stem

    lines, widths, opacity = random_strokes(0, 6, 4)
    duplicated = ["a b.png", "a_b.png", "a_b-1.png", "a_b.png", "a b.png", "a_b.png"]
    Vectors(lines, widths, opacity, names=duplicated).save(tmp_path / "v.npz")
    drawn = tmp_path / "drawn"
    rendered = invoke("render", tmp_path / "v.npz", drawn)
    assert rendered.exit_code == EXIT_OK, rendered.output
    assert len(list((drawn / "png").iterdir())) == 6 and len(svg_files(drawn)) == 6
    assert sorted(title(p) for p in svg_files(drawn)) == sorted(duplicated)


# ---------------------------------------------------------------- 3. one run per output folder


@pytest.fixture
def vectors_file(tmp_path) -> Path:
    lines, widths, opacity = random_strokes(1, 3, 4)
    Vectors(lines, widths, opacity, names=["p", "q", "r"]).save(tmp_path / "v.npz")
    return tmp_path / "v.npz"


def test_a_run_into_an_output_folder_another_run_holds_gets_one_line_and_exit_1(
    tmp_path, tiny_model, tiny_vae, tiny_images, vectors_file
):
    data = tmp_path / "x.npz"
    np.savez(data, images=tiny_images[:4])
    out = tmp_path / "out"
    out.mkdir()
    runs = {
        "encode": ["encode", data, out, "--model", tiny_model, "--device", "cpu"],
        "render": ["render", vectors_file, out],
        "sample": ["sample", "--model", tiny_vae, "--n", 3, "--out", out, "--device", "cpu"],
    }
    with output_lock(out):
        for name, args in runs.items():
            result = invoke(*args)
            assert result.exit_code == EXIT_ERROR, (name, result.output)
            [line] = result.output.strip().splitlines()
            assert line.startswith(f"error: {out}: another mnistvec run (process {os.getpid()})"), line
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing else was written
    assert not (out / LOCK_NAME).exists()
    for name, args in runs.items():  # released: each runs, and removes its lock file when done
        assert invoke(*args).exit_code == EXIT_OK, name
        assert not (out / LOCK_NAME).exists()


def test_a_lock_file_left_by_kill_9_is_harmless_and_a_held_one_stops_another_process(tmp_path, tiny_model, tiny_images):
    data = tmp_path / "x.npz"
    np.savez(data, images=tiny_images[:4])
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text("4194303\n")  # the lock file of a process that is gone
    assert invoke("encode", data, out, "--model", tiny_model, "--device", "cpu").exit_code == EXIT_OK
    assert not (out / LOCK_NAME).exists() and len(Vectors.load(out / "vectors.npz")) == 4

    holder = open(out / LOCK_NAME, "w")  # another process (here: this one) holds it with flock
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        busy = subprocess.run(
            command("encode", data, out, "--model", tiny_model, "--device", "cpu", "--overwrite"),
            capture_output=True,
            text=True,
            env=environment(),
            timeout=300,
        )
    finally:
        holder.close()
    assert busy.returncode == EXIT_ERROR and "another mnistvec run" in busy.stderr
    assert len(busy.stderr.strip().splitlines()) == 1, busy.stderr


# ---------------------------------------------------------------- 4. OUTPUT inside INPUT


def test_an_output_folder_that_is_the_input_folder_or_inside_it_is_refused(tmp_path, tiny_model):
    folder = tmp_path / "d"
    folder.mkdir()
    for i in range(3):
        drawing(i).save(folder / f"{i}.png")
    (tmp_path / "link").symlink_to(folder)
    before = sorted(folder.rglob("*"))
    for out in (folder, folder / "out", tmp_path / "link" / "out", tmp_path / "link"):
        result = invoke("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu")
        assert result.exit_code == EXIT_ERROR, (out, result.output)
        [line] = result.output.strip().splitlines()
        assert "is the input folder" in line and "choose an output folder outside it" in line
    assert sorted(folder.rglob("*")) == before
    beside = tmp_path / "d-out"  # a sibling whose name starts like the input's is fine
    assert invoke("encode", folder, beside, "--model", tiny_model, "--device", "cpu").exit_code == EXIT_OK


# ---------------------------------------------------------------- 5. one item's output problem is that item's


def test_long_and_non_utf8_names_are_encoded_and_an_unwritable_item_fails_alone(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    long_name = "n" * 251 + ".png"  # 255 bytes, the longest a file name may be
    odd = b"caf\xe9-\xff.png"  # Latin-1 bytes: not UTF-8
    for seed, name in enumerate([long_name, "blocked.png", "plain.png"]):
        drawing(seed).save(folder / name)
    with open(os.fsencode(folder) + b"/" + odd, "wb") as handle:
        drawing(7).save(handle, format="PNG")
    out = tmp_path / "out"
    (out / "svg" / "blocked.png.svg").mkdir(parents=True)  # a folder where an item's SVG must go

    for _ in range(2):  # the same on every rerun: never a batch that cannot finish
        result = invoke("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu")
        assert result.exit_code == EXIT_PARTIAL, result.output
        assert re.search(r"warning: blocked\.png: cannot write .*blocked\.png\.svg: Is a directory", result.output)
        vectors = Vectors.load(out / "vectors.npz")
        assert sorted(vectors.names) == sorted([os.fsdecode(odd), long_name, "plain.png"])
        errors = (out / "errors.txt").read_bytes().splitlines()
        assert len(errors) == 1 and errors[0].startswith(b"blocked.png\tcannot write ")
        assert len(svg_files(out)) == 3 and len(list((out / "png").iterdir())) == 3
        assert not temp_files(out)
    titles = {title(p) for p in svg_files(out)}
    assert long_name in titles and "caf\ufffd-\ufffd.png" in titles  # undecodable bytes shown as U+FFFD

    (out / "svg" / "blocked.png.svg").rmdir()
    fixed = invoke("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu")
    assert fixed.exit_code == EXIT_OK and "│      1 │              3 │" in fixed.output
    assert len(Vectors.load(out / "vectors.npz")) == 4 and not (out / "errors.txt").exists()


def test_non_ascii_names_under_the_c_locale(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    for seed, name in enumerate(["zwölf.png", "三.png", "plain.png"]):
        drawing(seed).save(folder / name)
    out = tmp_path / "out"
    c_locale = environment(LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    done = subprocess.run(
        command("encode", folder, out, "--model", tiny_model, "--device", "cpu"),
        capture_output=True,
        env=c_locale,
        timeout=300,
    )
    assert done.returncode == EXIT_OK, done.stderr.decode(errors="replace")
    names = Vectors.load(out / "vectors.npz").names  # the file names' bytes, as that locale decodes them
    assert sorted(name.encode("utf-8", "surrogateescape") for name in names) == sorted(
        name.encode() for name in ["plain.png", "zwölf.png", "三.png"]
    )
    assert len(svg_files(out)) == 3


def test_a_temporary_file_name_fits_beside_any_legal_target(tmp_path):
    target = tmp_path / ("t" * 255)
    write_bytes_atomic(target, b"x")
    assert target.read_bytes() == b"x" and not temp_files(tmp_path)


# ---------------------------------------------------------------- 6. files that are not regular files


def test_a_named_pipe_in_the_input_folder_is_skipped_without_being_opened(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    drawing(0).save(folder / "good.png")
    os.mkfifo(folder / "pipe.png")  # opening it for reading would wait forever for a writer
    out = tmp_path / "out"
    done = subprocess.run(
        command("encode", folder, out, "--model", tiny_model, "--device", "cpu"),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert done.returncode == EXIT_PARTIAL, done.stderr
    [warning] = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert (
        warning
        == f"warning: {folder / 'pipe.png'}: a named pipe (FIFO), not a regular file; skipped without opening it"
    )
    assert Vectors.load(out / "vectors.npz").names == ["good.png"]
    alone = subprocess.run(
        command("encode", folder / "pipe.png", tmp_path / "o2", "--model", tiny_model),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert alone.returncode == EXIT_ERROR and "not a regular file" in alone.stderr


# ---------------------------------------------------------------- 7. a closed stderr


def test_a_closed_stderr_and_stdout_do_not_stop_the_job(tmp_path, tiny_model):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(300):
        drawing(i).save(folder / f"{i:03d}.png")
    (folder / "bad.png").write_text("not a picture")  # a warning line to write
    out = tmp_path / "out"
    process = subprocess.Popen(
        command("encode", folder, out, "--model", tiny_model, "--png", "--device", "cpu"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
    )
    process.stdout.close()  # like `| head -1` having read its line and gone
    process.stderr.close()
    assert process.wait(timeout=300) == EXIT_PARTIAL
    assert len(Vectors.load(out / "vectors.npz")) == 300 and len(svg_files(out)) == 300
    assert (out / "errors.txt").read_text().startswith(str(folder / "bad.png"))
    assert not (out / ".vectors.journal").exists() and not temp_files(out)


# ---------------------------------------------------------------- 8. Ctrl-C and SIGTERM


def wait_for_files(folder: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.exists() and sum(1 for _ in folder.iterdir()) >= count:
            return
        assert process.poll() is None, f"finished before it could be stopped: {process.stderr.read()}"
        time.sleep(0.005)
    raise AssertionError(f"fewer than {count} files in {folder} after {timeout} s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("job", ["render", "sample"])
def test_render_and_sample_stop_with_130_and_leave_no_temporary_file(tmp_path, tiny_vae, job, sig):
    out = tmp_path / "out"
    count = 20_000
    if job == "render":
        lines, widths, opacity = random_strokes(2, count, 8)
        Vectors(lines, widths, opacity, names=[f"v{i:05d}" for i in range(count)]).save(tmp_path / "v.npz")
        args, watched = ["render", tmp_path / "v.npz", out, "--size", 128], out / "png"
    else:
        args, watched = ["sample", "--model", tiny_vae, "--n", count, "--out", out, "--device", "cpu"], out / "svg"
    process = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment())
    wait_for_files(watched, 50, process)
    process.send_signal(sig)
    assert process.wait(timeout=120) == EXIT_INTERRUPTED, process.stderr.read()
    assert "interrupted" in process.stderr.read().decode()
    assert not temp_files(out) and not (out / LOCK_NAME).exists()
    written = sorted(watched.iterdir())
    assert 50 <= len(written) < count
    for path in written:
        if path.suffix == ".svg":
            ET.parse(path)
        else:
            Image.open(path).load()


def test_an_interrupt_outside_a_graceful_stop_is_exit_130(tmp_path, monkeypatch, vectors_file):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("mnistvec.encoding.drawing.render_file", interrupted)
    result = invoke("render", vectors_file, tmp_path / "out")
    assert result.exit_code == EXIT_INTERRUPTED and result.output.strip() == "interrupted"
