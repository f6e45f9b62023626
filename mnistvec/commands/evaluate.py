"""`mnistvec eval`: score a trained model or a classical baseline on labelled digits.

Every method turns each image into a vector drawing, which is drawn back at the image's size (28 x 28) and
compared with the original (`evaluate.score_reconstructions`): strokes (models, the skeleton baseline) by
the native renderer, potrace's outlines by rsvg-convert. Beside the scores: how many numbers a drawing
takes (6 per visible stroke: x0, y0, x1, y1, width, opacity; potrace: the numbers of its path data), the
mean size of its SVG file, and how many images per second the method vectorises (the model's forward
pass or the baseline's tracing; reading, scoring and rendering for the score excluded). A model with a
prior also gets its samples scored (`evaluate.score_samples`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..console import info, progress_bar, warn
from ..evaluate import ReconstructionScores, SampleScores, load_classifier, score_reconstructions, score_samples
from ..render import render_numpy
from ..render.visibility import without_invisible
from ..svg import canvas_frame, svg_drawing
from ..errors import InputError

CHUNK = 500


@dataclass
class Evaluation:
    """Everything `mnistvec eval` reports about one method on one data source."""

    name: str
    data: str
    count: int
    reconstruction: ReconstructionScores
    numbers_per_digit: float
    svg_bytes: float
    images_per_second: float
    classifier_accuracy: float | None
    samples: SampleScores | None = None
    originals: np.ndarray = field(default=None, repr=False)
    recon: np.ndarray = field(default=None, repr=False)
    sample_images: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    failed: int = 0
    visible_strokes: float | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "data": self.data, "count": self.count,
                "reconstruction": self.reconstruction.as_dict(), "numbers_per_digit": self.numbers_per_digit,
                "svg_bytes": self.svg_bytes, "images_per_second": self.images_per_second,
                "classifier_t10k_accuracy": self.classifier_accuracy,
                "samples": None if self.samples is None else self.samples.as_dict(), "failed": self.failed,
                "visible_strokes": self.visible_strokes}


def stroke_sizes(lines: np.ndarray, widths: np.ndarray, opacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, SVG bytes) of each drawing, counting only its drawn strokes (opacity above 0, which is
    what `without_invisible` leaves of the strokes nobody can see)."""
    numbers, sizes = np.empty(len(lines)), np.empty(len(lines))
    frame = canvas_frame(28)
    for k in range(len(lines)):
        keep = opacity[k] > 0
        numbers[k] = 6 * int(keep.sum())
        sizes[k] = len(svg_drawing(lines[k][keep], widths[k][keep], opacity[k][keep], frame).encode())
    return numbers, sizes


def model_strokes(model, images: np.ndarray, device, batch_size: int) -> tuple[tuple[np.ndarray, ...], float]:
    """(lines, widths, opacity) of every image, and the seconds the forward passes took."""
    parts, seconds = [], 0.0
    with torch.no_grad():
        for lo in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[lo : lo + batch_size]).to(device)
            start = time.perf_counter()
            strokes = [t.cpu().numpy() for t in model.strokes(batch)]
            seconds += time.perf_counter() - start
            parts.append(strokes)
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3)), seconds


