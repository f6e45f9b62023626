"""The VAE's learned prior: the mixture's maths, its EM fit, the sampling paths that use it, and its
checkpoints (a run's, a bundled one's and the shipped VAE's)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import TINY_VAE, synthetic_digits
from hypothesis import given, settings
from hypothesis import strategies as st

from mnistvec.cli import cli
from mnistvec.config import TrainConfig
from mnistvec.encoding.sampling import draw_samples
from mnistvec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mnistvec.models.bundled import export_bundled, resolve_model
from mnistvec.models.prior import MixturePrior, mixture_log_prob
from mnistvec.models.registry import load_model
from mnistvec.models.vae import StrokeVAE
from mnistvec.training.loop import train
from mnistvec.training.prior import fit_mixture, fit_prior_to_checkpoint, posterior_means


def random_mixture(seed: int, components: int, dim: int):
    """(weights, means, Cholesky factors) in float64, well conditioned."""
    rng = torch.Generator().manual_seed(seed)
    weights = torch.rand(components, generator=rng, dtype=torch.float64) + 0.1
    means = 3 * torch.randn(components, dim, generator=rng, dtype=torch.float64)
    tril = torch.tril(0.3 * torch.randn(components, dim, dim, generator=rng, dtype=torch.float64), -1)
    diag = torch.rand(components, dim, generator=rng, dtype=torch.float64) + 0.3
    return weights / weights.sum(), means, tril + torch.diag_embed(diag)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), components=st.integers(1, 5), dim=st.integers(1, 6))
def test_log_prob_is_torch_distributions_mixture(seed, components, dim):
    weights, means, tril = random_mixture(seed, components, dim)
    prior = MixturePrior(components, dim)
    prior.set_parameters(weights, means, tril)
    z = 4 * torch.randn(30, dim, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    reference = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=weights),
        torch.distributions.MultivariateNormal(means, scale_tril=tril),
    )
    assert torch.allclose(prior.log_prob(z), reference.log_prob(z), rtol=1e-10, atol=1e-9)


def test_an_unfitted_prior_is_the_standard_normal():
    prior = MixturePrior(3, 4)
    z = torch.randn(10, 4, dtype=torch.float64)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    assert torch.allclose(prior.log_prob(z), expected)


def test_sampling_is_seeded_follows_the_temperature_and_the_mixture():
    weights, means, tril = random_mixture(3, 3, 2)
    prior = MixturePrior(3, 2)
    prior.set_parameters(weights, means, tril)
    draw = lambda seed, t=1.0: prior.sample(2000, torch.Generator().manual_seed(seed), t)
    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))
    cold = draw(0, 0.0)  # temperature 0: every draw is one of the means
    assert torch.cdist(cold, means).min(1).values.max() < 1e-12
    # at temperature t the spread about the picked mean is t times that at 1 (same components, same eps)
    assert torch.allclose(draw(0, 0.5) - cold, 0.5 * (draw(0) - cold))
    picked = torch.cdist(cold, means).argmin(1)
    assert torch.allclose(torch.bincount(picked, minlength=3).double() / 2000, weights, atol=0.04)


def test_em_recovers_a_known_mixture():
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    means = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], dtype=torch.float64)
    tril = torch.tensor(
        [[[1.0, 0.0], [0.5, 0.6]], [[0.7, 0.0], [-0.3, 1.2]], [[1.5, 0.0], [0.0, 0.4]]], dtype=torch.float64
    )
    prior = MixturePrior(3, 2)
    prior.set_parameters(weights, means, tril)
    points = prior.sample(6000, torch.Generator().manual_seed(0))
    fit = fit_mixture(points, 3, seed=1)
    order = torch.cdist(means, fit.means).argmin(1)  # the fitted component nearest each true one
    assert sorted(order.tolist()) == [0, 1, 2]
    assert torch.allclose(fit.weights[order], weights, atol=0.02)
    assert torch.allclose(fit.means[order], means, atol=0.1)
    covariances = tril @ tril.transpose(1, 2)
    fitted = fit.scale_tril[order] @ fit.scale_tril[order].transpose(1, 2)
    assert torch.allclose(fitted, covariances, atol=0.12)
    truth = float(mixture_log_prob(points, weights, means, tril).mean())
    assert abs(fit.log_likelihood - truth) < 0.01  # EM's fit is as likely as the truth (a little more)
    assert torch.equal(fit_mixture(points, 3, seed=1).means, fit.means)  # same points and seed: same fit


def test_em_keeps_covariances_positive_definite_on_degenerate_codes():
    points = torch.zeros(200, 3, dtype=torch.float64)
    points[:, 0] = torch.randn(200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fit = fit_mixture(points, 4)  # two dimensions constant: only the ridge keeps them invertible
    assert bool(torch.isfinite(fit.scale_tril).all()) and math.isfinite(fit.log_likelihood)
    assert bool((torch.diagonal(fit.scale_tril, dim1=1, dim2=2) > 0).all())


def fitted_vae(components: int = 2, latent: int = 3) -> StrokeVAE:
    torch.manual_seed(0)
    vae = StrokeVAE(n_lines=3, hidden=32, latent=latent, prior_components=components).eval()
    weights, means, tril = random_mixture(5, components, latent)
    vae.prior.set_parameters(weights, means, tril)
    return vae


def test_standard_prior_is_the_old_standard_normal_draw_and_learned_uses_the_mixture():
    vae = fitted_vae()
    old = 0.7 * torch.randn(40, 3, generator=torch.Generator().manual_seed(4))
    assert torch.equal(vae.draw_latent(40, torch.Generator().manual_seed(4), 0.7, "standard"), old)
    learned = vae.draw_latent(40, torch.Generator().manual_seed(4), 0.7)
    assert torch.allclose(learned, vae.prior.sample(40, torch.Generator().manual_seed(4), 0.7).float())
    lines = draw_samples(vae, 40, 4, 0.7, "cpu", prior="standard").lines
    with torch.no_grad():
        assert np.array_equal(lines, vae.decode(old)[0].numpy())
    plain = StrokeVAE(n_lines=3, hidden=32, latent=3)  # no mixture: learned is N(0, I)
    assert torch.equal(plain.draw_latent(40, torch.Generator().manual_seed(4), 0.7), old)


def run_checkpoint(path, model, config: dict) -> None:
    """Save `model` as a finished run's checkpoint."""
    save_checkpoint(
        path,
        {
            "method": config["method"],
            "config": config,
            "model": model.state_dict(),
            "metrics": [],
            "epoch": 1,
            "complete": True,
        },
    )


