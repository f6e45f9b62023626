"""`mnistvec encode`: images in, strokes out (vectors.npz, one SVG per image, optional PNGs).

Streaming: images are read, encoded and written one batch at a time, and each finished batch is appended
to a journal on disk (`mnistvec.io.journal`) after its files are written; vectors.npz is made from the
journal at the end. Memory stays flat on large folders, and a run stopped in any way (Ctrl-C, SIGTERM,
even kill -9 or a power cut) loses at most the batches in flight: every file is written atomically, and
the next run of the same command reuses what the journal and vectors.npz hold (items whose files are on
disk), sweeps away temporary files the stopped run left, encodes the rest in the same batches and so
finishes with the same outputs as an uninterrupted run. `overwrite` encodes everything again. Unreadable
inputs, and items whose own output file cannot be written (a folder where it must go, a name the
filesystem refuses), are listed in OUTPUT/errors.txt; everything else is written. An image that is
clearly not one digit on a plain background (`mnistvec.data.doubts`) is encoded like the others, with one
warning line and its flag in vectors.npz.

One run at a time writes into an OUTPUT (`mnistvec.io.lock`), and OUTPUT may not be INPUT or lie inside it
(the outputs would be read as inputs by the next run).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistvec.data import Failure, resolve_source
from mnistvec.encoding.encoders import load_batch_encoder
from mnistvec.encoding.pipeline import WriteBehind, prefetch, single_torch_thread, steady_heap
from mnistvec.errors import InputError
from mnistvec.io.atomic import is_item_error, remove_stale_temps, write_bytes_atomic, write_files_atomic
from mnistvec.io.console import progress_bar, warn
from mnistvec.io.interrupt import graceful_stop
from mnistvec.io.journal import Entries, JournalError, JournalWriter, read_entries, read_meta
from mnistvec.io.lock import output_lock
from mnistvec.io.names import encode_text, output_stems
from mnistvec.io.npz_stream import npz_from_journal
from mnistvec.io.png import save_png
from mnistvec.io.svg import svg_drawings
from mnistvec.io.vectors import Vectors, VectorsError
from mnistvec.models.bundled import resolve_model
from mnistvec.raster import render_in_frame, render_numpy
from mnistvec.raster.visibility import without_invisible

VECTORS_NAME = "vectors.npz"
ERRORS_NAME = "errors.txt"
JOURNAL_NAME = ".vectors.journal"


@dataclass
class EncodeSummary:
    encoded: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    unwritten: list[tuple[Failure, float]] = field(default_factory=list)  # output failures, squared error
    seconds: float = 0.0
    squared_error_sum: float = 0.0
    interrupted: bool = False
    kept: int = 0  # items of earlier runs into the same folder, kept in vectors.npz
    doubted: int = 0  # items read that are clearly not one digit on a plain background (encoded, flagged)

    @property
    def mean_mse(self) -> float:
        return self.squared_error_sum / self.encoded if self.encoded else float("nan")


def frame_tuple(frame) -> tuple:
    return (frame.width, frame.height, frame.scale, frame.offset_x, frame.offset_y, float(frame.inverted))


def model_digest(path: Path) -> str:
    """The first 16 hex digits of the checkpoint file's SHA-256: which model made a vectors file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


IDENTITY_FRAME = (28.0, 28.0, 28.0, 0.0, 0.0, 0.0)
"""The frame of a 28x28 image taken as it is (for vectors files that record none)."""


