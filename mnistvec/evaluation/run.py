"""`mnistvec eval`: score a trained model or a classical baseline on digits, MNIST's or a user's own.

Every method turns each image into a vector drawing, which is drawn back at the image's size (28 x 28) and
compared with the original (`scores.score_reconstructions`): strokes (models, the skeleton baseline) by
the native renderer, potrace's outlines by rsvg-convert. Beside the scores: how many numbers a drawing
takes (6 per visible stroke: x0, y0, x1, y1, width, opacity; potrace: the numbers of its path data), the
mean size of its SVG file, and how many images per second the method vectorises (the model's forward
pass, by the encoder `encode` uses, or the baseline's tracing; reading, scoring and rendering for the
score excluded). A model with a prior also gets its samples scored (`scores.score_samples`).

Labels come from the source (MNIST, an IDX file with its labels, an .npz with `labels`), from a CSV file
of name,label rows, or from a folder's class sub-folders 0/ ... 9/ (`data.labels`); without labels the
classifier's agreement between drawings and originals is still measured. Every image's readings (its
label, the classifier's class for the original and the drawing, confidence, MSE) go into `as_dict`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistvec.errors import InputError
from mnistvec.evaluation.scores import ReconstructionScores, SampleScores, score_reconstructions, score_samples
from mnistvec.io.console import info, progress_bar, warn
from mnistvec.io.svg import canvas_frame, svg_drawing
from mnistvec.models.classifier import load_classifier
from mnistvec.raster import render_numpy
from mnistvec.raster.visibility import without_invisible

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
    names: list[str] = field(default_factory=list, repr=False)
    doubts: list[str] = field(default_factory=list, repr=False)
    labels_from: str | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "data": self.data,
            "count": self.count,
            "labels_from": self.labels_from,
            "reconstruction": self.reconstruction.as_dict(),
            "numbers_per_digit": self.numbers_per_digit,
            "svg_bytes": self.svg_bytes,
            "images_per_second": self.images_per_second,
            "classifier_t10k_accuracy": self.classifier_accuracy,
            "samples": None if self.samples is None else self.samples.as_dict(),
            "failed": self.failed,
            "visible_strokes": self.visible_strokes,
            "items": self.item_rows(),
        }

    def item_rows(self) -> list[dict]:
        """One row per image scored: name, label (None when unknown), the classifier's class for the original
        and for the drawing, its confidence in the drawing's class, the drawing's MSE, and why the image is
        suspect (None when it is not: `data.doubts`)."""
        readings = self.reconstruction.items
        if readings is None:
            return []
        return [
            {
                "name": name,
                "label": None if self.labels is None else int(self.labels[k]),
                "prediction_original": int(readings.original[k]),
                "prediction_drawing": int(readings.drawing[k]),
                "confidence": float(readings.confidence[k]),
                "mse": float(readings.mse[k]),
                "suspect": (self.doubts[k] or None) if self.doubts else None,
            }
            for k, name in enumerate(self.names)
        ]


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


def model_strokes(encoder, images: np.ndarray, batch_size: int) -> tuple[tuple[np.ndarray, ...], float]:
    """(lines, widths, opacity) of every image, as `encode` makes them (the same encoder,
    `encoding/encoders.py`: refinement and hygiene included), and the seconds that took."""
    parts, seconds = [], 0.0
    for lo in range(0, len(images), batch_size):
        start = time.perf_counter()
        lines, widths, opacity = encoder.encode(images[lo : lo + batch_size], None)
        parts.append((lines, widths, without_invisible(lines, widths, opacity)))
        seconds += time.perf_counter() - start
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3)), seconds


def vectorise(
    images: np.ndarray,
    model_path: Path | None,
    baseline: str | None,
    lines: int,
    device: str,
    batch_size: int,
    refine: int | None = None,
):
    """(name, reconstructions, numbers per image, SVG bytes per image, vectorising seconds, model or None).
    A model's strokes get `refine` steps of per-image refinement (None: the model's own default)."""
    height, width = images.shape[1:]
    if baseline == "potrace":
        from mnistvec.baselines.potrace import potrace_batch

        with progress_bar("tracing and rasterising (potrace)", len(images)) as advance:
            recon, sizes, numbers, seconds = potrace_batch(images, advance=advance)
        return "potrace", recon, numbers, sizes, seconds, None
    if baseline == "skeleton":
        from mnistvec.baselines.skeleton import require_scikit_image, skeleton_batch

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
        from mnistvec.encoding.encoders import load_batch_encoder

        encoder = load_batch_encoder(model_path, device, refine)
        config, refine_steps, model = encoder.config, encoder.refine_steps, encoder.model
        strokes, seconds = model_strokes(encoder, images, batch_size)
        name = f"{config['method']} ({model_path})" + (f", {refine_steps} refinement steps" if refine_steps else "")
    if model is None:
        strokes = (strokes[0], strokes[1], without_invisible(*strokes))  # the hygiene encode applies
    recon = render_numpy(*strokes, height, width, float(width))
    numbers, sizes = stroke_sizes(*strokes)
    return name, recon, numbers, sizes, seconds, model


def draw_prior_samples(model, count: int, seed: int, temperature: float = 1.0, prior: str = "learned") -> np.ndarray:
    """`count` samples from the model's own prior (or N(0, I) with `prior` standard; seeded), native-rendered
    at 28 x 28."""
    from mnistvec.encoding.sampling import draw_samples

    drawn = draw_samples(model, count, seed, temperature, next(model.parameters()).device, prior)
    return render_numpy(drawn.lines, drawn.widths, drawn.opacity, 28, 28, 28.0)


DEFAULT_BASELINE_LINES = 16


def require_line_count(model_path: Path, lines: int) -> None:
    """ValueError unless the checkpoint at `model_path` draws `lines` strokes."""
    from mnistvec.io.checkpoint import load_checkpoint

    own = load_checkpoint(model_path).get("config", {}).get("lines", lines)  # no config: load_model says so
    if own != lines:
        raise InputError(
            f"{model_path}: this model draws {own} lines, not {lines} (--lines sets a baseline's "
            "count; leave it out to score the model)"
        )


def read_scored(data: str, limit: int | None, mirror: str | None, labels_path: Path | None):
    """(the images to score, where their labels came from or None): the first `limit` images of `data`,
    unreadable ones named in one warning line each and left out, labelled by the CSV file `labels_path`
    (whose names must all be images of `data`), by the source itself, or by a folder's class sub-folders."""
    from mnistvec.data import labels as labelling
    from mnistvec.data import resolve_source, walk_image_files

    source = resolve_source(data)
    report = lambda failure: warn(f"{failure.path}: {failure.reason}")
    if source.kind == "folder":
        dataset = source.load(mirror, report, limit)
        known = lambda: [item.name for item in walk_image_files(source.path)]
    elif labels_path is None:  # the first `limit` images only: a large file is never read whole
        dataset = source.load(mirror, report, limit)
        known = lambda: dataset.names
    else:  # a labels file may name any item: read whole, the limit applies after
        whole = source.load(mirror, report)
        dataset = whole[:limit]
        dataset.failures = whole.failures
        known = lambda: whole.names + [failure.name for failure in whole.failures]
    if len(dataset.images) == 0:
        raise InputError(f"{data}: no images to evaluate")
    if labels_path is not None:
        dataset.labels = labelling.labels_for(
            dataset.names, labelling.read_labels_csv(labels_path), known(), labels_path, str(data)
        )
        return dataset, str(labels_path)
    if dataset.labels is not None:
        return dataset, str(data)
    if source.kind == "folder":
        dataset.labels, outside = labelling.class_folder_labels(dataset.names)
        if dataset.labels is not None:
            info(f"labels from the class sub-folders 0-9 of {data}")
            return dataset, "class sub-folders"
        if len(outside) < len(dataset.names):
            info(
                f"{len(outside)} of the {len(dataset.names)} images are not in a class sub-folder 0-9 "
                f"(such as {outside[0]!r}), so the sub-folders give no labels"
            )
    info(
        f"{data} has no labels (give --labels FILE.csv, or class sub-folders 0-9): classifier accuracy is not "
        "measured, agreement is"
    )
    return dataset, None


