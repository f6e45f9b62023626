"""Turn a gray image of any size into an MNIST-style 28×28 canvas and its :class:`SourceFrame`.

Notation: ``g`` is the gray working image in ``[0, 1]``; source pixel
coordinates are ``f · working + t``, with ``f`` the integer reduction factor
(1 unless a large image was decoded at reduced size) and ``t`` a shift (0
unless an EXIF rotation reversed an axis, see :mod:`.grayscale`); coordinates
are continuous with pixel ``(i, j)`` spanning ``[j, j+1] × [i, i+1]``, so the centre of pixel ``j`` is ``j + 1/2``.

1. Background.  ``b = median`` of the image's border pixels (the outermost
   rows and columns).  If ``b > 1/2`` the background is light and the ink dark,
   and the image is inverted, ``g ← 1 - g`` (recorded as ``inverted``).
2. Ink.  The image has ink when ``max(g) - median(border of g)`` is at least
   :data:`MIN_INK_CONTRAST`; otherwise it fails with "no ink found".
3. A 28×28 source is taken as it is (after the inversion of step 1), with the
   frame ``scale = 28``, zero offsets.
4. Any other size is normalised the way MNIST was made:

   * contrast: ``v = clip((g - b) / (max(g) - b), 0, 1)``;
   * bounding box of the ink pixels ``v ≥`` :data:`INK_THRESHOLD`, of size
     ``w × h`` working pixels; only ``v`` inside the box grown by
     :data:`INK_MARGIN` pixels is kept (MNIST cropped its digits to their box;
     the margin keeps the faint anti-aliased edge of the strokes);
   * fit: ``s = 20 / max(w, h)`` canvas pixels per working pixel, so the box's
     longer side spans 20 canvas pixels and the aspect ratio is kept;
   * centre: the centre of mass ``m = Σ v·p / Σ v`` of the kept ink (``p``
     pixel centres) goes to the centre of canvas pixel ``(14, 14)`` (array
     indices row 14, column 14), i.e. continuous canvas pixel coordinates
     ``k = 14.5``, as in MNIST, whose digits have their centre of mass there;
   * resample: the canvas window, the square of side ``28 / s`` working pixels
     whose top-left corner is ``m - k / s``, is resampled to 28×28 with a
     Lanczos filter (which low-passes when shrinking), clipped to ``[0, 1]``
     and divided by its maximum so the brightest pixel is 1, as in MNIST.

   The frame follows from the window: canvas unit ``c`` lies at source pixel
   ``f · (m - k/s + 28 c / s) + t``, i.e. ``scale = 28 f / s`` and
   ``offset = f · (m - k / s) + t``; the translation is continuous, not rounded to
   whole pixels, so the frame maps the canvas back to the source exactly.
5. Doubts.  An image that is clearly not one digit on a plain background (noise, speckle, several
   digits, specks on an empty page) is still normalised; :mod:`.doubts` says why
   (:func:`judge_canvases`), from what it measured of the source and of the canvas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mnistvec.data.doubts import MEASURES, border_pixels, judge, measure_sources
from mnistvec.data.imageset import CANVAS_PIXELS, IDENTITY_FRAME, INVERTED_IDENTITY_FRAME, SourceFrame

FIT_PIXELS = 20
"""Side, in canvas pixels, of the box the ink's bounding box is fitted into."""

INK_THRESHOLD = 0.5
"""Contrast-stretched level at or above which a pixel counts as ink for the bounding box."""

INK_MARGIN = 1
"""Working pixels kept around the bounding box, so the faint anti-aliased edge of the ink is not cut off."""

CENTRE_OF_MASS_PIXELS = 14.5
"""Continuous canvas pixel coordinate (x and y) of the ink's centre of mass: the centre of pixel (14, 14)."""

MIN_INK_CONTRAST = 0.1
"""Smallest difference between the brightest pixel and the background for an image to have ink."""

NO_INK = "no ink found"


class NoInk(Exception):
    """The image has no ink (its brightest pixel is within :data:`MIN_INK_CONTRAST` of its background)."""

    def __init__(self) -> None:
        super().__init__(NO_INK)