def _previous(out_dir: Path, meta: dict) -> dict[str, tuple]:
    """name -> (lines, widths, opacity, frame, doubt) of the items an earlier run into `out_dir` finished:
    those in its vectors.npz, then those in the journal of a run that was stopped (newer, so they win).
    InputError when they were made by another model."""
    found: dict[str, tuple] = {}
    vectors, journal = out_dir / VECTORS_NAME, out_dir / JOURNAL_NAME
    if vectors.exists():
        try:
            old = Vectors.load(vectors)
        except VectorsError as err:
            raise InputError(f"{err}; use --overwrite to replace it") from None
        _same_model(vectors, old.meta | {"n_lines": old.n_lines}, meta)
        frames = old.frames if old.frames is not None else np.tile(IDENTITY_FRAME, (len(old), 1))
        doubts = old.doubts if old.doubts is not None else [""] * len(old)
        found = {
            old.name(i): (old.lines[i], old.widths[i], old.opacity[i], frames[i], doubts[i]) for i in range(len(old))
        }
    if journal.exists():
        try:
            _same_model(journal, read_meta(journal), meta)
        except JournalError as err:
            raise InputError(f"{err}; use --overwrite to replace it") from None
        for entries in read_entries(journal):
            found.update(
                (name, (entries.lines[i], entries.widths[i], entries.opacity[i], entries.frames[i], entries.doubts[i]))
                for i, name in enumerate(entries.names)
            )
    return found


def _same_model(path: Path, old: dict, meta: dict) -> None:
    """ValueError when the vectors in `path` (its meta `old`) were not made by the model of `meta`."""
    digest = old.get("model_sha256")
    if old.get("n_lines") != meta["n_lines"] or (digest is not None and digest != meta["model_sha256"]):
        raise InputError(
            f"{path}: made by another model ({old.get('model', 'unknown')}, {old.get('n_lines')} "
            f"lines); use --overwrite to replace it, or another OUTPUT"
        )


def encode_source(
    source: str,
    out_dir: Path,
    model_path: Path,
    png: bool,
    size: int | None,
    refine_steps: int | None,
    batch_size: int,
    device: str,
    overwrite: bool,
    mirror: str | None = None,
    posterior_seed: int | None = None,
) -> EncodeSummary:
    """Encode everything `source` names into `out_dir` (module docstring). With `png`, each drawing is also
    a PNG in its source image's frame and polarity, like its SVG: the source's size, or scaled so its longer
    side is `size` pixels. With `posterior_seed`, a VAE's strokes come from a draw of q(z|x) (seeded per
    batch) instead of its mean. `refine_steps` None takes the model's own default (`config.encode_refine`)."""
    start = time.perf_counter()
    steady_heap()
    encoder = load_batch_encoder(model_path, device, refine_steps)
    config = encoder.config
    if posterior_seed is not None and not encoder.has_posterior:
        raise InputError(
            f"{model_path}: this {config['method']!r} model has no posterior to sample from "
            "(--sample-posterior needs a vae)"
        )
    meta = {
        "model": str(model_path),
        "method": config["method"],
        "n_lines": int(config["lines"]),
        "model_sha256": model_digest(resolve_model(model_path)),
    }
    reader = resolve_source(source)
    if reader.kind == "folder":
        _refuse_output_inside(out_dir, reader.path)
    total = reader.count()
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with output_lock(out_dir):
            summary = _encode_locked(
                reader,
                total,
                out_dir,
                meta,
                encoder,
                png,
                size,
                batch_size,
                overwrite,
                mirror,
                posterior_seed,
            )
    finally:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # leave no empty folder behind a run that wrote nothing
    summary.seconds = time.perf_counter() - start
    return summary


def _refuse_output_inside(out_dir: Path, folder: Path) -> None:
    """InputError when `out_dir` is the input `folder` or inside it (symbolic links resolved)."""
    inside, outside = out_dir.resolve(), folder.resolve()
    if inside == outside or outside in inside.parents:
        raise InputError(
            f"{out_dir}: the output folder is the input folder {folder} or inside it, so its files "
            "would be read as inputs on the next run; choose an output folder outside it"
        )


