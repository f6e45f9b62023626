"""Images on disk: one file, or a folder searched recursively.

A folder is walked recursively in sorted order (by path components; hidden
files and folders, whose names start with ``.``, are skipped; symbolic links
to folders are not followed).  Files whose extension is one of
:data:`IMAGE_EXTENSIONS` (case-insensitive) are read; each is named by its
path relative to the folder, extension included, with ``/`` between
components (``7/img_001.png``): two files never share a name, and a file's
name does not depend on which other files are there.  A single image file is
named by its file name (``img_001.png``).  An entry with an image extension
that is not a regular file (a named pipe, a socket, a device, a link to
nothing) is a :class:`Failure` and is never opened, so it cannot block the
reading.

Each file is decoded to gray (:mod:`.grayscale`) and normalised
(:mod:`.normalise`).  A file that cannot be read, or has no ink, is a
:class:`Failure`: reported through ``on_failure`` and recorded in the batch's
``failures``; the other files are still read.  A folder in which no image at
all can be read raises :class:`DataError` (after every failure has been
reported), as do a missing folder and a folder without image files.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistvec.data.errors import DataError, Failure, OnFailure, warn_on_stderr
from mnistvec.data.grayscale import UnreadableImage, read_gray
from mnistvec.data.imageset import CANVAS_PIXELS, ImageSet
from mnistvec.data.normalise import Canvas, NoInk, judge_canvases, to_canvas
from mnistvec.data.png_native import decode_png_gray

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_image_path(path: str | Path) -> bool:
    """True when the file name has one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ImageFile:
    """An image file found in a folder and the name it is known by; `problem` says why it cannot be read
    without opening it (not a regular file), else None."""

    path: Path
    name: str
    problem: str | None = None


def walk_image_files(folder: str | Path, on_unlistable: OnFailure | None = None) -> Iterator[ImageFile]:
    """The image files under ``folder`` in reading order (module docstring), found as the walk goes: one
    folder's entries are held at a time, so memory does not grow with the number of files. A subfolder
    that cannot be listed goes to ``on_unlistable`` and is skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")

    def visit(directory: Path, prefix: str) -> Iterator[ImageFile]:
        try:
            with os.scandir(directory) as found:
                entries = sorted((e for e in found if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as error:
            if on_unlistable is not None:
                on_unlistable(
                    Failure(str(error.filename or directory), f"cannot list folder: {error.strerror or error}")
                )
            return
        for entry in entries:
            if _is_folder(entry):
                if not entry.is_symlink():  # links to folders are not followed
                    yield from visit(Path(entry.path), f"{prefix}{entry.name}/")
            elif is_image_path(entry.name):
                yield ImageFile(Path(entry.path), prefix + entry.name, _not_regular(entry))

    return visit(root, "")


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(entry: os.DirEntry) -> str | None:
    """Why the entry (links followed) is not a regular file that can be read, or None when it is one."""
    try:
        if entry.is_file():
            return None
        mode = entry.stat().st_mode
    except FileNotFoundError:
        return "a link to nothing; skipped"
    except OSError as error:
        return f"cannot examine: {error.strerror or error}"
    kind = next((what for test, what in _KINDS if test(mode)), None)
    return f"{kind + ', ' if kind else ''}not a regular file; skipped without opening it"


def count_image_files(folder: str | Path) -> int:
    """How many image files ``walk_image_files`` will find (one walk, nothing kept)."""
    return sum(1 for _ in walk_image_files(folder))


def read_canvas(path: str | Path) -> Canvas:
    """Decode and normalise one image file; raise ``UnreadableImage`` or ``NoInk`` with a one-line reason."""
    gray = read_gray(path)
    return to_canvas(gray.pixels, gray.source_width, gray.source_height, gray.factor, (gray.shift_x, gray.shift_y))


def read_image_file(path: str | Path, name: str | None = None) -> ImageSet:
    """A single image file as a set of one; any problem with it raises :class:`DataError`."""
    path = Path(path)
    try:
        canvas = read_canvas(path)
    except (UnreadableImage, NoInk) as error:
        raise DataError(f"{path}: {error}") from error
    return _image_set([canvas], [name or path.name], [])


def iter_folder_batches(
    folder: str | Path,
    batch_size: int,
    on_failure: OnFailure | None = None,
    limit: int | None = None,
) -> Iterator[ImageSet]:
    """Read a folder lazily, ``batch_size`` images at a time (the last batch may be smaller).

    Only one folder's file names, one batch of canvases and one decoded image are held at a time.  Every
    failure is reported when it is met and recorded in exactly one batch's
    ``failures``: the earliest batch not yet yielded at that moment (so
    failures after the last image join the last batch).  ``limit`` stops after
    that many images.  A missing folder or one without image files raises
    :class:`DataError` at once; a folder in which nothing could be read raises
    it when the iteration ends.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = on_failure or warn_on_stderr
    unlistable: list[Failure] = []
    files = walk_image_files(folder, unlistable.append)
    first = next(files, None)
    if first is None:
        for failure in unlistable:
            report(failure)
        raise DataError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder")
    return _read_batches(folder, itertools.chain([first], files), unlistable, batch_size, report, limit)