@pytest.mark.parametrize("components", [0, 2])
def test_checkpoints_with_and_without_a_prior_round_trip(tmp_path, components):
    from dataclasses import asdict

    vae = fitted_vae(components) if components else StrokeVAE(n_lines=3, hidden=32, latent=3)
    config = {**asdict(TrainConfig(method="vae", lines=3, hidden=32, latent=3)), "prior_components": components}
    run_checkpoint(tmp_path / "run.pt", vae, config)
    export_bundled(tmp_path / "run.pt", tmp_path / "small.pt")
    for path in ("run.pt", "small.pt"):
        loaded, loaded_config = load_model(tmp_path / path)
        assert loaded_config["prior_components"] == components
        if components:
            for name in ("weights", "means", "scale_tril"):  # exact: the export keeps the prior's float64
                assert torch.equal(getattr(loaded.prior, name), getattr(vae.prior, name))
        else:
            assert loaded.prior is None
    stored = load_checkpoint(tmp_path / "small.pt")["model"]
    assert all(v.dtype == (torch.float64 if k.startswith("prior.") else torch.float16) for k, v in stored.items())
    del config["prior_components"]  # an older checkpoint: no prior
    run_checkpoint(tmp_path / "old.pt", StrokeVAE(n_lines=3, hidden=32, latent=3), config)
    assert load_model(tmp_path / "old.pt")[0].prior is None


