"""Draw the README's figures from trained models.

    # digits (top, pixels enlarged) above their 16 strokes (bottom, rendered natively at 112x112)
    python examples/make_readme_figures.py recon runs/ae/model.pt TRAIN_IDX ae-reconstructions.png
    python examples/make_readme_figures.py recon runs/vae/model.pt TRAIN_IDX vae-reconstructions.png
    # 64 samples from the prior of each model, side by side: the regularised VAE (beta = 1) beside the
    # unregularised one (beta = 0); pure ALI beside LFI with the JS and the Wasserstein objective
    python examples/make_readme_figures.py prior runs/vae/model.pt runs/vae-beta0/model.pt vae-prior-samples.png
    python examples/make_readme_figures.py prior runs/lfi-ali/model.pt runs/lfi-js/model.pt runs/lfi-w/model.pt \
        lfi-prior-samples.png

TRAIN_IDX is train-5k-images-idx3-ubyte.gz of the MNIST data; figures go to examples/readme/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from mnistvec.commands.sample import draw_samples
from mnistvec.data import load_images
from mnistvec.images import make_grid, save_png
from mnistvec.models.registry import load_model
from mnistvec.render import render_numpy, render_torch

SIZE = 112
COUNT = 12
OUT = Path(__file__).resolve().parent / "readme"


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


if __name__ == "__main__":
    figure, *rest = sys.argv[1:]
    {"recon": reconstructions, "prior": prior_samples}[figure](*rest)
