"""Amortised refinement steps: identity at the start, trained end to end, and in the VAE only their own."""

import pytest
import torch
from conftest import synthetic_digits

from mnistvec.config import TrainConfig
from mnistvec.io.checkpoint import CheckpointError
from mnistvec.models.ae import AutoEncoder
from mnistvec.models.refiner import RefineStep, staged_loss
from mnistvec.models.registry import build_model, load_model
from mnistvec.models.vae import StrokeVAE
from mnistvec.training.loop import train


def test_a_fresh_step_leaves_the_strokes_where_they_are():
    torch.manual_seed(0)
    step = RefineStep(4, hidden=32, channels=8)
    images, raw = torch.from_numpy(synthetic_digits(3)), torch.randn(3, 4, 6)
    torch.testing.assert_close(step(images, raw), raw, rtol=0, atol=0)


def test_the_staged_loss_weighs_the_last_stage_most():
    losses = [torch.tensor(4.0), torch.tensor(2.0), torch.tensor(1.0)]
    assert float(staged_loss(losses)) == 1.0 + 0.5 * 3.0
    assert float(staged_loss(losses[:1])) == 4.0


def test_steps_are_trained_through_the_renderer_and_move_the_encoders_strokes(tmp_path):
    images = synthetic_digits(64, seed=3)
    config = TrainConfig(epochs=2, batch_size=32, lines=4, hidden=64, channels=8, coords=True, refiner_steps=2)
    train(config, images, tmp_path, device="cpu")
    model, saved = load_model(tmp_path / "model.pt")
    assert saved["refiner_steps"] == 2 and len(model.refiner) == 2
    x = torch.from_numpy(images[:8])
    with torch.no_grad():
        stages = model.stages(x)
    assert len(stages) == 3 and not torch.equal(stages[0], stages[-1])
    torch.testing.assert_close(model.raw_strokes(x), stages[-1])


def test_old_checkpoints_build_a_model_without_steps_or_coordinates():
    model = build_model({"method": "ae", "lines": 4, "hidden": 32, "channels": 8})
    assert isinstance(model, AutoEncoder) and len(model.refiner) == 0 and not model.encoder.coords


def test_in_the_vae_the_refined_loss_trains_the_steps_alone():
    torch.manual_seed(0)
    vae = StrokeVAE(4, hidden=32, channels=8, latent=4, refiner_steps=1)
    for p in vae.refiner.parameters():  # a step that moves strokes, so its loss depends on its weights
        torch.nn.init.normal_(p, std=0.01)
    vae.train()
    images = torch.from_numpy(synthetic_digits(8))
    terms = vae(images, temperature=0.5, generator=torch.Generator().manual_seed(0))
    vae.zero_grad()
    terms["refined"].backward()
    grads = {name: p.grad for name, p in vae.named_parameters()}
    assert all(g is None or not g.any() for name, g in grads.items() if not name.startswith("refiner."))
    assert any(g is not None and g.any() for name, g in grads.items() if name.startswith("refiner."))


def test_a_vae_encodes_through_its_steps():
    torch.manual_seed(0)
    vae = StrokeVAE(4, hidden=32, channels=8, latent=4, refiner_steps=1).eval()
    for p in vae.refiner.parameters():
        torch.nn.init.normal_(p, std=0.01)
    images = torch.from_numpy(synthetic_digits(4))
    with torch.no_grad():
        decoded = vae.decode_raw(vae.posterior(images)[0])
        assert not torch.equal(vae.raw_strokes(images), decoded)


def test_fine_tuning_starts_from_a_trained_model_and_adds_fresh_steps(tmp_path, tiny_model, tiny_images):
    config = TrainConfig(epochs=1, batch_size=32, lines=4, refiner_steps=1, init=str(tiny_model), lr=1e-12)
    train(config, tiny_images[:64], tmp_path, device="cpu")
    tuned, _ = load_model(tmp_path / "model.pt")
    source, _ = load_model(tiny_model)
    x = torch.from_numpy(tiny_images[:4])
    with torch.no_grad():
        torch.testing.assert_close(tuned.stages(x)[0], source.raw_strokes(x), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(tuned.raw_strokes(x), source.raw_strokes(x), rtol=1e-4, atol=1e-4)


def test_fine_tuning_from_a_model_of_another_size_is_a_clear_error(tmp_path, tiny_model, tiny_images):
    config = TrainConfig(epochs=1, batch_size=32, lines=6, init=str(tiny_model))
    with pytest.raises(CheckpointError, match="do not fit"):
        train(config, tiny_images[:64], tmp_path, device="cpu")
