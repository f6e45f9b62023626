"""Images that are clearly not one digit on a plain background: a rule that says so, and why.

Every image is still normalised and encoded; the rule only attaches a reason to the items it doubts
(``""`` for the others), which ``encode`` reports in one warning line and records in vectors.npz.

Notation as in :mod:`.normalise`: ``g`` is the gray image with ink bright (inverted when the background
was light), ``b`` the median of its border pixels (the background), ``c = max(g) - b`` its contrast, and
``v = (g - b) / c`` the contrast-stretched image, so an ink pixel is one with ``v ≥ 1/2``.  Four tests,
each on what it is best seen in; the first that fires gives the reason:

1. *The background is not plain* (noise, a texture, a photograph's gradient): the interquartile range of
   the border pixels is more than :data:`BACKGROUND_SPREAD` of the contrast.  Measured on the source.
2. *Speckle* (salt-and-pepper noise): at least :data:`MIN_SPECKS` ink pixels, and at least
   :data:`SPECK_SHARE` of all ink pixels, have no ink pixel among their 8 neighbours.  Measured on the
   source, where a speck is one pixel.
3. *Too little ink* (specks on an empty page): the canvas, where every digit is brought to the same
   20-pixel size, has fewer than :data:`MIN_INK_PIXELS` ink pixels.
4. *Two shapes side by side* (several digits): the ink columns of the 28×28 canvas have a blank gap of
   :data:`GAP_COLUMNS` columns or more with at least :data:`SIDE_SHARE` of the ink pixels on each side.
   A connected shape's columns form one interval, so one digit drawn in one piece never has such a gap.

The thresholds were chosen on MNIST's training digits and on scanned-looking versions of them (dark ink
on uneven, noisy paper, enlarged, off-centre, JPEG); ``benchmarks/bench_not_a_digit.py`` measures how
often the rule doubts real digits and how often it catches synthetic cases that are not one digit.
"""

from __future__ import annotations

import numpy as np

BACKGROUND_SPREAD = 0.25
"""Largest interquartile range of the border pixels, as a share of the contrast, of a plain background."""

MIN_SPECKS = 5
"""Fewest isolated ink pixels (no ink among the 8 neighbours) that make speckle."""

SPECK_SHARE = 0.02
"""Smallest share of the ink pixels that must be isolated for speckle (a few specks of dust are not)."""

GAP_COLUMNS = 2
"""Narrowest blank gap, in canvas columns, between two shapes side by side."""

SIDE_SHARE = 0.15
"""Smallest share of the canvas's ink pixels on each side of such a gap."""

MIN_INK_PIXELS = 16
"""Fewest ink pixels of a digit on the 28×28 canvas (MNIST's fewest is about 20)."""

MEASURES = 3
"""Numbers :func:`measure_sources` gives each source: border spread over contrast, isolated ink pixels, ink pixels."""

CHUNK = 4096
"""Images measured or judged at a time, so the temporary arrays stay small."""

NOT_PLAIN = "the background is not plain (noise, a texture or a gradient)"
SPECKLE = "speckled: {count} isolated ink pixels (salt-and-pepper noise?)"
TOO_LITTLE = "ink covers only {count} of the 784 canvas pixels (specks, not a digit?)"
SIDE_BY_SIDE = "two separate shapes side by side (more than one digit?)"


def border_pixels(stack: np.ndarray) -> np.ndarray:
    """``[B, P]``: the outermost rows and columns of every image of a ``[B, H, W]`` stack."""
    if min(stack.shape[1:]) <= 2:
        return stack.reshape(len(stack), -1)
    return np.concatenate([stack[:, 0], stack[:, -1], stack[:, 1:-1, 0], stack[:, 1:-1, -1]], axis=1)


def measure_sources(ink: np.ndarray, background, contrast) -> np.ndarray:
    """``[B, 3]`` float64 (:data:`MEASURES`) of the sources ``ink`` ``[B, H, W]`` (ink bright), whose
    background ``b`` and contrast ``c > 0`` are ``[B]``: the border's interquartile range over ``c``,
    the isolated ink pixels and the ink pixels (``g ≥ b + c/2``)."""
    background = np.asarray(background, np.float32).reshape(-1)
    contrast = np.asarray(contrast, np.float32).reshape(-1)
    found = np.empty((len(ink), MEASURES))
    for lo in range(0, len(ink), CHUNK):
        part = slice(lo, lo + CHUNK)
        level = background[part] + contrast[part] / 2
        found[part, 0] = _quartile_spread(border_pixels(ink[part])) / contrast[part]
        found[part, 1], found[part, 2] = _isolated(ink[part] >= level[:, None, None])
    return found