def _read_batches(
    folder: str | Path,
    files: Iterator[ImageFile],
    unlistable: list[Failure],
    batch_size: int,
    report: OnFailure,
    limit: int | None,
) -> Iterator[ImageSet]:
    canvases: list[Canvas] = []
    names: list[str] = []
    failures: list[Failure] = []
    read = seen = 0

    def take(pending: list[Failure]) -> None:
        for failure in pending:
            report(failure)
            failures.append(failure)

    for chunk in _chunks(files, unlistable, batch_size if limit is None else min(batch_size, max(limit, 1))):
        decoded = decode_pngs([item.path for item, _ in chunk])
        for k, (item, walked_before) in enumerate(chunk):
            take(walked_before)
            if limit is not None and read >= limit:
                break
            seen += 1
            if item.problem is not None:
                take([Failure(str(item.path), item.problem)])
                continue
            try:
                canvas = to_canvas(decoded[k]) if decoded[k] is not None else read_canvas(item.path)
            except (UnreadableImage, NoInk) as error:
                take([Failure(str(item.path), str(error), item.name)])
                continue
            if len(canvases) == batch_size:
                yield _image_set(canvases, names, failures)
                canvases, names, failures = [], [], []
            canvases.append(canvas)
            names.append(item.name)
            read += 1
        if limit is not None and read >= limit:
            break
    take(unlistable)
    if read == 0 and (limit is None or limit > 0):
        raise DataError(f"{folder}: none of its {seen} image files could be read (each failure is listed above)")
    if canvases or failures:
        yield _image_set(canvases, names, failures)


def _chunks(
    files: Iterator[ImageFile], unlistable: list[Failure], size: int
) -> Iterator[list[tuple[ImageFile, list[Failure]]]]:
    """The files `size` at a time, each with the unlistable-folder failures the walk met before it (taken
    out of `unlistable`), so that failures are reported in walk order however far ahead files are read."""
    chunk: list[tuple[ImageFile, list[Failure]]] = []
    for item in files:
        walked_before, unlistable[:] = list(unlistable), []
        chunk.append((item, walked_before))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def decode_pngs(paths: list[Path]) -> list[np.ndarray | None]:
    """The gray images (float32 in ``[0, 1]``) of the 28×28 8-bit gray or RGB PNG files among `paths`, decoded
    together by the native library (:mod:`.png_native`, the same pixels Pillow gives); None for every other
    file, and for all of them without the library: those are read one at a time by :func:`read_canvas`."""
    wanted = [k for k, path in enumerate(paths) if path.suffix.lower() == ".png"]
    found: list[np.ndarray | None] = [None] * len(paths)
    result = decode_png_gray([paths[k] for k in wanted], CANVAS_PIXELS, CANVAS_PIXELS) if wanted else None
    if result is not None:
        pixels, decoded = result
        gray = pixels.astype(np.float32) / np.float32(255.0)
        for j, k in enumerate(wanted):
            if decoded[j]:
                found[k] = gray[j]
    return found


def _image_set(canvases: list[Canvas], names: list[str], failures: list[Failure]) -> ImageSet:
    """The batch of these canvases, named, with their doubts judged together, and these failures."""
    images = np.stack([c.image for c in canvases]) if canvases else ImageSet.empty().images
    return ImageSet(images, names, [c.frame for c in canvases], None, failures, judge_canvases(canvases))
