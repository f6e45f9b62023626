"""Training the surrogate renderer on random strokes drawn by the native renderer (`train --method surrogate`).

No images are read: every step draws `batch_size * lines` fresh random strokes (`surrogate.random_strokes`,
seeded by (seed, epoch, step), so a resumed run takes exactly the steps of an uninterrupted one), renders
each alone with the native renderer, and fits the surrogate's coverage by the cross-entropy of the pixels'
coverage (the gradient of a saturated pixel never vanishes, unlike with squared error):

    L = mean over strokes and pixels of BCE(cov_theta(s), native(s)),

and reports the squared error, mean over strokes and pixels of (cov_theta(s) - native(s))^2.

An epoch is `STEPS_PER_EPOCH` steps. After each one, the held-out error is measured on strokes and on
16-stroke images the network never trained on (a fixed seed outside the training stream):

    heldout_stroke_mse  per-pixel MSE of single-stroke coverage
    heldout_image_mse   per-pixel MSE of composited images (random opacity 0.3-1) vs the native renderer
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch

from mnistvec.config import TrainConfig
from mnistvec.io.png import make_grid, save_png
from mnistvec.models.registry import build_model
from mnistvec.models.surrogate import StrokeSurrogate, coverage_fit, native_coverage, random_strokes
from mnistvec.raster import render_torch
from mnistvec.training.loop import Task, run

STEPS_PER_EPOCH = 1000
HELDOUT_SEED = 2**31 - 1
HELDOUT_STROKES = 4096
HELDOUT_IMAGES = 512
HELDOUT_LINES = 16


def heldout_set(device) -> dict[str, torch.Tensor]:
    """Fixed held-out strokes and 16-stroke images (with their native renderings)."""
    g = torch.Generator().manual_seed(HELDOUT_SEED)
    lines, widths = random_strokes(HELDOUT_STROKES, g)
    img_lines, img_widths = random_strokes(HELDOUT_IMAGES * HELDOUT_LINES, g)
    img_lines = img_lines.view(HELDOUT_IMAGES, HELDOUT_LINES, 4)
    img_widths = img_widths.view(HELDOUT_IMAGES, HELDOUT_LINES)
    opacity = 0.3 + 0.7 * torch.rand(HELDOUT_IMAGES, HELDOUT_LINES, generator=g)
    return {
        "lines": lines.to(device),
        "widths": widths.to(device),
        "coverage": native_coverage(lines, widths).to(device),
        "img_lines": img_lines.to(device),
        "img_widths": img_widths.to(device),
        "opacity": opacity.to(device),
        "images": render_torch(img_lines, img_widths, opacity, 28, "native").to(device),
    }


@torch.no_grad()
def heldout_errors(surrogate: StrokeSurrogate, heldout: dict) -> dict[str, float]:
    """Per-pixel MSE of the surrogate vs the native renderer on held-out strokes and images."""
    was_training = surrogate.training
    surrogate.eval()
    stroke_mse = float(((surrogate.coverage(heldout["lines"], heldout["widths"]) - heldout["coverage"]) ** 2).mean())
    images = surrogate(heldout["img_lines"], heldout["img_widths"], heldout["opacity"])
    image_mse = float(((images - heldout["images"]) ** 2).mean())
    surrogate.train(was_training)
    return {"heldout_stroke_mse": stroke_mse, "heldout_image_mse": image_mse}


@torch.no_grad()
def save_comparison_grid(surrogate: StrokeSurrogate, heldout: dict, path: Path) -> None:
    """Native images (top row) above the surrogate's imitation of them (bottom row)."""
    count = 16
    images = surrogate(heldout["img_lines"][:count], heldout["img_widths"][:count], heldout["opacity"][:count])
    save_png(path, make_grid(torch.cat([heldout["images"][:count], images]).cpu().numpy(), columns=count))


class SurrogateTask(Task):
    """Fitting the surrogate on fresh random strokes (module docstring); logs the stroke MSE per step."""

    steps_per_epoch = STEPS_PER_EPOCH

    def __init__(self, config: TrainConfig, device, ranks, fresh: bool):
        self.device = device
        self.model = build_model(asdict(config)).to(device)  # the registry's StrokeSurrogate, as resume checks it
        self.heldout = heldout_set(device)
        self.strokes_per_step = config.batch_size * config.lines

    def step(self, forward, epoch, step, at, temperature, generator):
        strokes = random_strokes(self.strokes_per_step, generator)
        loss, mse = coverage_fit(self.model, *(t.to(self.device) for t in strokes))
        return loss, {"loss": float(mse)}, 1

    def progress_info(self, sums, seen, temperature):
        return f"stroke MSE {sums['loss'] / seen:.2e}"

    def end_epoch(self, epoch, sums, seen, temperature, started, run_dir):
        errors = heldout_errors(self.model, self.heldout)
        save_comparison_grid(self.model, self.heldout, run_dir / f"surrogate-epoch-{epoch + 1:03d}.png")
        return {
            "epoch": epoch + 1,
            "train_loss": float(f"{sums.get('loss', 0.0) / max(seen, 1):.4e}"),
            **{k: float(f"{v:.4e}") for k, v in errors.items()},
            "seconds": round(time.perf_counter() - started, 2),
        }

    def summary(self, row):
        return (
            f"stroke MSE {row['train_loss']:.2e}, held-out stroke MSE {row['heldout_stroke_mse']:.2e}, "
            f"image MSE {row['heldout_image_mse']:.2e}, {row['seconds']:.0f} s"
        )


def train_surrogate(
    config: TrainConfig, run_dir: Path, device: str = "auto", resume: bool = False, on_step=None
) -> dict:
    """Fit a surrogate for `config.epochs * STEPS_PER_EPOCH` steps; checkpoint, metrics and grids in `run_dir`
    (the training loop `training.loop.run`)."""
    return run(SurrogateTask, config, run_dir, device, resume, on_step)


def surrogate_steps_hint(config: TrainConfig) -> str:
    """A one-line description of the run for the start-up message."""
    strokes = config.batch_size * config.lines * STEPS_PER_EPOCH * config.epochs
    return f"{config.epochs} epochs of {STEPS_PER_EPOCH} steps, {strokes / 1e6:.1f} M random strokes"