def judge(measures: np.ndarray, canvases: np.ndarray, ink_levels) -> list[str]:
    """The reason each image is doubted (module docstring), or ``""``: ``measures`` ``[B, 3]`` from
    :func:`measure_sources`, ``canvases`` ``[B, 28, 28]`` the normalised images and ``ink_levels``
    ``[B]`` the value from which a canvas pixel is ink."""
    measures = np.asarray(measures, np.float64).reshape(-1, MEASURES)
    levels = np.asarray(ink_levels, np.float32).reshape(-1)
    reasons: list[str] = []
    for lo in range(0, len(measures), CHUNK):
        part = slice(lo, lo + CHUNK)
        reasons += _judge_chunk(measures[part], canvases[part] >= levels[part, None, None])
    return reasons


def _judge_chunk(measures: np.ndarray, canvas_ink: np.ndarray) -> list[str]:
    """:func:`judge` of at most :data:`CHUNK` images, ``canvas_ink`` their boolean ink on the canvas."""
    spread, specks, source_ink = measures.T
    not_plain = spread > BACKGROUND_SPREAD
    speckled = (specks >= MIN_SPECKS) & (specks >= SPECK_SHARE * source_ink)
    canvas_count = canvas_ink.sum(axis=(1, 2))
    too_little = canvas_count < MIN_INK_PIXELS
    split = _split_side_by_side(canvas_ink)
    reasons = [""] * len(measures)
    for k in np.flatnonzero(not_plain | speckled | too_little | split).tolist():
        reasons[k] = (
            NOT_PLAIN
            if not_plain[k]
            else SPECKLE.format(count=int(specks[k]))
            if speckled[k]
            else TOO_LITTLE.format(count=int(canvas_count[k]))
            if too_little[k]
            else SIDE_BY_SIDE
        )
    return reasons


def _quartile_spread(values: np.ndarray) -> np.ndarray:
    """``[B]``: third minus first quartile of each row of ``[B, P]`` values (lower order statistics)."""
    ordered = np.sort(values, axis=1)
    count = values.shape[1]
    return ordered[:, (3 * (count - 1)) // 4] - ordered[:, (count - 1) // 4]


def _isolated(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(isolated ink pixels, ink pixels) of each boolean ``[B, H, W]`` image; a pixel is isolated when
    none of its 8 neighbours is ink."""
    pixels = ink.astype(np.uint8)
    rows = pixels.copy()  # each pixel and its left and right neighbours
    rows[:, :, 1:] += pixels[:, :, :-1]
    rows[:, :, :-1] += pixels[:, :, 1:]
    block = rows.copy()  # the 3×3 neighbourhood, the pixel included
    block[:, 1:] += rows[:, :-1]
    block[:, :-1] += rows[:, 1:]
    return np.count_nonzero(ink & (block == 1), axis=(1, 2)), np.count_nonzero(ink, axis=(1, 2))


def _split_side_by_side(ink: np.ndarray) -> np.ndarray:
    """``[B]`` bool: the columns of the boolean ``[B, H, W]`` ink have a blank run of at least
    :data:`GAP_COLUMNS` with at least :data:`SIDE_SHARE` of the ink pixels on either side of it."""
    column_mass = ink.sum(axis=1)
    width = column_mass.shape[1] - GAP_COLUMNS + 1  # gap positions: columns j .. j + GAP_COLUMNS - 1
    if width < 1:
        return np.zeros(len(ink), bool)
    blank = np.ones((len(ink), width), bool)
    for offset in range(GAP_COLUMNS):
        blank &= column_mass[:, offset : offset + width] == 0
    left = (np.cumsum(column_mass, axis=1) - column_mass)[:, :width]  # ink before column j
    total = column_mass.sum(axis=1, keepdims=True)
    balanced = np.minimum(left, total - left) >= SIDE_SHARE * np.maximum(total, 1)
    return (blank & balanced).any(axis=1)
