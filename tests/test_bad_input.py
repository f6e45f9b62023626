"""Bad input, one row each, through the command line as a user runs it.

Every row checks the same promise: one clear line naming the file and the problem (no traceback), the
documented exit code (1: the command could not run, 3: some items failed) and, where a batch held good
items too, those items still processed.
"""

from __future__ import annotations

import errno
import io
import os
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from mnistvec.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, cli
from mnistvec.io.vectors import Vectors
from mnistvec.models.bundled import bundled_model_path


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def problem_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(("error:", "warning:"))]


def check(result, exit_code: int, pattern: str, named: str) -> None:
    """The exit code, and exactly one problem line naming `named` and matching `pattern`."""
    assert result.exit_code == exit_code, result.output
    naming = [line for line in problem_lines(result) if named in line]
    assert len(naming) == 1, result.stderr
    assert re.search(pattern, naming[0]), naming[0]


def digit(size: int = 28) -> Image.Image:
    """A black-and-white digit-like "7" (ink 255 on 0), the same at every bit depth."""
    image = Image.new("L", (size, size), 0)
    scale = size / 28
    ImageDraw.Draw(image).line(
        [(7 * scale, 7 * scale), (21 * scale, 7 * scale), (11 * scale, 22 * scale)],
        fill=255,
        width=max(1, round(3 * scale)),
    )
    return image


def good_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    digit().save(path / "good-1.png")
    digit().rotate(20).save(path / "good-2.png")
    return path


def encoded_names(out: Path) -> list[str]:
    return Vectors.load(out / "vectors.npz").names


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=options.pop("format", "PNG"), **options)
    return buffer.getvalue()


# ------------------------------------------------------------------ images in a folder: one bad file