@dataclass(frozen=True)
class Canvas:
    """A 28×28 float32 image in ``[0, 1]`` (white ink on black) and the frame mapping it to its source.

    For :func:`judge_canvases`: ``background`` and ``contrast`` are the image's ``b`` and ``c``
    (:mod:`.doubts`; 0 and 1 for a normalised canvas), ``measures`` what :func:`.doubts.measure_sources`
    found in the source, or None when the source is the image itself, measured with the rest of its batch.
    """

    image: np.ndarray
    frame: SourceFrame
    background: float = 0.0
    contrast: float = 1.0
    measures: np.ndarray | None = None


def judge_canvases(canvases: Sequence[Canvas]) -> list[str]:
    """Why each canvas's image is clearly not one digit on a plain background, ``""`` when it may be
    (:mod:`.doubts`), judged all at once."""
    if not canvases:
        return []
    images = np.stack([c.image for c in canvases])
    background = np.array([c.background for c in canvases], np.float32)
    contrast = np.array([c.contrast for c in canvases], np.float32)
    measures = np.stack([np.zeros(MEASURES) if c.measures is None else c.measures for c in canvases])
    own = [k for k, c in enumerate(canvases) if c.measures is None]
    measures[own] = measure_sources(images[own], background[own], contrast[own])
    return judge(measures, images, background + contrast / 2)


def border_median(gray: np.ndarray) -> float:
    """Median of the outermost rows and columns of a 2-D image (a sort: np.median's overhead is ten times
    the work on a border of a hundred pixels)."""
    border = (
        gray.ravel() if min(gray.shape) <= 2 else np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    )
    border = np.sort(border)
    middle = len(border) // 2
    return float(border[middle] if len(border) % 2 else (border[middle - 1] + border[middle]) / 2)


def to_canvas(
    gray: np.ndarray,
    source_width: int | None = None,
    source_height: int | None = None,
    factor: int = 1,
    shift: tuple[float, float] = (0.0, 0.0),
) -> Canvas:
    """Normalise one gray image (``[h, w]`` in ``[0, 1]``) to a canvas; raise :class:`NoInk` when blank.

    ``source_width``/``source_height`` (default: the array's size), ``factor``
    and ``shift`` describe the source the working image was reduced from:
    source = ``factor`` × working + ``shift`` (see the module docstring).
    """
    gray = np.asarray(gray, dtype=np.float32)
    height, width = gray.shape
    source_width = width if source_width is None else source_width
    source_height = height if source_height is None else source_height
    border = border_median(gray)
    inverted = border > 0.5
    ink = 1.0 - gray if inverted else gray
    background = 1.0 - border if inverted else border  # the median commutes with x -> 1 - x
    peak = float(ink.max())
    if peak - background < MIN_INK_CONTRAST:
        raise NoInk()
    if (source_width, source_height) == (CANVAS_PIXELS, CANVAS_PIXELS) and factor == 1:
        frame = INVERTED_IDENTITY_FRAME if inverted else IDENTITY_FRAME
        return Canvas(np.ascontiguousarray(ink), frame, background, peak - background)
    stretched = np.clip((ink - background) / (peak - background), 0.0, 1.0)
    image, frame = _fit_and_centre(stretched, source_width, source_height, factor, shift, inverted)
    return Canvas(image, frame, measures=measure_sources(ink[None], [background], [peak - background])[0])


