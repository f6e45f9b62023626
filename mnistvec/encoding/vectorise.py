"""The encode step every entry point shares (`mnistvec encode`, the Python API, `eval`): 28x28 canvases
in, strokes out.

    raw = model.raw_strokes(x)          (or a draw from q(z|x) for a VAE, `generator` given)
    raw = refine(raw, x, K)             (per-image refinement, when K > 0: `refine.py`)
    lines, widths, opacity = squash(raw), then strokes no one can see get opacity 0
                                        (`raster/visibility.py`; a caller that does that step
                                        itself, later, passes hide_invisible=False)
"""

from __future__ import annotations

import numpy as np
import torch

from mnistvec.encoding.refine import refine
from mnistvec.raster.visibility import without_invisible
from mnistvec.strokes import squash


def vectorise(
    model,
    images: torch.Tensor,
    refine_steps: int = 0,
    generator: torch.Generator | None = None,
    hide_invisible: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """images [B, 28, 28] in [0, 1] on the model's device -> float32 numpy (lines [B, N, 4], widths [B, N],
    opacity [B, N]) in canvas units (module docstring)."""
    with torch.no_grad():
        if generator is None:
            raw = model.raw_strokes(images)
        else:
            raw = model.raw_strokes(images, sample=True, generator=generator)
    if refine_steps > 0:
        raw = refine(raw, images, refine_steps)
    lines, widths, opacity = (t.detach().float().cpu().numpy() for t in squash(raw))
    return lines, widths, without_invisible(lines, widths, opacity) if hide_invisible else opacity
