"""Training speed per method on train-5k, and how long each run took to reach the quality targets.

Seconds per epoch: `mnistvec train --method M --epochs EPOCHS` on train-5k for each method (ae, vae, lfi),
from the runs' metrics.csv: the median of the optimiser steps' time per epoch, and the wall time per epoch
with validation, sample scoring and grids. Time to targets (--runs LABEL=RUN ...): from a finished run's
metrics.csv, the training seconds until the validation MSE is within 10% of its final value, and for models
with a prior until 1,000 samples first reach both targets (class entropy >= 2.2 nats, confidence >= 0.85).

    python benchmarks/bench_train.py --epochs 2
    python benchmarks/bench_train.py --epochs 2 --device cuda      # the same on a GPU
    python benchmarks/bench_train.py --methods ae --soft-backends auto torch   # native soft renderer vs torch
    python benchmarks/bench_train.py --skip-speed --runs ae=runs/ae vae=runs/vae lfi=runs/lfi-w

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTROPY, CONFIDENCE = 2.2, 0.85


def epoch_speed(method: str, data: Path, epochs: int, device: str = "cpu", soft: str = "auto") -> tuple[float, float]:
    """(median step seconds per epoch, wall seconds per epoch) of a short run on `device`, with the soft
    renderer's backend `soft` (MNISTVEC_SOFT_BACKEND: auto is native on the CPU, or torch)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mnistvec.cli",
                "train",
                "--method",
                method,
                "--data",
                str(data),
                "--epochs",
                str(epochs),
                "--out",
                tmp,
                "--device",
                device,
            ],
            check=True,
            capture_output=True,
            env=os.environ | {"MNISTVEC_SOFT_BACKEND": soft},
        )
        wall = time.perf_counter() - start
        rows = list(csv.DictReader(open(Path(tmp) / "metrics.csv")))
    return statistics.median(float(r["seconds"]) for r in rows), wall / epochs


def time_to_targets(run: Path) -> tuple[float, float | None, float]:
    """(seconds to a validation MSE within 10% of the final one, seconds to the sample targets or None,
    total training seconds), summing the metrics' per-epoch step seconds."""
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    final = float(rows[-1]["val_mse_native"])
    elapsed, mse_at, samples_at = 0.0, None, None
    for row in rows:
        elapsed += float(row["seconds"])
        if mse_at is None and float(row["val_mse_native"]) <= 1.1 * final:
            mse_at = elapsed
        if (
            samples_at is None
            and "sample_entropy" in row
            and float(row["sample_entropy"]) >= ENTROPY
            and float(row["sample_confidence"]) >= CONFIDENCE
        ):
            samples_at = elapsed
    return mse_at, samples_at, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per method for the speed figures")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the speed runs train")
    parser.add_argument("--methods", nargs="+", choices=["ae", "vae", "lfi"], default=["ae", "vae", "lfi"])
    parser.add_argument(
        "--soft-backends",
        nargs="+",
        choices=["auto", "torch"],
        default=["auto"],
        help="soft renderer backends to time (auto: native on the CPU; torch: the torch path)",
    )
    parser.add_argument("--skip-speed", action="store_true", help="only read --runs")
    parser.add_argument("--runs", nargs="*", default=[], metavar="LABEL=RUN", help="finished runs to read")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    args = parser.parse_args()

    import torch

    from mnistvec.raster import native_available

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"native renderer {'present' if native_available() else 'missing'}"
    )
    if not args.skip_speed:
        print(
            f"\n{'method':<8} {'soft':<6} {'steps s/epoch':>14} {'wall s/epoch':>13}   "
            f"({args.epochs} epochs on train-5k)"
        )
        for method in args.methods:
            for soft in args.soft_backends:
                steps, wall = epoch_speed(
                    method, args.data_dir / "train-5k-images-idx3-ubyte.gz", args.epochs, args.device, soft
                )
                print(f"{method:<8} {soft:<6} {steps:>14.1f} {wall:>13.1f}", flush=True)
    if args.runs:
        print(
            f"\n{'run':<24} {'to MSE within 10%':>18} {'to sample targets':>18} {'whole run':>10}  (training seconds)"
        )
        for item in args.runs:
            label, run = item.split("=", 1)
            mse_at, samples_at, total = time_to_targets(Path(run))
            reached = "not reached" if samples_at is None else f"{samples_at:,.0f}"
            if "sample_entropy" not in open(Path(run) / "metrics.csv").readline():
                reached = "no prior"
            print(f"{label:<24} {mse_at:>18,.0f} {reached:>18} {total:>10,.0f}")


if __name__ == "__main__":
    main()
