"""Label-free augmentation: random translations of whole images.

shifted[i] = x[i] translated by (dy_i, dx_i) pixels, dy, dx uniform in {-s, ..., s}, zero fill
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Shift each [H, W] image of a batch by up to `max_shift` pixels in x and y (zero fill)."""
    if max_shift <= 0:
        return images
    padded = F.pad(images, (max_shift,) * 4)
    shifts = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator)
    height, width = images.shape[-2:]
    return torch.stack([padded[i, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(shifts.tolist())])
