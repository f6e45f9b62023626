"""Write the example digit images under examples/digits/ from MNIST's train-5k file.

    python figures/make_example_digits.py ../shared/data/mnist/train-5k-images-idx3-ubyte.gz

digits/mnist/: three digits of each class as the 28x28 white-on-black PNGs MNIST has. digits/scanned/: one
of each class as a user's scan might look: black ink on white paper, 4x larger, slightly blurred, with
paper grain, saved as JPEG. MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed
CC BY-SA 3.0 (see examples/digits/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from mnistvec.data import load_images

OUT = Path(__file__).resolve().parents[1] / "examples" / "digits"
PER_CLASS = 3


def main() -> None:
    data = load_images(sys.argv[1])
    rng = np.random.default_rng(0)
    (OUT / "mnist").mkdir(parents=True, exist_ok=True)
    (OUT / "scanned").mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        picks = np.flatnonzero(data.labels == digit)[[0, 100, 200][:PER_CLASS]]
        for k, index in enumerate(picks):
            pixels = (data.images[index] * 255 + 0.5).astype(np.uint8)
            Image.fromarray(pixels).save(OUT / "mnist" / f"digit-{digit}-{k}.png")
        paper = Image.fromarray(255 - (data.images[picks[0]] * 255 + 0.5).astype(np.uint8))
        paper = paper.resize((112, 112), Image.BICUBIC).filter(ImageFilter.GaussianBlur(1.2))
        grain = rng.normal(0, 6, (112, 112))
        scan = np.clip(np.asarray(paper, np.float64) * 0.92 + 14 + grain, 0, 255).astype(np.uint8)
        Image.fromarray(scan).convert("RGB").save(OUT / "scanned" / f"scan-{digit}.jpg", quality=85)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
