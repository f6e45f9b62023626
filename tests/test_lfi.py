"""The likelihood-free method: its objectives, which loss trains which part, and what a run writes."""

import csv
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from mnistvec.cli import cli
from mnistvec.io.vectors import Vectors
from mnistvec.models.adversarial import critic_loss, generator_loss, gradient_penalty
from mnistvec.models.gradients import drawn
from mnistvec.models.lfi import StrokeLFI
from mnistvec.models.registry import load_model
from mnistvec.raster import render_torch


def test_js_losses_match_their_closed_forms():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    sigmoid = lambda t: 1 / (1 + math.exp(-t))
    expected_critic = (
        -(math.log(sigmoid(0)) + math.log(sigmoid(2))) / 2 - (math.log(1 - sigmoid(0)) + math.log(1 - sigmoid(-1))) / 2
    )
    assert float(critic_loss("js", real, fake)) == pytest.approx(expected_critic, rel=1e-6)
    expected_generator = (
        -(math.log(1 - sigmoid(0)) + math.log(1 - sigmoid(2))) / 2 - (math.log(sigmoid(0)) + math.log(sigmoid(-1))) / 2
    )
    assert float(generator_loss("js", real, fake)) == pytest.approx(expected_generator, rel=1e-6)
    assert float(critic_loss("js", torch.zeros(3), torch.zeros(3))) == pytest.approx(2 * math.log(2))


def test_wasserstein_losses_are_score_differences():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.0])
    assert float(generator_loss("wasserstein", real, fake)) == pytest.approx(2.0 - (-0.5))
    assert float(critic_loss("wasserstein", real, fake)) == pytest.approx(-0.5 - 2.0 + 1e-3 * 5.0)
    with pytest.raises(ValueError, match="unknown objective"):
        critic_loss("kl", real, fake)


def test_gradient_penalty_of_a_linear_critic_is_its_slope_minus_one_squared():
    """D(x, z) = a . x + b . z has gradient (a, b) everywhere, so the penalty is (|(a, b)| - 1)^2 exactly."""
    a, b = torch.full((28, 28), 0.05), torch.tensor([0.3, -0.4])
    critic = lambda x, z: (x * a).flatten(1).sum(1) + z @ b
    x, z = torch.rand(5, 28, 28), torch.randn(5, 2)
    slope = math.sqrt(float((a**2).sum() + (b**2).sum()))
    penalty = gradient_penalty(critic, (x, z), (torch.rand(5, 28, 28), torch.randn(5, 2)))
    assert float(penalty) == pytest.approx((slope - 1) ** 2, rel=1e-4)


def test_drawn_images_are_native_with_the_surrogates_gradient():
    model = StrokeLFI(n_lines=3, hidden=32, latent=2)
    lines = torch.rand(2, 3, 4).mul(0.6).add(0.2).requires_grad_(True)
    widths, opacity = torch.full((2, 3), 0.06), torch.ones(2, 3)
    image = drawn(model.surrogate, lines, widths, opacity)
    assert torch.equal(image.detach(), render_torch(lines.detach(), widths, opacity, 28, "native"))
    weights = torch.rand(2, 28, 28)
    (image * weights).sum().backward()
    through_surrogate = torch.autograd.grad((model.surrogate(lines, widths, opacity) * weights).sum(), lines)[0]
    assert torch.allclose(lines.grad, through_surrogate, atol=1e-6) and lines.grad.abs().sum() > 0


def grads_of(module):
    return [p.grad for p in module.parameters()]


@pytest.mark.parametrize("objective", ["js", "wasserstein"])
def test_each_loss_trains_only_its_own_players(objective):
    """The critic's loss moves the critic alone; the generator's loss and the reconstruction move the encoder
    and the generator, never the critic or the surrogate."""
    torch.manual_seed(0)
    model = StrokeLFI(n_lines=3, hidden=32, latent=2, objective=objective).train()
    images = torch.rand(4, 28, 28)

    def terms():
        model.zero_grad(set_to_none=True)
        return model(images, progress=0.5, generator=torch.Generator().manual_seed(1))

    terms()["d_loss"].backward()
    assert all(g is not None for g in grads_of(model.critic))
    assert all(g is None for g in grads_of(model.encoder) + grads_of(model.decoder) + grads_of(model.surrogate))
    for name in ("g_loss", "recon"):
        terms()[name].backward()
        assert all(g is None for g in grads_of(model.critic) + grads_of(model.surrogate)), name
        assert any(g is not None and g.abs().sum() > 0 for g in grads_of(model.encoder)), name
        assert any(g is not None and g.abs().sum() > 0 for g in grads_of(model.decoder)), name
    full = terms()
    assert ("gp" in full) == (objective == "wasserstein")
    full["loss"].backward()
    assert all(g is not None for g in grads_of(model.surrogate))  # through its fit to the native renderer


