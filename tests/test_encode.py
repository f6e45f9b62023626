"""`mnistvec encode` as a user runs it: outputs, bad files, skipping finished work, refinement."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from mnistvec.cli import EXIT_ERROR, EXIT_PARTIAL, cli
from mnistvec.encoding.refine import native_mse, refine
from mnistvec.io.vectors import Vectors
from mnistvec.models.registry import load_model


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def digit_folder(tmp_path, tiny_images):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(6):
        Image.fromarray((tiny_images[i] * 255).astype(np.uint8)).save(folder / ("sub" if i > 3 else "") / f"d{i}.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (folder / "notes.png").write_text("this is text")
    return folder


def test_encode_writes_vectors_svgs_pngs_and_errors(tmp_path, digit_folder, tiny_model):
    out = tmp_path / "out"
    result = run("encode", digit_folder, out, "--model", tiny_model, "--png", "--size", 56, "--device", "cpu")
    assert result.exit_code == EXIT_PARTIAL, result.output
    vectors = Vectors.load(out / "vectors.npz")
    assert sorted(vectors.names) == ["d0.png", "d1.png", "d2.png", "d3.png", "sub/d4.png", "sub/d5.png"]
    assert vectors.lines.shape == (6, 4, 4) and vectors.frames.shape == (6, 6)
    for k, name in enumerate(vectors.names):
        root = ET.parse(out / "svg" / f"{name}.svg").getroot()
        assert root.get("viewBox") == "0 0 28 28"
        drawn = int((vectors.opacity[k] > 0).sum())  # invisible strokes have opacity 0 and no <line>
        assert 1 <= drawn <= 4 and len(root.findall(".//{http://www.w3.org/2000/svg}line")) == drawn
        assert Image.open(out / "png" / f"{name}.png").size == (56, 56)
    errors = (out / "errors.txt").read_text().splitlines()
    assert sorted(line.split("\t")[0].rsplit("/", 1)[-1] for line in errors) == ["corrupt.png", "notes.png"]
    assert "corrupt.png" in result.output and "notes.png" in result.output
    assert "mean MSE" in result.output


def test_rerun_skips_finished_items_unless_overwrite(tmp_path, digit_folder, tiny_model):
    out = tmp_path / "out"
    run("encode", digit_folder, out, "--model", tiny_model, "--device", "cpu")
    before = (out / "svg" / "d0.png.svg").stat().st_mtime_ns
    (out / "svg" / "d1.png.svg").unlink()  # an item whose output went missing is redone
    second = run("encode", digit_folder, out, "--model", tiny_model, "--device", "cpu")
    assert "│      1 │              5 │" in second.output  # 1 encoded, 5 skipped
    assert (out / "svg" / "d0.png.svg").stat().st_mtime_ns == before and (out / "svg" / "d1.png.svg").exists()
    assert len(Vectors.load(out / "vectors.npz")) == 6
    third = run("encode", digit_folder, out, "--model", tiny_model, "--device", "cpu", "--overwrite")
    assert "│      6 │              0 │" in third.output


def test_encoded_vectors_match_the_model(tmp_path, tiny_images, tiny_model):
    data = tmp_path / "x.npz"
    np.savez(data, images=tiny_images[:5])
    assert run("encode", data, tmp_path / "out", "--model", tiny_model, "--device", "cpu").exit_code == 0
    model, _ = load_model(tiny_model)
    with torch.no_grad():
        lines, _, _ = model.strokes(torch.from_numpy(tiny_images[:5]))
    np.testing.assert_allclose(Vectors.load(tmp_path / "out" / "vectors.npz").lines, lines.numpy(), atol=1e-6)


def test_refine_recovers_perturbed_strokes_and_never_worsens():
    """Images drawn from known strokes; refinement from a perturbed start gets much closer to them."""
    from mnistvec.raster import render_torch
    from mnistvec.strokes import MARGIN, W_MAX, W_MIN

    g = torch.Generator().manual_seed(0)
    lines = torch.rand(8, 3, 4, generator=g) * 0.5 + 0.25
    widths = torch.full((8, 3), 0.08)
    images = render_torch(lines, widths, torch.ones(8, 3), 28, "exact")
    logit = lambda p: torch.log(p / (1 - p))
    true_raw = torch.cat(
        [
            logit((lines - MARGIN) / (1 - 2 * MARGIN)),
            logit((widths - W_MIN) / (W_MAX - W_MIN)).unsqueeze(-1),
            torch.full((8, 3, 1), 4.0),
        ],
        dim=-1,
    )
    start = true_raw + 0.15 * torch.randn(true_raw.shape, generator=g) * torch.tensor([1, 1, 1, 1, 0, 0])
    before = native_mse(start, images)
    after = native_mse(refine(start, images, steps=40), images)
    assert (after <= before + 1e-7).all()
    assert after.mean() < 0.5 * before.mean()


def test_cli_refine_is_no_worse_than_the_encoder(tmp_path, tiny_images, tiny_model):
    data = tmp_path / "x.npz"
    np.savez(data, images=tiny_images[:6])
    plain = run("encode", data, tmp_path / "a", "--model", tiny_model, "--device", "cpu")
    refined = run("encode", data, tmp_path / "b", "--model", tiny_model, "--device", "cpu", "--refine", 10)
    mse = lambda out: float(out.output.split("│")[-2])
    assert refined.exit_code == 0 and mse(refined) <= mse(plain)


def test_user_mistakes_are_one_line(tmp_path, digit_folder, tiny_model):
    not_a_model = tmp_path / "model.pt"
    not_a_model.write_text("hello")
    result = run("encode", digit_folder, tmp_path / "o1", "--model", not_a_model)
    assert result.exit_code == EXIT_ERROR and "not a mnistvec checkpoint" in result.output
    assert "Traceback" not in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("encode", empty, tmp_path / "o2", "--model", tiny_model)
    assert result.exit_code == EXIT_ERROR and str(empty) in result.output and "Traceback" not in result.output
    missing = run("encode", digit_folder, tmp_path / "o3", "--model", tmp_path / "nope.pt")
    assert missing.exit_code == EXIT_ERROR and "no such checkpoint" in missing.output


def test_a_checkpoint_that_is_not_a_vectoriser_is_refused(tmp_path, digit_folder):
    from mnistvec.models.classifier import DigitClassifier, save_classifier

    save_classifier(DigitClassifier(), tmp_path / "classifier.pt")
    result = run("encode", digit_folder, tmp_path / "o", "--model", tmp_path / "classifier.pt")
    assert result.exit_code == EXIT_ERROR and "has no model" in result.output and "Traceback" not in result.output


def test_strokes_nobody_can_see_are_switched_off_and_the_drawing_stays_the_same(tmp_path, digit_folder, tiny_model):
    from mnistvec.data import load_images
    from mnistvec.raster import render_numpy

    state = torch.load(tiny_model, weights_only=False)
    state["model"]["encoder.head.weight"][5] = 0.0  # stroke 0's opacity: sigmoid(-12), 6e-6, in every image
    state["model"]["encoder.head.bias"][5] = -12.0
    torch.save(state, tmp_path / "faint.pt")
    out = tmp_path / "out"
    result = run("encode", digit_folder, out, "--model", tmp_path / "faint.pt", "--device", "cpu")
    assert result.exit_code == EXIT_PARTIAL
    vectors = Vectors.load(out / "vectors.npz")
    model, _ = load_model(tmp_path / "faint.pt")
    images = load_images(str(digit_folder), on_failure=lambda failure: None)
    order = [images.names.index(name) for name in vectors.names]
    with torch.no_grad():
        lines, widths, opacity = (t.numpy() for t in model.strokes(torch.from_numpy(images.images[order])))
    np.testing.assert_allclose(vectors.lines, lines, atol=1e-5)  # (batches of another size round otherwise)
    switched_off = (vectors.opacity == 0) & (opacity > 0)
    assert switched_off[:, 0].all()
    np.testing.assert_allclose(vectors.opacity[~switched_off], opacity[~switched_off], atol=1e-5)
    full = render_numpy(lines, widths, opacity, 28, 28, 28.0)
    written = render_numpy(vectors.lines, vectors.widths, vectors.opacity, 28, 28, 28.0)
    assert np.abs(full - written).max() < 1 / 255


def test_a_model_can_carry_its_own_default_refinement(tmp_path, digit_folder, tiny_model):
    """A checkpoint whose config says `encode_refine: 2` encodes (command, eval, API) as `--refine 2` does;
    `--refine 0` still turns it off."""
    import mnistvec
    from mnistvec.io.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(tiny_model)
    state["config"]["encode_refine"] = 2
    refining = tmp_path / "refining.pt"
    save_checkpoint(refining, state)

    def strokes(model, *options):
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        result = run("encode", digit_folder, out, "--model", model, *options)
        assert result.exit_code in (0, 3), result.output
        return Vectors.load(out / "vectors.npz").lines

    asked = strokes(tiny_model, "--refine", "2")
    assert not np.array_equal(asked, strokes(tiny_model))  # refinement moved the strokes
    np.testing.assert_array_equal(strokes(refining), asked)
    np.testing.assert_array_equal(strokes(refining, "--refine", "0"), strokes(tiny_model))
    canvases = np.stack([np.asarray(Image.open(p), np.float32) / 255 for p in sorted(digit_folder.rglob("d*.png"))])
    np.testing.assert_allclose(
        mnistvec.load_model(refining).encode(canvases, progress=False).lines,
        mnistvec.load_model(tiny_model).encode(canvases, refine=2, progress=False).lines,
        atol=1e-6,
    )
    scored = run("eval", "--model", refining, "--data", digit_folder, "--samples", "0")
    assert scored.exit_code == EXIT_PARTIAL and "2 refinement steps" in scored.output  # the two bad files
