"""Amortised refinement against per-image refinement at equal time.

A model with amortised refinement steps (`train --refiner-steps K`) and a model without them are run on
the same MNIST test digits (batch 256, every core): the first alone, the second followed by 0, 1, 2, ...
steps of per-image refinement (`encode --refine K`, `refine.py`). Printed per row: images/s of the strokes
inference (forward pass and refinement; reading and writing excluded), native-renderer MSE and IoU at 0.5.
A row of the second model as fast as the first is the comparison at equal time.

    python benchmarks/bench_amortised.py --amortised runs/ae-refiner/model.pt --plain runs/ae/model.pt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def run(model, images: torch.Tensor, steps: int, batch: int = 256) -> tuple[float, np.ndarray]:
    """(seconds, native drawings [B, 28, 28]) of the model's strokes, refined `steps` times per image."""
    from mnistvec.encoding.refine import refine
    from mnistvec.raster import render_torch
    from mnistvec.strokes import squash

    drawings, seconds = [], 0.0
    for lo in range(0, len(images), batch):
        x = images[lo : lo + batch]
        start = time.perf_counter()
        with torch.no_grad():
            raw = model.raw_strokes(x)
        if steps:
            raw = refine(raw, x, steps)
        seconds += time.perf_counter() - start
        drawings.append(render_torch(*squash(raw), 28, "native").numpy())
    return seconds, np.concatenate(drawings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amortised", required=True)
    parser.add_argument("--plain", required=True)
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 1, 2, 3, 5])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    args = parser.parse_args()

    from mnistvec.data import load_images
    from mnistvec.evaluation.metrics import iou_at_half
    from mnistvec.models.registry import load_model

    images = torch.from_numpy(
        np.ascontiguousarray(
            load_images(str(args.data_dir / "t10k-images-idx3-ubyte.gz"), limit=args.count).images, np.float32
        )
    )
    target = images.numpy()
    rows = []
    amortised, config = load_model(args.amortised)
    run(amortised, images[:256], 0)  # warm-up
    rows.append((f"{args.amortised} ({config.get('refiner_steps', 0)} amortised steps)", *run(amortised, images, 0)))
    plain, _ = load_model(args.plain)
    run(plain, images[:256], 1)  # warm-up: the first refinement pays for the optimiser's and threads' start
    for steps in args.steps:
        rows.append((f"{args.plain}, --refine {steps}", *run(plain, images, steps)))
    print(f"{len(images):,} MNIST test digits, batch 256, {torch.get_num_threads()} torch threads\n")
    print("| strokes from | images/s | MSE | IoU at 0.5 |\n| --- | ---: | ---: | ---: |")
    for label, seconds, drawings in rows:
        mse = float(((drawings - target) ** 2).mean())
        print(
            f"| {label} | {len(images) / seconds:,.0f} | {mse:.4f} "
            f"| {float(iou_at_half(target, drawings).mean()):.3f} |"
        )


if __name__ == "__main__":
    main()