BAD_FILES = {
    "truncated PNG": ("cut.png", lambda: png_bytes(digit(280))[:400], r"corrupt|truncated"),
    "corrupt PNG": ("noise.png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, r"corrupt|not an image"),
    "truncated JPEG": (
        "cut.jpg",
        lambda: png_bytes(digit(280).convert("RGB"), format="JPEG")[:600],
        r"corrupt|truncated",
    ),
    "text with an image extension": ("notes.png", lambda: b"shopping list: eggs, milk\n", r"not an image file"),
    "1x1 image": ("dot.png", lambda: png_bytes(Image.new("L", (1, 1), 255)), r"no ink"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_in_a_folder_is_one_warning_and_the_rest_is_encoded(tmp_path, case):
    name, content, problem = BAD_FILES[case]
    folder = good_folder(tmp_path / "in")
    (folder / name).write_bytes(content())
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    check(result, EXIT_PARTIAL, rf"{re.escape(name)}: .*({problem})", name)
    assert encoded_names(tmp_path / "out") == ["good-1.png", "good-2.png"]
    assert name in (tmp_path / "out" / "errors.txt").read_text()


UNUSUAL_MODES = {
    "16-bit grey": lambda image: Image.fromarray(np.asarray(image).astype(np.uint16) * 257),
    "RGBA": lambda image: image.convert("RGBA"),
    "palette": lambda image: image.convert("P"),
    "1-bit": lambda image: image.convert("1"),
}


@pytest.mark.parametrize("mode", UNUSUAL_MODES, ids=list(UNUSUAL_MODES))
def test_unusual_pixel_formats_are_read_like_their_8_bit_grey_twin(tmp_path, mode):
    """Not errors at all: each format becomes the same canvas, so the same strokes."""
    folder = tmp_path / "in"
    folder.mkdir()
    digit().save(folder / "a-grey.png")
    UNUSUAL_MODES[mode](digit()).save(folder / "b-unusual.png")
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    assert result.exit_code == EXIT_OK and problem_lines(result) == [], result.output
    vectors = Vectors.load(tmp_path / "out" / "vectors.npz")
    assert vectors.names == ["a-grey.png", "b-unusual.png"]
    np.testing.assert_allclose(vectors.lines[1], vectors.lines[0], atol=1e-5)


def test_a_10000_by_10000_image_is_encoded(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    huge = Image.new("L", (10_000, 10_000), 0)
    ImageDraw.Draw(huge).line([(2500, 2500), (7500, 2500), (4000, 7800)], fill=255, width=1000)
    huge.save(folder / "poster.png", compress_level=1)
    del huge
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    assert result.exit_code == EXIT_OK and problem_lines(result) == [], result.output
    svg = (tmp_path / "out" / "svg" / "poster.png.svg").read_text()
    assert 'viewBox="0 0 10000 10000"' in svg  # drawn in the source image's own frame


def test_an_empty_folder_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("encode", tmp_path / "empty", tmp_path / "out")
    check(result, EXIT_ERROR, r"empty: no image files", "empty")
    assert not (tmp_path / "out").exists()


def test_a_folder_of_only_bad_files_names_each_then_fails(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.png").write_text("not a picture")
    (folder / "b.jpg").write_bytes(b"\xff\xd8\xff")
    result = invoke("encode", folder, tmp_path / "out")
    assert result.exit_code == EXIT_ERROR
    for name in ("a.png", "b.jpg"):
        check(result, EXIT_ERROR, rf"warning: .*{name}: not an image", name)
    assert re.search(r"error: .*bad: none of its 2 image files could be read", problem_lines(result)[-1])
    assert not (tmp_path / "out").exists()


def test_an_unreadable_file_is_named_and_the_rest_is_encoded(tmp_path, monkeypatch):
    folder = good_folder(tmp_path / "in")
    locked = folder / "locked.png"
    digit().save(locked)
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # the superuser reads anything: refuse it the way the OS would
        real_open = Image.open

        def refusing_open(path, *args, **kwargs):
            if Path(path) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(Image, "open", refusing_open)
        # and past the native decoder, which would read it too (a file it cannot open goes to Pillow)
        monkeypatch.setattr("mnistvec.data.folder.decode_png_gray", lambda *args, **kwargs: None)
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    check(result, EXIT_PARTIAL, r"locked\.png: permission denied", "locked.png")
    assert encoded_names(tmp_path / "out") == ["good-1.png", "good-2.png"]


# ------------------------------------------------------------------ IDX and .npz files


def idx_bytes(count: int, magic: int = 2051) -> bytes:
    return struct.pack(">IIII", magic, count, 28, 28) + np.zeros((count, 28, 28), np.uint8).tobytes()


def test_a_truncated_idx_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(3)[:1000])
    result = invoke("encode", path, tmp_path / "out")
    check(result, EXIT_ERROR, r"train-images-idx3-ubyte: truncated IDX file", "train-images-idx3-ubyte")


@pytest.mark.parametrize("name", ["digits.idx", "digits.bin"])
def test_an_idx_file_with_a_wrong_magic_number_is_an_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(idx_bytes(3, magic=0x0000_1234))
    result = invoke("encode", path, tmp_path / "out")
    check(result, EXIT_ERROR, rf"{name}: bad IDX magic number 4660 .*expected 2051", name)


def test_an_npz_without_images_is_an_error_naming_it(tmp_path):
    np.savez(tmp_path / "arrays.npz", pictures=np.zeros((2, 28, 28)))
    result = invoke("encode", tmp_path / "arrays.npz", tmp_path / "out")
    check(result, EXIT_ERROR, r"arrays\.npz: no 'images' array .*holds pictures", "arrays.npz")


def test_npz_items_with_nan_are_named_and_the_rest_is_encoded(tmp_path):
    images = np.stack([np.asarray(digit(), np.float32) / 255] * 3)
    images[1, 10, 10] = np.nan
    np.savez(tmp_path / "batch.npz", images=images)
    result = invoke("encode", tmp_path / "batch.npz", tmp_path / "out", "--device", "cpu")
    check(result, EXIT_PARTIAL, r"batch\.npz\[1\]: 1 NaN or infinite values", "batch.npz[1]")
    assert encoded_names(tmp_path / "out") == ["batch-00000", "batch-00002"]


# ------------------------------------------------------------------ vectors for `render`


def example_vectors(count: int = 4) -> Vectors:
    rng = np.random.default_rng(0)
    return Vectors(
        rng.uniform(0.2, 0.8, (count, 3, 4)),
        np.full((count, 3), 0.08),
        np.ones((count, 3)),
        names=[f"v{i}" for i in range(count)],
    )


def test_render_names_nan_and_infinite_items_and_draws_the_rest(tmp_path):
    vectors = example_vectors()
    vectors.lines[1, 0, 2] = np.nan
    vectors.widths[3, 1] = np.inf
    np.savez(
        tmp_path / "v.npz",
        lines=vectors.lines,
        widths=vectors.widths,
        opacity=vectors.opacity,
        names=np.array(vectors.names),
    )
    result = invoke("render", tmp_path / "v.npz", tmp_path / "out")
    check(result, EXIT_PARTIAL, r"v\.npz: item 1 \(v1\): lines has a non-finite value \(nan\)", "(v1)")
    check(result, EXIT_PARTIAL, r"v\.npz: item 3 \(v3\): widths has a non-finite value \(inf\)", "(v3)")
    assert sorted(p.name for p in (tmp_path / "out" / "png").iterdir()) == ["v0.png", "v2.png"]


@pytest.mark.parametrize(
    "arrays, problem",
    [
        (
            {"lines": np.zeros((2, 3, 2)), "widths": np.zeros((2, 3)), "opacity": np.zeros((2, 3))},
            r"lines must have shape \[B, N, 4\]",
        ),
        (
            {"lines": np.zeros((2, 3, 4)), "widths": np.zeros((2, 5)), "opacity": np.zeros((2, 3))},
            r"widths must have shape \[B, N\] = \[2, 3\]",
        ),
        ({"lines": np.zeros((2, 3, 4)), "opacity": np.zeros((2, 3))}, r"missing array\(s\) widths"),
    ],
    ids=["lines", "widths", "missing"],
)
def test_render_refuses_vectors_of_the_wrong_shape_naming_the_file(tmp_path, arrays, problem):
    np.savez(tmp_path / "odd.npz", **arrays)
    result = invoke("render", tmp_path / "odd.npz", tmp_path / "out")
    check(result, EXIT_ERROR, rf"odd\.npz: .*{problem}", "odd.npz")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ models


def test_a_checkpoint_of_another_method_is_refused(tmp_path):
    folder = good_folder(tmp_path / "in")
    surrogate = Path(str(bundled_model_path("ae"))).with_name("surrogate.pt")
    result = invoke("encode", folder, tmp_path / "out", "--model", surrogate)
    check(result, EXIT_ERROR, r"surrogate\.pt: a 'surrogate' model, which is not a vectoriser", "surrogate.pt")
    result = invoke("sample", "--model", "ae", "--n", 2, "--out", tmp_path / "samples")
    check(result, EXIT_ERROR, r"ae\.pt: this 'ae' model has no prior to sample from", "ae.pt")


def test_a_model_with_another_number_of_lines_is_refused_where_it_would_mix(tmp_path, tiny_model):
    """tiny_model draws 4 lines, the bundled autoencoder 16: one output folder cannot hold both."""
    folder = good_folder(tmp_path / "in")
    assert invoke("encode", folder, tmp_path / "out", "--model", tiny_model, "--device", "cpu").exit_code == 0
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    check(result, EXIT_ERROR, r"vectors\.npz: made by another model .*4 lines.*--overwrite", "vectors.npz")
    assert invoke("encode", folder, tmp_path / "out", "--overwrite", "--device", "cpu").exit_code == 0
    result = invoke("eval", "--model", tiny_model, "--data", folder, "--lines", 16)
    check(result, EXIT_ERROR, r"model\.pt: this model draws 4 lines, not 16", "model.pt")


def pickle_bomb(path: Path, marker: Path) -> None:
    """A .pt file that would create `marker` when unpickled by anything less careful than weights-only."""
    import torch

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "mnistvec-checkpoint", "model": Payload()}, path)


NOT_CHECKPOINTS = {
    "text": (lambda path: path.write_text("weights: none\n"), r"not a mnistvec checkpoint"),
    "empty": (lambda path: path.write_bytes(b""), r"not a mnistvec checkpoint \(the file is empty\)"),
    "random bytes": (lambda path: path.write_bytes(np.random.default_rng(0).bytes(3000)), r"not a mnistvec checkpoint"),
    "other zip": (lambda path: zipfile.ZipFile(path, "w").writestr("a/data.txt", "x"), r"not a mnistvec checkpoint"),
    "an image": (lambda path: digit().save(path, format="PNG"), r"not a mnistvec checkpoint"),
}


@pytest.mark.parametrize("kind", NOT_CHECKPOINTS, ids=list(NOT_CHECKPOINTS))
def test_a_file_that_is_not_a_checkpoint_is_refused_as_model(tmp_path, kind):
    make, problem = NOT_CHECKPOINTS[kind]
    model = tmp_path / "model.pt"
    make(model)
    result = invoke("encode", good_folder(tmp_path / "in"), tmp_path / "out", "--model", model)
    check(result, EXIT_ERROR, rf"model\.pt: {problem}", "model.pt")


def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_does_not_run(tmp_path):
    model, marker = tmp_path / "model.pt", tmp_path / "ran"
    pickle_bomb(model, marker)
    for args in (
        ["encode", good_folder(tmp_path / "in"), tmp_path / "out"],
        ["sample", "--n", 2, "--out", tmp_path / "s"],
    ):
        result = invoke(*args, "--model", model)
        check(result, EXIT_ERROR, r"model\.pt: refused: the file would load code.*GLOBAL posix.system", "model.pt")
    assert not marker.exists()


# ------------------------------------------------------------------ output


def test_an_output_inside_a_file_is_an_error_naming_it(tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    for args in (
        ["encode", good_folder(tmp_path / "in"), blocker / "out"],
        ["sample", "--n", 2, "--out", blocker / "out"],
    ):
        result = invoke(*args)
        check(result, EXIT_ERROR, r"report\.txt.*: Not a directory", "report.txt")
    assert blocker.read_text() == "a file, not a folder"


def test_a_read_only_output_folder_is_an_error_naming_it(tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("this user may write anywhere (superuser): the full-disk test covers failed writes")
        result = invoke("encode", good_folder(tmp_path / "in"), out)
        check(result, EXIT_ERROR, r"locked.*: Permission denied", "locked")
    finally:
        out.chmod(0o700)


class FillingDisk:
    """Files written through `mnistvec.io.atomic` succeed until `budget` bytes are used, then fail with
    ENOSPC as on a full disk."""

    def __init__(self, budget: int):
        self.budget = budget
        self.real_fdopen = os.fdopen

    def fdopen(self, fd, *args, **kwargs):
        handle = self.real_fdopen(fd, *args, **kwargs)
        disk = self

        class Limited:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def write(self, data):
                if len(data) > disk.budget:
                    raise OSError(errno.ENOSPC, "No space left on device")
                disk.budget -= len(data)
                return handle.write(data)

        return Limited()

    def batch_writer(self, real):
        """`write_files_atomic` (the native batch writer) on this disk: each file whose bytes no longer fit
        fails with ENOSPC, the others are written."""

        def write(files):
            fits = []
            for _, data in files:
                fits.append(len(data) <= self.budget)
                self.budget -= len(data) if fits[-1] else 0
            written = iter(real([f for f, ok in zip(files, fits) if ok]))
            return [
                next(written) if ok else OSError(errno.ENOSPC, "No space left on device", str(f[0]))
                for f, ok in zip(files, fits)
            ]

        return write


@pytest.mark.parametrize("writer", ["python", "native"])
def test_a_full_disk_stops_with_one_line_and_the_same_command_finishes_later(tmp_path, monkeypatch, writer):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        digit().rotate(3 * i).save(folder / f"d{i:02d}.png")
    command = ["encode", folder, tmp_path / "out", "--batch-size", 8, "--device", "cpu"]
    disk = FillingDisk(budget=12_000)
    if writer == "python":  # one file at a time in Python
        monkeypatch.setattr("mnistvec.io.atomic.load_library", lambda: None)
        monkeypatch.setattr("mnistvec.io.atomic.os.fdopen", disk.fdopen)
    else:  # a batch at a time (in the native library when it is there)
        import mnistvec.encoding.folder as folder_module

        monkeypatch.setattr(folder_module, "write_files_atomic", disk.batch_writer(folder_module.write_files_atomic))
    result = invoke(*command)
    check(
        result, EXIT_ERROR, r"out/svg/d\d\d\.png\.svg: No space left on device .*run the same command again", "No space"
    )
    written = sorted(p.name for p in (tmp_path / "out" / "svg").iterdir())
    assert 0 < len(written) < 40 and not [p for p in written if p.startswith(".tmp")]
    monkeypatch.undo()  # space freed
    again = invoke(*command)
    assert again.exit_code == EXIT_OK, again.output
    assert encoded_names(tmp_path / "out") == [f"d{i:02d}.png" for i in range(40)]
    fresh = invoke("encode", folder, tmp_path / "fresh", "--batch-size", 8, "--device", "cpu")
    assert fresh.exit_code == EXIT_OK
    for i in range(40):
        name = f"svg/d{i:02d}.png.svg"
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_a_file_name_with_markup_is_escaped_in_the_svg(tmp_path):
    import xml.etree.ElementTree as ET

    folder = tmp_path / "in"
    folder.mkdir()
    name = """<svg onload="alert(1)"> & 'co' <!--"""
    digit().save(folder / f"{name}.png")
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    assert result.exit_code == EXIT_OK, result.output
    [svg] = (tmp_path / "out" / "svg").iterdir()
    root = ET.parse(svg).getroot()  # well-formed: the name did not break out of its element
    assert root.find("{http://www.w3.org/2000/svg}title").text == f"{name}.png"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}svg")) == 0 and "<svg onload" not in svg.read_text()
    assert encoded_names(tmp_path / "out") == [f"{name}.png"]


def test_train_names_a_bad_file_and_trains_on_the_rest(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        digit().rotate(7 * i).save(folder / f"d{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    result = invoke(
        "train",
        "--data",
        folder,
        "--epochs",
        1,
        "--lines",
        2,
        "--batch-size",
        4,
        "--device",
        "cpu",
        "--out",
        tmp_path / "run",
    )
    assert result.exit_code == EXIT_OK, result.output
    check(result, EXIT_OK, r"broken\.png: not an image file", "broken.png")
    assert "on 12 images" in result.output and (tmp_path / "run" / "model.pt").exists()


def test_a_missing_native_renderer_is_one_warning_line_like_every_other(tmp_path, monkeypatch):
    """The library's Python warning reaches a command's user as the CLI's own one-line warning."""
    import mnistvec.raster as raster
    from mnistvec.raster import native

    monkeypatch.setattr(raster, "native_available", lambda: False)
    monkeypatch.setattr(native, "_warned_missing", False)
    vectors = Path(__file__).resolve().parents[1] / "examples" / "vectors" / "digits.npz"
    result = invoke("render", vectors, tmp_path / "out", "--format", "png")
    assert result.exit_code == EXIT_OK, result.output
    warnings = [line for line in result.stderr.splitlines() if "native renderer" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: the native renderer library is not built")
