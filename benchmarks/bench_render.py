"""Render speed: native vs torch exact vs soft (CPU) vs a Python loop over PIL's ImageDraw.line.

Same inputs for every renderer: random 16-line drawings (endpoints uniform in [0.1, 0.9], widths in
[0.02, 0.08], opacity in [0.5, 1]); 10,000 images at 28x28 and 500 at 256x256. Prints images/s and each
renderer's ratio to native. Not a test: figures depend on the machine, which is printed first.

    python benchmarks/bench_render.py            # the README table
    python benchmarks/bench_render.py --quick    # a tenth of the images
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

import mnistvec
from mnistvec.render import render_numpy
from mnistvec.render.native import native_available


def random_strokes(seed: int, batch: int, n_lines: int):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0.1, 0.9, (batch, n_lines, 4)).astype(np.float32),
        rng.uniform(0.02, 0.08, (batch, n_lines)).astype(np.float32),
        rng.uniform(0.5, 1.0, (batch, n_lines)).astype(np.float32),
    )


def pil_loop(lines, widths, opacity, size):
    """The naive baseline: one PIL image per item, ImageDraw.line per stroke (no anti-aliasing)."""
    out = np.empty((len(lines), size, size), np.float32)
    for i in range(len(lines)):
        img = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(img)
        for (x0, y0, x1, y1), w, a in zip(lines[i] * size, widths[i] * size, opacity[i]):
            draw.line((x0, y0, x1, y1), fill=int(255 * a), width=max(1, int(round(w))), joint="curve")
        out[i] = np.asarray(img, np.float32) / 255.0
    return out


def timed(fn, repeats: int) -> float:
    """Best wall time of `repeats` runs (the first run also warms caches and thread pools)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the images")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"mnistvec {mnistvec.__version__}, native library {'present' if native_available() else 'MISSING'}")
    cases = [(28, 10_000 // scale), (256, 500 // scale)]
    renderers = {
        "native": lambda l, w, o, s: render_numpy(l, w, o, s, s, float(s), "native"),
        "torch exact": lambda l, w, o, s: render_numpy(l, w, o, s, s, float(s), "exact"),
        "soft (cpu)": lambda l, w, o, s: render_numpy(l, w, o, s, s, float(s), "soft"),
        "PIL loop": pil_loop,
    }
    print(f"\n{'size':>5} {'images':>7} {'renderer':<12} {'images/s':>12} {'vs native':>10}")
    for size, count in cases:
        lines, widths, opacity = random_strokes(0, count, 16)
        native_rate = None
        for name, fn in renderers.items():
            repeats = 5 if name == "native" else 1
            seconds = timed(lambda: fn(lines, widths, opacity, size), repeats)
            rate = count / seconds
            native_rate = native_rate or rate
            ratio = "1.0x" if name == "native" else f"{native_rate / rate:,.1f}x slower"
            print(f"{size:>5} {count:>7} {name:<12} {rate:>12,.0f} {ratio:>10}", flush=True)


if __name__ == "__main__":
    main()
