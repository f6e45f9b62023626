"""The README's comparison table: every vectoriser scored by `mnistvec eval` on the same digits.

Runs `mnistvec eval --json` for each trained model given (label=PATH; the shipped ae, vae and lfi when none
is given) and for the classical baselines (skeleton with the same number of strokes; potrace when
installed), then prints one Markdown table: classifier accuracy on reconstructions and agreement with the
originals' classes, MSE, IoU at 0.5, chamfer distance, the Frechet distance of the reconstructions to the
originals, visible strokes and numbers per digit, bytes per SVG, images/s vectorised, and for models with a
prior the confidence, class entropy and Frechet distance of 1,000 samples. Two reference rows put the
samples' Frechet distances on a scale: 1,000 drawings of random strokes, and 1,000 real test digits (drawn
at random) against the other 9,000. (Not train-5k digits: the classifier was trained on them, and its
features on its own training images lie far from those of unseen digits.)

    python experiments/compare.py                                      # the shipped models
    python experiments/compare.py AE=runs/ae/model.pt VAE=runs/vae/model.pt

The data default to MNIST t10k in ../shared/data/mnist beside the repository (override with --data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def evaluate(args: list[str], data: str, lines: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        cmd = [
            sys.executable,
            "-m",
            "mnistvec.cli",
            "eval",
            *args,
            "--data",
            data,
            "--lines",
            str(lines),
            "--json",
            str(out),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(args)}: mnistvec eval failed (exit {done.returncode}):\n{done.stderr}")
        return json.loads(out.read_text())


def row(label: str, scores: dict) -> str:
    r, s = scores["reconstruction"], scores["samples"]
    prior = f"{s['confidence']:.3f} | {s['entropy']:.3f} | {s['frechet']:.1f}" if s else "– | – | –"
    strokes = "–" if scores.get("visible_strokes") is None else f"{scores['visible_strokes']:.1f}"
    return (
        f"| {label} | {r['accuracy']:.2%} | {r['agreement']:.2%} | {r['mse']:.4f} | {r['iou']:.3f} | "
        f"{r['chamfer']:.3f} | {r['frechet']:.2f} | {strokes} | {scores['numbers_per_digit']:.0f} | "
        f"{scores['svg_bytes']:,.0f} | {scores['images_per_second']:,.0f} | {prior} |"
    )


def reference_rows(data: str, count: int = 1000, lines: int = 16, seed: int = 0) -> list[str]:
    """Frechet distances to the data of random strokes and of other MNIST digits (the scale's two ends)."""
    import numpy as np
    import torch

    from mnistvec.data import load_images
    from mnistvec.evaluation.scores import frechet_distance
    from mnistvec.models.classifier import features, load_classifier
    from mnistvec.raster import render_numpy
    from mnistvec.strokes import squash

    classifier = load_classifier()
    images = np.asarray(load_images(data).images, np.float32)
    raw = torch.randn(count, lines, 6, generator=torch.Generator().manual_seed(seed))
    random = render_numpy(*(t.numpy() for t in squash(raw)), 28, 28, 28.0)
    held_out = np.random.default_rng(seed).permutation(len(images))
    real, rest = images[held_out[:count]], images[held_out[count:]]
    rows = []
    for label, drawn, reference in (
        (f"{count:,} drawings of {lines} random strokes", random, images),
        (f"{count:,} real digits of the data against the other {len(rest):,}", real, rest),
    ):
        distance = frechet_distance(features(classifier, drawn), features(classifier, reference))
        rows.append(f"| {label} | | | | | | | | | | | | | {distance:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", metavar="LABEL=PATH", help="trained models to score")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"))
    parser.add_argument("--lines", type=int, default=16, help="strokes per digit for the skeleton baseline")
    args = parser.parse_args()

    import torch

    from mnistvec.raster import native_available

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, native renderer "
        f"{'present' if native_available() else 'missing'}; data {args.data}\n"
    )
    models = args.models or ["shipped AE=ae", "shipped VAE=vae", "shipped LFI=lfi"]
    runs = [(label, ["--model", path]) for label, path in (m.split("=", 1) for m in models)]
    runs.append((f"skeleton baseline ({args.lines} strokes)", ["--baseline", "skeleton"]))
    if shutil.which("potrace") and shutil.which("rsvg-convert"):
        runs.append(("potrace baseline (filled outlines)", ["--baseline", "potrace"]))
    else:
        print("potrace or rsvg-convert is not installed: no potrace row\n")
    results = [(label, evaluate(extra, args.data, args.lines)) for label, extra in runs]
    classifier = next((s["classifier_t10k_accuracy"] for _, s in results if s["classifier_t10k_accuracy"]), None)
    print(
        "| method | accuracy | agreement | MSE | IoU at 0.5 | chamfer (px) | Fréchet (recon.) | visible strokes | "
        "numbers per digit | bytes per SVG | images/s | sample confidence | class entropy (nats) | "
        "Fréchet (samples) |"
    )
    print("| --- |" + " ---: |" * 13)
    for label, scores in results:
        print(row(label, scores))
    for line in reference_rows(args.data):
        print(line)
    originals = results[0][1]["reconstruction"]["original_accuracy"]
    print(
        f"\nclassifier accuracy on the original images: {originals:.2%}"
        + (f" (its recorded t10k accuracy: {classifier:.2%})" if classifier else "")
    )


if __name__ == "__main__":
    main()
