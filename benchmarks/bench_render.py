"""Render speed: native vs torch exact vs soft (CPU) vs a Python loop over PIL's ImageDraw.line, and the
soft renderer's forward + backward pass (alone, and with the autoencoder's loss in one pass), native
against torch.

Same inputs for every renderer: random 16-line drawings (endpoints uniform in [0.1, 0.9], widths in
[0.02, 0.08], opacity in [0.5, 1]); 10,000 images at 28x28 and 500 at 256x256. Prints images/s and each
renderer's ratio to native. "soft (cpu)" is the soft renderer as it runs by default on the CPU (natively
when the library is built), "soft torch" the same formula in torch. The last table times one training
step's rendering at blur 0.5 px, at 28x28 / 16 strokes / batch 256 and 256x256 / 64 strokes / batch 16,
native against torch, best of a few runs: forward then the gradient of a weighted sum of the pixels, and
the autoencoder's cross-entropy loss with its gradient (one native pass; the torch path and torch's loss).
Not a test: figures depend on the machine, which is printed first.

    python benchmarks/bench_render.py            # the README table
    python benchmarks/bench_render.py --quick    # a tenth of the images
    python benchmarks/bench_render.py --scaling render-scaling.png   # cost against lines, size and batch
    python benchmarks/bench_render.py --cuda     # adds the torch exact and soft renderers on the GPU

--scaling varies one thing at a time from (16 lines, 28x28, batch 1,000): lines 4..64, output size
28..512 (batch 100), batch 1..10,000; each renderer renders until about half a second has passed (or one
batch), and is skipped where one batch would take over MAX_SECONDS. It prints a table and saves a
three-panel log-log plot of images/s.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

import mnistvec
from mnistvec.raster import pixel_strokes, render_numpy, render_torch
from mnistvec.raster.native import native_available
from mnistvec.raster.soft import render_soft_px


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


def soft_torch(lines, widths, opacity, size):
    """The soft renderer's torch path on the CPU (what "soft" drew before it ran natively)."""
    tensors = [torch.from_numpy(a) for a in (lines, widths, opacity)]
    with torch.no_grad():
        return render_soft_px(*pixel_strokes(*tensors, float(size)), size, size, 0.5, backend="torch").numpy()


def on_gpu(renderer: str):
    """A renderer taking numpy strokes that draws with torch on the GPU (the strokes are copied there first,
    the images stay there; the clock stops when the GPU has finished)."""

    def render(lines, widths, opacity, size):
        device = torch.device("cuda")
        images = render_torch(
            torch.from_numpy(lines).to(device),
            torch.from_numpy(widths).to(device),
            torch.from_numpy(opacity).to(device),
            size,
            renderer,
        )
        torch.cuda.synchronize()
        return images

    return render


def soft_step(backend: str, lines, widths, opacity, weights):
    """One forward + backward pass of the soft renderer (`backend` native or torch) at blur 0.5 px: the
    gradient of the pixels weighted by `weights`."""
    size = weights.shape[-1]
    tensors = [torch.from_numpy(a).requires_grad_(True) for a in (lines, widths, opacity)]
    images = render_soft_px(*pixel_strokes(*tensors, float(size)), size, size, 0.5, backend=backend)
    (images * weights).sum().backward()


def loss_step(backend: str, lines, widths, opacity, targets):
    """The autoencoder's loss and its gradient (cross-entropy through the soft renderer at 0.5 px): in one
    native pass ("native"), or the torch path and torch's loss ("torch")."""
    from mnistvec.models.losses import soft_reconstruction_loss

    tensors = [torch.from_numpy(a).requires_grad_(True) for a in (lines, widths, opacity)]
    soft_reconstruction_loss(*tensors, targets, 0.5, "cross_entropy", backend=backend).mean().backward()


def forward_backward(quick: bool) -> None:
    """Soft renderer forward + backward, and with the loss in one pass, native against torch, in one run."""
    cases = [(28, 16, 256, 5, 2), (256, 64, 16, 3, 1)]
    print(
        f"\nsoft renderer at blur 0.5 px: forward + backward of weighted pixels, and the cross-entropy loss "
        f"with its gradient\n{'size':>5} {'lines':>5} {'batch':>5} {'pass':<14} {'native img/s':>13} "
        f"{'torch img/s':>12} {'native/torch':>13}"
    )
    rng = np.random.default_rng(0)
    for size, n_lines, batch, native_repeats, torch_repeats in cases:
        if quick:
            native_repeats, torch_repeats = 2, 1
        strokes = random_strokes(2, batch, n_lines)
        weights = torch.from_numpy(rng.standard_normal((batch, size, size), np.float32))
        targets = torch.from_numpy(rng.random((batch, size, size), np.float32))
        for name, step, extra in (("forward+back", soft_step, weights), ("loss+gradient", loss_step, targets)):
            native = batch / timed(functools.partial(step, "native", *strokes, extra), native_repeats)
            reference = batch / timed(functools.partial(step, "torch", *strokes, extra), torch_repeats)
            print(
                f"{size:>5} {n_lines:>5} {batch:>5} {name:<14} {native:>13,.0f} {reference:>12,.1f} "
                f"{native / reference:>12,.0f}x",
                flush=True,
            )


