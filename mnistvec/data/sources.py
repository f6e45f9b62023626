"""From a user-given source to images: dispatch on the string or path.

A source is, in this order:

* the string ``mnist`` or ``mnist:train`` (the 60,000 training images) or
  ``mnist:test`` (the 10,000 test images), see :mod:`.mnist`; these names are
  recognised only for ``str`` sources, so ``./mnist`` or ``Path("mnist")``
  means a file or folder of that name;
* a folder: every image under it, recursively (:mod:`.folder`);
* an ``.npz`` archive (:mod:`.npz`);
* an image file (by extension, see :data:`~.folder.IMAGE_EXTENSIONS`): a batch of one;
* an IDX images file: a name like ``*-idx3-ubyte[.gz]``, or any file whose
  content (gunzipped if need be) starts with the IDX images magic 2051
  (:mod:`.idx`);
* any other file that Pillow can open, as an image;
* any other file named ``*.idx``, ``*.idx3`` or ``*.ubyte``, or starting with
  the two zero bytes every IDX magic starts with: read as IDX, which names its
  bad magic number.

A whole-source problem raises :class:`DataError`; a source that yields no
image at all (every item failed) is one too. Every source is read lazily, a
batch at a time, so memory does not grow with its number of items.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from mnistvec.data.arrays import DEFAULT_BATCH_SIZE
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.folder import count_image_files, is_image_path, iter_folder_batches, read_image_file
from mnistvec.data.idx import IDX_NAME, IMAGES_MAGIC, LABELS_MAGIC, idx_count, iter_idx_images, peek_magic
from mnistvec.data.imageset import ImageSet
from mnistvec.data.mnist import iter_mnist, named_split
from mnistvec.data.npz import iter_npz_images, npz_count

MNIST_SIZES = {"train": 60_000, "test": 10_000}

IDX_SUFFIXES = {".idx", ".idx3", ".ubyte"}
"""Extensions that mark a file as IDX even when its magic number is wrong."""


@dataclass
class Source:
    """A resolved source: ``kind`` is ``"mnist"``, ``"folder"``, ``"npz"``, ``"idx"`` or ``"image"``."""

    kind: str
    path: Path | None = None
    split: str | None = None

    def __str__(self) -> str:
        return f"mnist:{self.split}" if self.kind == "mnist" else str(self.path)

    def count(self) -> int:
        """How many items the source holds, failures included (for progress bars)."""
        if self.kind == "mnist":
            return MNIST_SIZES[self.split]
        if self.kind == "folder":
            return count_image_files(self.path)
        if self.kind == "image":
            return 1
        if self.kind == "npz":
            return npz_count(self.path)
        return idx_count(self.path)

    def iter_batches(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        mirror: str | Sequence[str] | None = None,
        on_failure: OnFailure | None = None,
        limit: int | None = None,
    ) -> Iterator[ImageSet]:
        """Batches of at most ``batch_size`` images in source order, read lazily: a folder's files, and an
        IDX file's or an archive's items, a batch at a time (after their headers are checked, here)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if self.kind == "folder":
            return iter_folder_batches(self.path, batch_size, on_failure, limit)
        if self.kind == "mnist":
            return iter_mnist(self.split, batch_size, mirror, on_failure, limit)
        if self.kind == "npz":
            return iter_npz_images(self.path, batch_size, on_failure, limit)
        if self.kind == "idx":
            return iter_idx_images(self.path, batch_size, on_failure=on_failure, limit=limit)
        return iter([read_image_file(self.path)] if limit is None or limit > 0 else [])

    def load(
        self,
        mirror: str | Sequence[str] | None = None,
        on_failure: OnFailure | None = None,
        limit: int | None = None,
    ) -> ImageSet:
        """Every image of the source in one set."""
        return ImageSet.concat(self.iter_batches(DEFAULT_BATCH_SIZE, mirror, on_failure, limit))


def resolve_source(source: str | Path) -> Source:
    """Decide what kind of source ``source`` is (see the module docstring); nothing is downloaded yet."""
    if isinstance(source, str):
        split = named_split(source)
        if split is not None:
            return Source("mnist", split=split)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return Source("folder", path)
    if not path.is_file():  # a named pipe or a device: never opened, it could block forever
        raise DataError(
            f"{path}: not a regular file; expected a folder, an image, an .npz archive or an IDX images file"
        )
    if path.suffix.lower() == ".npz":
        return Source("npz", path)
    if is_image_path(path):
        return Source("image", path)
    magic = peek_magic(path)
    if magic == LABELS_MAGIC:
        raise DataError(
            f"{path}: this is an IDX labels file (magic {LABELS_MAGIC}); give the images file (magic {IMAGES_MAGIC})"
        )
    if magic == IMAGES_MAGIC or IDX_NAME.search(path.name):
        return Source("idx", path)
    if _pillow_can_open(path):
        return Source("image", path)
    if path.suffix.lower() in IDX_SUFFIXES or (magic is not None and magic >> 16 == 0):
        return Source("idx", path)  # IDX in all but its magic: reading it names the bad magic number
    raise DataError(f"{path}: unrecognised file: expected a folder, an image, an .npz archive or an IDX images file")


def _pillow_can_open(path: Path) -> bool:
    try:
        with Image.open(path):
            return True
    except Exception:  # any failure to identify means "not an image" here
        return False


def iter_batches(
    source: str | Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    mirror: str | Sequence[str] | None = None,
    on_failure: OnFailure | None = None,
    limit: int | None = None,
) -> Iterator[ImageSet]:
    """Read ``source`` in batches of at most ``batch_size`` images.

    Every source is read lazily, so memory stays flat however many items it
    holds.  Item failures are passed to
    ``on_failure`` (default: one ``warning:`` line on stderr) as they are met
    and recorded in the batches' ``failures``.  ``mirror`` (a base URL, or a
    list of them) replaces the MNIST download mirrors.  ``limit`` stops after
    that many images.
    """
    return resolve_source(source).iter_batches(batch_size, mirror=mirror, on_failure=on_failure, limit=limit)


def load_images(
    source: str | Path,
    *,
    mirror: str | Sequence[str] | None = None,
    on_failure: OnFailure | None = None,
    limit: int | None = None,
) -> ImageSet:
    """Read every image of ``source`` into one :class:`ImageSet` (arguments as for :func:`iter_batches`)."""
    return resolve_source(source).load(mirror=mirror, on_failure=on_failure, limit=limit)
