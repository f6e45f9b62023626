"""Per-image refinement's speed and quality curve: `mnistvec encode DIR OUT --refine K` end to end.

The MNIST test digits are written as PNG files into a temporary folder (outside the repository); then, for
each K, the command is run as a user would run it (a new process, the shipped autoencoder) and timed from
start to exit. Its vectors.npz is drawn back by the native renderer at 28x28 and scored against the
originals: pixel MSE, IoU of the ink at 0.5 and the bundled classifier's accuracy on the drawings. Prints a
table; with --plot, saves MSE against images/s with one point per K.

    python benchmarks/bench_refine.py                       # 10,000 digits, K = 0, 5, 10, 20, 50
    python benchmarks/bench_refine.py --count 1000 --steps 0 20
    python benchmarks/bench_refine.py --plot docs/refine-curve.png

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def write_pngs(images: np.ndarray, folder: Path) -> None:
    for i, image in enumerate(images):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"{i:05d}.png")


def run_encode(source: Path, out: Path, steps: int) -> float:
    """Seconds for `mnistvec encode source out --refine steps`, process start included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mnistvec.cli", "encode", str(source), str(out), "--refine", str(steps)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def score(out: Path, images: np.ndarray, labels: np.ndarray, classifier) -> dict:
    from mnistvec.evaluation.scores import score_reconstructions
    from mnistvec.raster import render_numpy

    vectors = np.load(out / "vectors.npz")
    order = np.argsort(vectors["names"])  # names are the zero-padded indices
    recon = render_numpy(vectors["lines"][order], vectors["widths"][order], vectors["opacity"][order], 28, 28, 28.0)
    scores = score_reconstructions(images, recon, labels, classifier, distances=False)
    return {"mse": scores.mse, "iou": scores.iou, "accuracy": scores.accuracy}


def plot(rows: list[tuple[int, float, dict]], path: str) -> None:
    """MSE (linear) against images/s (log), one labelled point per K."""
    import math

    width, height, left, right, top, bottom = 640, 400, 70, 610, 40, 340
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    rates = [count / seconds for _, seconds, count in ((k, s, r["count"]) for k, s, r in rows)]
    mses = [r["mse"] for _, _, r in rows]
    x_lo, x_hi = math.log10(min(rates)) - 0.1, math.log10(max(rates)) + 0.1
    y_hi = max(mses) * 1.1
    x_of = lambda v: left + (math.log10(v) - x_lo) / (x_hi - x_lo) * (right - left)
    y_of = lambda v: bottom - v / y_hi * (bottom - top)
    draw.rectangle([left, top, right, bottom], outline=(180, 180, 180))
    for decade in range(math.floor(x_lo), math.floor(x_hi) + 1):
        for factor in (1, 2, 5):
            value = factor * 10**decade
            if x_lo <= math.log10(value) <= x_hi:
                draw.line([(x_of(value), top), (x_of(value), bottom)], fill=(230, 230, 230))
                draw.text((x_of(value) - 12, bottom + 6), f"{value:,}", fill="black")
    for k in range(5):
        value = y_hi * k / 4
        draw.text((8, y_of(value) - 6), f"{value:.4f}", fill="black")
    points = [(x_of(rate), y_of(m)) for rate, m in zip(rates, mses)]
    draw.line(points, fill=(60, 110, 190), width=2)
    for (x, y), (steps, _, _) in zip(points, rows):
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(200, 60, 60))
        draw.text((x + 6, y - 14), f"K={steps}", fill="black")
    draw.text((left, 12), "mnistvec encode --refine K: pixel MSE against images/s (end to end, 2 cores)", fill="black")
    draw.text((right - 150, bottom + 24), "images/s (log scale)", fill="black")
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="test digits to encode")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 5, 10, 20, 50], help="values of K")
    parser.add_argument("--plot", metavar="PNG", help="save MSE against images/s here")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    args = parser.parse_args()

    from mnistvec.data.idx import read_idx
    from mnistvec.models.classifier import load_classifier

    images = read_idx(args.data_dir / "t10k-images-idx3-ubyte.gz")[: args.count].astype(np.float32) / 255.0
    labels = read_idx(args.data_dir / "t10k-labels-idx1-ubyte.gz")[: args.count].astype(np.int64)
    classifier = load_classifier()
    print(f"machine: {os.cpu_count()} cores; {len(images):,} MNIST test digits as PNG files; shipped autoencoder")
    print(f"\n{'K':>3} {'seconds':>8} {'images/s':>9} {'MSE':>8} {'IoU':>6} {'accuracy':>9}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "digits"
        source.mkdir()
        write_pngs(images, source)
        for steps in args.steps:
            out = Path(tmp) / f"out-{steps}"
            seconds = run_encode(source, out, steps)
            result = score(out, images, labels, classifier) | {"count": len(images)}
            rows.append((steps, seconds, result))
            print(
                f"{steps:>3} {seconds:>8.1f} {len(images) / seconds:>9,.0f} {result['mse']:>8.4f} "
                f"{result['iou']:>6.3f} {100 * result['accuracy']:>8.2f}%",
                flush=True,
            )
    if args.plot:
        plot(rows, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
