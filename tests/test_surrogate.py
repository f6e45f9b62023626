"""The learned surrogate renderer: its input handling, the shipped weights' error vs native, its training run,
and the straight-through loss that carries the native renderer's gradients."""

import csv

import pytest
import torch

from mnistvec.config import TrainConfig
from mnistvec.io.checkpoint import CheckpointError
from mnistvec.models.ae import reconstruction_loss
from mnistvec.models.gradients import native_loss_through_surrogate
from mnistvec.models.surrogate import StrokeSurrogate, canonical_order, native_coverage, random_strokes
from mnistvec.models.surrogate_weights import bundled_surrogate_path, export_surrogate, load_surrogate_state
from mnistvec.raster import render_torch
from mnistvec.strokes import MARGIN, W_MAX, W_MIN


@pytest.fixture(scope="module")
def bundled():
    surrogate = StrokeSurrogate()
    surrogate.load_state_dict(load_surrogate_state("bundled"))
    return surrogate.eval()


def test_endpoint_order_does_not_matter():
    lines = torch.tensor([[0.8, 0.1, 0.2, 0.9], [0.2, 0.3, 0.6, 0.1]])
    swapped = lines[:, [2, 3, 0, 1]]
    assert torch.equal(canonical_order(lines), canonical_order(swapped))
    assert (canonical_order(lines)[:, 0] <= canonical_order(lines)[:, 2]).all()
    net, widths = StrokeSurrogate(hidden=16, layers=1), torch.tensor([0.05, 0.1])
    assert torch.equal(net.coverage(lines, widths), net.coverage(swapped, widths))


def test_random_strokes_cover_the_drawable_range_and_repeat_with_the_seed():
    lines, widths = random_strokes(20_000, torch.Generator().manual_seed(3))
    assert lines.min() >= MARGIN and lines.max() <= 1 - MARGIN
    assert widths.min() >= W_MIN and widths.max() <= W_MAX
    length = (lines[:, :2] - lines[:, 2:]).norm(dim=1)
    assert (length == 0).float().mean() == pytest.approx(0.05, abs=0.01)  # dots
    assert length.max() > 1.0  # and long strokes across the canvas
    again, _ = random_strokes(20_000, torch.Generator().manual_seed(3))
    assert torch.equal(lines, again)


def test_native_coverage_is_each_stroke_drawn_alone():
    lines, widths = random_strokes(6, torch.Generator().manual_seed(0))
    cov = native_coverage(lines.view(2, 3, 4), widths.view(2, 3))
    alone = render_torch(lines[:, None], widths[:, None], torch.ones(6, 1), 28, "exact")
    assert cov.shape == (2, 3, 28, 28)
    assert torch.allclose(cov.view(6, 28, 28), alone, atol=1e-3)


def test_bundled_surrogate_imitates_the_native_renderer(bundled):
    """Held-out strokes (a seed the training stream never uses): small per-pixel error, images that match."""
    g = torch.Generator().manual_seed(12345)
    lines, widths = random_strokes(16 * 64, g)
    lines, widths, opacity = lines.view(64, 16, 4), widths.view(64, 16), 0.3 + 0.7 * torch.rand(64, 16, generator=g)
    with torch.no_grad():
        imitation = bundled(lines, widths, opacity)
    native = render_torch(lines, widths, opacity, 28, "native")
    assert float(((imitation - native) ** 2).mean()) < 4e-3
    ink = native > 0.5
    assert float((imitation[ink] > 0.5).float().mean()) > 0.9  # it draws where the native renderer draws
    assert float((imitation[native == 0] > 0.5).float().mean()) < 0.01  # and not elsewhere


def test_straight_through_loss_is_the_native_loss_with_surrogate_gradients(bundled):
    g = torch.Generator().manual_seed(1)
    lines, widths = random_strokes(8 * 4, g)
    lines, widths = lines.view(8, 4, 4), widths.view(8, 4)
    target = render_torch(lines.flip(-1), widths, torch.ones(8, 4), 28, "exact")  # another drawing to match
    lines.requires_grad_(True)
    loss = native_loss_through_surrogate(bundled, lines, widths, torch.ones(8, 4), target, "bce", "straight-through")
    native = render_torch(lines.detach(), widths, torch.ones(8, 4), 28, "native")
    assert float(loss.detach()) == pytest.approx(float(reconstruction_loss(native, target, "bce")), rel=1e-5)
    loss.backward()
    assert lines.grad.abs().sum() > 0
    assert all(p.grad is None for p in bundled.parameters())  # the surrogate is not trained by this loss
    with torch.no_grad():  # a small step along the gradient lowers the true (native) loss
        stepped = (lines - 1e-4 * lines.grad / lines.grad.abs().max()).clamp(MARGIN, 1 - MARGIN)
        after = reconstruction_loss(render_torch(stepped, widths, torch.ones(8, 4), 28, "native"), target, "bce")
    assert float(after) < float(loss.detach())


