"""From unconstrained network outputs to valid strokes (canvas units).

Each stroke has six raw numbers (u_x0, u_y0, u_x1, u_y1, u_w, u_o):

    endpoint = MARGIN + (1 - 2 MARGIN) * sigmoid(u)        in [MARGIN, 1 - MARGIN]
    width    = W_MIN + (W_MAX - W_MIN) * sigmoid(u_w)      in [W_MIN, W_MAX]
    opacity  = sigmoid(u_o)                                in (0, 1)

so every output of the encoder is a drawable stroke and the squashing is smooth for gradient descent.
W_MIN..W_MAX is 0.5 to 3.9 pixels at 28x28, the range of MNIST pen widths.
"""

from __future__ import annotations

import numpy as np

PARAMS_PER_LINE = 6
MARGIN = 0.02
W_MIN = 0.018
W_MAX = 0.14


def squash(raw):
    """raw [B, N, 6] -> lines [B, N, 4], widths [B, N], opacity [B, N]: torch tensors from a tensor (with
    their gradients), numpy arrays of its dtype from a numpy array (no torch needed)."""
    if isinstance(raw, np.ndarray):
        sigmoid = _sigmoid_array
    else:
        import torch

        sigmoid = torch.sigmoid
    lines = MARGIN + (1.0 - 2.0 * MARGIN) * sigmoid(raw[..., :4])
    widths = W_MIN + (W_MAX - W_MIN) * sigmoid(raw[..., 4])
    opacity = sigmoid(raw[..., 5])
    return lines, widths, opacity


def _sigmoid_array(values: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) in the array's own dtype (no overflow warning for large |x|)."""
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-values))).astype(values.dtype, copy=False)
