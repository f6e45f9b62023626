"""Autoencoder figures: reconstruction quality on MNIST t10k and encode throughput on 10,000 PNGs.

Trains on train-5k only (the training loop holds out 10% for validation), evaluates on t10k, 16 lines,
native-rendered at 28x28: pixel MSE, IoU at 0.5, and the accuracy of the bundled digit classifier (trained
on train-5k's labels; labels never reach the vectoriser) on reconstructions. Then writes t10k as 10,000 PNGs
to a temporary folder and times `mnistvec encode` on it (NPZ + SVG), end to end.

    python benchmarks/bench_ae.py                         # trains with the defaults (about 10 minutes)
    python benchmarks/bench_ae.py --model runs/ae/model.pt
    python benchmarks/bench_ae.py --model runs/ae/model.pt --refine 50 --limit 1000 --skip-encode

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def evaluation_classifier():
    """The evaluation classifier shipped in the package (trained on train-5k's labels by
    examples/train_classifier.py), with its own t10k accuracy printed beside."""
    from mnistvec.models.classifier import load_classifier

    classifier = load_classifier()
    print(f"evaluation classifier: bundled, {classifier.accuracy.get('t10k', float('nan')):.2%} on t10k originals")
    return classifier


def reconstruct(model_path: Path, images: np.ndarray, refine_steps: int) -> np.ndarray:
    from mnistvec.encoding.refine import refine
    from mnistvec.models.registry import load_model
    from mnistvec.raster import render_torch
    from mnistvec.strokes import squash

    model, _ = load_model(model_path)
    out = []
    for lo in range(0, len(images), 500):
        x = torch.from_numpy(images[lo : lo + 500])
        with torch.no_grad():
            raw = model.raw_strokes(x)
        if refine_steps:
            raw = refine(raw, x, refine_steps)
        out.append(render_torch(*squash(raw), 28, "native").numpy())
    return np.concatenate(out)


def encode_throughput(model_path: Path, images: np.ndarray, workdir: Path) -> float:
    """images/s of `mnistvec encode FOLDER OUT` (NPZ + SVG) on `images` written as PNGs."""
    folder = workdir / "pngs"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(folder / f"{i:05d}.png")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mnistvec.cli", "encode", str(folder), str(workdir / "out"), "--model", str(model_path)],
        check=True,
    )
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="evaluate this checkpoint instead of training one")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the CLI default)")
    parser.add_argument("--refine", type=int, default=0, help="per-image refinement steps")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-ae")
    parser.add_argument("--skip-encode", action="store_true", help="skip the encode throughput run")
    parser.add_argument("--limit", type=int, default=None, help="evaluate on the first N t10k images only")
    args = parser.parse_args()

    from mnistvec.data import load_images
    from mnistvec.evaluation.scores import score_reconstructions

    test_set = load_images(args.data_dir / "t10k-images-idx3-ubyte.gz")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}")
    model_path = args.model
    if model_path is None:
        cmd = [
            sys.executable,
            "-m",
            "mnistvec.cli",
            "train",
            "--method",
            "ae",
            "--overwrite",
            "--data",
            str(args.data_dir / "train-5k-images-idx3-ubyte.gz"),
            "--out",
            str(args.out),
        ]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"training: {time.perf_counter() - start:.0f} s ({' '.join(cmd[3:])})")
        model_path = args.out / "model.pt"

    classifier = evaluation_classifier()
    images, labels = test_set.images[: args.limit], test_set.labels[: args.limit]
    recon = reconstruct(model_path, images, args.refine)
    scores = score_reconstructions(images, recon, labels, classifier)
    print(
        f"t10k ({len(images):,} images), 16 lines, native 28x28{f', refine {args.refine}' if args.refine else ''}: "
        f"MSE {scores.mse:.4f}, IoU@0.5 {scores.iou:.3f}, classifier accuracy on reconstructions "
        f"{scores.accuracy:.2%} (on originals {scores.original_accuracy:.2%})"
    )
    if not args.skip_encode:
        workdir = Path(tempfile.mkdtemp(prefix="mnistvec-bench-"))
        try:
            rate = encode_throughput(model_path, test_set.images, workdir)
            print(f"encode 10,000 PNGs -> NPZ + SVG: {rate:,.0f} images/s end to end")
        finally:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
