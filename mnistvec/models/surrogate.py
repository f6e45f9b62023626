"""The learned surrogate renderer: a network that imitates the native renderer and carries gradients.

The native renderer is exact but has no gradients. The surrogate learns the coverage map of ONE stroke,

    cov_theta(x0, y0, x1, y1, w) -> [28, 28] in [0, 1],

from millions of (random stroke -> native image) pairs, and composites strokes with the exact rule of
`coverage.py`:

    image = 1 - prod_k (1 - alpha_k * cov_theta(stroke_k)).

Learning one stroke rather than a whole image keeps the network small (its input has 5 numbers) and makes
it independent of the number of strokes N. A stroke is the same whichever endpoint comes first, so the
endpoints are put in a canonical order (x0 <= x1) before the network sees them.

Network: the 5 normalised parameters and `FOURIER` sine/cosine features of them (fixed random frequencies,
which let an MLP draw sharp edges) -> `layers` GELU layers of `hidden` units -> 784 logits -> sigmoid.
It works at 28 x 28 pixels only (the training resolution); canvas coordinates are in [0, 1].
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mnistvec.strokes import MARGIN, W_MAX, W_MIN

SIZE = 28
FOURIER = 16


def canonical_order(lines: torch.Tensor) -> torch.Tensor:
    """[..., 4] segments with their endpoints swapped where needed so that x0 <= x1."""
    swap = (lines[..., 0] > lines[..., 2]).unsqueeze(-1)
    return torch.where(swap, lines[..., [2, 3, 0, 1]], lines)


class StrokeSurrogate(nn.Module):
    """Learned per-stroke coverage + exact compositing; differentiable everywhere."""

    def __init__(self, hidden: int = 512, layers: int = 3, seed: int = 0):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        frequencies = torch.randn(5, FOURIER, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("frequencies", frequencies)
        width = 5 + 2 * FOURIER
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, SIZE * SIZE))
        nn.init.constant_(self.net[-1].bias, -4.0)  # a stroke covers few pixels: start near empty

    def coverage_logits(self, lines: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
        """lines [..., 4], widths [...] (canvas units) -> logit of each stroke's coverage [..., 28, 28]."""
        ordered = canonical_order(lines)
        x = torch.cat([(ordered - 0.5) * 2.0, ((widths - W_MIN) / (W_MAX - W_MIN) * 2.0 - 1.0).unsqueeze(-1)], -1)
        phase = (2.0 * math.pi) * (x @ self.frequencies)
        features = torch.cat([x, phase.sin(), phase.cos()], -1)
        return self.net(features).unflatten(-1, (SIZE, SIZE))

    def coverage(self, lines: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
        """lines [..., 4], widths [...] (canvas units) -> coverage of each stroke alone [..., 28, 28]."""
        return torch.sigmoid(self.coverage_logits(lines, widths))

    def forward(self, lines: torch.Tensor, widths: torch.Tensor, opacity: torch.Tensor) -> torch.Tensor:
        """Strokes [B, N, 4], [B, N], [B, N] -> images [B, 28, 28] (1 - prod(1 - alpha cov))."""
        cov = self.coverage(lines, widths) * opacity.clamp(0.0, 1.0)[..., None, None]
        return 1.0 - torch.prod(1.0 - cov, dim=1)


def random_strokes(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` strokes from the surrogate's training distribution, covering everything `squash` can produce.

    Endpoints are uniform on [MARGIN, 1 - MARGIN]^2; for half of the strokes the second endpoint is moved to
    within +-0.2 of the first (short strokes are common in drawings and rare under a uniform draw), and 5%
    are dots (zero length). Widths are uniform on [W_MIN, W_MAX].
    """
    lo, hi = MARGIN, 1.0 - MARGIN
    lines = lo + (hi - lo) * torch.rand(count, 4, generator=generator)
    kind = torch.rand(count, generator=generator)
    offset = (torch.rand(count, 2, generator=generator) - 0.5) * 0.4
    short = (lines[:, :2] + offset).clamp(lo, hi)
    lines[:, 2:] = torch.where((kind < 0.5)[:, None], short, lines[:, 2:])
    lines[:, 2:] = torch.where((kind < 0.05)[:, None], lines[:, :2], lines[:, 2:])
    widths = W_MIN + (W_MAX - W_MIN) * torch.rand(count, generator=generator)
    return lines, widths


def native_coverage(lines: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """Each stroke of [..., 4], [...] drawn alone (opacity 1) by the native renderer: [..., 28, 28]."""
    from mnistvec.raster import render_numpy

    flat_lines = lines.detach().reshape(-1, 1, 4).float().cpu().numpy()
    flat_widths = widths.detach().reshape(-1, 1).float().cpu().numpy()
    ones = torch.ones(flat_widths.shape).numpy()
    images = render_numpy(flat_lines, flat_widths, ones, SIZE, SIZE, float(SIZE), "native")
    return torch.from_numpy(images).reshape(*lines.shape[:-1], SIZE, SIZE).to(lines.device)


def coverage_fit(
    surrogate: StrokeSurrogate, lines: torch.Tensor, widths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """How well the surrogate draws each stroke of [..., 4], [...] alone, against the native renderer:
    (mean pixel cross-entropy BCE(cov_theta(s), native(s)), the loss that fits it; mean squared error, the
    figure reported). Gradients reach the surrogate's weights only, never the strokes."""
    import torch.nn.functional as F

    lines, widths = lines.detach(), widths.detach()
    logits, target = surrogate.coverage_logits(lines, widths), native_coverage(lines, widths)
    with torch.no_grad():
        mse = ((torch.sigmoid(logits) - target) ** 2).mean()
    return F.binary_cross_entropy_with_logits(logits, target), mse
