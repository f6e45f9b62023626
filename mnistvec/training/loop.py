"""The one training loop (`run`): schedules, progress, metrics, checkpoints, resume, several processes, for
every task: the image models (ae, vae, lfi: `ImageTask`, with their data split and grids) and the
surrogate renderer (`surrogate_training.SurrogateTask`).

Reproducibility: the model is initialised from `seed`, the validation split is a permutation drawn from
`seed`, and epoch e visits the training images in a permutation drawn from (seed, e). Every random draw
of a step (shift augmentation, the VAE's eps, the LFI's prior draws, instance noise and gradient-penalty
points) comes from a generator seeded by (seed, e, step). A
checkpoint records the epoch and how many batches of it are done, so `--resume` replays the same
permutation from the next batch: an interrupted and resumed run takes exactly the steps an uninterrupted
one takes.

Several processes (torchrun, `training/distributed.py`): each epoch's permutation is dealt out to the processes
(DistributedSampler; the last images are repeated so that every process gets the same number), each
process takes `batch_size` images per step (a step of W processes learns from W x batch_size images, so
an epoch has W times fewer steps), DistributedDataParallel averages the gradients, and each process draws
its own random stream per step (rank 0's is the single-process one). A mid-epoch checkpoint resumes only
with the same number of processes.

Schedules, with progress p = step / total_steps in [0, 1]:

    temperature(p)   = T_start * (T_end / T_start) ** p          (soft-renderer blur, pixels; ae)
    learning_rate(p) = lr * (0.1 + 0.9 * (1 + cos(pi p)) / 2)     (cosine decay to a tenth)

A model's parameter groups may carry an `lr_scale` (the VAE's surrogate learns at a tenth of the rate).
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch.utils.data.distributed import DistributedSampler

from mnistvec.config import SCORED_SAMPLES, TrainConfig
from mnistvec.device import resolve_device
from mnistvec.errors import InputError
from mnistvec.io.atomic import write_text_atomic
from mnistvec.io.checkpoint import load_checkpoint, save_checkpoint
from mnistvec.io.console import console
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.png import make_grid, save_png
from mnistvec.models.registry import build_model, check_weights, load_weights
from mnistvec.raster import render_torch
from mnistvec.training.augment import random_shift
from mnistvec.training.distributed import SINGLE, Ranks, process_ranks, replicated

CHECKPOINT_NAME = "model.pt"
METRICS_NAME = "metrics.csv"
GRID_ITEMS = 16


class TrainingInterrupted(Exception):
    """Training stopped by the user; the checkpoint holds every completed step."""

    def __init__(self, run_dir: Path, epoch: int, step: int):
        super().__init__(f"interrupted in epoch {epoch + 1} after {step} batch(es); checkpoint saved")
        self.run_dir, self.epoch, self.step = run_dir, epoch, step


class TrainingDiverged(InputError):
    """The loss (or the weights) stopped being finite numbers: training stops without saving, so the last
    checkpoint, whose weights were finite, stands."""


def stop_if_diverged(
    ckpt_path: Path, when: str, loss: torch.Tensor | None = None, model: torch.nn.Module | None = None
) -> None:
    """Raise TrainingDiverged (saying `when`) when `loss` is NaN or infinite, or when a weight of `model`
    is: checked before the step that would spread the loss into the weights, and before a checkpoint is
    saved."""
    if loss is not None and not bool(torch.isfinite(loss)):
        problem = f"the loss is {float(loss.detach())}"
    elif model is not None and not all(
        bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point()
    ):
        problem = "the weights hold NaN or infinite values"
    else:
        return
    kept = f"{ckpt_path} is left as it was" if ckpt_path.exists() else "no checkpoint was saved"
    raise TrainingDiverged(
        f"{ckpt_path.parent}: training diverged {when}: {problem}; stopped, {kept} (a lower --lr may help)"
    )


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) indices: a seeded permutation, the last `val_fraction` held out (at least 1)."""
    if count < 2:
        raise InputError(f"need at least 2 images to train (one for validation), got {count}")
    perm = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    n_val = min(count - 1, max(1, int(round(count * val_fraction))))
    return perm[: count - n_val], perm[count - n_val :]


