"""How often the "not one digit" rule (mnistvec/data/doubts.py) doubts real digits, and catches what is not one.

Every image goes through the readers as a user's would (files written to a temporary folder outside the
repository, then read back by `mnistvec.data.load_images`); an item is flagged when the reader gives it a
doubt. Real digits, which should not be flagged (target: at most 0.5%):

    digits     the MNIST digits of the split as they are (the IDX file, 28x28)
    scanned    the same digits as `benchmarks/bench_scanned.py` makes them: dark ink on light, uneven, noisy
               paper, enlarged 3-5x, off-centre on a page 1.4-2x larger, JPEG

Images that are clearly not one digit on a plain background, which should be (target: at least 95%),
COUNT of each, built from the split's digits where they need one:

    uniform noise                 gray noise, 28 to 200 pixels square
    salt-and-pepper over a digit  5-20% of the pixels set to black or white, on a 28x28 digit or a scanned one
    two digits side by side       two digits in one 56x28 image, or enlarged 3x as dark ink on paper
    empty page with specks        a light, noisy page of 80-300 pixels with 3-12 small dark specks
    photo-like gradient           a light ramp in a random direction with a soft blob and noise

The thresholds were chosen on train-5k (`--split train-5k`); report the t10k figures (the default).

    python benchmarks/bench_not_a_digit.py                      # all 10,000 t10k digits, 500 of each case
    python benchmarks/bench_not_a_digit.py --split train-5k --count 200
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_scanned import scanned
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SPLITS = {"t10k": "t10k-images-idx3-ubyte.gz", "train-5k": "train-5k-images-idx3-ubyte.gz"}
REAL_TARGET, CASE_TARGET = 0.005, 0.95


def as_png(values: np.ndarray) -> Image.Image:
    """A gray image from values in [0, 1] (rounded, clipped)."""
    return Image.fromarray(np.clip(np.round(values * 255), 0, 255).astype(np.uint8))


def uniform_noise(rng: np.random.Generator, digits: np.ndarray) -> Image.Image:
    side = int(rng.integers(28, 201))
    return as_png(rng.uniform(0, 1, (side, side)))


def salt_and_pepper(rng: np.random.Generator, digits: np.ndarray) -> Image.Image:
    digit = digits[rng.integers(len(digits))]
    page = digit.copy() if rng.uniform() < 0.5 else np.asarray(scanned(digit, rng), np.float32) / 255.0
    hit = rng.uniform(size=page.shape) < rng.uniform(0.05, 0.2)
    page[hit] = rng.integers(0, 2, int(hit.sum()))
    return as_png(page)


def two_digits(rng: np.random.Generator, digits: np.ndarray) -> Image.Image:
    pair = np.concatenate(list(digits[rng.integers(len(digits), size=2)]), axis=1)
    if rng.uniform() < 0.5:
        return as_png(pair)
    ink = np.asarray(as_png(pair).resize((56 * 3, 28 * 3), Image.BICUBIC), np.float32) / 255.0
    return as_png(0.9 * (1.0 - 0.8 * ink) + rng.normal(0, 0.02, ink.shape))


def specks(rng: np.random.Generator, digits: np.ndarray) -> Image.Image:
    height, width = (int(rng.integers(80, 301)) for _ in range(2))
    page = rng.uniform(0.8, 0.95) + rng.normal(0, 0.02, (height, width))
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(int(rng.integers(3, 13))):
        y, x, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.5, 2.5)
        page[(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] = rng.uniform(0.05, 0.4)
    return as_png(page)


def gradient(rng: np.random.Generator, digits: np.ndarray) -> Image.Image:
    height, width = (int(rng.integers(64, 257)) for _ in range(2))
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    y, x = rng.uniform(0, 1, 2)
    blob = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * rng.uniform(0.05, 0.3) ** 2))
    return as_png(0.1 + 0.7 * ramp + rng.uniform(-0.3, 0.3) * blob + rng.normal(0, 0.02, (height, width)))


CASES: dict[str, Callable[[np.random.Generator, np.ndarray], Image.Image]] = {
    "uniform noise": uniform_noise,
    "salt-and-pepper over a digit": salt_and_pepper,
    "two digits side by side": two_digits,
    "empty page with specks": specks,
    "photo-like gradient": gradient,
}


def read_doubts(folder: Path) -> list[str]:
    """The doubts the folder reader gives its images (an image it cannot read at all counts as flagged)."""
    from mnistvec.data import load_images

    failures: list = []
    images = load_images(str(folder), on_failure=failures.append)
    return images.doubts + [f"unreadable: {f.reason}" for f in failures]


def write(folder: Path, pictures, suffix: str) -> Path:
    folder.mkdir()
    for k, picture in enumerate(pictures):
        options = {"quality": 70 + k % 21} if suffix == ".jpg" else {}
        picture.save(folder / f"{k:05d}{suffix}", **options)
    return folder


def report(name: str, doubts: list[str], target: str) -> None:
    flagged = sum(1 for d in doubts if d)
    reasons = Counter(re.sub(r"\d+", "N", d.split(" (")[0]) for d in doubts if d)
    common = "; ".join(f"{reason} {n}" for reason, n in reasons.most_common(3))
    print(f"| {name} | {len(doubts):,} | {flagged:,} | {flagged / max(len(doubts), 1):.2%} | {target} | {common} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="t10k")
    parser.add_argument("--limit", type=int, default=None, help="Real digits to use [default: the whole split].")
    parser.add_argument("--count", type=int, default=500, help="Images of each synthetic case.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    args = parser.parse_args()

    from mnistvec.data import load_images

    start = time.perf_counter()
    digits = load_images(str(args.data_dir / SPLITS[args.split]), limit=args.limit)
    rng = np.random.default_rng(args.seed)
    print(f"split {args.split}: {len(digits):,} digits; {args.count:,} images of each case; seed {args.seed}\n")
    print("| images | items | flagged | share | target | most common reasons |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    report("MNIST digits (IDX, 28×28)", digits.doubts, f"≤ {REAL_TARGET:.1%}")
    with tempfile.TemporaryDirectory(prefix="mnistvec-bench-not-a-digit-") as tmp:
        pages = (scanned(image, rng) for image in digits.images)
        report(
            "the same digits scanned (JPEG)",
            read_doubts(write(Path(tmp) / "scanned", pages, ".jpg")),
            f"≤ {REAL_TARGET:.1%}",
        )
        for k, (name, make) in enumerate(CASES.items()):
            pictures = (make(rng, digits.images) for _ in range(args.count))
            report(name, read_doubts(write(Path(tmp) / f"case-{k}", pictures, ".png")), f"≥ {CASE_TARGET:.0%}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
