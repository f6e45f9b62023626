"""Draw examples/readme/ae-reconstructions.png: digits (top, pixels enlarged) and their 16 strokes (bottom,
rendered natively at 112x112), from a trained model and an IDX file of digits.

    python examples/make_readme_figures.py runs/ae/model.pt path/to/train-5k-images-idx3-ubyte.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from mnistvec.data import load_images
from mnistvec.images import make_grid, save_png
from mnistvec.models.registry import load_model
from mnistvec.render import render_torch

SIZE = 112
COUNT = 12


def main(model_path: str, images_path: str) -> None:
    model, _ = load_model(model_path)
    images = load_images(images_path).images
    picks = images[np.linspace(0, len(images) - 1, COUNT).astype(int)]  # spread over the file's digits
    with torch.no_grad():
        strokes = model.strokes(torch.from_numpy(picks))
    drawn = render_torch(*strokes, SIZE, "native").numpy()
    enlarged = np.kron(picks, np.ones((SIZE // 28, SIZE // 28), np.float32))
    out = Path(__file__).resolve().parent / "readme" / "ae-reconstructions.png"
    save_png(out, make_grid(np.concatenate([enlarged, drawn]), columns=COUNT, pad=4))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
