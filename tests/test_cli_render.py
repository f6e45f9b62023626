"""`mnistvec render` as a user runs it: files, values, grid, bad items, errors and exit codes."""

import numpy as np
from click.testing import CliRunner
from conftest import EXAMPLE_VECTORS
from PIL import Image

from mnistvec import __version__
from mnistvec.cli import EXIT_ERROR, EXIT_PARTIAL, cli
from mnistvec.io.vectors import Vectors
from mnistvec.raster import render_numpy


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_renders_every_item_to_png_and_svg(tmp_path):
    result = run("render", EXAMPLE_VECTORS, tmp_path, "--size", 56, "--grid")
    assert result.exit_code == 0, result.output
    batch = Vectors.load(EXAMPLE_VECTORS)
    expected = render_numpy(batch.lines, batch.widths, batch.opacity, 56, 56, 56.0)
    for i, name in enumerate(batch.names):
        png = np.asarray(Image.open(tmp_path / "png" / f"{name}.png"), dtype=np.float32) / 255
        assert png.shape == (56, 56)
        assert np.abs(png - expected[i]).max() <= 0.5 / 255 + 1e-6
        assert (tmp_path / "svg" / f"{name}.svg").read_text().startswith("<svg")
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (4 * 58 + 2, 3 * 58 + 2)  # 10 tiles in a 4-column grid, 2 px separators
    assert "rendered 10 item(s)" in result.output


def test_format_and_renderer_options(tmp_path):
    result = run("render", EXAMPLE_VECTORS, tmp_path, "--format", "svg", "--renderer", "soft")
    assert result.exit_code == 0
    assert not (tmp_path / "png").exists() and len(list((tmp_path / "svg").iterdir())) == 10
    assert run("render", EXAMPLE_VECTORS, tmp_path, "--format", "gif").exit_code == 2


def test_bad_items_are_named_skipped_and_the_rest_written(tmp_path):
    batch = Vectors.load(EXAMPLE_VECTORS)
    batch.lines[3, 0, 0] = np.nan
    batch.widths[5, 2] = np.inf
    bad = tmp_path / "bad.npz"
    batch.save(bad)
    result = run("render", bad, tmp_path / "out")
    assert result.exit_code == EXIT_PARTIAL
    assert "item 3 (three): lines has a non-finite value" in result.output
    assert "item 5 (five): widths has a non-finite value" in result.output
    written = sorted(p.stem for p in (tmp_path / "out" / "png").iterdir())
    assert written == sorted(set(batch.names) - {"three", "five"})


def test_user_mistakes_are_one_line_without_traceback(tmp_path):
    result = run("render", tmp_path / "nope.npz", tmp_path / "out")
    assert result.exit_code == EXIT_ERROR
    assert result.output.strip().splitlines() == [f"error: {tmp_path / 'nope.npz'}: no such file"]
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, lines=np.zeros((2, 3, 3)), widths=np.zeros((2, 3)), opacity=np.zeros((2, 3)))
    result = run("render", wrong, tmp_path / "out")
    assert result.exit_code == EXIT_ERROR and "Traceback" not in result.output
    assert "wrong.npz" in result.output and "[B, N, 4]" in result.output


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("render", EXAMPLE_VECTORS, blocker / "out")
    assert result.exit_code == EXIT_ERROR and result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_version_and_help_list_the_subcommands():
    assert __version__ in run("--version").output
    help_text = run("--help").output
    for name in ("train", "encode", "render", "sample", "eval"):
        assert f"  {name} " in help_text