def test_instance_noise_follows_its_schedule_and_is_off_in_evaluation():
    model = StrokeLFI(n_lines=2, hidden=16, latent=2, instance_noise=0.2, instance_noise_end=0.05).train()
    images = torch.rand(8, 28, 28)
    noise = lambda p: model._seen(images, p, torch.Generator().manual_seed(0)) - images
    assert [float(noise(p).std()) for p in (0.0, 0.5, 1.0)] == pytest.approx([0.2, 0.125, 0.05], rel=0.05)
    assert torch.equal(model.eval()._seen(images, 0.0, torch.Generator().manual_seed(0)), images)
    assert torch.equal(
        StrokeLFI(n_lines=2, hidden=16, latent=2, instance_noise=0.2, instance_noise_end=0.0)
        .train()
        ._seen(images, 1.0, torch.Generator().manual_seed(0)),
        images,
    )


def test_two_time_scales_and_adversarial_momentum_in_the_optimiser_groups():
    model = StrokeLFI(n_lines=2, hidden=16, latent=2, critic_lr_scale=3.0)
    groups = model.parameter_groups()
    critic_ids = {id(p) for p in model.critic.parameters()}
    assert {id(p) for p in groups[1]["params"]} == critic_ids and groups[1]["lr_scale"] == 3.0
    assert not critic_ids & {id(p) for p in groups[0]["params"]}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert all(g["betas"] == (0.5, 0.999) for g in groups)


def test_lfi_run_writes_adversarial_losses_and_the_sample_class_histogram(tiny_lfi):
    run = tiny_lfi.parent
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert {
        "train_d_loss",
        "train_g_loss",
        "train_recon",
        "val_mse_native",
        "sample_entropy",
        "sample_confidence",
    } <= rows[0].keys()
    histogram = [int(rows[0][f"sample_class_{d}"]) for d in range(10)]
    assert sum(histogram) == 1000
    p = np.array(histogram) / 1000
    assert float(rows[0]["sample_entropy"]) == pytest.approx(-(p[p > 0] * np.log(p[p > 0])).sum(), abs=1e-3)
    assert Image.open(run / "samples-epoch-001.png").size == (16 * 30 + 2, 2 * 30 + 2)
    model, config = load_model(tiny_lfi)
    assert config["method"] == "lfi" and config["objective"] == "wasserstein" and model.latent == 4


def test_cli_trains_wasserstein_then_encodes_and_samples(tmp_path, tiny_images):
    data = tmp_path / "imgs.npz"
    np.savez(data, images=(tiny_images * 255).astype(np.uint8))
    out = tmp_path / "run"
    args = [
        "train",
        "--method",
        "lfi",
        "--objective",
        "wasserstein",
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
        "--critic-lr-scale",
        4,
        "--spectral-norm",
        "--out",
        out,
    ]
    invoke = lambda *a: CliRunner().invoke(cli, [str(x) for x in a], catch_exceptions=False)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    model, config = load_model(out / "model.pt")
    assert (config["objective"], config["critic_lr_scale"], config["spectral"]) == ("wasserstein", 4.0, True)
    assert "train_gp" in open(out / "metrics.csv").readline()

    encoded = invoke("encode", data, tmp_path / "enc", "--model", out / "model.pt", "--device", "cpu")
    assert encoded.exit_code == 0, encoded.output
    vectors = Vectors.load(tmp_path / "enc" / "vectors.npz")
    with torch.no_grad():
        expected = model.strokes(torch.from_numpy(np.round(tiny_images * 255) / 255).float())[0]
    assert np.allclose(vectors.lines, expected.numpy(), atol=1e-3)  # encode's batches: other float rounding

    sampled = invoke("sample", "--model", out / "model.pt", "--n", 6, "--out", tmp_path / "s", "--device", "cpu")
    assert sampled.exit_code == 0, sampled.output
    samples = Vectors.load(tmp_path / "s" / "samples.npz")
    assert samples.lines.shape == (6, 3, 4) and samples.meta["method"] == "lfi"
    with torch.no_grad():
        z = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
        assert np.allclose(samples.lines, model.decode(z)[0].numpy(), atol=1e-6)
