"""Encode speed: `mnistvec encode` end to end on 10,000 PNGs beside potrace on the same digits, and the
same work split into its stages.

The MNIST t10k images are written as 10,000 PNG files to a temporary folder. End to end is the command as a
user runs it (NPZ + one SVG per image; the stages overlap there: reading ahead and writing behind run in
threads), process start included; then the same command with the torch encoder (the native one hidden
from it, as where it cannot run the model). The peer, in the same run: the potrace program tracing the
same 10,000 digits (ink at 0.5, written beforehand as PBM bitmaps, the format potrace reads) into one SVG each, as
`potrace --svg` processes given 500 files each, run two at a time (one per core). Then each stage alone,
in sequence, on the same files:

    read     decode the PNGs and normalise them to 28x28 canvases (the data readers, batch 256)
    encode   the model's forward pass, image -> strokes (the encoder the command picks: the native one for
             an autoencoder without refinement steps on the CPU, else the torch model)
    render   the native renderer drawing the strokes at 28x28 (for the MSE the command reports)
    write    one SVG per image (atomic writes, a batch at a time) and vectors.npz

    python benchmarks/bench_encode.py --model runs/ae/model.pt

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir). The
files go to a temporary folder in the system's temporary directory, or in --workdir (a tmpfs such as
/dev/shm takes the disk's own speed out of the figures: creating 10,000 small files on a busy disk can take
seconds).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def write_pngs(images: np.ndarray, folder: Path) -> None:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(folder / f"{i:05d}.png")


def stages(model_path: Path, folder: Path, out: Path, batch_size: int = 256) -> dict[str, float]:
    """Seconds of each stage run alone (module docstring)."""
    from mnistvec.data import resolve_source
    from mnistvec.encoding.encoders import load_batch_encoder
    from mnistvec.encoding.folder import frame_tuple
    from mnistvec.encoding.pipeline import single_torch_thread, steady_heap
    from mnistvec.io.atomic import write_files_atomic
    from mnistvec.io.svg import svg_drawings
    from mnistvec.io.vectors import Vectors
    from mnistvec.raster import render_numpy

    seconds = {}
    start = time.perf_counter()
    batches = list(resolve_source(str(folder)).iter_batches(batch_size))
    seconds["read"] = time.perf_counter() - start

    encoder = load_batch_encoder(model_path, "cpu", None)  # the one the command picks
    print(f"encoder: {'torch (one thread)' if encoder.uses_torch else 'native (every core)'}")
    steady_heap()  # as the command runs it: large blocks kept in the heap
    start = time.perf_counter()
    with single_torch_thread(enabled=encoder.uses_torch):
        strokes = [encoder.encode(b.images, None) for b in batches]
    seconds["encode"] = time.perf_counter() - start

    start = time.perf_counter()
    for lines, widths, opacity in strokes:
        render_numpy(lines, widths, opacity, 28, 28, 28.0)
    seconds["render"] = time.perf_counter() - start

    start = time.perf_counter()
    names = []
    for batch, (lines, widths, opacity) in zip(batches, strokes):
        frames = np.array([frame_tuple(f) for f in batch.frames], np.float64)
        texts = svg_drawings(lines, widths, opacity, frames, list(batch.names))
        paths = [out / "svg" / f"{Path(name).stem}.svg" for name in batch.names]
        write_files_atomic([(path, text.encode()) for path, text in zip(paths, texts)])
        names.extend(batch.names)
    Vectors(*(np.concatenate([s[k] for s in strokes]) for k in range(3)), names=names).save(out / "vectors.npz")
    seconds["write"] = time.perf_counter() - start
    return seconds


TORCH_ENCODER = (
    "import sys, mnistvec.models.native_encoder as native\n"
    "native.load_library = lambda: None  # as where the native encoder cannot run the model\n"
    "from mnistvec.cli import cli\n"
    "cli.main(sys.argv[1:])\n"
)
"""The command with the torch encoder: the same process, the native encoder's library hidden from it."""


def command_seconds(model: Path, folder: Path, out: Path, encoder: str) -> float:
    """Seconds `mnistvec encode FOLDER OUT --model MODEL --device cpu` takes, process start included, with
    the encoder the command picks (`native`) or the torch one."""
    entry = ["-m", "mnistvec.cli"] if encoder == "native" else ["-c", TORCH_ENCODER]
    start = time.perf_counter()
    command = [sys.executable, *entry, "encode", str(folder), str(out), "--model", str(model), "--device", "cpu"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def potrace_seconds(images: np.ndarray, folder: Path) -> float | None:
    """Seconds potrace takes to trace `images` (module docstring), None when it is not installed."""
    potrace = shutil.which("potrace")
    if potrace is None:
        return None
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image > 0.5).save(folder / f"{i:05d}.pbm")
    files = sorted(str(p) for p in folder.iterdir())
    chunks = [files[k : k + 500] for k in range(0, len(files), 500)]
    start = time.perf_counter()
    running: list[subprocess.Popen] = []
    for chunk in chunks:
        if len(running) == 2:
            running.pop(0).wait()
        running.append(subprocess.Popen([potrace, "--svg", *chunk]))
    for process in running:
        process.wait()
    seconds = time.perf_counter() - start
    assert len(list(folder.glob("*.svg"))) == len(images), "potrace wrote one SVG per bitmap"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary folder goes")
    args = parser.parse_args()

    from mnistvec.data import load_images
    from mnistvec.raster import native_available

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, native renderer "
        f"{'present' if native_available() else 'missing'}; model {args.model}"
    )
    images = load_images(args.data_dir / "t10k-images-idx3-ubyte.gz", limit=args.count).images
    workdir = Path(tempfile.mkdtemp(prefix="mnistvec-bench-encode-", dir=args.workdir))
    print(f"files in {workdir}")
    try:
        write_pngs(images, workdir / "pngs")
        end_to_end = {}
        for encoder in ("native", "torch"):
            end_to_end[encoder] = command_seconds(args.model, workdir / "pngs", workdir / f"cli-{encoder}", encoder)
            print(
                f"end to end (`mnistvec encode`, NPZ + SVG, process start included, {encoder} encoder): "
                f"{len(images) / end_to_end[encoder]:,.0f} images/s ({end_to_end[encoder]:.1f} s for "
                f"{len(images):,} PNGs)"
            )
        print(
            f"the native encoder's command takes {end_to_end['native'] / end_to_end['torch']:.2f}x the torch one's time"
        )
        end_to_end = end_to_end["native"]
        traced = potrace_seconds(images, workdir / "potrace")
        if traced is None:
            print("potrace: not installed (apt-get install potrace), no peer measured")
        else:
            print(
                f"potrace --svg on the same digits: {len(images) / traced:,.0f} images/s ({traced:.1f} s); "
                f"mnistvec encode takes {end_to_end / traced:.2f}x its time"
            )
        split = stages(args.model, workdir / "pngs", workdir / "stages")
        total = sum(split.values())
        print(f"\n{'stage':<8} {'seconds':>8} {'images/s':>10} {'share':>6}")
        for name, seconds in split.items():
            print(f"{name:<8} {seconds:>8.2f} {len(images) / seconds:>10,.0f} {seconds / total:>6.0%}")
        print(f"{'sum':<8} {total:>8.2f} {len(images) / total:>10,.0f}   (stages one after another, no overlap)")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