def _fit_and_centre(
    v: np.ndarray, source_width: int, source_height: int, factor: int, shift: tuple[float, float], inverted: bool
) -> tuple[np.ndarray, SourceFrame]:
    rows = np.flatnonzero((v >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((v >= INK_THRESHOLD).any(axis=0))
    box_height, box_width = rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]
    canvas_per_working = FIT_PIXELS / max(box_width, box_height)
    window = CANVAS_PIXELS / canvas_per_working

    top, left = max(rows[0] - INK_MARGIN, 0), max(cols[0] - INK_MARGIN, 0)
    crop = v[top : rows[-1] + 1 + INK_MARGIN, left : cols[-1] + 1 + INK_MARGIN]
    crop_height, crop_width = crop.shape
    total = float(crop.sum(dtype=np.float64))
    centre_x = left + float(crop.sum(axis=0, dtype=np.float64) @ (np.arange(crop_width) + 0.5)) / total
    centre_y = top + float(crop.sum(axis=1, dtype=np.float64) @ (np.arange(crop_height) + 0.5)) / total
    to_corner = CENTRE_OF_MASS_PIXELS / canvas_per_working
    window_x, window_y = centre_x - to_corner, centre_y - to_corner

    pad = math.ceil(window) + 1
    padded = np.zeros((crop_height + 2 * pad, crop_width + 2 * pad), np.float32)
    padded[pad : pad + crop_height, pad : pad + crop_width] = crop
    box_x, box_y = window_x - left + pad, window_y - top + pad
    resampled = Image.fromarray(padded, mode="F").resize(
        (CANVAS_PIXELS, CANVAS_PIXELS),
        Image.Resampling.LANCZOS,
        box=(box_x, box_y, box_x + window, box_y + window),
    )
    image = np.clip(np.asarray(resampled, dtype=np.float32), 0.0, 1.0)
    brightest = float(image.max())
    if brightest <= 0.0:
        raise NoInk()
    frame = SourceFrame(
        width=int(source_width),
        height=int(source_height),
        scale=float(window * factor),
        offset_x=float(window_x * factor + shift[0]),
        offset_y=float(window_y * factor + shift[1]),
        inverted=inverted,
    )
    return np.ascontiguousarray(image / brightest), frame


@dataclass
class CanvasBatch:
    """Canvases made from a stack of arrays: the kept items' images, frames and doubts (as
    :func:`judge_canvases` gives them), and ``(index, reason)`` for the rest."""

    images: np.ndarray
    frames: list[SourceFrame]
    kept: np.ndarray
    rejected: list[tuple[int, str]]
    doubts: list[str]


def canvases_from_stack(stack: np.ndarray) -> CanvasBatch:
    """Apply :func:`to_canvas` to every item of a float ``[B, H, W]`` stack in ``[0, 1]``.

    28×28 stacks are handled in one vectorised pass (same rules as :func:`to_canvas`).
    """
    stack = np.asarray(stack, dtype=np.float32)
    count, height, width = stack.shape
    if count == 0:
        return CanvasBatch(np.zeros((0, CANVAS_PIXELS, CANVAS_PIXELS), np.float32), [], np.zeros(0, np.int64), [], [])
    if (height, width) == (CANVAS_PIXELS, CANVAS_PIXELS):
        return _as_is_stack(stack)
    canvases, kept, rejected = [], [], []
    for index in range(count):
        try:
            canvases.append(to_canvas(stack[index]))
        except NoInk as error:
            rejected.append((index, str(error)))
            continue
        kept.append(index)
    stacked = (
        np.stack([c.image for c in canvases]) if canvases else np.zeros((0, CANVAS_PIXELS, CANVAS_PIXELS), np.float32)
    )
    return CanvasBatch(
        stacked, [c.frame for c in canvases], np.asarray(kept, dtype=np.int64), rejected, judge_canvases(canvases)
    )


def _border_medians(stack: np.ndarray) -> np.ndarray:
    return np.median(border_pixels(stack), axis=1)


def _as_is_stack(stack: np.ndarray) -> CanvasBatch:
    inverted = _border_medians(stack) > 0.5
    ink = stack
    if inverted.any():
        ink = stack.copy()
        ink[inverted] = 1.0 - ink[inverted]
    background = _border_medians(ink)
    contrast = ink.reshape(len(ink), -1).max(axis=1) - background
    has_ink = contrast >= MIN_INK_CONTRAST
    kept = np.flatnonzero(has_ink)
    frames = [INVERTED_IDENTITY_FRAME if inverted[i] else IDENTITY_FRAME for i in kept]
    rejected = [(int(i), NO_INK) for i in np.flatnonzero(~has_ink)]
    images = ink if len(kept) == len(ink) else ink[kept]
    background, contrast = background[kept], contrast[kept]
    measures = measure_sources(images, background, contrast)
    return CanvasBatch(
        np.ascontiguousarray(images), frames, kept, rejected, judge(measures, images, background + contrast / 2)
    )
