"""The README's comparison table: every vectoriser scored by `mnistvec eval` on the same digits.

Runs `mnistvec eval --json` for each trained model given (label=PATH) and for the classical baselines
(skeleton with the same number of strokes; potrace when installed), then prints one Markdown table:
classifier accuracy on reconstructions, MSE, IoU at 0.5, chamfer distance, numbers per digit, bytes per
SVG, images/s vectorised, and for models with a prior the confidence and class entropy of 1,000 samples.

    python benchmarks/compare.py AE=runs/ae/model.pt VAE=runs/vae/model.pt \\
        "LFI (Wasserstein)=runs/lfi-w/model.pt" "LFI (JS)=runs/lfi-js/model.pt"

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
        cmd = [sys.executable, "-m", "mnistvec.cli", "eval", *args, "--data", data, "--lines", str(lines),
               "--json", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(args)}: mnistvec eval failed (exit {done.returncode}):\n{done.stderr}")
        return json.loads(out.read_text())


def row(label: str, scores: dict) -> str:
    r, s = scores["reconstruction"], scores["samples"]
    prior = f"{s['confidence']:.3f} | {s['entropy']:.3f}" if s else "– | –"
    return (f"| {label} | {r['accuracy']:.2%} | {r['mse']:.4f} | {r['iou']:.3f} | {r['chamfer']:.3f} | "
            f"{scores['numbers_per_digit']:.0f} | {scores['svg_bytes']:,.0f} | {scores['images_per_second']:,.0f} | "
            f"{prior} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", metavar="LABEL=PATH", help="trained models to score")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"))
    parser.add_argument("--lines", type=int, default=16, help="strokes per digit for the skeleton baseline")
    args = parser.parse_args()

    import torch

    from mnistvec.render import native_available

    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, native renderer "
          f"{'present' if native_available() else 'missing'}; data {args.data}\n")
    runs = [(label, ["--model", path]) for label, path in (m.split("=", 1) for m in args.models)]
    runs.append((f"skeleton baseline ({args.lines} strokes)", ["--baseline", "skeleton"]))
    if shutil.which("potrace") and shutil.which("rsvg-convert"):
        runs.append(("potrace baseline (filled outlines)", ["--baseline", "potrace"]))
    else:
        print("potrace or rsvg-convert is not installed: no potrace row\n")
    results = [(label, evaluate(extra, args.data, args.lines)) for label, extra in runs]
    classifier = next((s["classifier_t10k_accuracy"] for _, s in results if s["classifier_t10k_accuracy"]), None)
    print("| method | accuracy | MSE | IoU at 0.5 | chamfer (px) | numbers per digit | bytes per SVG | "
          "images/s | sample confidence | class entropy (nats) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, scores in results:
        print(row(label, scores))
    originals = results[0][1]["reconstruction"]["original_accuracy"]
    print(f"\nclassifier accuracy on the original images: {originals:.2%}"
          + (f" (its recorded t10k accuracy: {classifier:.2%})" if classifier else ""))


if __name__ == "__main__":
    main()
