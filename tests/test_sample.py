"""`mnistvec sample`: files written, determinism, the grid, and the errors a user can meet."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mnistvec.cli import EXIT_ERROR, EXIT_USAGE, cli
from mnistvec.io.vectors import Vectors
from mnistvec.models.registry import load_model


def run(*args):
    return CliRunner().invoke(cli, ["sample", *[str(a) for a in args]], catch_exceptions=False)


def test_sample_writes_npz_svgs_and_a_square_grid(tmp_path, tiny_vae):
    out, grid = tmp_path / "s", tmp_path / "grid.png"
    result = run("--model", tiny_vae, "--n", 10, "--out", out, "--grid", grid, "--device", "cpu")
    assert result.exit_code == 0, result.output
    samples = Vectors.load(out / "samples.npz")
    assert samples.lines.shape == (10, 4, 4) and samples.names[0] == "sample-0000"
    assert samples.meta["seed"] == 0 and samples.meta["method"] == "vae"
    assert sorted(p.name for p in (out / "svg").iterdir())[-1] == "sample-0009.svg"
    assert Image.open(grid).size == (4 * 30 + 2, 3 * 30 + 2)  # 10 samples: 3 rows of 4
    svg = ET.parse(grid.with_suffix(".svg")).getroot()
    drawn = int((samples.opacity > 0).sum())  # strokes nobody can see are switched off and not written
    assert 10 <= drawn <= 10 * 4 and len(svg.findall(".//{http://www.w3.org/2000/svg}line")) == drawn
    model, _ = load_model(tiny_vae)
    assert samples.lines.min() >= 0 and samples.lines.max() <= 1 and model.latent == 4


def test_same_seed_same_samples_other_seed_other_samples(tmp_path, tiny_vae):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        assert run("--model", tiny_vae, "--n", 5, "--out", tmp_path / name, "--seed", seed).exit_code == 0
    a, b, c = (Vectors.load(tmp_path / n / "samples.npz").lines for n in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    cold = run("--model", tiny_vae, "--n", 5, "--out", tmp_path / "t0", "--temperature", 0)
    assert cold.exit_code == 0
    zero = Vectors.load(tmp_path / "t0" / "samples.npz").lines
    assert np.allclose(zero, zero[:1])  # temperature 0: every sample is the decoding of z = 0


def test_grid_only(tmp_path, tiny_vae):
    grid = tmp_path / "only.png"
    assert run("--model", tiny_vae, "--n", 4, "--grid", grid).exit_code == 0
    assert grid.exists() and grid.with_suffix(".svg").exists() and not (tmp_path / "samples").exists()


def test_an_autoencoder_cannot_sample(tmp_path, tiny_model):
    result = run("--model", tiny_model, "--out", tmp_path / "s")
    assert result.exit_code == EXIT_ERROR
    assert "'ae' model has no prior" in result.output and "vae" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


@pytest.mark.parametrize("problem", ["exists", "not-png", "missing-model"])
def test_user_mistakes_get_one_line(tmp_path, tiny_vae, problem):
    if problem == "exists":
        assert run("--model", tiny_vae, "--n", 2, "--out", tmp_path).exit_code == 0
        result = run("--model", tiny_vae, "--n", 2, "--out", tmp_path)
        assert result.exit_code == EXIT_ERROR and "--overwrite" in result.output
        assert run("--model", tiny_vae, "--n", 2, "--out", tmp_path, "--overwrite").exit_code == 0
    elif problem == "not-png":
        result = run("--model", tiny_vae, "--grid", tmp_path / "grid.jpg")
        assert result.exit_code == EXIT_USAGE and "ending in .png" in result.output
    else:
        result = run("--model", tmp_path / "nope.pt", "--grid", tmp_path / "g.png")
        assert result.exit_code == EXIT_ERROR and "nope.pt: no such checkpoint" in result.output
    assert "Traceback" not in result.output


def test_grid_svg_draws_what_the_grid_png_shows(tmp_path, tiny_vae):
    """librsvg's rendering of the grid SVG matches the PNG grid (strokes clipped to their cells as in the PNG)."""
    import shutil
    import subprocess

    if shutil.which("rsvg-convert") is None:
        pytest.skip("rsvg-convert not installed (Debian package librsvg2-bin)")
    grid = tmp_path / "grid.png"
    assert run("--model", tiny_vae, "--n", 9, "--grid", grid, "--size", 56).exit_code == 0
    drawn = subprocess.run(["rsvg-convert", str(grid.with_suffix(".svg"))], capture_output=True, check=True).stdout
    (tmp_path / "svg.png").write_bytes(drawn)
    png = np.asarray(Image.open(grid).convert("L"), np.float32) / 255
    svg = np.asarray(Image.open(tmp_path / "svg.png").convert("L"), np.float32) / 255
    assert png.shape == svg.shape == (3 * 58 + 2, 3 * 58 + 2)
    assert np.abs(png - svg).mean() < 0.01


def test_without_out_or_grid_samples_go_to_a_samples_folder(tmp_path, tiny_vae, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--model", tiny_vae, "--n", 3)
    assert result.exit_code == 0, result.output
    assert len(Vectors.load(tmp_path / "samples" / "samples.npz")) == 3
    assert len(list((tmp_path / "samples" / "svg").glob("sample-*.svg"))) == 3