def test_surrogate_mode_loss_is_the_surrogates_image(bundled):
    lines, widths = random_strokes(8, torch.Generator().manual_seed(2))
    lines, widths, ones = lines.view(2, 4, 4), widths.view(2, 4), torch.ones(2, 4)
    target = torch.zeros(2, 28, 28)
    loss = native_loss_through_surrogate(bundled, lines, widths, ones, target, "mse", "surrogate")
    with torch.no_grad():
        expected = reconstruction_loss(bundled(lines, widths, ones), target, "mse")
    assert float(loss.detach()) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="unknown gradients"):
        native_loss_through_surrogate(bundled, lines, widths, ones, target, "mse", "magic")


def test_surrogate_training_run_writes_a_usable_checkpoint(tmp_path, monkeypatch):
    import mnistvec.training.surrogate as st

    monkeypatch.setattr(st, "STEPS_PER_EPOCH", 30)
    monkeypatch.setattr(st, "HELDOUT_STROKES", 256)
    monkeypatch.setattr(st, "HELDOUT_IMAGES", 32)
    config = TrainConfig(method="surrogate", epochs=2, batch_size=16, lines=4, hidden=64, lr=1e-3)
    last = st.train_surrogate(config, tmp_path, device="cpu")
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["heldout_stroke_mse"]) < float(rows[0]["heldout_stroke_mse"])
    assert last["heldout_image_mse"] > 0 and (tmp_path / "surrogate-epoch-002.png").exists()
    export_surrogate(tmp_path / "model.pt", tmp_path / "exported.pt")
    state = load_surrogate_state(tmp_path / "exported.pt")
    assert StrokeSurrogate(hidden=64).load_state_dict(state) is not None


def test_a_checkpoint_that_is_not_a_surrogate_is_refused(tiny_model, tmp_path):
    with pytest.raises(CheckpointError, match="not a surrogate"):
        load_surrogate_state(tiny_model)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_surrogate_state(tmp_path / "missing.pt")
    assert bundled_surrogate_path().is_file()


def test_pixel_noise_gives_every_target_a_finite_likelihood(bundled):
    from mnistvec.models.gradients import observed

    image = torch.tensor([0.0, 0.5, 1.0])
    assert torch.allclose(observed(image, 0.02), torch.tensor([0.02, 0.5, 0.98]))
    assert observed(image, 0.0) is image
    lines, widths = random_strokes(8, torch.Generator().manual_seed(4))
    lines, widths, ones = lines.view(2, 4, 4), widths.view(2, 4), torch.ones(2, 4)
    target = torch.ones(2, 28, 28)  # ink everywhere: most of it where the strokes leave exact zeros
    noisy = native_loss_through_surrogate(bundled, lines, widths, ones, target, "bce", "straight-through", 0.02)
    native = render_torch(lines, widths, ones, 28, "native")
    assert float(noisy) == pytest.approx(float(reconstruction_loss(0.02 + 0.96 * native, target, "bce")), rel=1e-5)
    exact = native_loss_through_surrogate(bundled, lines, widths, ones, target, "bce", "straight-through", 0.0)
    assert float(noisy) < float(exact) / 2  # -log 0.02 = 3.9 nats per missed pixel instead of -log 1e-5 = 11.5


def test_cli_trains_a_surrogate_that_a_vae_then_starts_from(tmp_path, tiny_images):
    import numpy as np
    from click.testing import CliRunner

    from mnistvec.cli import cli
    from mnistvec.io.checkpoint import load_checkpoint

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    surrogate_run = tmp_path / "surrogate"
    result = run(
        "train",
        "--method",
        "surrogate",
        "--epochs",
        1,
        "--batch-size",
        1,
        "--lines",
        2,
        "--device",
        "cpu",
        "--out",
        surrogate_run,
    )
    assert result.exit_code == 0, result.output
    saved = load_checkpoint(surrogate_run / "model.pt")
    assert saved["method"] == "surrogate" and saved["complete"] and saved["config"]["lr"] == 1e-3
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))
    vae_run = tmp_path / "vae"
    result = run(
        "train",
        "--method",
        "vae",
        "--data",
        data,
        "--epochs",
        1,
        "--lines",
        2,
        "--latent",
        2,
        "--device",
        "cpu",
        "--surrogate",
        surrogate_run / "model.pt",
        "--out",
        vae_run,
    )
    assert result.exit_code == 0, result.output
    vae = load_checkpoint(vae_run / "model.pt")
    assert vae["config"]["surrogate"] == str(surrogate_run / "model.pt") and vae["config"]["batch_size"] == 32
    refused = run(
        "train", "--method", "vae", "--data", data, "--surrogate", vae_run / "model.pt", "--out", tmp_path / "x"
    )
    assert refused.exit_code == 1 and "not a surrogate checkpoint" in refused.output