def test_a_prior_in_another_methods_config_is_refused(tmp_path, tiny_model):
    state = load_checkpoint(tiny_model)
    state["config"]["prior_components"] = 3
    save_checkpoint(tmp_path / "ae.pt", {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(CheckpointError, match="only a vae has a learned prior"):
        load_checkpoint(tmp_path / "ae.pt")


@pytest.mark.parametrize("method", ["ae", "lfi"])
def test_prior_components_is_refused_for_ae_and_lfi(tmp_path, method):
    result = CliRunner().invoke(
        cli, ["train", "--method", method, "--prior-components", "2", "--data", str(tmp_path / "none")]
    )
    assert result.exit_code == 1 and "--prior-components is for --method vae only" in result.output
    assert "Traceback" not in result.output


def test_a_tiny_vae_run_fits_and_saves_its_prior(tmp_path, tiny_images):
    rows = train(TrainConfig(**{**TINY_VAE, "prior_components": 2}), tiny_images, tmp_path, device="cpu")
    assert rows["prior_val_loglik"] < rows["prior_train_loglik"] + 50 and "sample_confidence" in rows
    model, config = load_model(tmp_path / "model.pt")
    assert config["prior_components"] == 2 and model.prior.components == 2
    assert not torch.equal(model.prior.means, torch.zeros_like(model.prior.means))  # fitted, not left at N(0, I)
    from mnistvec.training.loop import split_indices

    train_idx, _ = split_indices(len(tiny_images), 0.1, 0)
    again = fit_mixture(posterior_means(model, tiny_images[train_idx.numpy()]), 2, seed=0)
    assert torch.allclose(again.means, model.prior.means)  # fitted to the training split's posterior means
    refit = tmp_path / "refit.pt"  # the same fit for a checkpoint after the fact
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).round().astype(np.uint8))
    fit_prior_to_checkpoint(tmp_path / "model.pt", refit, str(data), 2, seed=0)
    assert load_model(refit)[0].prior.components == 2
    from mnistvec.evaluation.run import draw_prior_samples, evaluate_source

    drawn = {p: evaluate_source(str(data), tmp_path / "model.pt", samples=30, prior=p) for p in ("learned", "standard")}
    assert np.array_equal(drawn["learned"].sample_images, draw_prior_samples(model, 30, 0))
    assert np.array_equal(drawn["standard"].sample_images, draw_prior_samples(model, 30, 0, prior="standard"))
    assert not np.array_equal(drawn["learned"].sample_images, drawn["standard"].sample_images)
    assert drawn["learned"].samples.prior == "mixture-2" and drawn["standard"].samples.prior == "standard"
    scores = tmp_path / "scores.json"
    result = CliRunner().invoke(
        cli,
        ["eval", "--model", str(tmp_path / "model.pt"), "--data", str(data), "--samples", "5", "--prior", "standard"]
        + ["--json", str(scores)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(scores.read_text())["samples"]["prior"] == "standard"  # the JSON says what they came from


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(resolve_model("vae"))


def test_the_shipped_vae_has_a_prior_and_it_does_not_touch_encoding(tmp_path, shipped):
    assert shipped["config"]["prior_components"] > 0 and shipped["config"]["encode_refine"] == 3
    model, _ = load_model("vae")
    assert model.prior is not None and bool(torch.isfinite(model.prior.scale_tril).all())
    without = {**shipped, "config": {**shipped["config"], "prior_components": 0}}
    without["model"] = {k: v for k, v in shipped["model"].items() if not k.startswith("prior.")}
    save_checkpoint(tmp_path / "plain.pt", {k: v for k, v in without.items() if k != "format"})
    import mnistvec

    images = synthetic_digits(4, seed=3)
    ours, plain = mnistvec.load_model("vae"), mnistvec.load_model(tmp_path / "plain.pt")
    a, b = ours.encode(images, progress=False), plain.encode(images, progress=False)
    assert np.array_equal(a.lines, b.lines) and np.array_equal(a.opacity, b.opacity)
    learned, standard = ours.sample(8, seed=0), ours.sample(8, seed=0, prior="standard")
    assert np.array_equal(standard.lines, plain.sample(8, seed=0).lines)
    assert not np.array_equal(learned.lines, standard.lines)
    assert learned.meta["prior"].startswith("mixture-") and standard.meta["prior"] == "standard"


def test_sample_prior_option(tmp_path):
    args = ["sample", "--model", "vae", "--n", "4", "--out"]
    runs = {p: CliRunner().invoke(cli, [*args, str(tmp_path / p), "--prior", p]) for p in ("learned", "standard")}
    assert all(r.exit_code == 0 for r in runs.values()), [r.output for r in runs.values()]
    from mnistvec.io.vectors import Vectors

    learned, standard = (Vectors.load(tmp_path / p / "samples.npz") for p in ("learned", "standard"))
    assert not np.array_equal(learned.lines, standard.lines)
    bad = CliRunner().invoke(cli, [*args, str(tmp_path / "x"), "--prior", "other"])
    assert bad.exit_code == 2 and "'other' is not one of 'learned', 'standard'" in bad.output
