"""`mnistvec eval`: score a vectoriser, a model or a classical baseline (the work: `evaluation/run.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mnistvec.baselines import BASELINES
from mnistvec.commands.common import (
    EXIT_CODES_HELP,
    EXIT_PARTIAL,
    SEED,
    batch_size_option,
    device_option,
    mirror_option,
    prior_option,
    refine_option,
    user_errors,
)
from mnistvec.config import ENCODE_BATCH, SCORED_SAMPLES
from mnistvec.io.console import info, results


@click.command(name="eval", epilog=EXIT_CODES_HELP)
@click.option(
    "--model",
    "model_path",
    default=None,
    metavar="NAME|PATH",
    help="A model to score: ae, vae or lfi (shipped with mnistvec), or a checkpoint of `mnistvec train` "
    "(ae, vae, lfi).",
)
@click.option(
    "--baseline",
    type=click.Choice(BASELINES),
    default=None,
    help="Score a classical vectoriser instead of a model: skeleton (needs scikit-image) or potrace "
    "(needs the potrace and rsvg-convert programs).",
)
@click.option(
    "--data",
    default="mnist:test",
    show_default=True,
    metavar="SOURCE",
    help="Digits to score on: mnist:test, an IDX images file (labels beside it), an .npz with images "
    "and labels, or your own folder of images (labelled by --labels, or by class sub-folders "
    "0/ ... 9/; without labels, agreement only).",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE.csv",
    help="Labels for --data: a CSV file whose first row names the columns name and label, then one "
    "row per image (its name as encode gives it, e.g. 7/img_001; a digit 0-9).",
)
@click.option(
    "--lines",
    type=click.IntRange(1, 256),
    default=None,
    help="Strokes per digit for the skeleton baseline [default: 16]; a model draws its own number "
    "(giving another one is an error).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Score the first N images only.")
@click.option(
    "--samples",
    type=click.IntRange(0),
    default=SCORED_SAMPLES,
    show_default=True,
    help="Models with a prior: how many samples to score (0: none).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the samples.")
@prior_option(
    "Models with a prior: draw the samples from the model's own prior (learned: its fitted mixture, "
    "or N(0, I) without one) or from N(0, I) (standard)."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every figure to this JSON file.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write DIR/report.md with PNG figures (reconstructions, worst digits, samples, per-digit accuracy).",
)
@refine_option()
@batch_size_option(ENCODE_BATCH)
@device_option
@mirror_option
@user_errors
def evaluate(
    model_path,
    baseline,
    data,
    labels_path,
    lines,
    limit,
    samples,
    seed,
    prior,
    json_path,
    report_dir,
    refine,
    batch_size,
    device,
    mirror,
):
    """Score a vectoriser on digits, MNIST's or your own: a trained model (--model) or a classical baseline
    (--baseline).

    Each digit is vectorised, drawn back at its own size (native renderer; potrace's SVG by rsvg-convert)
    and compared with the original: pixel MSE, BCE, IoU of the ink at 0.5, chamfer distance between the
    ink pixels, the agreement of the bundled digit classifier between each drawing and its original and,
    with labels, its accuracy on the drawings (its own accuracy on the MNIST test set is shown beside).
    Also: numbers per digit, bytes per SVG, images/s, and for models with a prior the confidence and class
    entropy of samples. The table goes to standard output, everything else to standard error. --json
    also writes every image's label, the classes read on its original and its drawing, the confidence
    and the MSE. Unreadable files are named one line each and left out (exit code 3).

    \b
    Examples:
      mnistvec eval --model runs/vae/model.pt --data mnist:test --report report/
      mnistvec eval --model ae --data my-digits/ --labels my-digits/labels.csv --json scores.json
      mnistvec eval --baseline skeleton --lines 16 --json skeleton.json
    """
    import json

    from rich.table import Table

    from mnistvec.evaluation.report import format_rows, write_report
    from mnistvec.evaluation.run import evaluate_source
    from mnistvec.io.atomic import write_text_atomic

    if (model_path is None) == (baseline is None):
        raise click.UsageError("name either a model (--model PATH) or a baseline (--baseline NAME)")
    evaluation = evaluate_source(
        data,
        model_path,
        baseline,
        lines,
        limit,
        samples,
        seed,
        device,
        batch_size,
        mirror,
        labels_path,
        refine,
        prior,
    )
    table = Table(title=f"{evaluation.name} on {evaluation.data}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in format_rows(evaluation):
        table.add_row(name, value)
    results.print(table)
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(evaluation.as_dict(), indent=2) + "\n")
        info(f"wrote {json_path}")
    if report_dir is not None:
        info(f"wrote {write_report(evaluation, report_dir)}")
    if evaluation.failed:
        click.echo(f"{evaluation.failed} unreadable item(s) were left out (each named above)", err=True)
        sys.exit(EXIT_PARTIAL)