def epoch_sampler(n_train: int, seed: int, ranks: Ranks = SINGLE) -> DistributedSampler:
    """This process's share of each epoch's training images: after `set_epoch(e)` it yields indices into the
    training images. Epoch e's order is the permutation randperm(n_train) drawn from seed * 100_003 + e + 1,
    dealt out round-robin to the processes (the first few repeated so that every process gets as many);
    one process gets all of it."""
    return DistributedSampler(
        range(n_train),
        num_replicas=ranks.world_size,
        rank=ranks.rank,
        shuffle=True,
        seed=seed * 100_003 + 1,
        drop_last=False,
    )


RANK_STREAMS = 0x9E3779B97F4A7C15
"""Added rank times to a step's seed (2**64 over the golden ratio), so every process draws its own noise."""


def step_generator(seed: int, epoch: int, step: int, rank: int = 0) -> torch.Generator:
    """The random stream of one optimiser step (augmentation), a function of (seed, epoch, step) only, and of
    the process's rank in a multi-process run (rank 0 draws what a single process draws)."""
    stream = (seed * 100_003 + epoch) * 1_000_003 + step + rank * RANK_STREAMS
    return torch.Generator().manual_seed(stream % (2**63))


def schedules(config: TrainConfig, progress: float) -> tuple[float, float]:
    """(temperature, learning rate) at training progress in [0, 1] (module docstring)."""
    t0, t1 = config.temperature_start, config.temperature_end
    temperature = t0 * (t1 / t0) ** progress
    lr = config.lr * (0.1 + 0.9 * (1 + math.cos(math.pi * progress)) / 2)
    return temperature, lr


