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

from .checkpoint import save_checkpoint
from .console import console
from .images import make_grid, save_png
from .interrupt import graceful_stop
from .models.registry import build_model, check_weights
from .render import render_torch
from .render.surrogate import StrokeSurrogate, coverage_fit, native_coverage, random_strokes
from .train import (METRICS_NAME, TrainConfig, TrainingInterrupted, denormals_flushed, open_run, optimiser_step,
                    restore, schedules, set_learning_rate, step_done, step_generator, stop_if_diverged,
                    training_progress, write_metrics)

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
    return {"lines": lines.to(device), "widths": widths.to(device),
            "coverage": native_coverage(lines, widths).to(device),
            "img_lines": img_lines.to(device), "img_widths": img_widths.to(device), "opacity": opacity.to(device),
            "images": render_torch(img_lines, img_widths, opacity, 28, "native").to(device)}


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


def train_surrogate(config: TrainConfig, run_dir: Path, device: str = "auto", resume: bool = False,
                    on_step=None) -> dict:
    """Fit a surrogate for `config.epochs * STEPS_PER_EPOCH` steps; checkpoint, metrics and grids in `run_dir`."""
    config, dev, ckpt_path, state = open_run(config, run_dir, device, resume)
    if state is not None:
        check_weights(state, ckpt_path, asdict(config))
    surrogate = build_model(asdict(config)).to(dev)
    optimizer = torch.optim.Adam(surrogate.parameters(), lr=config.lr)
    start_epoch, start_step, rows, (sums, seen) = restore(state, surrogate, optimizer)
    partial = (sums.get("loss", 0.0), seen)
    heldout = heldout_set(dev)
    strokes_per_step = config.batch_size * config.lines
    total_steps = STEPS_PER_EPOCH * config.epochs

    def checkpoint(epoch: int, step: int, loss_sum: float = 0.0, seen: int = 0) -> None:
        stop_if_diverged(ckpt_path, "before a checkpoint", model=surrogate)
        save_checkpoint(ckpt_path, {
            "method": "surrogate", "config": asdict(config), "model": surrogate.state_dict(),
            "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step, "metrics": rows,
            "epoch_sums": {"loss": loss_sum}, "epoch_seen": seen, "complete": epoch >= config.epochs,
        })

    progress = training_progress()
    with progress, graceful_stop() as stop, denormals_flushed():
        task = progress.add_task("training", total=total_steps, info="",
                                 completed=start_epoch * STEPS_PER_EPOCH + start_step)
        for epoch in range(start_epoch, config.epochs):
            epoch_start = time.perf_counter()
            done = start_step if epoch == start_epoch else 0
            loss_sum, seen = partial if epoch == start_epoch else (0.0, 0)
            try:
                for step in range(done, STEPS_PER_EPOCH):
                    _, lr = schedules(config, (epoch * STEPS_PER_EPOCH + step) / total_steps)
                    set_learning_rate(optimizer, lr)
                    strokes = random_strokes(strokes_per_step, step_generator(config.seed, epoch, step))
                    loss, mse = coverage_fit(surrogate, *(t.to(dev) for t in strokes))
                    stop_if_diverged(ckpt_path, f"in epoch {epoch + 1} at step {step + 1}", loss=loss)
                    optimiser_step(optimizer, loss)
                    done, loss_sum, seen = step + 1, loss_sum + float(mse), seen + 1
                    step_done(progress, task, f"epoch {epoch + 1}/{config.epochs}",
                              f"stroke MSE {loss_sum / seen:.2e}", stop)
                    if on_step is not None:
                        on_step(epoch, done)
            except KeyboardInterrupt:
                checkpoint(epoch, done, loss_sum, seen)
                raise TrainingInterrupted(run_dir, epoch, done) from None
            stop_if_diverged(ckpt_path, f"in epoch {epoch + 1}", model=surrogate)
            errors = heldout_errors(surrogate, heldout)
            row = {"epoch": epoch + 1, "train_loss": float(f"{loss_sum / max(seen, 1):.4e}"),
                   **{k: float(f"{v:.4e}") for k, v in errors.items()},
                   "seconds": round(time.perf_counter() - epoch_start, 2)}
            rows.append(row)
            save_comparison_grid(surrogate, heldout, run_dir / f"surrogate-epoch-{epoch + 1:03d}.png")
            write_metrics(run_dir / METRICS_NAME, rows)
            checkpoint(epoch + 1, 0)
            console.print(f"epoch {epoch + 1}/{config.epochs}: stroke MSE {row['train_loss']:.2e}, held-out stroke "
                          f"MSE {row['heldout_stroke_mse']:.2e}, image MSE {row['heldout_image_mse']:.2e}, "
                          f"{row['seconds']:.0f} s", highlight=False, soft_wrap=True)
    return rows[-1] if rows else {}


def surrogate_steps_hint(config: TrainConfig) -> str:
    """A one-line description of the run for the start-up message."""
    strokes = config.batch_size * config.lines * STEPS_PER_EPOCH * config.epochs
    return f"{config.epochs} epochs of {STEPS_PER_EPOCH} steps, {strokes / 1e6:.1f} M random strokes"
