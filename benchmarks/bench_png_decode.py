"""Decoding a folder of small PNGs: the native batch decoder against a Pillow loop, in the same run.

Times `mnistvec.data.png_native.decode_png_gray` (threads 1 and 2) and `np.asarray(Image.open(p))` over
every PNG of a folder of 28x28 gray digits (default /dev/shm/png; when it is missing or empty, the MNIST
t10k digits are written there with Pillow first), best of `--repeat` runs each, and checks that both give
the same pixels.

    python benchmarks/bench_png_decode.py
    python benchmarks/bench_png_decode.py --folder /tmp/digits --repeat 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mnistvec.data.idx import read_idx
from mnistvec.data.png_native import decode_png_gray

REPO = Path(__file__).resolve().parents[1]


def write_digits(folder: Path, data_dir: Path) -> None:
    """MNIST t10k (the IDX file, gzipped or not) as `folder/00000.png` ... with Pillow."""
    name = "t10k-images-idx3-ubyte"
    images = read_idx(data_dir / name if (data_dir / name).exists() else data_dir / f"{name}.gz")
    folder.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(images):
        Image.fromarray(image, "L").save(folder / f"{k:05d}.png")


def best_time(function, repeat: int) -> tuple[float, object]:
    """The fastest of `repeat` calls of `function` in seconds, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("/dev/shm/png"))
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(args.folder.glob("*.png")) if args.folder.is_dir() else []
    if not paths:
        write_digits(args.folder, args.data_dir)
        paths = sorted(args.folder.glob("*.png"))
    names = [str(p) for p in paths]
    pillow, reference = best_time(lambda: np.stack([np.asarray(Image.open(p)) for p in names]), args.repeat)
    print(f"{len(names)} files; Pillow loop: {pillow:.3f} s ({pillow / len(names) * 1e6:.1f} us/file)")
    for threads in (1, 2):
        seconds, result = best_time(lambda t=threads: decode_png_gray(names, 28, 28, t), args.repeat)
        if result is None:
            raise SystemExit("the native library is not built")
        images, decoded = result
        same = bool(decoded.all() and np.array_equal(images, reference))
        print(
            f"native, threads={threads}: {seconds:.3f} s ({seconds / len(names) * 1e6:.1f} us/file, "
            f"{pillow / seconds:.1f}x Pillow), all decoded and identical: {same}"
        )


if __name__ == "__main__":
    main()