def training_progress(shown: bool = True) -> Progress:
    """The training progress bar: description, bar, a free-text `info` field, ETA (on stderr); `shown` False
    keeps it off the terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not shown,
    )


def open_run(config: TrainConfig, run_dir: Path, device: str, resume: bool, ranks: Ranks = SINGLE):
    """(config, device, checkpoint path, saved state or None) of a run about to start or resume; a resumed
    run takes its config from the checkpoint. Seeds torch from the config for the model's initialisation.
    Of several processes, each uses its own device and only rank 0 makes the run folder."""
    dev = ranks.device if ranks.distributed else resolve_device(device)
    if ranks.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / CHECKPOINT_NAME
    state = resumable_state(ckpt_path) if resume else None
    if state is not None:
        config = TrainConfig.from_dict(state["config"])
    torch.manual_seed(config.seed)
    return config, dev, ckpt_path, state


TRAINING_STATE = ("config", "model", "optimizer", "epoch", "step", "epoch_seen", "metrics")
"""What a checkpoint must hold for `--resume` to continue its run."""


def resumable_state(path: Path) -> dict:
    """The checkpoint at `path`, which must hold a run's training state; a shipped model (weights and
    settings only) is an InputError that points to `--init`."""
    state = load_checkpoint(path)
    if any(key not in state for key in TRAINING_STATE):
        raise InputError(
            f"{path}: holds no training state to resume (a shipped model keeps only its weights); "
            f"use --init {path} to fine-tune from it"
        )
    return state


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Flush denormal floats to zero while training: Adam's tiny second moments otherwise make late CPU
    steps up to 3x slower. It is processor-wide state, so the default (off) is restored afterwards."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def start_from(model: torch.nn.Module, path: str, config: dict) -> None:
    """Fine-tuning: load the weights of the checkpoint at `path` (a run's or a shipped model's) into `model`,
    built from `config`. Only refinement steps may be missing from it (they start fresh, as the identity);
    any other difference is a CheckpointError. A learned prior it holds is left behind: it describes the
    codes of the weights before fine-tuning (a run with `prior_components` fits its own at the end)."""
    from mnistvec.io.checkpoint import CheckpointError
    from mnistvec.models.bundled import resolve_model

    state = load_checkpoint(resolve_model(path))
    if "model" not in state:
        raise CheckpointError(f"{path}: checkpoint has no model to start from")
    state = {**state, "model": {k: v for k, v in state["model"].items() if not k.startswith("prior.")}}
    load_weights(model, state, path, config, may_lack=("refiner.", "prior."))


def restore(state: dict | None, model: torch.nn.Module, optimizer: torch.optim.Optimizer, ranks: Ranks = SINGLE):
    """(start epoch, start step, metrics rows, (epoch's loss sums, images seen)) of a resumed run, after
    loading its weights and optimiser state; zeros for a fresh run (state None). The sums cover all
    processes, so rank 0 carries them on and the others start from zero."""
    if state is None:
        return 0, 0, [], ({}, 0)
    check_world_size(state, ranks)
    model.load_state_dict(state["model"])
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:  # optimiser state that does not fit the model
        from mnistvec.io.checkpoint import CheckpointError

        raise CheckpointError(f"the optimiser state of the checkpoint does not fit its model ({err})") from None
    sums = state.get("epoch_sums", {"loss": state.get("epoch_loss_sum", 0.0)})  # older checkpoints: one sum
    partial = (dict(sums), state["epoch_seen"]) if ranks.is_main else (dict.fromkeys(sums, 0.0), 0)
    return state["epoch"], state["step"], list(state["metrics"]), partial


def check_world_size(state: dict, ranks: Ranks) -> None:
    """A checkpoint taken in the middle of an epoch resumes only with as many processes as wrote it: the
    number of processes decides which images each step of the epoch takes."""
    saved = state.get("world_size", 1)
    if state["step"] > 0 and saved != ranks.world_size:
        raise InputError(
            f"the checkpoint stopped in the middle of epoch {state['epoch'] + 1} of a run of {saved} "
            f"process(es): resume it with {saved} process(es), not {ranks.world_size}"
        )


def optimiser_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One gradient step on `loss`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


class StopRequested(KeyboardInterrupt):
    """Every process of the run stops after the same step (the user asked one of them to)."""


def step_done(progress: Progress, task, description: str, info: str, stop, ranks: Ranks = SINGLE) -> None:
    """Advance the progress bar by one step; raise StopRequested if the user asked any process to stop (the
    caller then saves a checkpoint of every completed step)."""
    progress.update(task, advance=1, description=description, info=info)
    if ranks.any(stop.requested):
        raise StopRequested


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group gets `lr` times its own `lr_scale` (1 unless the model asked otherwise)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


@torch.no_grad()
def validate(model, images: torch.Tensor, config: TrainConfig, temperature: float, device) -> dict:
    """The model's loss terms on held-out images (averaged, `val_` prefix), and pixel MSE through the
    native renderer."""
    model.eval()
    sums: dict[str, float] = {}
    sq_err = 0.0
    for lo in range(0, len(images), 256):
        batch = images[lo : lo + 256].to(device)
        terms = model(batch, temperature, config.reconstruction, progress=1.0)
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
        recon = render_torch(*model.strokes(batch), 28, "native")
        sq_err += float(((recon - batch) ** 2).mean(dim=(1, 2)).sum())
    model.train()
    return {
        **{f"val_{name}": total / len(images) for name, total in sums.items()},
        "val_mse_native": sq_err / len(images),
    }


def sample_metrics(model, classifier, device, seed: int = 0, count: int = SCORED_SAMPLES) -> dict:
    """Mode collapse, measured: `count` draws from the prior (the same z every epoch), native-rendered and read
    by the evaluation classifier: the class histogram, its entropy (nats; log 10 = 2.30 for ten equally
    common digits) and the mean top-class probability."""
    from mnistvec.evaluation.scores import score_samples

    scores = score_samples(prior_drawings(model, count, seed + 1, device), classifier)
    return {
        "sample_entropy": round(scores.entropy, 4),
        "sample_confidence": round(scores.confidence, 4),
        **{f"sample_class_{digit}": n for digit, n in enumerate(scores.histogram)},
    }


@torch.no_grad()
def prior_drawings(model, count: int, seed: int, device) -> np.ndarray:
    """[count, 28, 28] native drawings of codes drawn from the model's prior (N(0, I) until a learned prior
    is fitted) from `seed` (the model stays in training mode)."""
    model.eval()
    z = model.draw_latent(count, torch.Generator().manual_seed(seed)).to(device)
    samples = render_torch(*model.decode(z), 28, "native").cpu().numpy()
    model.train()
    return samples


def save_sample_grid(model, path: Path, device, seed: int = 0, count: int = 32) -> None:
    """`count` draws from the prior (the same z every epoch), native-rendered, in two rows."""
    save_png(path, make_grid(prior_drawings(model, count, seed, device), columns=count // 2))


@torch.no_grad()
def save_recon_grid(model, images: torch.Tensor, path: Path, device) -> None:
    """Originals (top row) above their native-rendered reconstructions (bottom row)."""
    model.eval()
    originals = images[:GRID_ITEMS].to(device)
    recon = render_torch(*model.strokes(originals), 28, "native")
    model.train()
    save_png(path, make_grid(torch.cat([originals, recon]).cpu().numpy(), columns=len(originals)))


def write_metrics(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    columns = list(dict.fromkeys(name for row in rows for name in row))  # rows of older versions may lack some
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


class Task:
    """What the loop trains (`run`): the module it checkpoints, its optimiser groups and learning-rate
    schedule, the steps of an epoch, one step's loss, and what is measured after each epoch. Subclasses:
    `ImageTask` (ae, vae, lfi), `training.surrogate.SurrogateTask`, `training.classifier.ClassifierTask`."""

    model: torch.nn.Module
    steps_per_epoch: int

    def parameter_groups(self) -> list[dict]:
        return [{"params": list(self.model.parameters())}]

    def learning_rate(self, config: TrainConfig, progress: float) -> float:
        """The learning rate at training progress in [0, 1]: the cosine decay to a tenth of `schedules`."""
        return schedules(config, progress)[1]

    def begin_epoch(self, epoch: int) -> None:
        """Called before the first step of each epoch (resumed ones included)."""

    def step(
        self, forward, epoch: int, step: int, at: float, temperature: float, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, float], int]:
        """(the loss to minimise, the terms to log, how many items they average over); `forward` is the model,
        inside DistributedDataParallel when several processes train."""
        raise NotImplementedError

    def progress_info(self, sums: dict[str, float], seen: int, temperature: float) -> str:
        return f"loss {sums['loss'] / seen:.2f}"

    def end_epoch(
        self, epoch: int, sums: dict[str, float], seen: int, temperature: float, started: float, run_dir: Path
    ) -> dict:
        """The epoch's metrics row (after writing its grids to `run_dir`); only rank 0 calls it."""
        raise NotImplementedError

    def summary(self, row: dict) -> str:
        """The line printed after each epoch."""
        raise NotImplementedError


class ImageTask(Task):
    """Training a vectoriser (`models/base.py`) on images: a held-out split, the epoch permutations of
    `epoch_sampler`, shift augmentation, validation, and sample scores for models that can sample."""

    def __init__(self, config: TrainConfig, images: np.ndarray, device, ranks: Ranks, fresh: bool):
        self.config, self.device, self.ranks = config, device, ranks
        self.model = build_model(asdict(config)).to(device)
        if fresh:
            self.model.prepare_training(config)
            if config.init:
                start_from(self.model, config.init, asdict(config))
        data = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        train_idx, val_idx = split_indices(len(data), config.val_fraction, config.seed)
        self.train_images, self.val_images = data[train_idx], data[val_idx]
        self.sampler = epoch_sampler(len(self.train_images), config.seed, ranks)
        self.steps_per_epoch = math.ceil(len(self.sampler) / config.batch_size)
        self.classifier = None
        if self.model.can_sample and ranks.is_main:
            from mnistvec.models.classifier import load_classifier

            self.classifier = load_classifier()

    def parameter_groups(self) -> list[dict]:
        return self.model.parameter_groups()

    def begin_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)
        self.order = torch.tensor(list(self.sampler))

    def step(self, forward, epoch, step, at, temperature, generator):
        size = self.config.batch_size
        batch = self.train_images[self.order[step * size : (step + 1) * size]]
        batch = random_shift(batch, generator, self.config.shift).to(self.device)
        terms = forward(batch, temperature, self.config.reconstruction, progress=at, generator=generator)
        return terms["loss"], {name: value.item() for name, value in terms.items()}, len(batch)

    def progress_info(self, sums, seen, temperature):
        return f"loss {sums['loss'] / seen:.2f}  T {temperature:.2f}"

    def end_epoch(self, epoch, sums, seen, temperature, started, run_dir):
        fitted = self.fit_prior() if epoch + 1 == self.config.epochs and self.config.prior_components else {}
        save_epoch_grids(self.model, run_dir, epoch, self.val_images, self.device, self.config.seed)
        return (
            epoch_row(
                self.model,
                self.config,
                epoch,
                sums,
                seen,
                self.val_images,
                self.classifier,
                self.device,
                temperature=temperature,
                started=started,
            )
            | fitted
        )

    def summary(self, row):
        return epoch_summary(row)

    def fit_prior(self) -> dict:
        """After the last epoch: fit the VAE's learned prior to the posterior means of the training split
        (`training/prior.py`), so that the last epoch's samples, and the checkpoint, have it. Returns the
        average log-likelihood of the training and the validation split's posterior means under it."""
        from mnistvec.training.prior import fit_model_prior, posterior_means

        fit = fit_model_prior(self.model, self.train_images, self.config.prior_components, self.config.seed)
        held_out = fit.log_prob(posterior_means(self.model, self.val_images)).mean()
        return {"prior_train_loglik": round(fit.log_likelihood, 4), "prior_val_loglik": round(float(held_out), 4)}