def _encode_locked(
    reader,
    total,
    out_dir: Path,
    meta: dict,
    encoder,
    png,
    size,
    batch_size,
    overwrite,
    mirror,
    posterior_seed,
) -> EncodeSummary:
    """The work of `encode_source` once `out_dir` exists and this run holds its lock."""
    remove_stale_temps(out_dir)
    previous = {} if overwrite else _previous(out_dir, meta)
    summary = EncodeSummary()
    seen_stems: dict[str, int] = {}
    position = 0  # items met so far, for the posterior draws' seeds
    met: set[str] = set()  # earlier items this run meets again

    def on_failure(failure: Failure) -> None:
        warn(f"{failure.path}: {failure.reason}")
        summary.failures.append(failure)

    journal = JournalWriter(out_dir / JOURNAL_NAME, meta)
    try:
        with (
            progress_bar("encoding", total or 0) as advance,
            graceful_stop() as stop,
            single_torch_thread(enabled=encoder.uses_torch and encoder.refine_steps == 0),
            WriteBehind() as writer,
        ):
            for batch in prefetch(reader.iter_batches(batch_size, mirror=mirror, on_failure=on_failure)):
                summary.doubted += _warn_doubts(batch)
                stems = output_stems(batch.names, seen_stems)
                entries = Entries(
                    list(batch.names),
                    np.zeros((len(batch.names), meta["n_lines"], 4), np.float32),
                    np.zeros((len(batch.names), meta["n_lines"]), np.float32),
                    np.zeros((len(batch.names), meta["n_lines"]), np.float32),
                    np.array([frame_tuple(f) for f in batch.frames], np.float64).reshape(-1, 6),
                    batch.doubts,
                )
                todo = []
                for i, (name, stem) in enumerate(zip(batch.names, stems)):
                    if name in previous:
                        met.add(name)
                        if _files_exist(out_dir, stem, png):
                            entries.lines[i], entries.widths[i], entries.opacity[i] = previous[name][:3]
                            summary.skipped += 1
                            continue
                    todo.append(i)
                draw = None if posterior_seed is None else posterior_seed * 1_000_003 + position + len(batch.names)
                write, failed = (
                    _encode_items(encoder, batch, todo, stems, entries, out_dir, png, size, summary, draw)
                    if todo
                    else ((lambda: None), [])
                )
                writer.submit(_then_journal(write, journal, entries, failed))
                position += len(batch.names)
                advance(len(batch.names))
                if stop.requested:
                    summary.interrupted = True
                    break
        summary.kept = _keep_earlier(journal, previous, met)
    finally:
        journal.close()
    for failure, squared_error in summary.unwritten:  # encoded, but its files could not be written
        summary.failures.append(failure)
        summary.encoded -= 1
        summary.squared_error_sum -= squared_error
    _write_results(out_dir, summary, meta, journal)
    return summary


def _warn_doubts(batch) -> int:
    """One warning line for each item of `batch` that is clearly not one digit on a plain background;
    return how many."""
    doubted = [(name, doubt) for name, doubt in zip(batch.names, batch.doubts) if doubt]
    for name, doubt in doubted:
        warn(f"{name}: {doubt}; encoded anyway, flagged as suspect in {VECTORS_NAME}")
    return len(doubted)


def _keep_earlier(journal: JournalWriter, previous: dict[str, tuple], met: set[str]) -> int:
    """Append the earlier runs' items that this run did not meet, so vectors.npz keeps describing every
    drawing in the output folder; return how many."""
    names = [name for name in previous if name not in met]
    if names:
        rows = [previous[name] for name in names]
        journal.append(
            Entries(names, *(np.stack([row[k] for row in rows]) for k in range(4)), [row[4] for row in rows])
        )
    return len(names)


def _files_exist(out_dir: Path, stem: str, png: bool) -> bool:
    return (out_dir / "svg" / f"{stem}.svg").exists() and (not png or (out_dir / "png" / f"{stem}.png").exists())


