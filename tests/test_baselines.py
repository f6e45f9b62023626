"""Classical baselines: the skeleton tracer and potrace, each scored through `mnistvec eval`."""

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import synthetic_digits

from mnistvec.cli import EXIT_NOT_AVAILABLE, cli
from mnistvec.raster import render_torch

skimage = pytest.importorskip("skimage", reason="the skeleton baseline needs scikit-image (the test extra has it)")

from mnistvec.baselines.skeleton import skeleton_batch, skeleton_strokes, trace_polylines  # noqa: E402


def test_a_straight_bar_becomes_a_stroke_of_its_width_along_its_centre():
    image = np.zeros((28, 28), np.float32)
    image[12:17, 6:22] = 1.0  # 5 px thick, rows 12..16, columns 6..21
    lines, widths, opacity = skeleton_strokes(image, 16)
    drawn = opacity > 0
    assert 1 <= drawn.sum() <= 2  # skeletonize may leave a one-pixel kink at an end
    ys = lines[drawn][:, [1, 3]] * 28
    assert np.all(np.abs(ys - 14.5) <= 1.0)
    assert widths[drawn].max() * 28 == pytest.approx(5.0, abs=1.5)
    picture = render_torch(*(torch.from_numpy(a)[None] for a in (lines, widths, opacity)), 28, "exact")[0].numpy()
    inside = picture[image > 0]
    assert inside.mean() > 0.8 and picture[image == 0].mean() < 0.05


def test_a_cross_is_traced_into_four_arms_from_its_junction():
    skeleton = np.zeros((15, 15), bool)
    skeleton[7, 2:13] = True
    skeleton[2:13, 7] = True
    arms = trace_polylines(skeleton)
    assert len(arms) == 4 and all(len(arm) >= 5 for arm in arms)
    near_centre = lambda p: np.abs(p - 7).max() <= 1
    assert all(near_centre(arm[0]) or near_centre(arm[-1]) for arm in arms)  # each arm leaves the junction
    tips = {tuple(arm[0]) for arm in arms} | {tuple(arm[-1]) for arm in arms}
    assert {(7.0, 2.0), (7.0, 12.0), (2.0, 7.0), (12.0, 7.0)} <= tips


def test_a_ring_is_one_closed_polyline():
    ring = np.zeros((12, 12), bool)
    ring[2, 3:9] = ring[9, 3:9] = ring[3:9, 2] = ring[3:9, 9] = True
    (loop,) = trace_polylines(ring)
    assert (loop[0] == loop[-1]).all() and len(loop) == ring.sum() + 1


@pytest.mark.parametrize("n_lines", [2, 6, 16])
def test_never_more_strokes_than_asked_and_the_drawing_resembles_the_digit(n_lines):
    images = synthetic_digits(12, seed=3)
    lines, widths, opacity = skeleton_batch(images, n_lines)
    assert lines.shape == (12, n_lines, 4) and ((opacity == 0) | (opacity == 1)).all()
    drawn = render_torch(*(torch.from_numpy(a) for a in (lines, widths, opacity)), 28, "exact").numpy()
    if n_lines == 16:
        assert ((drawn - images) ** 2).mean() < 0.05 < (images**2).mean()


def test_an_empty_image_gives_no_strokes():
    lines, widths, opacity = skeleton_strokes(np.zeros((28, 28), np.float32), 4)
    assert not opacity.any()


def labelled_npz(tmp_path, count=24):
    path = tmp_path / "digits.npz"
    images = synthetic_digits(count, seed=5)
    np.savez(path, images=(images * 255).astype(np.uint8), labels=np.arange(count) % 10)
    return path


def run_eval(*args):
    return CliRunner().invoke(cli, ["eval", *[str(a) for a in args]], catch_exceptions=False)


def test_eval_scores_the_skeleton_baseline_to_json(tmp_path):
    result = run_eval(
        "--baseline", "skeleton", "--data", labelled_npz(tmp_path), "--lines", 8, "--json", tmp_path / "s.json"
    )
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores["count"] == 24 and scores["samples"] is None
    assert 0 <= scores["reconstruction"]["mse"] < 0.05 and 0.3 < scores["reconstruction"]["iou"] <= 1
    assert 0 < scores["numbers_per_digit"] <= 8 * 6 and scores["svg_bytes"] > 100
    assert len(scores["reconstruction"]["per_digit_accuracy"]) == 10


@pytest.mark.skipif(
    shutil.which("potrace") is None or shutil.which("rsvg-convert") is None,
    reason="the potrace baseline needs the potrace and rsvg-convert programs",
)
def test_eval_scores_potrace(tmp_path):
    result = run_eval("--baseline", "potrace", "--data", labelled_npz(tmp_path), "--json", tmp_path / "p.json")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "p.json").read_text())
    assert scores["reconstruction"]["iou"] > 0.6 and scores["numbers_per_digit"] > 8


def test_potrace_missing_is_exit_code_4_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = CliRunner().invoke(cli, ["eval", "--baseline", "potrace", "--data", str(labelled_npz(tmp_path))])
    assert result.exit_code == EXIT_NOT_AVAILABLE
    assert "needs the `potrace` program" in result.output and "Traceback" not in result.output