def train(
    config: TrainConfig,
    images: np.ndarray,
    run_dir: Path,
    device: str = "auto",
    resume: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> dict:
    """Train `config.method` (ae, vae, lfi) on `images` [B, 28, 28]; write checkpoint, metrics and grids to
    `run_dir` (`run`, `ImageTask`).

    The model (`models/base.py`) is called as `model(batch, temperature, reconstruction, progress, generator)`
    for a dict of scalar tensors whose "loss" is minimised (the others are logged); models that can sample
    also get a grid of samples per epoch."""
    return run(
        lambda config, dev, ranks, fresh: ImageTask(config, images, dev, ranks, fresh),
        config,
        run_dir,
        device,
        resume,
        on_step,
    )


def run(
    make_task: Callable[..., Task],
    config: TrainConfig,
    run_dir: Path,
    device: str = "auto",
    resume: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> dict:
    """The training loop, for every task: `make_task(config, device, ranks, fresh)` builds what to train.

    Started by torchrun as one of several processes, every process calls this with the same arguments: each
    trains on its share of the steps through DistributedDataParallel, and rank 0 alone measures, writes
    `run_dir` and prints (module docstring, `training/distributed.py`).

    `on_step(epoch, step)` is called after every optimiser step (a hook for tests and tooling).
    Returns the last epoch's metrics row (on rank 0; {} on the other processes).
    """
    ranks = process_ranks(device)
    config, dev, ckpt_path, state = open_run(config, run_dir, device, resume, ranks)
    if state is not None:
        check_weights(state, ckpt_path, asdict(config))
    task = make_task(config, dev, ranks, state is None)
    model = task.model
    optimizer = torch.optim.Adam(task.parameter_groups(), lr=config.lr)
    start_epoch, start_step, rows, partial = restore(state, model, optimizer, ranks)
    steps_per_epoch = task.steps_per_epoch
    total_steps = steps_per_epoch * config.epochs

    def checkpoint(epoch: int, step: int, sums: dict | None = None, seen: int = 0) -> None:
        stop_if_diverged(ckpt_path, "before a checkpoint", model=model)
        save_checkpoint(
            ckpt_path,
            {
                "method": config.method,
                "config": asdict(config),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "step": step,
                "metrics": rows,
                "epoch_sums": sums or {},
                "epoch_seen": seen,
                "complete": epoch >= config.epochs,
                "world_size": ranks.world_size,
            },
        )

    progress = training_progress(shown=ranks.is_main)
    model.train()
    with replicated(model, ranks) as forward, progress, graceful_stop() as stop, denormals_flushed():
        task_bar = progress.add_task(
            "training", total=total_steps, info="", completed=start_epoch * steps_per_epoch + start_step
        )
        for epoch in range(start_epoch, config.epochs):
            epoch_start = time.perf_counter()
            task.begin_epoch(epoch)
            done = start_step if epoch == start_epoch else 0
            sums, seen = partial if epoch == start_epoch else ({}, 0)
            try:
                for step in range(done, steps_per_epoch):
                    at = (epoch * steps_per_epoch + step) / total_steps
                    temperature = schedules(config, at)[0]
                    set_learning_rate(optimizer, task.learning_rate(config, at))
                    generator = step_generator(config.seed, epoch, step, ranks.rank)
                    loss, terms, count = task.step(forward, epoch, step, at, temperature, generator)
                    stop_if_diverged(ckpt_path, f"in epoch {epoch + 1} at step {step + 1}", loss=loss)
                    optimiser_step(optimizer, loss)
                    done, seen = step + 1, seen + count
                    for name, value in terms.items():
                        sums[name] = sums.get(name, 0.0) + value * count
                    step_done(
                        progress,
                        task_bar,
                        f"epoch {epoch + 1}/{config.epochs}",
                        task.progress_info(sums, seen, temperature),
                        stop,
                        ranks,
                    )
                    if on_step is not None:
                        on_step(epoch, done)
            except KeyboardInterrupt as interrupt:
                if ranks.distributed and not isinstance(interrupt, StopRequested):
                    raise  # this process alone is aborting: torchrun stops the others; the last checkpoint stands
                sums, seen = ranks.total(sums, seen)
                if ranks.is_main:
                    checkpoint(epoch, done, sums, seen)
                ranks.barrier()
                raise TrainingInterrupted(run_dir, epoch, done) from None
            sums, seen = ranks.total(sums, seen)
            stop_if_diverged(ckpt_path, f"in epoch {epoch + 1}", model=model)
            if ranks.is_main:
                end_temperature = schedules(config, (epoch + 1) * steps_per_epoch / total_steps)[0]
                rows.append(task.end_epoch(epoch, sums, seen, end_temperature, epoch_start, run_dir))
                write_metrics(run_dir / METRICS_NAME, rows)
                checkpoint(epoch + 1, 0)
                console.print(
                    f"epoch {epoch + 1}/{config.epochs}: " + task.summary(rows[-1]), highlight=False, soft_wrap=True
                )
            ranks.barrier()
    return rows[-1] if rows and ranks.is_main else {}


def epoch_row(
    model,
    config: TrainConfig,
    epoch: int,
    sums: dict,
    seen: int,
    val_images: torch.Tensor,
    classifier,
    device,
    temperature: float,
    started: float,
) -> dict:
    """The metrics row of a finished epoch: mean training terms, validation terms, sample scores (models
    with a prior), the temperature the epoch ended at and its duration, scoring included (from `started`,
    a `time.perf_counter()`)."""
    return {
        "epoch": epoch + 1,
        **{f"train_{name}": round(total / max(seen, 1), 5) for name, total in sums.items()},
        **{k: round(v, 6) for k, v in validate(model, val_images, config, temperature, device).items()},
        **(sample_metrics(model, classifier, device, config.seed) if classifier is not None else {}),
        "temperature": round(temperature, 4),
        "seconds": round(time.perf_counter() - started, 2),
    }


def save_epoch_grids(model, run_dir: Path, epoch: int, val_images: torch.Tensor, device, seed: int) -> None:
    """RUN/recon-epoch-NNN.png, and for models with a prior RUN/samples-epoch-NNN.png."""
    save_recon_grid(model, val_images, run_dir / f"recon-epoch-{epoch + 1:03d}.png", device)
    if model.can_sample:
        save_sample_grid(model, run_dir / f"samples-epoch-{epoch + 1:03d}.png", device, seed)


def epoch_summary(row: dict) -> str:
    """The one line printed after each epoch: the losses, KL when there is one, native MSE, time."""
    parts = [f"train loss {row['train_loss']:.3f}", f"val loss {row['val_loss']:.3f}"]
    if "val_kl" in row:
        parts.append(f"val KL {row['val_kl']:.2f}")
    if "train_d_loss" in row:
        parts.append(f"D {row['train_d_loss']:.3f} G {row['train_g_loss']:.3f}")
    if "sample_entropy" in row:
        parts.append(f"samples: {row['sample_entropy']:.2f} nats")
    parts += [f"val MSE (native) {row['val_mse_native']:.4f}", f"{row['seconds']:.0f} s"]
    return ", ".join(parts)