def timed(fn, repeats: int) -> float:
    """Best wall time of `repeats` runs (the first run also warms caches and thread pools)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


MAX_SECONDS = 20.0
"""A scaling point is skipped for a renderer whose one batch would take longer than this."""


def rate(fn, lines, widths, opacity, size: int, estimate: dict) -> float | None:
    """Images/s of `fn` on this batch (repeated until 0.5 s have passed); None when it would take too long.
    `estimate` remembers the last seconds per image of this renderer, to skip hopeless points cheaply."""
    count = len(lines)
    pixels = size * size
    guess = estimate.get("per_pixel")
    if guess is not None and guess * pixels * count > MAX_SECONDS:
        return None
    runs, start = 0, time.perf_counter()
    while True:
        fn(lines, widths, opacity, size)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed > 0.5 or elapsed * (runs + 1) / runs > MAX_SECONDS:
            break
    estimate["per_pixel"] = elapsed / runs / count / pixels
    return count * runs / elapsed


def scaling(renderers: dict, plot_path: str) -> None:
    """Images/s against lines, output size and batch, one thing varied at a time; table and plot."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "figures"))
    from loglog_plot import save_panels

    sweeps = [
        ("lines per image", [(n, 28, 1000) for n in (4, 8, 16, 32, 64)], 0),
        ("output size (px)", [(16, s, 100) for s in (28, 56, 112, 256, 512)], 1),
        ("batch size", [(16, 28, b) for b in (1, 10, 100, 1000, 10_000)], 2),
    ]
    panels = []
    print(f"\n{'varied':<18} {'lines':>5} {'size':>5} {'batch':>6} " + " ".join(f"{n:>12}" for n in renderers))
    for title, points, which in sweeps:
        series = {name: [] for name in renderers}
        estimates = {name: {} for name in renderers}
        for n_lines, size, batch in points:
            strokes = random_strokes(1, batch, n_lines)
            cells = []
            for name, fn in renderers.items():
                value = rate(fn, *strokes, size, estimates[name])
                cells.append("-" if value is None else f"{value:,.0f}")
                if value is not None:
                    series[name].append(((n_lines, size, batch)[which], value))
            print(f"{title:<18} {n_lines:>5} {size:>5} {batch:>6} " + " ".join(f"{c:>12}" for c in cells), flush=True)
        panels.append((f"images/s against {title}", title, series))
    save_panels(plot_path, panels, "images/s (log scale); 16 lines, 28x28, batch 1,000 unless varied")
    print(f"\nplot: {plot_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the images")
    parser.add_argument("--scaling", metavar="PLOT.png", help="measure the scaling and save the plot here")
    parser.add_argument("--cuda", action="store_true", help="also time the torch renderers on the GPU")
    parser.add_argument("--soft-only", action="store_true", help="only the soft forward + backward table")
    args = parser.parse_args()
    if args.cuda and not torch.cuda.is_available():
        parser.error("--cuda: no CUDA device is available")
    scale = 10 if args.quick else 1
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"mnistvec {mnistvec.__version__}, native library {'present' if native_available() else 'MISSING'}"
    )
    cases = [(28, 10_000 // scale), (256, 500 // scale)]
    renderers = {
        "native": lambda ln, w, o, s: render_numpy(ln, w, o, s, s, float(s), "native"),
        "torch exact": lambda ln, w, o, s: render_numpy(ln, w, o, s, s, float(s), "exact"),
        "soft (cpu)": lambda ln, w, o, s: render_numpy(ln, w, o, s, s, float(s), "soft"),
        "soft torch": soft_torch,
        "PIL loop": pil_loop,
    }
    if args.cuda:
        print(f"GPU: {torch.cuda.get_device_name()}")
        renderers |= {"exact (cuda)": on_gpu("exact"), "soft (cuda)": on_gpu("soft")}
    if args.scaling:
        scaling(renderers, args.scaling)
        return
    if args.soft_only:
        forward_backward(args.quick)
        return
    print(f"\n{'size':>5} {'images':>7} {'renderer':<12} {'images/s':>12} {'vs native':>10}")
    for size, count in cases:
        lines, widths, opacity = random_strokes(0, count, 16)
        native_rate = None
        for name, fn in renderers.items():
            repeats = 5 if name == "native" or "cuda" in name else 1  # the GPU's first run also compiles
            seconds = timed(functools.partial(fn, lines, widths, opacity, size), repeats)
            rate = count / seconds
            native_rate = native_rate or rate
            ratio = "1.0x" if name == "native" else f"{native_rate / rate:,.1f}x slower"
            print(f"{size:>5} {count:>7} {name:<12} {rate:>12,.0f} {ratio:>10}", flush=True)
    forward_backward(args.quick)


if __name__ == "__main__":
    main()
