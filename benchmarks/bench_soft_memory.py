"""Peak memory and time of the soft renderer, forward and backward, at 256x256 with 64 lines, batch 64.

Peak resident memory of this process (ru_maxrss) after the backward pass; the target is about 2 GB.

    python benchmarks/bench_soft_memory.py [--batch 64] [--size 256] [--lines 64]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import torch

from mnistvec.raster.soft import MAX_ELEMENTS, render_soft_px


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--lines", type=int, default=64)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}; chunk = {MAX_ELEMENTS:,} elements")
    g = torch.Generator().manual_seed(0)
    lines = ((torch.rand(args.batch, args.lines, 4, generator=g) * 0.8 + 0.1) * args.size).requires_grad_(True)
    radius = torch.full((args.batch, args.lines), 0.03 * args.size / 2, requires_grad=True)
    alpha = torch.ones(args.batch, args.lines, requires_grad=True)
    start = time.perf_counter()
    image = render_soft_px(lines, radius, alpha, args.size, args.size, temperature=0.5)
    forward = time.perf_counter() - start
    image.sum().backward()
    total = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.size}x{args.size}, {args.lines} lines, batch {args.batch}: forward {forward:.1f} s, "
        f"forward+backward {total:.1f} s, peak RSS {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
