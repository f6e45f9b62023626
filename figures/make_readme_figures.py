"""Draw the README's figures from trained models.

    # digits (top, pixels enlarged) above their 16 strokes (bottom, rendered natively at 112x112)
    python figures/make_readme_figures.py recon runs/ae/model.pt TRAIN_IDX ae-reconstructions.png
    python figures/make_readme_figures.py recon runs/vae/model.pt TRAIN_IDX vae-reconstructions.png
    # 64 samples from the prior of each model, side by side: the regularised VAE (beta = 1) beside the
    # unregularised one (beta = 0); pure ALI beside LFI with the JS and the Wasserstein objective
    python figures/make_readme_figures.py prior runs/vae/model.pt runs/vae-beta0/model.pt vae-prior-samples.png
    python figures/make_readme_figures.py prior runs/lfi-ali/model.pt runs/lfi-js/model.pt runs/lfi-w/model.pt \
        lfi-prior-samples.png

    # class entropy of 1,000 samples per epoch (from each run's metrics.csv), one line per LABEL=RUN
    python figures/make_readme_figures.py entropy lfi-entropy.png "JS=runs/lfi-js-annealed" "W=runs/lfi-w"

    # the VAE's path between two digits in latent space: 10 decodings of (1 - t) mu(a) + t mu(b)
    python figures/make_readme_figures.py interpolate vae examples/digits/mnist/digit-3-0.png \
        examples/digits/mnist/digit-8-0.png vae-interpolation.png

TRAIN_IDX is train-5k-images-idx3-ubyte.gz of the MNIST data; figures go to examples/readme/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from mnistvec.data import load_images
from mnistvec.encoding.sampling import draw_samples
from mnistvec.io.png import make_grid, save_png
from mnistvec.models.registry import load_model
from mnistvec.raster import render_numpy, render_torch

SIZE = 112
COUNT = 12
OUT = Path(__file__).resolve().parents[1] / "examples" / "readme"


def reconstructions(model_path: str, images_path: str, name: str) -> None:
    model, _ = load_model(model_path)
    images = load_images(images_path).images
    picks = images[np.linspace(0, len(images) - 1, COUNT).astype(int)]  # spread over the file's digits
    with torch.no_grad():
        strokes = model.strokes(torch.from_numpy(picks))
    drawn = render_torch(*strokes, SIZE, "native").numpy()
    enlarged = np.kron(picks, np.ones((SIZE // 28, SIZE // 28), np.float32))
    save_png(OUT / name, make_grid(np.concatenate([enlarged, drawn]), columns=COUNT, pad=4))
    print(f"wrote {OUT / name}")


def prior_samples(*models_then_name: str, count: int = 64, size: int = 56) -> None:
    *models, name = models_then_name
    panels = []
    for path in models:
        drawn = draw_samples(load_model(path)[0], count, seed=0, temperature=1.0, device="cpu")
        grid = make_grid(render_numpy(drawn.lines, drawn.widths, drawn.opacity, size, size, float(size)))
        gap = np.ones((grid.shape[0], size // 2), np.float32)
        panels += [grid, gap]
    save_png(OUT / name, np.concatenate(panels[:-1], axis=1))
    print(f"wrote {OUT / name}")


def interpolation(model_name: str, first: str, second: str, name: str, steps: int = 10, size: int = 56) -> None:
    """Decodings of z_t = (1 - t) mu(a) + t mu(b), t = 0 .. 1, between the posterior means of two images,
    with the two originals at the ends."""
    model, _ = load_model(model_name)
    pair = load_images(first).images[:1], load_images(second).images[:1]
    with torch.no_grad():
        mu_a, mu_b = (model.posterior(torch.from_numpy(image))[0] for image in pair)
        t = torch.linspace(0, 1, steps)[:, None]
        drawn = render_torch(*model.decode((1 - t) * mu_a + t * mu_b), size, "native").numpy()
    ends = [np.kron(image[0], np.ones((size // 28, size // 28), np.float32)) for image in pair]
    save_png(OUT / name, make_grid(np.stack([ends[0], *drawn, ends[1]]), columns=steps + 2, pad=4))
    print(f"wrote {OUT / name}")


COLOURS = [(200, 60, 60), (60, 110, 190), (60, 150, 80), (200, 140, 40), (130, 80, 170)]


def entropy_curves(name: str, *label_runs: str, width: int = 640, height: int = 300) -> None:
    """Sample class entropy (nats) per epoch of each run, with log 10 (all digits equally often) and the
    2.2-nat target as reference lines."""
    import csv

    from PIL import Image, ImageDraw

    curves = []
    for item in label_runs:
        label, run = item.split("=", 1)
        rows = list(csv.DictReader(open(Path(run) / "metrics.csv")))
        curves.append((label, [float(r["sample_entropy"]) for r in rows]))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom, lo, hi = 50, width - 170, 20, height - 35, 1.0, 2.4
    y_of = lambda v: bottom - (v - lo) / (hi - lo) * (bottom - top)
    epochs = max(len(values) for _, values in curves)
    x_of = lambda e: left + (e - 1) / max(epochs - 1, 1) * (right - left)
    for level, colour in (
        (1.0, (220, 220, 220)),
        (1.5, (220, 220, 220)),
        (2.0, (220, 220, 220)),
        (2.2, (240, 170, 170)),
        (float(np.log(10)), (150, 150, 150)),
    ):
        draw.line([(left, y_of(level)), (right, y_of(level))], fill=colour)
        draw.text((8, y_of(level) - 6), f"{level:.2f}", fill="black")
    for e in range(0, epochs + 1, 10):
        draw.text((x_of(max(e, 1)) - 6, bottom + 8), str(max(e, 1)), fill="black")
    draw.text((left, height - 14), "epoch", fill="black")
    draw.text((left, 4), "class entropy of 1,000 samples (nats); 2.30 = all ten digits equally often", fill="black")
    for k, (label, values) in enumerate(curves):
        colour = COLOURS[k % len(COLOURS)]
        draw.line([(x_of(e + 1), y_of(max(v, lo))) for e, v in enumerate(values)], fill=colour, width=2)
        draw.text((right + 10, top + 18 * k), label, fill=colour)
    image.save(OUT / name)
    print(f"wrote {OUT / name}")


if __name__ == "__main__":
    figure, *rest = sys.argv[1:]
    figures = {
        "recon": reconstructions,
        "prior": prior_samples,
        "entropy": entropy_curves,
        "interpolate": interpolation,
    }
    figures[figure](*rest)
