"""From unconstrained network outputs to valid strokes (canvas units).

Each stroke has six raw numbers (u_x0, u_y0, u_x1, u_y1, u_w, u_o):

    endpoint = MARGIN + (1 - 2 MARGIN) * sigmoid(u)        in [MARGIN, 1 - MARGIN]
    width    = W_MIN + (W_MAX - W_MIN) * sigmoid(u_w)      in [W_MIN, W_MAX]
    opacity  = sigmoid(u_o)                                in (0, 1)

so every output of the encoder is a drawable stroke and the squashing is smooth for gradient descent.
W_MIN..W_MAX is 0.5 to 3.9 pixels at 28x28, the range of MNIST pen widths.
"""

from __future__ import annotations

import torch

PARAMS_PER_LINE = 6
MARGIN = 0.02
W_MIN = 0.018
W_MAX = 0.14


def squash(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """raw [B, N, 6] -> lines [B, N, 4], widths [B, N], opacity [B, N]."""
    lines = MARGIN + (1.0 - 2.0 * MARGIN) * torch.sigmoid(raw[..., :4])
    widths = W_MIN + (W_MAX - W_MIN) * torch.sigmoid(raw[..., 4])
    opacity = torch.sigmoid(raw[..., 5])
    return lines, widths, opacity