def vectorise(images: np.ndarray, model_path: Path | None, baseline: str | None, lines: int, device: str,
              batch_size: int):
    """(name, reconstructions, numbers per image, SVG bytes per image, vectorising seconds, model or None)."""
    height, width = images.shape[1:]
    if baseline == "potrace":
        from ..baselines.potrace import potrace_batch

        with progress_bar("tracing and rasterising (potrace)", len(images)) as advance:
            recon, sizes, numbers, seconds = potrace_batch(images, advance=advance)
        return "potrace", recon, numbers, sizes, seconds, None
    if baseline == "skeleton":
        from ..baselines.skeleton import require_scikit_image, skeleton_batch

        require_scikit_image()  # imported before the clock starts
        parts, seconds = [], 0.0
        with progress_bar("tracing skeletons", len(images)) as advance:
            for lo in range(0, len(images), CHUNK):
                start = time.perf_counter()
                parts.append(skeleton_batch(images[lo : lo + CHUNK], lines))
                seconds += time.perf_counter() - start
                advance(len(parts[-1][0]))
        strokes = tuple(np.concatenate([p[k] for p in parts]) for k in range(3))
        name, model = f"skeleton ({lines} lines)", None
    else:
        from ..models.registry import load_model
        from ..train import resolve_device

        dev = resolve_device(device)
        model, config = load_model(model_path, dev)
        strokes, seconds = model_strokes(model, images, dev, batch_size)
        name = f"{config['method']} ({model_path})"
    strokes = (strokes[0], strokes[1], without_invisible(*strokes))  # what encode writes
    recon = render_numpy(*strokes, height, width, float(width))
    numbers, sizes = stroke_sizes(*strokes)
    return name, recon, numbers, sizes, seconds, model


def draw_prior_samples(model, count: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """`count` samples from the model's prior (seeded), native-rendered at 28 x 28."""
    from .sample import draw_samples

    drawn = draw_samples(model, count, seed, temperature, next(model.parameters()).device)
    return render_numpy(drawn.lines, drawn.widths, drawn.opacity, 28, 28, 28.0)


DEFAULT_BASELINE_LINES = 16


def require_line_count(model_path: Path, lines: int) -> None:
    """ValueError unless the checkpoint at `model_path` draws `lines` strokes."""
    from ..checkpoint import load_checkpoint

    own = load_checkpoint(model_path).get("config", {}).get("lines", lines)  # no config: load_model says so
    if own != lines:
        raise InputError(f"{model_path}: this model draws {own} lines, not {lines} (--lines sets a baseline's "
                         "count; leave it out to score the model)")


def evaluate_source(data: str, model_path: Path | None = None, baseline: str | None = None, lines: int | None = None,
                    limit: int | None = None, samples: int = 1000, seed: int = 0, device: str = "auto",
                    batch_size: int = 256, mirror: str | None = None) -> Evaluation:
    """Score a model (`model_path`) or a baseline on `data` (module docstring). `lines` is the baseline's
    stroke count (default 16); given with a model, it must be the model's own."""
    from ..data import load_images

    if (model_path is None) == (baseline is None):
        raise InputError("name either a model (--model) or a baseline (--baseline)")
    if model_path is not None:
        from ..models.bundled import resolve_model

        model_path = resolve_model(model_path)
        if not model_path.is_file():
            raise InputError(f"{model_path}: no such checkpoint file")
        if lines is not None:
            require_line_count(model_path, lines)
    lines = DEFAULT_BASELINE_LINES if lines is None else lines
    dataset = load_images(data, mirror=mirror, limit=limit, on_failure=lambda f: warn(f"{f.path}: {f.reason}"))
    if len(dataset.images) == 0:
        raise InputError(f"{data}: no images to evaluate")
    if dataset.labels is None:
        info(f"{data} has no labels: classifier accuracy is not measured")
    images = np.ascontiguousarray(dataset.images, np.float32)
    name, recon, numbers, sizes, seconds, model = vectorise(images, model_path, baseline, lines, device, batch_size)
    classifier = load_classifier()
    scores = score_reconstructions(images, recon, dataset.labels, classifier)
    prior = None
    sample_images = None
    if model is not None and hasattr(model, "decode") and samples > 0:
        sample_images = draw_prior_samples(model, samples, seed)
        prior = score_samples(sample_images, classifier, reference=images)
    return Evaluation(name, str(data), len(images), scores, float(numbers.mean()), float(sizes.mean()),
                      len(images) / max(seconds, 1e-9), classifier.accuracy.get("t10k"), prior,
                      images, recon, sample_images, dataset.labels, len(dataset.failures),
                      visible_strokes=None if baseline == "potrace" else float(numbers.mean()) / 6)