def evaluate_source(
    data: str,
    model_path: Path | None = None,
    baseline: str | None = None,
    lines: int | None = None,
    limit: int | None = None,
    samples: int = 1000,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 256,
    mirror: str | None = None,
    labels_path: Path | None = None,
    refine: int | None = None,
    prior: str = "learned",
) -> Evaluation:
    """Score a model (`model_path`) or a baseline on `data` (module docstring), labelled as `read_scored`
    says. `lines` is the baseline's stroke count (default 16); given with a model, it must be the model's
    own. A model's strokes are those `encode` writes: `refine` steps of refinement (None: the model's own
    default). Samples come from the model's own prior (`prior` learned) or from N(0, I) (standard)."""
    if (model_path is None) == (baseline is None):
        raise InputError("name either a model (--model) or a baseline (--baseline)")
    if model_path is not None:
        from mnistvec.models.bundled import resolve_model

        model_path = resolve_model(model_path)
        if not model_path.is_file():
            raise InputError(f"{model_path}: no such checkpoint file")
        if lines is not None:
            require_line_count(model_path, lines)
    lines = DEFAULT_BASELINE_LINES if lines is None else lines
    dataset, labels_from = read_scored(data, limit, mirror, labels_path)
    for name, doubt in zip(dataset.names, dataset.doubts):
        if doubt:
            warn(f"{name}: {doubt}; scored anyway")
    images = np.ascontiguousarray(dataset.images, np.float32)
    name, recon, numbers, sizes, seconds, model = vectorise(
        images, model_path, baseline, lines, device, batch_size, refine
    )
    classifier = load_classifier()
    scores = score_reconstructions(images, recon, dataset.labels, classifier)
    sample_scores = None
    sample_images = None
    if model is not None and model.can_sample and samples > 0:
        sample_images = draw_prior_samples(model, samples, seed, prior=prior)
        sample_scores = score_samples(sample_images, classifier, reference=images)
        from mnistvec.encoding.sampling import prior_name

        sample_scores.prior = prior_name(model, prior)
    return Evaluation(
        name,
        str(data),
        len(images),
        scores,
        float(numbers.mean()),
        float(sizes.mean()),
        len(images) / max(seconds, 1e-9),
        classifier.accuracy.get("t10k"),
        sample_scores,
        images,
        recon,
        sample_images,
        dataset.labels,
        len(dataset.failures),
        visible_strokes=None if baseline == "potrace" else float(numbers.mean()) / 6,
        names=dataset.names,
        doubts=dataset.doubts,
        labels_from=labels_from,
    )
