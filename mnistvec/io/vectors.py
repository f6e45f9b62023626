"""The one vector format: a batch of images, each drawn with N straight strokes.

Units are canvas units: the canvas is the unit square, origin top-left, y pointing down, so the same
numbers draw the same picture at 28x28 or 1024x1024.

- ``lines``   float32 [B, N, 4]: endpoints (x0, y0, x1, y1)
- ``widths``  float32 [B, N]:    full stroke width (a stroke is the segment thickened by width / 2, round caps)
- ``opacity`` float32 [B, N]:    in [0, 1]; 0 switches a stroke off
- ``names``   list[str] of B, optional: where each item came from
- ``frames``  float64 [B, 6], optional: the source frame (width, height, scale, offset_x, offset_y, inverted)
  that maps canvas units c to the source image's pixels, ``offset + c * scale``
- ``doubts``  list[str] of B, optional: why each source image is clearly not one digit on a plain background
  (`mnistvec.data.doubts`), "" for the others; on disk ``suspect`` (bool [B]) and ``suspect_reason`` (str [B])

On disk (``.npz``): the arrays above plus ``meta``, a JSON string with the format version, N and the id of
the model that made them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistvec.errors import InputError
from mnistvec.io.atomic import atomic_path
from mnistvec.io.svg import canvas_frame, svg_drawing

FORMAT_VERSION = 1
FRAME_FIELDS = ("width", "height", "scale", "offset_x", "offset_y", "inverted")


class VectorsError(InputError, ValueError):
    """Vectors that cannot be used: wrong shape or dtype, non-finite values, unreadable file."""


@dataclass
class Vectors:
    """A batch of stroke drawings (see the module docstring for shapes and units)."""

    lines: np.ndarray
    widths: np.ndarray
    opacity: np.ndarray
    names: list[str] | None = None
    frames: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    doubts: list[str] | None = None

    def __post_init__(self) -> None:
        self.lines = _float_array("lines", self.lines, 3)
        self.widths = _float_array("widths", self.widths, 2)
        self.opacity = _float_array("opacity", self.opacity, 2)
        batch, n_lines = self.lines.shape[:2]
        if self.lines.shape[2] != 4:
            raise VectorsError(f"lines must have shape [B, N, 4], got {list(self.lines.shape)}")
        for name, arr in (("widths", self.widths), ("opacity", self.opacity)):
            if arr.shape != (batch, n_lines):
                raise VectorsError(f"{name} must have shape [B, N] = {[batch, n_lines]}, got {list(arr.shape)}")
        if self.names is not None:
            self.names = [str(n) for n in self.names]
            if len(self.names) != batch:
                raise VectorsError(f"names has {len(self.names)} entries for {batch} items")
        if self.frames is not None:
            self.frames = np.asarray(self.frames, dtype=np.float64)
            if self.frames.shape != (batch, len(FRAME_FIELDS)):
                raise VectorsError(f"frames must have shape [B, 6], got {list(self.frames.shape)}")
        if self.doubts is not None:
            self.doubts = [str(d) for d in self.doubts]
            if len(self.doubts) != batch:
                raise VectorsError(f"suspect_reason has {len(self.doubts)} entries for {batch} items")

    def __len__(self) -> int:
        return self.lines.shape[0]

    @property
    def n_lines(self) -> int:
        return self.lines.shape[1]

    def name(self, index: int) -> str:
        """The item's name, or ``item-00042`` when the batch has none."""
        return self.names[index] if self.names is not None else f"item-{index:05d}"

    def subset(self, index) -> Vectors:
        """The items selected by a slice, an integer array or a boolean mask, names and frames kept."""
        idx = np.arange(len(self))[index]
        return Vectors(
            self.lines[idx],
            self.widths[idx],
            self.opacity[idx],
            names=None if self.names is None else [self.names[i] for i in idx],
            frames=None if self.frames is None else self.frames[idx],
            meta=dict(self.meta),
            doubts=None if self.doubts is None else [self.doubts[i] for i in idx],
        )

    def bad_items(self) -> list[tuple[int, str]]:
        """Every item that cannot be drawn, with the reason: non-finite values or opacity outside [0, 1]."""
        problems: list[tuple[int, str]] = []
        for label, arr in (("lines", self.lines), ("widths", self.widths), ("opacity", self.opacity)):
            flat = arr.reshape(len(self), -1)
            for i in np.flatnonzero(~np.isfinite(flat).all(axis=1)):
                k = int(np.flatnonzero(~np.isfinite(flat[i]))[0])
                problems.append((int(i), f"{label} has a non-finite value ({flat[i, k]}) at position {k}"))
        for i in np.flatnonzero((self.widths < 0).any(axis=1)):
            problems.append((int(i), "widths has a negative value"))
        outside = (self.opacity < 0) | (self.opacity > 1)
        for i in np.flatnonzero(outside.any(axis=1)):
            problems.append((int(i), "opacity outside [0, 1]"))
        seen: dict[int, str] = {}
        for i, reason in problems:
            seen.setdefault(i, reason)
        return sorted(seen.items())

    def bad_frames(self, max_pixels: int | None) -> list[tuple[int, str]]:
        """Every item whose source frame cannot be drawn in, with the reason: a size that is not a whole
        number of pixels, at least 1 and at most `max_pixels` in all (None: no limit), a scale that is not
        above 0 and finite as a 32-bit float (what the renderers take), offsets that are not finite,
        `inverted` other than 0 or 1, or strokes the frame maps beyond the 32-bit floats. None without
        frames."""
        if self.frames is None:
            return []
        scale, offsets = self.frames[:, 2:3], np.tile(self.frames[:, 3:5], self.n_lines * 2)
        with np.errstate(all="ignore"):
            mapped = np.concatenate([self.lines.reshape(len(self), -1) * scale + offsets, self.widths * scale], axis=1)
        finite_strokes = (np.abs(mapped) <= np.finfo(np.float32).max).all(axis=1)  # NaN fails too
        problems = []
        for i, frame in enumerate(self.frames):
            reason = _frame_problem(*frame, max_pixels)
            if reason is None and not finite_strokes[i]:
                reason = "it maps the strokes beyond the 32-bit floats"
            if reason is not None:
                problems.append((i, f"bad source frame {[float(v) for v in frame]}: {reason}"))
        return problems

    def validate(self) -> Vectors:
        """Raise VectorsError naming the first bad item; return self when all items are drawable."""
        bad = self.bad_items()
        if bad:
            i, reason = bad[0]
            more = f" (and {len(bad) - 1} more bad items)" if len(bad) > 1 else ""
            raise VectorsError(f"item {i} ({self.name(i)}): {reason}{more}")
        return self

    def to_svg(self, index: int, size: int | None = None) -> str:
        """The SVG document of item `index`: in its source frame when one is recorded and `size` is not
        given, else on a square canvas of `size` pixels (28 by default)."""
        if self.frames is not None and size is None:
            frame = tuple(float(v) for v in self.frames[index])
        else:
            frame = canvas_frame(28 if size is None else size)
        return svg_drawing(self.lines[index], self.widths[index], self.opacity[index], frame, title=self.name(index))

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` atomically (temp file, then rename)."""
        meta = {"format_version": FORMAT_VERSION, "n_lines": self.n_lines, **self.meta}
        arrays = {
            "lines": self.lines,
            "widths": self.widths,
            "opacity": self.opacity,
            "names": np.array([self.name(i) for i in range(len(self))], dtype=str),
            "meta": np.array(json.dumps(meta)),
        }
        if self.frames is not None:
            arrays["frames"] = self.frames
        if self.doubts is not None:
            arrays["suspect"] = np.array([bool(d) for d in self.doubts], dtype=bool).reshape(-1)
            arrays["suspect_reason"] = np.array(self.doubts, dtype=str).reshape(-1)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Vectors:
        """Read an ``.npz`` written by `save`; VectorsError names the file and the problem."""
        from mnistvec.errors import DataError
        from mnistvec.io.npz_archive import open_checked

        path = Path(path)
        try:
            if zipfile.is_zipfile(path):  # every array's claimed size checked before np.load allocates it
                try:
                    open_checked(path)[0].close()
                except DataError as err:
                    raise VectorsError(str(err)) from None
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("lines", "widths", "opacity") if k not in data.files]
                if missing:
                    raise VectorsError(f"{path}: missing array(s) {', '.join(missing)}")
                meta = _meta(data["meta"], path) if "meta" in data.files else {}
                version = meta.get("format_version", FORMAT_VERSION)
                if version > FORMAT_VERSION:
                    raise VectorsError(f"{path}: format version {version} is newer than this mnistvec reads")
                names = [str(n) for n in data["names"]] if "names" in data.files else None
                frames = data["frames"] if "frames" in data.files else None
                doubts = [str(d) for d in data["suspect_reason"]] if "suspect_reason" in data.files else None
                return cls(data["lines"], data["widths"], data["opacity"], names, frames, meta, doubts)
        except VectorsError as err:
            if str(path) in str(err):
                raise
            raise VectorsError(f"{path}: {err}") from None
        except FileNotFoundError:
            raise VectorsError(f"{path}: no such file") from None
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise VectorsError(f"{path}: not a readable vectors .npz ({err})") from None


def _frame_problem(width, height, scale, offset_x, offset_y, inverted, max_pixels: int | None) -> str | None:
    """What makes one source frame unusable (see `Vectors.bad_frames`), or None."""
    if not all(np.isfinite([width, height, scale, offset_x, offset_y, inverted])):
        return "not all finite numbers"
    if width < 1 or height < 1 or width != round(width) or height != round(height):
        return "its size is not a whole number of pixels of at least 1"
    if max_pixels is not None and width * height > max_pixels:
        return f"its {width * height:,.0f} pixels are above the limit of {max_pixels:,}"
    if not np.finfo(np.float32).tiny <= scale <= np.finfo(np.float32).max:
        return "its scale is not above 0 and within 32-bit floats"
    if inverted not in (0.0, 1.0):
        return "inverted is neither 0 nor 1"
    return None


def _meta(value: np.ndarray, path: Path) -> dict:
    """The `meta` of a vectors file: one JSON object, whose `format_version`, when present, is a whole
    number; VectorsError naming `path` otherwise (the whole file is then unusable)."""
    if value.shape != () or value.dtype.kind not in "US":
        raise VectorsError(f"{path}: its meta is not one JSON text (an array of {value.dtype} {list(value.shape)})")
    text = value.item() if value.dtype.kind == "U" else bytes(value.item()).decode("utf-8", errors="replace")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise VectorsError(f"{path}: its meta is not JSON ({err})") from None
    if not isinstance(meta, dict):
        raise VectorsError(f"{path}: its meta is not a JSON object but {type(meta).__name__} {text[:40]!r}")
    version = meta.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise VectorsError(f"{path}: its meta's format_version is {version!r:.40}, not a whole number")
    return meta


def _float_array(name: str, value, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise VectorsError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise VectorsError(f"{name} must have {ndim} dimensions, got shape {list(arr.shape)}")
    return np.ascontiguousarray(arr, dtype=np.float32)
