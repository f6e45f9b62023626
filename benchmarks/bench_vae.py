"""Figures of the models with a prior (VAE, LFI): reconstructions on MNIST t10k and the quality of samples.

Reconstructions (t10k, 16 lines, native-rendered 28x28; the VAE decodes the posterior mean, LFI G(E(x))):
pixel MSE, IoU at 0.5, accuracy of the bundled evaluation classifier (trained on train-5k's labels; labels
never reach the model). Samples: `--samples` draws z ~ N(0, I) (seed 0), native-rendered, scored by the
same classifier: mean top-class probability and the entropy of the predicted-class histogram
(log 10 = 2.30 nats when all ten digits are equally common).

    python benchmarks/bench_vae.py                                  # trains a VAE with the defaults first
    python benchmarks/bench_vae.py --method lfi --train-args "--objective wasserstein"
    python benchmarks/bench_vae.py --model runs/vae/model.pt
    python benchmarks/bench_vae.py --model runs/lfi-js/model.pt
    python benchmarks/bench_vae.py --model runs/vae-beta0/model.pt --skip-recon

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from bench_ae import REPO, evaluation_classifier, reconstruct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="evaluate this checkpoint instead of training one")
    parser.add_argument("--method", choices=["vae", "lfi"], default="vae", help="what to train without --model")
    parser.add_argument("--train-args", default="", help="extra `mnistvec train` options when training")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=None, help="run folder when training [runs/bench-METHOD]")
    parser.add_argument("--skip-recon", action="store_true", help="score samples only")
    parser.add_argument("--limit", type=int, default=None, help="reconstruct the first N t10k images only")
    args = parser.parse_args()

    from mnistvec.data import load_images
    from mnistvec.evaluation.scores import score_reconstructions, score_samples
    from mnistvec.raster import native_available

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, native renderer "
        f"{'present' if native_available() else 'missing'}"
    )
    model_path = args.model
    if model_path is None:
        out = args.out or REPO / "runs" / f"bench-{args.method}"
        cmd = [
            sys.executable,
            "-m",
            "mnistvec.cli",
            "train",
            "--method",
            args.method,
            "--overwrite",
            "--data",
            str(args.data_dir / "train-5k-images-idx3-ubyte.gz"),
            "--out",
            str(out),
            *args.train_args.split(),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"training: {time.perf_counter() - start:.0f} s ({' '.join(cmd[3:])})")
        model_path = out / "model.pt"
    classifier = evaluation_classifier()
    if not args.skip_recon:
        test_set = load_images(args.data_dir / "t10k-images-idx3-ubyte.gz")
        images, labels = test_set.images[: args.limit], test_set.labels[: args.limit]
        scores = score_reconstructions(images, reconstruct(model_path, images, 0), labels, classifier)
        print(
            f"reconstructions, t10k ({len(images):,} images), native 28x28: MSE {scores.mse:.4f}, "
            f"IoU@0.5 {scores.iou:.3f}, classifier accuracy {scores.accuracy:.2%} "
            f"(on originals {scores.original_accuracy:.2%})"
        )
    from mnistvec.evaluation.run import draw_prior_samples
    from mnistvec.models.registry import load_model

    model, _ = load_model(model_path)
    samples = score_samples(draw_prior_samples(model, args.samples, 0, args.temperature), classifier)
    print(
        f"samples ({args.samples:,} from the prior, temperature {args.temperature:g}): mean confidence "
        f"{samples.confidence:.3f}, class entropy {samples.entropy:.3f} nats, histogram {samples.histogram}"
    )


if __name__ == "__main__":
    main()
