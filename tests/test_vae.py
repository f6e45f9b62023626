"""The VAE: its ELBO terms, the KL warm-up, what a training run writes, and encoding with a VAE checkpoint."""

import csv

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from mnistvec.cli import cli
from mnistvec.io.vectors import Vectors
from mnistvec.models.registry import load_model
from mnistvec.models.vae import StrokeVAE
from mnistvec.raster import render_torch


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    vae = StrokeVAE(n_lines=3, hidden=32, latent=2).eval()
    images = torch.rand(4, 28, 28)
    mu = torch.tensor([[1.0, -2.0]]).repeat(4, 1)
    logvar = torch.tensor([[0.0, np.log(0.25)]]).repeat(4, 1)
    vae.posterior = lambda x: (mu, logvar)
    terms = vae(images)
    expected = 0.5 * ((1 + 1 - 1 - 0) + (4 + 0.25 - 1 - np.log(0.25)))  # sum_j mu^2 + sigma^2 - 1 - log sigma^2
    assert float(terms["kl"]) == pytest.approx(expected, rel=1e-5)
    vae.posterior = lambda x: (torch.zeros(4, 2), torch.zeros(4, 2))
    assert float(vae(images)["kl"]) == 0.0


def test_beta_warms_up_linearly_then_stays():
    vae = StrokeVAE(n_lines=2, hidden=16, latent=2, kl_weight=2.0, kl_warmup=0.25)
    assert [vae.beta(p) for p in (0.0, 0.125, 0.25, 0.9)] == [0.0, 1.0, 2.0, 2.0]
    assert StrokeVAE(n_lines=2, hidden=16, latent=2, kl_warmup=0.0).beta(0.0) == 1.0
    with pytest.raises(ValueError, match="unknown gradients"):
        StrokeVAE(gradients="magic")


def test_unregularised_loss_is_the_reconstruction_alone():
    vae = StrokeVAE(n_lines=3, hidden=32, latent=2, kl_weight=0.0).eval()
    terms = vae(torch.rand(2, 28, 28), progress=1.0)
    assert float(terms["loss"].detach()) == pytest.approx(float(terms["recon"].detach()))
    assert float(terms["kl"].detach()) > 0  # measured, just not weighted


def test_reconstructions_use_the_posterior_mean_and_sampling_is_seeded():
    vae = StrokeVAE(n_lines=3, hidden=32, latent=2).eval()
    images = torch.rand(2, 28, 28)
    mu, _ = vae.posterior(images)
    assert torch.equal(vae.strokes(images)[0], vae.decode(mu)[0])
    a = vae.strokes(images, sample=True, generator=torch.Generator().manual_seed(0))[0]
    b = vae.strokes(images, sample=True, generator=torch.Generator().manual_seed(0))[0]
    assert torch.equal(a, b) and not torch.equal(a, vae.strokes(images)[0])


def test_training_step_updates_the_surrogate_only_through_its_fit():
    """In training the surrogate's fit to the native renderer is part of the loss; the ELBO does not move it."""
    vae = StrokeVAE(n_lines=3, hidden=32, latent=2).train()
    images = torch.rand(2, 28, 28)
    terms = vae(images, generator=torch.Generator().manual_seed(0))
    assert 0 < float(terms["surrogate_mse"]) < 1
    (terms["recon"] + terms["kl"]).backward()  # the ELBO alone
    assert all(p.grad is None for p in vae.surrogate.parameters())
    assert any(p.grad.abs().sum() > 0 for p in vae.decoder.parameters())
    vae.zero_grad(set_to_none=True)
    vae(images, generator=torch.Generator().manual_seed(0))["loss"].backward()
    assert all(p.grad is not None for p in vae.surrogate.parameters())


def test_vae_run_writes_sample_grids_and_kl_metrics(tiny_vae):
    run = tiny_vae.parent
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert {"train_recon", "train_kl", "train_surrogate_mse", "val_recon", "val_kl", "val_mse_native"} <= rows[0].keys()
    assert float(rows[0]["val_kl"]) > 0
    assert Image.open(run / "samples-epoch-001.png").size == (16 * 30 + 2, 2 * 30 + 2)
    assert (run / "recon-epoch-001.png").exists()
    model, config = load_model(tiny_vae)
    assert config["method"] == "vae" and model.latent == 4


def test_encode_works_on_a_vae_checkpoint(tmp_path, tiny_vae, tiny_images):
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images[:10] * 255).astype(np.uint8))
    result = CliRunner().invoke(
        cli,
        ["encode", str(data), str(tmp_path / "out"), "--model", str(tiny_vae), "--device", "cpu"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    vectors = Vectors.load(tmp_path / "out" / "vectors.npz")
    model, _ = load_model(tiny_vae)
    with torch.no_grad():
        expected = model.strokes(torch.from_numpy(np.round(tiny_images[:10] * 255) / 255).float())[0]
    assert vectors.lines.shape == (10, 4, 4)
    assert np.allclose(vectors.lines, expected.numpy(), atol=1e-4)


def test_cli_trains_a_vae(tmp_path, tiny_images):
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))
    out = tmp_path / "run"
    args = [
        "train",
        "--method",
        "vae",
        "--data",
        data,
        "--epochs",
        1,
        "--lines",
        3,
        "--latent",
        3,
        "--batch-size",
        32,
        "--device",
        "cpu",
        "--kl-weight",
        0.5,
        "--gradients",
        "surrogate",
        "--out",
        out,
    ]
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    model, config = load_model(out / "model.pt")
    assert (config["kl_weight"], config["gradients"], config["latent"]) == (0.5, "surrogate", 3)
    missing = CliRunner().invoke(
        cli, [str(a) for a in args[:-1]] + [str(tmp_path / "b"), "--surrogate", str(tmp_path / "none.pt")]
    )
    assert missing.exit_code == 1 and "none.pt: no such checkpoint" in missing.output
    assert "Traceback" not in missing.output


def test_reconstruction_is_drawn_by_the_native_renderer(tiny_vae, tiny_images):
    model, _ = load_model(tiny_vae)
    with torch.no_grad():
        strokes = model.strokes(torch.from_numpy(tiny_images[:4]))
    native = render_torch(*strokes, 28, "native")
    assert native.shape == (4, 28, 28) and float(native.max()) <= 1.0


def test_encode_can_sample_the_posterior(tmp_path, tiny_vae, tiny_model, tiny_images):
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images[:6] * 255).astype(np.uint8))

    def encode(model, out, *extra):
        return CliRunner().invoke(cli, ["encode", str(data), str(tmp_path / out), "--model", str(model), *extra])

    for out, extra in (
        ("mean", []),
        ("s1", ["--sample-posterior", "1"]),
        ("s1b", ["--sample-posterior", "1"]),
        ("s2", ["--sample-posterior", "2"]),
    ):
        assert encode(tiny_vae, out, *extra).exit_code == 0
    mean, s1, s1b, s2 = (Vectors.load(tmp_path / o / "vectors.npz").lines for o in ("mean", "s1", "s1b", "s2"))
    assert np.array_equal(s1, s1b) and not np.array_equal(s1, s2) and not np.array_equal(s1, mean)
    refused = encode(tiny_model, "ae", "--sample-posterior", "1")
    assert refused.exit_code == 1 and "no posterior" in refused.output
