"""How many strokes: autoencoders with N strokes, scored against numbers per digit, beside the baselines.

For each N, `mnistvec train --method ae --lines N` on train-5k (the given epochs and encoder options; a
finished run in RUNS/lines-N is reused), then `mnistvec eval` on t10k; the skeleton baseline (16 strokes)
and potrace are scored in the same run. Prints a Markdown table (accuracy, MSE, numbers per digit) and
draws MSE and accuracy against numbers per digit as one PNG (--plot).

    python experiments/sweep_lines.py --epochs 80 --runs runs/sweep --plot examples/readme/strokes-sweep.png

Trainings can be shared out beforehand: `--train-only --lines 4 8 12` in one shell and `--train-only
--lines 16 24 32` in another, then the command above scores what they trained.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "mnist"


def train(lines: int, runs: Path, epochs: int, extra: list[str]) -> Path:
    from mnistvec.io.checkpoint import load_checkpoint

    run = runs / f"lines-{lines}"
    if not (run / "model.pt").exists() or not load_checkpoint(run / "model.pt").get("complete"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mnistvec.cli",
                "train",
                "--method",
                "ae",
                "--lines",
                str(lines),
                "--epochs",
                str(epochs),
                "--data",
                str(DATA / "train-5k-images-idx3-ubyte.gz"),
                "--out",
                str(run),
                "--overwrite",
                *extra,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return run / "model.pt"


def evaluate(args: list[str], limit: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mnistvec.cli",
                "eval",
                *args,
                "--data",
                str(DATA / "t10k-images-idx3-ubyte.gz"),
                "--limit",
                str(limit),
                "--samples",
                "0",
                "--json",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        return json.loads(out.read_text())


def plot(points: dict[str, tuple[float, float, float]], path: Path) -> None:
    """Two panels, MSE and accuracy against numbers per digit; model points joined, baselines alone."""
    width, height = 900, 380
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    xs = [p[0] for p in points.values()]
    x_lo, x_hi = 0.0, max(xs) * 1.08
    for panel, (key, label, fmt) in enumerate(
        ((1, "pixel MSE (lower is better)", "{:.4f}"), (2, "classifier accuracy (higher is better)", "{:.1%}"))
    ):
        left, top, right, bottom = 70 + panel * 445, 40, 420 + panel * 445, 320
        values = [p[key] for p in points.values()]
        y_lo, y_hi = min(values) * 0.97, max(values) * 1.03

        def x_of(x, left=left, right=right):
            return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

        def y_of(y, bottom=bottom, top=top, y_lo=y_lo, y_hi=y_hi):
            return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

        draw.rectangle([left, top, right, bottom], outline=(180, 180, 180))
        draw.text((left, top - 18), label, fill="black")
        draw.text((right - 120, bottom + 22), "numbers per digit", fill="black")
        for k in range(5):
            v = y_lo + (y_hi - y_lo) * k / 4
            draw.text((left - 64, y_of(v) - 6), fmt.format(v), fill="black")
        for x in range(0, int(x_hi) + 1, 50):
            draw.text((x_of(x) - 8, bottom + 6), str(x), fill="black")
        model = [(p[0], p[key], name) for name, p in points.items() if name.startswith("N=")]
        draw.line([(x_of(x), y_of(y)) for x, y, _ in model], fill=(60, 110, 190), width=2)
        for name, p in points.items():
            colour = (60, 110, 190) if name.startswith("N=") else (200, 60, 60)
            x, y = x_of(p[0]), y_of(p[key])
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
            draw.text((x + 6, y - 14), name, fill=colour)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[4, 8, 12, 16, 24, 32])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--runs", type=Path, default=Path("runs/sweep"))
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--train-only", action="store_true", help="train the missing runs, score nothing")
    parser.add_argument("--limit", type=int, default=10_000, help="score on the first N test digits")
    parser.add_argument("train_options", nargs="*", help="more `mnistvec train` options (after --)")
    args = parser.parse_args()

    models = {lines: train(lines, args.runs, args.epochs, args.train_options) for lines in args.lines}
    if args.train_only:
        return
    results = {f"N={lines}": evaluate(["--model", str(model)], args.limit) for lines, model in models.items()}
    results["skeleton (16)"] = evaluate(["--baseline", "skeleton"], args.limit)
    results["potrace"] = evaluate(["--baseline", "potrace"], args.limit)
    print(
        f"autoencoders trained {args.epochs} epochs on train-5k ({' '.join(args.train_options) or 'defaults'}), "
        f"scored on the first {args.limit:,} MNIST test digits\n"
    )
    print("| method | numbers per digit | visible strokes | MSE | accuracy |\n| --- | ---: | ---: | ---: | ---: |")
    points = {}
    for name, scores in results.items():
        r = scores["reconstruction"]
        strokes = "–" if scores.get("visible_strokes") is None else f"{scores['visible_strokes']:.1f}"
        print(f"| {name} | {scores['numbers_per_digit']:.1f} | {strokes} | {r['mse']:.4f} | {r['accuracy']:.2%} |")
        points[name] = (scores["numbers_per_digit"], r["mse"], r["accuracy"])
    if args.plot is not None:
        plot(points, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
