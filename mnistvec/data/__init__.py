"""Data readers: every source becomes an :class:`ImageSet` of 28×28 white-on-black digits.

Sources are the MNIST dataset by name (``mnist``, ``mnist:train``,
``mnist:test``), a folder of images, a single image, an ``.npz`` archive, or an
IDX file; see :mod:`mnistvec.data.sources`.  Each image keeps a
:class:`SourceFrame` mapping its canvas back to the source pixels:
``source = offset + c · scale`` for canvas units ``c`` in the unit square.
"""

from mnistvec.data.arrays import images_from_array
from mnistvec.data.download import download_verified, file_md5
from mnistvec.data.errors import DataError, Failure, OnFailure, warn_on_stderr
from mnistvec.data.folder import (
    IMAGE_EXTENSIONS,
    count_image_files,
    iter_folder_batches,
    read_image_file,
    walk_image_files,
)
from mnistvec.data.grayscale import WORKING_MAX_SIDE
from mnistvec.data.idx import load_idx_images, read_idx, read_idx_images, read_idx_labels, write_idx
from mnistvec.data.imageset import CANVAS_PIXELS, ImageSet, SourceFrame
from mnistvec.data.mnist import MD5, MIRRORS, load_mnist, mnist_dir, mnist_files
from mnistvec.data.normalise import Canvas, NoInk, to_canvas
from mnistvec.data.npz import read_npz
from mnistvec.data.sources import DEFAULT_BATCH_SIZE, Source, iter_batches, load_images, resolve_source

__all__ = [
    "CANVAS_PIXELS",
    "DEFAULT_BATCH_SIZE",
    "IMAGE_EXTENSIONS",
    "MD5",
    "MIRRORS",
    "WORKING_MAX_SIDE",
    "Canvas",
    "DataError",
    "Failure",
    "ImageSet",
    "NoInk",
    "OnFailure",
    "Source",
    "SourceFrame",
    "download_verified",
    "file_md5",
    "images_from_array",
    "iter_batches",
    "iter_folder_batches",
    "count_image_files",
    "walk_image_files",
    "load_idx_images",
    "load_images",
    "load_mnist",
    "mnist_dir",
    "mnist_files",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "read_image_file",
    "read_npz",
    "resolve_source",
    "to_canvas",
    "warn_on_stderr",
    "write_idx",
]
