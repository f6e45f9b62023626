"""The types every reader returns: a batch of 28×28 canvases and their source frames."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mnistvec.data.errors import Failure

CANVAS_PIXELS = 28
"""Side of the canvas in pixels; the canvas is the unit square, one pixel is 1/28 of it."""


@dataclass(frozen=True)
class SourceFrame:
    """Where the 28×28 canvas lies in the source image.

    Canvas coordinates ``c = (cx, cy)`` are in canvas units: the canvas is the
    unit square, origin at its top-left corner, y pointing down, and the 28×28
    image covers it exactly (canvas pixel ``(i, j)`` spans
    ``[j/28, (j+1)/28] × [i/28, (i+1)/28]``).  Source coordinates are in source
    pixels with the same conventions (pixel ``(i, j)`` spans
    ``[j, j+1] × [i, i+1]``).  The map is a uniform scale plus a shift::

        source_x = offset_x + cx * scale
        source_y = offset_y + cy * scale

    so ``scale`` is the canvas side measured in source pixels.  A 28×28 source
    taken as it is has ``scale = 28`` and zero offsets.  ``width`` and
    ``height`` are the source image's size in pixels; ``inverted`` is true when
    the source had a light background (dark ink), so drawings mapped back into
    the source frame should use dark ink on a light background.
    """

    width: int
    height: int
    scale: float
    offset_x: float
    offset_y: float
    inverted: bool

    def to_source(self, cx, cy):
        """Map canvas units to source pixels: ``offset + c * scale`` (scalars or arrays)."""
        return self.offset_x + np.asarray(cx) * self.scale, self.offset_y + np.asarray(cy) * self.scale

    def to_canvas(self, sx, sy):
        """Map source pixels to canvas units: ``(s - offset) / scale``, the inverse of :meth:`to_source`."""
        return (np.asarray(sx) - self.offset_x) / self.scale, (np.asarray(sy) - self.offset_y) / self.scale


IDENTITY_FRAME = SourceFrame(CANVAS_PIXELS, CANVAS_PIXELS, float(CANVAS_PIXELS), 0.0, 0.0, False)
"""The frame of a 28×28 source with white ink on black, taken as it is."""

INVERTED_IDENTITY_FRAME = SourceFrame(CANVAS_PIXELS, CANVAS_PIXELS, float(CANVAS_PIXELS), 0.0, 0.0, True)
"""The frame of a 28×28 source with dark ink on a light background, inverted and otherwise taken as it is."""


@dataclass
class ImageSet:
    """A batch of digits ready for vectorising.

    ``images`` is float32 ``[B, 28, 28]`` in ``[0, 1]``, white ink (1) on black
    (0), whatever the source looked like.  ``names[k]`` identifies item ``k``
    (callers derive output file names from it; it may contain ``/``),
    ``frames[k]`` maps its canvas back to its source image, and ``labels`` is an
    int64 ``[B]`` array when the source has labels, else ``None``.
    ``failures`` lists the items of the source that could not be read.
    ``doubts[k]`` says why item ``k`` is clearly not one digit on a plain
    background, ``""`` when it may be (see :mod:`.doubts`; all ``""`` when not given).

    Indexing with an int, a slice, or a sequence/array of ints returns a new
    ``ImageSet`` (an int gives a set of one); failures belong to the reading
    of a source and are not carried into subsets.
    """

    images: np.ndarray
    names: list[str]
    frames: list[SourceFrame]
    labels: np.ndarray | None = None
    failures: list[Failure] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim != 3 or images.shape[1:] != (CANVAS_PIXELS, CANVAS_PIXELS):
            raise ValueError(f"images must have shape [B, 28, 28], got {list(images.shape)}")
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        count = len(self.images)
        if len(self.names) != count or len(self.frames) != count:
            raise ValueError(f"{count} images but {len(self.names)} names and {len(self.frames)} frames")
        self.doubts = list(self.doubts) or [""] * count
        if len(self.doubts) != count:
            raise ValueError(f"{count} images but {len(self.doubts)} doubts")
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
            if len(self.labels) != count:
                raise ValueError(f"{count} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> ImageSet:
        if isinstance(key, (int, np.integer)):
            index = int(key)
            if not -len(self) <= index < len(self):
                raise IndexError(f"index {index} out of range for {len(self)} images")
            key = slice(index, index + 1 if index != -1 else None)
        if isinstance(key, slice):
            positions = range(len(self))[key]
            images = self.images[key]
        else:
            positions = [int(i) for i in np.asarray(key, dtype=np.int64).reshape(-1)]
            images = self.images[positions]
        return ImageSet(
            images=images,
            names=[self.names[i] for i in positions],
            frames=[self.frames[i] for i in positions],
            labels=None if self.labels is None else self.labels[list(positions)],
            doubts=[self.doubts[i] for i in positions],
        )

    @classmethod
    def empty(cls, failures: Iterable[Failure] = ()) -> ImageSet:
        """A set with no images (and the given failures)."""
        return cls(np.zeros((0, CANVAS_PIXELS, CANVAS_PIXELS), np.float32), [], [], None, list(failures))

    @classmethod
    def concat(cls, sets: Iterable[ImageSet]) -> ImageSet:
        """Join sets in order; labels are kept only when every non-empty part has them."""
        sets = list(sets)
        if not sets:
            return cls.empty()
        failures = [f for s in sets for f in s.failures]
        parts = [s for s in sets if len(s)]
        if not parts:
            return cls.empty(failures)
        labelled = all(s.labels is not None for s in parts)
        return cls(
            images=np.concatenate([s.images for s in parts]),
            names=[n for s in parts for n in s.names],
            frames=[f for s in parts for f in s.frames],
            labels=np.concatenate([s.labels for s in parts]) if labelled else None,
            failures=failures,
            doubts=[d for s in parts for d in s.doubts],
        )


def indexed_names(stem: str, count: int) -> list[str]:
    """``<stem>-<index>`` for ``index`` in ``0..count-1``, zero-padded to at least 5 digits so names sort in order."""
    width = max(5, len(str(max(count - 1, 0))))
    return [f"{stem}-{index:0{width}d}" for index in range(count)]
