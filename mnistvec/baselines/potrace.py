"""The potrace baseline: the classic bitmap tracer's filled outlines of the ink, rasterised back.

For a batch of images [B, H, W] in [0, 1]: each image's ink (x > 0.5) is written as a PBM bitmap, `potrace
--svg` traces every bitmap (filled Bezier outlines, potrace's default settings), and `rsvg-convert` draws each
SVG back at H x W; the reconstruction is the drawing's alpha (coverage). Also returned per image: the SVG's
size in bytes and how many numbers its path data holds (the vector's size, as N strokes x 6 is a model's).
Both programs are Debian packages (`apt-get install potrace librsvg2-bin`).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from mnistvec.baselines import MissingComponentError

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
PATH_DATA = re.compile(r'\sd="([^"]*)"')


def programs() -> tuple[str, str]:
    """Paths of potrace and rsvg-convert; MissingComponentError naming the missing one."""
    found = [shutil.which(name) for name in ("potrace", "rsvg-convert")]
    for name, path in zip(("potrace", "rsvg-convert"), found):
        if path is None:
            raise MissingComponentError(
                f"the potrace baseline needs the `{name}` program (apt-get install potrace librsvg2-bin)"
            )
    return found[0], found[1]


def write_pbm(path: Path, ink: np.ndarray) -> None:
    """A binary PBM (P4): 1 bits are ink, rows padded to whole bytes."""
    height, width = ink.shape
    bits = np.packbits(ink.astype(np.uint8), axis=1)
    path.write_bytes(f"P4\n{width} {height}\n".encode() + bits.tobytes())


def path_numbers(svg: str) -> int:
    """How many numbers the SVG's path data (`d` attributes) holds."""
    return sum(len(NUMBER.findall(d)) for d in PATH_DATA.findall(svg))


def rasterise(rsvg: str, svg_path: Path, height: int, width: int) -> np.ndarray:
    """rsvg-convert's drawing of an SVG at width x height: its alpha channel in [0, 1]."""
    png = subprocess.run(
        [rsvg, "-w", str(width), "-h", str(height), str(svg_path)], capture_output=True, check=True
    ).stdout
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., 3].astype(np.float32) / 255.0


def potrace_batch(
    images: np.ndarray, threads: int = 2, advance=lambda n=1: None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """[B, H, W] -> (reconstructions [B, H, W], SVG bytes [B], path numbers [B], seconds of tracing);
    `advance()` is called once per image rasterised (a progress bar's)."""
    potrace, rsvg = programs()
    count, height, width = images.shape
    with tempfile.TemporaryDirectory(prefix="mnistvec-potrace-") as tmp:
        folder = Path(tmp)
        bitmaps = [folder / f"{i:06d}.pbm" for i in range(count)]
        for path, image in zip(bitmaps, images):
            write_pbm(path, image > 0.5)
        start = time.perf_counter()
        subprocess.run([potrace, "--svg", *map(str, bitmaps)], capture_output=True, check=True)
        seconds = time.perf_counter() - start
        svgs = [path.with_suffix(".svg") for path in bitmaps]
        with ThreadPoolExecutor(threads) as pool:

            def one(path: Path) -> np.ndarray:
                image = rasterise(rsvg, path, height, width)
                advance()
                return image

            recon = list(pool.map(one, svgs))
        texts = [path.read_text() for path in svgs]
    sizes = np.array([len(text.encode()) for text in texts])
    numbers = np.array([path_numbers(text) for text in texts])
    return np.stack(recon), sizes, numbers, seconds
