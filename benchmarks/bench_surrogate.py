"""The surrogate renderer against the native one: held-out error and speed.

Held-out strokes and 16-stroke images come from a seed the training stream never uses
(`surrogate_training.heldout_set`). Speed: images/s of a forward pass, and of forward + backward to the
strokes, for the surrogate and the soft renderer (the autoencoder's) on batches of 64 images of 16 strokes.

    python benchmarks/bench_surrogate.py                       # the weights shipped in the package
    python benchmarks/bench_surrogate.py --weights runs/surrogate/model.pt
"""

from __future__ import annotations

import argparse
import os
import time

import torch

REPEATS = 20


def images_per_second(fn, lines, widths, opacity, backward: bool) -> float:
    fn(lines, widths, opacity)  # warm-up
    start = time.perf_counter()
    for _ in range(REPEATS):
        if backward:
            lines.grad = None
            fn(lines, widths, opacity).sum().backward()
        else:
            with torch.no_grad():
                fn(lines, widths, opacity)
    return REPEATS * len(lines) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="bundled", help="bundled, or a `train --method surrogate` checkpoint")
    args = parser.parse_args()

    from mnistvec.models.surrogate import StrokeSurrogate, random_strokes
    from mnistvec.models.surrogate_weights import load_surrogate_state
    from mnistvec.raster import native_available, render_torch
    from mnistvec.training.surrogate import heldout_errors, heldout_set

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
        f"native renderer {'present' if native_available() else 'missing'}"
    )
    surrogate = StrokeSurrogate()
    surrogate.load_state_dict(load_surrogate_state(args.weights))
    surrogate.eval()
    errors = heldout_errors(surrogate, heldout_set("cpu"))
    print(
        f"held-out error vs native ({args.weights}): per-pixel MSE {errors['heldout_stroke_mse']:.2e} on single "
        f"strokes, {errors['heldout_image_mse']:.2e} on 16-stroke images"
    )
    lines, widths = random_strokes(64 * 16, torch.Generator().manual_seed(7))
    lines, widths = lines.view(64, 16, 4).requires_grad_(True), widths.view(64, 16)
    opacity = torch.ones(64, 16)
    soft = lambda ln, w, o: render_torch(ln, w, o, 28, "soft", 0.3)
    for name, fn in (("surrogate", surrogate), ("soft", soft)):
        fwd = images_per_second(fn, lines, widths, opacity, backward=False)
        both = images_per_second(fn, lines, widths, opacity, backward=True)
        print(f"{name:>9}: {fwd:8,.0f} images/s forward, {both:8,.0f} images/s forward + backward (28x28, 16 lines)")


if __name__ == "__main__":
    main()
