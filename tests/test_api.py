"""The Python API (`import mnistvec`), and the README's example of it, run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import mnistvec
from mnistvec.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_api_example() -> str:
    """The Python block of the README's "Python API" section."""
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(readme_api_example(), "README.md", "exec"), {})
    assert "(8, 16, 4)" in printed.getvalue()
    assert (tmp_path / "digits.npz").is_file()
    assert mnistvec.Vectors.load(tmp_path / "digits.npz").lines.shape == (8, 16, 4)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """Eight digit-like canvases drawn by the shipped LFI."""
    return mnistvec.render(mnistvec.load_model("lfi").sample(8, seed=3))


def test_encode_gives_the_strokes_the_command_writes(digits, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, image in enumerate(digits):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"{i}.png")
    result = CliRunner().invoke(cli, ["encode", str(folder), str(tmp_path / "out"), "--model", "ae"])
    assert result.exit_code == 0, result.output
    written = mnistvec.Vectors.load(tmp_path / "out" / "vectors.npz")
    files = {key: path for path in folder.iterdir() for key in (path.name, path.stem)}  # names keep or drop ".png"
    canvases = np.stack([np.asarray(Image.open(files[name]), np.float32) / 255 for name in written.names])
    ours = mnistvec.load_model("ae").encode(canvases)  # the same encoder (native on the CPU): the same numbers
    assert np.array_equal(ours.lines, written.lines) and np.array_equal(ours.widths, written.widths)
    assert np.array_equal(ours.opacity, written.opacity)


def test_encode_takes_tensors_uint8_and_one_image_alike(digits):
    model = mnistvec.load_model("ae")
    reference = model.encode(digits).lines
    np.testing.assert_allclose(model.encode(torch.from_numpy(digits)).lines, reference)
    np.testing.assert_allclose(model.encode(torch.from_numpy(digits)[:, None]).lines, reference)
    np.testing.assert_allclose(model.encode(digits[0]).lines, reference[:1], atol=1e-6)
    as_bytes = np.round(digits * 255).astype(np.uint8)
    np.testing.assert_allclose(model.encode(as_bytes).lines, model.encode(as_bytes / 255.0).lines, atol=1e-6)


def test_refinement_draws_the_images_at_least_as_well(digits):
    model = mnistvec.load_model("ae")

    def error(vectors):
        return float(((mnistvec.render(vectors) - digits) ** 2).mean())

    assert error(model.encode(digits, refine=5)) <= error(model.encode(digits))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 32, 32)), r"shape \[B, 28, 28\]"),
        (np.full((1, 28, 28), np.nan), "finite values in"),
        (np.full((1, 28, 28), 2.0), r"in \[0, 1\]"),
        (np.array([["a"] * 28] * 28), "numbers"),
    ],
)
def test_bad_images_are_one_clear_error(bad, message):
    with pytest.raises(mnistvec.InputError, match=message):
        mnistvec.load_model("ae").encode(bad)


def test_render_matches_the_vectors_at_every_size(digits):
    vectors = mnistvec.load_model("ae").encode(digits)
    small, big = mnistvec.render(vectors), mnistvec.render(vectors, size=112)
    assert small.shape == (8, 28, 28) and big.shape == (8, 112, 112)
    assert abs(float(big.reshape(8, 28, 4, 28, 4).mean(axis=(2, 4)).mean()) - float(small.mean())) < 0.01
    exact = mnistvec.render(vectors, renderer="exact")
    np.testing.assert_allclose(exact, small, atol=1e-4)
    with pytest.raises(mnistvec.InputError, match="unknown renderer"):
        mnistvec.render(vectors, renderer="fast")


def test_sampling_is_reproducible_and_only_for_models_with_a_prior():
    lfi = mnistvec.load_model("lfi")
    np.testing.assert_array_equal(lfi.sample(4, seed=1).lines, lfi.sample(4, seed=1).lines)
    assert not np.array_equal(lfi.sample(4, seed=1).lines, lfi.sample(4, seed=2).lines)
    with pytest.raises(mnistvec.InputError, match="no prior"):
        mnistvec.load_model("ae").sample(4)


def test_the_soft_renderer_is_a_module_whose_gradients_move_strokes_towards_a_target(digits):
    vectors = mnistvec.load_model("ae").encode(digits[:2])
    layer = mnistvec.SoftRenderer(size=28, temperature=0.5)
    assert isinstance(layer, torch.nn.Module) and list(layer.parameters()) == []
    lines = torch.tensor(vectors.lines + 0.03, requires_grad=True)  # strokes moved off the digits
    widths, opacity, target = (torch.tensor(a) for a in (vectors.widths, vectors.opacity, digits[:2]))
    loss = ((layer(lines, widths, opacity) - target) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        stepped = lines - 1e-4 * lines.grad / lines.grad.abs().max()
        assert float(((layer(stepped, widths, opacity) - target) ** 2).sum()) < float(loss)


def test_vectors_round_trip_and_draw_as_svg(digits, tmp_path):
    vectors = mnistvec.load_model("ae").encode(digits, names=[f"d{i}" for i in range(8)])
    vectors.save(tmp_path / "v.npz")
    again = mnistvec.Vectors.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(again.lines, vectors.lines)
    assert again.names == vectors.names
    svg = again.to_svg(3, size=56)
    assert svg.startswith("<svg") and 'viewBox="0 0 56 56"' in svg and "<title>d3</title>" in svg
