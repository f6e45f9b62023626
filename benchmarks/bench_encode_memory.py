"""Encode memory: peak resident memory of `mnistvec encode` on 10,000 and on 100,000 PNG files.

Streaming means the peak should not grow with the number of images. The benchmark writes N PNGs (the
train-5k digits, repeated, in folders of 1,000) to a temporary folder, runs the command as a user would
(vectors.npz + one SVG per image, the bundled autoencoder), samples the process's resident memory
(VmRSS) every 0.2 s and reports the peak (VmHWM), the resident memory at each tenth of the run, and the
time.

    python benchmarks/bench_encode_memory.py --counts 10000 100000

The data folder defaults to ../shared/data/mnist beside the repository (override with --data-dir).
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
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def write_pngs(images: np.ndarray, count: int, folder: Path) -> None:
    for i in range(count):
        sub = folder / f"{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True)
        Image.fromarray((images[i % len(images)] * 255 + 0.5).astype(np.uint8)).save(sub / f"{i:06d}.png")


def status_kib(pid: int, field: str) -> int | None:
    """A `VmRSS`-style field of /proc/PID/status, in KiB (None once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def measure(folder: Path, out: Path) -> dict:
    command = [
        sys.executable,
        "-c",
        "from mnistvec.cli import main; main()",
        "encode",
        str(folder),
        str(out),
        "--device",
        "cpu",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples, peak = [], 0
    while process.poll() is None:
        rss, hwm = status_kib(process.pid, "VmRSS"), status_kib(process.pid, "VmHWM")
        if rss is not None:
            samples.append((time.perf_counter() - start, rss))
            peak = max(peak, hwm or 0)
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"encode failed with exit code {process.returncode}")
    tenths = [next((rss for t, rss in samples if t >= seconds * k / 10), samples[-1][1]) for k in range(1, 11)]
    return {"seconds": seconds, "peak_mib": peak / 1024, "tenths_mib": [r / 1024 for r in tenths]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to write the PNGs (default: a temp dir).")
    args = parser.parse_args()

    from mnistvec.data import load_images

    images = load_images(args.data_dir / "train-5k-images-idx3-ubyte.gz").images
    root = Path(tempfile.mkdtemp(dir=args.workdir))
    try:
        print(f"{'images':>8} {'time':>8} {'img/s':>7} {'peak RSS':>9}  RSS at each tenth of the run (MiB)")
        for count in args.counts:
            folder = root / f"in-{count}"
            write_pngs(images, count, folder)
            result = measure(folder, root / f"out-{count}")
            tenths = " ".join(f"{r:.0f}" for r in result["tenths_mib"])
            print(
                f"{count:>8,} {result['seconds']:>7.1f}s {count / result['seconds']:>7,.0f} "
                f"{result['peak_mib']:>6.0f} MiB  {tenths}",
                flush=True,
            )
            shutil.rmtree(folder)
            shutil.rmtree(root / f"out-{count}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
