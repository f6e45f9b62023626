"""The MNIST dataset by name: ``mnist`` / ``mnist:train`` (60,000 images) and ``mnist:test`` (10,000).

The four standard files live in ``$MNISTVEC_DATA`` or, when that is unset,
``~/.cache/mnistvec/mnist``.  A missing file, or one whose md5 differs from
:data:`MD5`, is downloaded from :data:`MIRRORS` in order (or from the
``mirror`` given instead; see :mod:`.download`).  Images come with their labels,
which are meant for evaluation only.  Names are ``mnist-<split>-<index:05d>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from mnistvec.data.download import DEFAULT_TIMEOUT_S, Warn, download_verified, file_md5
from mnistvec.data.errors import DataError, OnFailure
from mnistvec.data.idx import iter_idx_images, load_idx_images
from mnistvec.data.imageset import ImageSet
from mnistvec.io.console import warn as console_warn

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

DATA_ENV = "MNISTVEC_DATA"


def mnist_dir() -> Path:
    """``$MNISTVEC_DATA`` when set, else ``~/.cache/mnistvec/mnist``."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "mnistvec" / "mnist"


def named_split(source: str) -> str | None:
    """``"train"``/``"test"`` for ``mnist``, ``mnist:train``, ``mnist:test``; ``None`` for anything not
    starting with ``mnist``."""
    if source == "mnist":
        return "train"
    if not source.startswith("mnist:"):
        return None
    split = source.split(":", 1)[1]
    if split not in SPLIT_FILES:
        raise DataError(f"{source}: unknown MNIST split {split!r}; use mnist, mnist:train or mnist:test")
    return split


def ensure_file(
    filename: str,
    directory: Path | None = None,
    mirror: str | Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
    warn: Warn | None = None,
) -> Path:
    """The path of a verified copy of one MNIST file, downloading it when missing or corrupt."""
    directory = mnist_dir() if directory is None else Path(directory)
    expected = MD5[filename]
    path = directory / filename
    if path.is_file():
        actual = file_md5(path)
        if actual == expected:
            return path
        (warn or console_warn)(f"{path}: md5 mismatch (got {actual}, expected {expected}); downloading it again")
    mirrors = MIRRORS if mirror is None else ((mirror,) if isinstance(mirror, str) else tuple(mirror))
    return download_verified(filename, directory, expected, mirrors, timeout=timeout, progress=progress, warn=warn)


def mnist_files(split: str = "train", **download_options) -> tuple[Path, Path]:
    """Paths of the split's images and labels files, downloaded if needed (options as for :func:`ensure_file`)."""
    if split not in SPLIT_FILES:
        raise DataError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    images, labels = SPLIT_FILES[split]
    return ensure_file(images, **download_options), ensure_file(labels, **download_options)


def iter_mnist(
    split: str,
    batch_size: int,
    mirror: str | Sequence[str] | None = None,
    on_failure: OnFailure | None = None,
    limit: int | None = None,
) -> Iterator[ImageSet]:
    """Batches of the MNIST ``split`` with labels, read a few at a time (files downloaded on first use)."""
    images_path, labels_path = mnist_files(split, mirror=mirror)
    return iter_idx_images(images_path, batch_size, labels_path, f"mnist-{split}", on_failure, limit)


def load_mnist(
    split: str = "train",
    directory: Path | None = None,
    mirror: str | Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
    warn: Warn | None = None,
    on_failure: OnFailure | None = None,
) -> ImageSet:
    """The MNIST ``split`` (``"train"`` or ``"test"``) with labels, downloading its files on first use."""
    images_path, labels_path = mnist_files(
        split, directory=directory, mirror=mirror, timeout=timeout, progress=progress, warn=warn
    )
    return load_idx_images(images_path, labels_path, stem=f"mnist-{split}", on_failure=on_failure)
