"""`mnistvec eval --report DIR`: a Markdown report with its figures, from one `Evaluation`.

DIR/report.md                 the scores, and the figures below
DIR/reconstructions.png       the first 16 originals (top) above their reconstructions (bottom)
DIR/worst.png                 the 50 images with the largest MSE, originals above reconstructions
DIR/samples.png               64 samples from the prior (models with one)
DIR/per-digit-accuracy.png    the classifier's accuracy on reconstructions, one bar per true digit
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnistvec.evaluation.metrics import mse
from mnistvec.io.atomic import write_bytes_atomic, write_text_atomic
from mnistvec.io.png import make_grid, save_png

ROW = 16
WORST = 50
WORST_ROW = 25
ZOOM = 3


def pairs_figure(originals: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Originals above reconstructions, enlarged ZOOM times (nearest neighbour)."""
    grid = make_grid(np.concatenate([originals, recon]), columns=len(originals))
    return np.kron(grid, np.ones((ZOOM, ZOOM), np.float32))


def bar_chart(values: list[float], labels: list[str], title: str, width: int = 480, height: int = 240) -> bytes:
    """PNG bytes of a bar chart of values in [0, 1] (NaN bars are left out), with a 0.9 reference line."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, bottom, top = 40, height - 30, 30
    span = bottom - top
    draw.text((left, 8), title, fill="black")
    for level in (0.0, 0.5, 0.9, 1.0):
        y = bottom - level * span
        draw.line([(left, y), (width - 10, y)], fill=(200, 200, 200) if level != 0.9 else (230, 120, 120))
        draw.text((4, y - 6), f"{level:.1f}", fill="black")
    slot = (width - 10 - left) / len(values)
    for k, (value, label) in enumerate(zip(values, labels)):
        x0 = left + k * slot + slot * 0.15
        if value == value:  # not NaN
            draw.rectangle([x0, bottom - value * span, x0 + slot * 0.7, bottom], fill=(70, 110, 180))
        draw.text((x0 + slot * 0.25, bottom + 6), label, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def format_rows(evaluation) -> list[tuple[str, str]]:
    """(metric, value) rows shared by the terminal table and the report (accuracy only with labels)."""
    r = evaluation.reconstruction
    percent = lambda v: "-" if v is None else f"{v:.2%}"
    rows = [
        ("images", f"{evaluation.count:,}"),
        ("MSE", f"{r.mse:.4f}"),
        ("BCE (per pixel)", f"{r.bce:.4f}"),
        ("IoU at 0.5", f"{r.iou:.3f}"),
        ("chamfer distance (px)", f"{r.chamfer:.3f}"),
        *(
            [
                ("classifier accuracy on reconstructions", percent(r.accuracy)),
                ("classifier accuracy on the originals", percent(r.original_accuracy)),
            ]
            if r.accuracy is not None
            else []
        ),
        ("agreement with the originals' classes", percent(r.agreement)),
        ("Frechet distance to the originals", "-" if r.frechet is None else f"{r.frechet:.2f}"),
        (
            "visible strokes per digit",
            "-" if evaluation.visible_strokes is None else f"{evaluation.visible_strokes:.1f}",
        ),
        ("numbers per digit", f"{evaluation.numbers_per_digit:.1f}"),
        ("bytes per SVG", f"{evaluation.svg_bytes:,.0f}"),
        ("images/s vectorised", f"{evaluation.images_per_second:,.0f}"),
    ]
    if evaluation.samples is not None:
        s = evaluation.samples
        rows += [
            ("sample confidence", f"{s.confidence:.3f}"),
            ("sample class entropy (nats)", f"{s.entropy:.3f}"),
            ("sample Frechet distance to the data", "-" if s.frechet is None else f"{s.frechet:.2f}"),
            ("sample classes 0-9", " ".join(str(n) for n in s.histogram)),
        ]
    if evaluation.classifier_accuracy is not None:
        rows.append(("the classifier's own accuracy on t10k", percent(evaluation.classifier_accuracy)))
    return rows


def write_report(evaluation, folder: Path) -> Path:
    """Write the report and its figures into `folder`; returns the report's path."""
    originals, recon = evaluation.originals, evaluation.recon
    save_png(folder / "reconstructions.png", pairs_figure(originals[:ROW], recon[:ROW]))
    worst = np.argsort(-mse(originals, recon))[:WORST]
    bands = [
        pairs_figure(originals[worst[lo : lo + WORST_ROW]], recon[worst[lo : lo + WORST_ROW]])
        for lo in range(0, len(worst), WORST_ROW)
    ]
    width = max(band.shape[1] for band in bands)
    save_png(folder / "worst.png", np.concatenate([np.pad(b, ((0, 0), (0, width - b.shape[1]))) for b in bands]))
    figures = [
        "![originals (top) and reconstructions (bottom)](reconstructions.png)",
        "\n## Worst reconstructed (largest MSE)\n",
        "![worst reconstructed](worst.png)",
    ]
    if evaluation.sample_images is not None:
        save_png(folder / "samples.png", np.kron(make_grid(evaluation.sample_images[:64]), np.ones((2, 2), np.float32)))
        figures += ["\n## Samples from the prior\n", "![64 samples](samples.png)"]
    if evaluation.reconstruction.per_digit_accuracy is not None:
        write_bytes_atomic(
            folder / "per-digit-accuracy.png",
            bar_chart(
                evaluation.reconstruction.per_digit_accuracy,
                [str(d) for d in range(10)],
                "classifier accuracy on reconstructions, per true digit",
            ),
        )
        figures += ["\n## Accuracy per digit\n", "![per-digit accuracy](per-digit-accuracy.png)"]
    table = ["| metric | value |", "| --- | ---: |", *(f"| {k} | {v} |" for k, v in format_rows(evaluation))]
    text = "\n".join([f"# {evaluation.name} on {evaluation.data}", "", *table, "", *figures, ""])
    write_text_atomic(folder / "report.md", text)
    return folder / "report.md"
