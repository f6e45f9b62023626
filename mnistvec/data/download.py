"""Download a file from a list of mirrors, verified by its md5, written atomically.

For each mirror in order, ``<mirror>/<file name>`` is fetched with urllib into a
temporary file in the destination folder while its md5 is computed; only when
the digest matches is the temporary file renamed over the destination
(``os.replace``, atomic on one file system), so the destination is either
absent or complete and verified.  Any failure (HTTP error, refused connection,
time-out, short read, md5 mismatch) removes the temporary file, prints one
warning line naming the mirror and the reason, and moves on to the next
mirror; when every mirror fails, :class:`DataError` lists each failure.
Progress is shown as a tqdm bar on standard error when it is a terminal.
Proxies configured in the environment (``https_proxy`` …) are used, as urllib does.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from mnistvec.data.errors import DataError
from mnistvec.io.console import warn as console_warn

DEFAULT_TIMEOUT_S = 60.0
"""Seconds to wait for a connection or for each read before giving up on a mirror."""

CHUNK_BYTES = 1 << 16

Warn = Callable[[str], None]


def file_md5(path: str | Path) -> str:
    """Hex md5 digest of a file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_url(mirror: str, filename: str) -> str:
    """``mirror`` joined with ``filename`` by exactly one ``/``."""
    return mirror.rstrip("/") + "/" + filename


class MirrorFailed(Exception):
    """One mirror did not deliver a verified file; the message is the reason."""


def download_verified(
    filename: str,
    directory: str | Path,
    md5: str,
    mirrors: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
    warn: Warn | None = None,
) -> Path:
    """Fetch ``filename`` into ``directory`` from the first mirror that serves it with the expected ``md5``."""
    if not mirrors:
        raise DataError(f"cannot download {filename}: no mirror given")
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{directory}: cannot create the download folder: {error.strerror or error}") from error
    warn = warn or console_warn
    destination = directory / filename
    problems = []
    for position, mirror in enumerate(mirrors):
        url = mirror_url(mirror, filename)
        try:
            _fetch(url, destination, md5, timeout, progress)
            return destination
        except (MirrorFailed, OSError, http.client.HTTPException, ValueError) as error:
            reason = _reason(error, timeout)
            problems.append(f"{url}: {reason}")
            more = "; trying the next mirror" if position + 1 < len(mirrors) else ""
            warn(f"mirror {mirror} failed for {filename}: {reason}{more}")
    raise DataError(f"cannot download {filename}: every mirror failed: " + "; ".join(problems))


def _fetch(url: str, destination: Path, md5: str, timeout: float, progress: bool) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "mnistvec"})
        digest = hashlib.md5()
        received = 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.length
            with tqdm(
                total=total,
                desc=destination.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=None if progress else True,
                leave=False,
            ) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total is not None and received < total:
                raise MirrorFailed(f"connection closed after {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5:
            raise MirrorFailed(f"md5 mismatch: got {digest.hexdigest()}, expected {md5}")
        os.replace(temporary, destination)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _reason(error: BaseException, timeout: float) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        inner = error.reason
        if isinstance(inner, TimeoutError):
            return f"timed out after {timeout:g} s"
        return str(getattr(inner, "strerror", None) or inner)
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, http.client.IncompleteRead):
        return "connection closed before the whole file arrived"
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return str(error) or type(error).__name__
