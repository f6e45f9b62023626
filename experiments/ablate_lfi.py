"""What each stabiliser of the likelihood-free method buys: short runs of its variants, side by side.

Each variant is `mnistvec train --method lfi` with the defaults plus a few options, trained on train-5k
(10% held out) for `--epochs` epochs; several run at once, one torch thread each (`--jobs`). The table
gives, from the last row of each run's metrics.csv: validation MSE (native renderer, held-out train-5k),
and for 1,000 samples from the prior the class entropy and mean confidence under the bundled evaluation
classifier, the class histogram, and the critic's and generator's losses.

    python experiments/ablate_lfi.py --epochs 12 --jobs 16          # every variant at once on 16 cores
    python experiments/ablate_lfi.py --only js "js, no instance noise" --jobs 2

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

VARIANTS = {
    "wasserstein (default)": [],
    "wasserstein, adv-weight 1": ["--adv-weight", "1"],
    "wasserstein, adv-weight 20": ["--adv-weight", "20"],
    "js": ["--objective", "js"],
    "js, adv-weight 1": ["--objective", "js", "--adv-weight", "1"],
    "js, adv-weight 20": ["--objective", "js", "--adv-weight", "20"],
    "js, no adversary": ["--objective", "js", "--adv-weight", "0"],
    "js, no reconstruction (pure ALI)": ["--objective", "js", "--recon-weight", "0", "--adv-weight", "1"],
    "js, no instance noise": ["--objective", "js", "--instance-noise", "0"],
    "js, one time scale": ["--objective", "js", "--critic-lr-scale", "1"],
    "js, spectral norm": ["--objective", "js", "--spectral-norm"],
    "js, latent 16": ["--objective", "js", "--latent", "16"],
}


def slug(name: str) -> str:
    """A variant's run folder name."""
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def last_row(run: Path) -> dict | None:
    path = run / "metrics.csv"
    return list(csv.DictReader(open(path)))[-1] if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once (one thread each)")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="run these variants only")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "ablate-lfi")
    args = parser.parse_args()

    import torch

    from mnistvec.raster import native_available

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, native renderer "
        f"{'present' if native_available() else 'missing'}; {args.epochs} epochs per variant"
    )
    names = args.only or list(VARIANTS)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    args.out.mkdir(parents=True, exist_ok=True)
    pending, running = list(names), {}
    start = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            cmd = [
                sys.executable,
                "-m",
                "mnistvec.cli",
                "train",
                "--method",
                "lfi",
                "--overwrite",
                "--device",
                "cpu",
                "--data",
                str(args.data_dir / "train-5k-images-idx3-ubyte.gz"),
                "--epochs",
                str(args.epochs),
                "--out",
                str(args.out / slug(name)),
                *VARIANTS[name],
            ]
            running[name] = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(args.out / f"{slug(name)}.log", "w")
            )
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                del running[name]
                if proc.returncode:
                    print(f"{name}: failed (exit {proc.returncode}); see {args.out / slug(name)}.log")
        time.sleep(2)
    print(f"{len(names)} runs in {time.perf_counter() - start:.0f} s\n")
    print("| variant | options | val MSE | class entropy | confidence | classes 0-9 | D loss | G loss |")
    print("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for name in names:
        row = last_row(args.out / slug(name))
        if row is None:
            continue
        classes = " ".join(row[f"sample_class_{d}"] for d in range(10))
        print(
            f"| {name} | `{' '.join(VARIANTS[name]) or '(defaults)'}` | {float(row['val_mse_native']):.4f} | "
            f"{float(row['sample_entropy']):.3f} | {float(row['sample_confidence']):.3f} | {classes} | "
            f"{float(row['train_d_loss']):.3f} | {float(row['train_g_loss']):.3f} |"
        )


if __name__ == "__main__":
    main()
