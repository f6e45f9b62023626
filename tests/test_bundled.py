"""The models shipped in the package: names on the command line, the export, and the defaults."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import REPO, synthetic_digits

from mnistvec.cli import cli
from mnistvec.config import SAMPLE_MODEL
from mnistvec.io.checkpoint import CheckpointError, load_checkpoint
from mnistvec.io.vectors import Vectors
from mnistvec.models import bundled
from mnistvec.models.bundled import BUNDLED_MODELS, export_bundled, resolve_model
from mnistvec.models.registry import load_model


def test_names_mean_the_bundled_models_and_anything_else_a_path(tmp_path):
    assert resolve_model("vae").name == "vae.pt" and resolve_model("vae").is_file()
    assert resolve_model(tmp_path / "vae") == tmp_path / "vae"
    assert resolve_model("runs/x/model.pt") == type(resolve_model("vae"))("runs/x/model.pt")


@pytest.mark.parametrize("name", sorted(BUNDLED_MODELS))
def test_bundled_models_load_small_and_half_precision(name):
    model, config = load_model(name)
    assert config["method"] == name and config["lines"] == 16
    stored = load_checkpoint(resolve_model(name))
    # the largest, the VAE with two refinement steps and a 50-component prior, is 12.5 MB
    assert "optimizer" not in stored and resolve_model(name).stat().st_size < 12_500_000
    halves = [v.dtype == torch.float16 for k, v in stored["model"].items() if not k.startswith("prior.")]
    assert all(halves) and all(v.dtype == torch.float64 for k, v in stored["model"].items() if k.startswith("prior."))
    assert not any(k.startswith(("surrogate.", "critic.")) for k in stored["model"])


def test_export_keeps_what_the_model_draws(tmp_path, tiny_vae):
    export_bundled(tiny_vae, tmp_path / "small.pt")
    full, _ = load_model(tiny_vae)
    half, _ = load_model(tmp_path / "small.pt")
    images = torch.from_numpy(synthetic_digits(6))
    with torch.no_grad():
        assert torch.allclose(full.strokes(images)[0], half.strokes(images)[0], atol=2e-3)
    from mnistvec.models.surrogate_weights import load_surrogate_state

    assert torch.equal(half.surrogate.net[0].weight, load_surrogate_state()["net.0.weight"])  # stands in


def test_unfinished_runs_are_not_exported(tmp_path, tiny_vae):
    state = load_checkpoint(tiny_vae)
    torch.save({**state, "complete": False}, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="not a finished"):
        export_bundled(tmp_path / "partial.pt", tmp_path / "out.pt")


def test_a_missing_bundled_model_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "bundled_model_path", lambda name: tmp_path / "gone.pt")
    result = CliRunner().invoke(cli, ["sample", "--n", "2", "--grid", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and f"bundled {SAMPLE_MODEL} model is missing" in result.output
    assert "Traceback" not in result.output


def test_encode_and_sample_work_with_no_model_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    encoded = CliRunner().invoke(cli, ["encode", str(REPO / "examples" / "digits" / "mnist"), "out", "--device", "cpu"])
    assert encoded.exit_code == 0, encoded.output
    vectors = Vectors.load(tmp_path / "out" / "vectors.npz")
    assert len(vectors.names) == 30 and vectors.meta["method"] == "ae"
    sampled = CliRunner().invoke(cli, ["sample", "--n", "4", "--grid", "grid.png", "--device", "cpu"])
    assert sampled.exit_code == 0, sampled.output
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "grid.svg").is_file()


def test_bundled_autoencoder_draws_the_example_digits_closely():
    from mnistvec.data import load_images
    from mnistvec.raster import render_torch

    images = load_images(REPO / "examples" / "digits" / "mnist").images
    model, _ = load_model("ae")
    with torch.no_grad():
        drawn = render_torch(*model.strokes(torch.from_numpy(images)), 28, "native").numpy()
    assert float(((drawn - images) ** 2).mean()) < 0.02 < float((images**2).mean())
    assert np.isfinite(drawn).all()


def test_the_likelihood_free_models_critic_is_left_out_and_what_it_draws_kept(tmp_path, tiny_lfi):
    export_bundled(tiny_lfi, tmp_path / "small.pt")
    assert not any(k.startswith("critic.") for k in load_checkpoint(tmp_path / "small.pt")["model"])
    full, _ = load_model(tiny_lfi)
    half, _ = load_model(tmp_path / "small.pt")
    images = torch.from_numpy(synthetic_digits(6))
    with torch.no_grad():
        assert torch.allclose(full.strokes(images)[0], half.strokes(images)[0], atol=2e-3)
        z = torch.randn(3, full.latent)
        assert torch.allclose(full.decode(z)[0], half.decode(z)[0], atol=2e-3)