def _then_journal(write, journal: JournalWriter, entries: Entries, failed: list[int] = ()):
    """The background job of one batch: its files first, then its record in the journal, without the items
    whose files could not be written (`write` returns their indices) and those that `failed` before."""

    def job() -> None:
        journal.append(entries.without([*(write() or ()), *failed]))

    return job


def _encode_items(
    encoder,
    batch,
    todo,
    stems,
    entries: Entries,
    out_dir,
    png,
    size,
    summary,
    draw_seed: int | None = None,
):
    """Encode the items `todo` of `batch`; return the job that finishes them in the background while the
    next batch is encoded (hides the strokes no one can see, fills their slots in `entries`, scores them and
    writes their SVG and PNG files), and the items that failed: those whose strokes are not finite numbers
    (a warning each, listed in errors.txt; nothing of them is written)."""
    drawn = Vectors(*encoder.encode(batch.images[todo], draw_seed))
    bad = dict(drawn.bad_items())
    for k, reason in bad.items():  # a model whose weights overflow: nothing of these items is written
        summary.failures.append(
            Failure(batch.names[todo[k]], f"its strokes are not finite numbers ({reason}); nothing written")
        )
        warn(str(summary.failures[-1]))
    kept = np.array([k for k in range(len(todo)) if k not in bad], dtype=np.int64)
    todo, failed = [todo[k] for k in kept], [todo[k] for k in bad]
    lines, widths, opacity = drawn.lines[kept], drawn.widths[kept], drawn.opacity[kept]
    frames = np.array([frame_tuple(batch.frames[i]) for i in todo], np.float64).reshape(-1, 6)
    names = [batch.names[i] for i in todo]

    def write() -> list[int]:
        opacity[:] = without_invisible(lines, widths, opacity)
        recon = render_numpy(lines, widths, opacity, 28, 28, 28.0)
        squared_errors = ((recon - batch.images[todo]) ** 2).mean(axis=(1, 2))
        summary.squared_error_sum += float(squared_errors.sum())
        summary.encoded += len(todo)
        for k, i in enumerate(todo):
            entries.lines[i], entries.widths[i], entries.opacity[i] = lines[k], widths[k], opacity[k]
        texts = svg_drawings(lines, widths, opacity, frames, names)
        svg_paths = [out_dir / "svg" / f"{stems[i]}.svg" for i in todo]
        svg_errors = write_files_atomic([(path, text.encode()) for path, text in zip(svg_paths, texts)])
        failed = []
        for k, i in enumerate(todo):
            svg_path = target = svg_paths[k]
            try:
                if svg_errors[k] is not None:
                    raise svg_errors[k]
                if png:  # the SVG's picture: the same frame and polarity
                    target = out_dir / "png" / f"{stems[i]}.png"
                    image = render_in_frame(lines[k], widths[k], opacity[k], tuple(frames[k]), size)
                    save_png(target, image, inverted=bool(frames[k, 5]))
            except OSError as err:
                if not is_item_error(err):
                    raise  # a full disk, an I/O error: the run stops, the rerun finishes
                if target != svg_path:
                    svg_path.unlink(missing_ok=True)
                failure = Failure(names[k], f"cannot write {err.filename or target}: {err.strerror or err}; skipped")
                warn(str(failure))
                summary.unwritten.append((failure, float(squared_errors[k])))
                failed.append(i)
        return failed

    return write, failed


def _write_results(out_dir: Path, summary: EncodeSummary, meta: dict, journal: JournalWriter) -> None:
    """vectors.npz with every finished item (from this run's journal, which is then removed), and
    errors.txt listing the failures (removed when none)."""
    if journal.count:
        npz_from_journal(out_dir / VECTORS_NAME, journal.path, meta)
        journal.path.unlink()
    errors = out_dir / ERRORS_NAME
    if summary.failures:  # file names as their bytes, even those that are not UTF-8
        write_bytes_atomic(errors, b"".join(encode_text(f"{f.path}\t{f.reason}\n") for f in summary.failures))
    elif errors.exists():
        errors.unlink()
