"""Scanned-looking inputs: does the default `mnistvec encode` read digits that are not MNIST PNGs?

The first COUNT MNIST test digits are written twice into temporary folders (outside the repository):

    png       as they are: 28x28 PNG, white ink on black
    scanned   as a photographed or scanned page would give them: dark ink on light, slightly uneven and
              noisy paper, enlarged 3-5x, placed off-centre on a page 1.4-2x larger than the digit,
              saved as JPEG (quality 70-90)

`mnistvec encode` (no options but --model) runs on each folder as a user would run it; its vectors.npz is
drawn back at 28x28 on the normalised canvas and read by the bundled classifier. Printed: accuracy against
the labels for both folders, and their difference (target: within 1 point).

    python benchmarks/bench_scanned.py                  # 2,000 digits, the shipped autoencoder
    python benchmarks/bench_scanned.py --model vae --count 10000 --examples scanned-examples.png
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def scanned(image: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """One digit [28, 28] in [0, 1] as a scanned page (module docstring)."""
    size = int(28 * rng.uniform(3, 5))
    digit = (
        np.asarray(
            Image.fromarray(np.round(image * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC), np.float32
        )
        / 255.0
    )
    width, height = (int(size * rng.uniform(1.4, 2.0)) for _ in range(2))
    left, top = int(rng.integers(0, width - size + 1)), int(rng.integers(0, height - size + 1))
    ink = np.zeros((height, width), np.float32)
    ink[top : top + size, left : left + size] = digit
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    paper = rng.uniform(0.8, 0.95) + 0.05 * (rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy)
    page = paper * (1.0 - rng.uniform(0.75, 0.9) * ink) + rng.normal(0, 0.02, (height, width))
    return Image.fromarray(np.clip(np.round(page * 255), 0, 255).astype(np.uint8))


def write_folders(images: np.ndarray, root: Path, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    png, scan = root / "png", root / "scanned"
    png.mkdir(), scan.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(png / f"{i:05d}.png")
        scanned(image, rng).save(scan / f"{i:05d}.jpg", quality=int(rng.integers(70, 91)))
    return png, scan


def accuracy(out: Path, labels: np.ndarray, classifier) -> tuple[float, int]:
    """(classifier accuracy on the drawings in out/vectors.npz, items read)."""
    from mnistvec.models.classifier import predict
    from mnistvec.raster import render_numpy

    vectors = np.load(out / "vectors.npz")
    index = np.array([int(Path(name).stem) for name in vectors["names"]])
    recon = render_numpy(vectors["lines"], vectors["widths"], vectors["opacity"], 28, 28, 28.0)
    return float((predict(classifier, recon).argmax(1) == labels[index]).mean()), len(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ae")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--examples", type=Path, default=None, help="Save the first 8 scanned inputs as one PNG.")
    args = parser.parse_args()

    from mnistvec.data import load_images
    from mnistvec.models.classifier import load_classifier

    data = load_images(str(args.data_dir / "t10k-images-idx3-ubyte.gz"), limit=args.count)
    classifier = load_classifier()
    with tempfile.TemporaryDirectory(prefix="mnistvec-bench-scanned-") as tmp:
        root = Path(tmp)
        folders = write_folders(data.images, root)
        if args.examples is not None:
            pages = [Image.open(folders[1] / f"{i:05d}.jpg").convert("L").resize((112, 112)) for i in range(8)]
            strip = Image.new("L", (112 * 8, 112), 255)
            for k, page in enumerate(pages):
                strip.paste(page, (112 * k, 0))
            strip.save(args.examples)
        results = {}
        for folder in folders:
            out = root / f"out-{folder.name}"
            subprocess.run(
                [sys.executable, "-m", "mnistvec.cli", "encode", str(folder), str(out), "--model", args.model],
                check=True,
                capture_output=True,
            )
            results[folder.name] = accuracy(out, data.labels, classifier)
    print(f"model {args.model}, first {args.count:,} MNIST test digits, default `mnistvec encode`\n")
    print("| input | items | classifier accuracy |\n| --- | ---: | ---: |")
    for name, (acc, items) in results.items():
        print(f"| {name} | {items:,} | {acc:.2%} |")
    gap = results["png"][0] - results["scanned"][0]
    print(f"\naccuracy on scanned inputs minus on PNGs: {-gap * 100:+.2f} points (target: within 1 point)")


if __name__ == "__main__":
    main()
