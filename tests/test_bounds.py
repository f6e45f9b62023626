"""Bounds on what an input can make mnistvec do, through the command line as a user runs it.

Claims that would take more memory than any machine has (an image size, an item count, a model size) are
refused in one line before anything is allocated: those cases run in a subprocess whose address space is
capped, where the allocation they used to attempt fails at once. Non-finite numbers are refused where they
enter (options, checkpoints, training losses) and never reach an output file.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import resource
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import REPO, synthetic_digits

from mnistvec.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, cli
from mnistvec.models.bundled import bundled_model_path

MEMORY_CAP = 4 << 30
"""Address space of a capped run: ample for every command on small inputs (they peak below 1 GiB)."""


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def run_capped(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """`mnistvec ARGS` in a subprocess limited to MEMORY_CAP bytes of address space and one torch thread."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    # few malloc arenas: the address space each thread reserves would otherwise grow with the machine's cores
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
    return subprocess.run(
        [sys.executable, "-m", "mnistvec", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        env=env,
    )


def one_error(stderr: str, named: str, pattern: str) -> str:
    """The single `error:` line of a run, which names `named` and matches `pattern`; no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0], stderr
    assert re.search(pattern, errors[0]), errors[0]
    return errors[0]


def digits_npz(path: Path, count: int = 24) -> Path:
    np.savez(path, images=synthetic_digits(count))
    return path


# ------------------------------------------------------------------ options


def float_options() -> list[tuple[str, str]]:
    """(command, option) for every option of every command that takes a float."""
    return [
        (name, param.opts[0])
        for name, command in sorted(cli.commands.items())
        for param in command.params
        if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType)
    ]


def test_there_are_float_options_to_check():
    assert {
        ("train", "--kl-weight"),
        ("train", "--lr"),
        ("sample", "--temperature"),
        ("render", "--temperature"),
    } <= set(float_options())


@pytest.mark.parametrize("command, option", float_options(), ids=[" ".join(o) for o in float_options()])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_float_option_refuses_non_finite_values(tmp_path, command, option, value):
    """A usage error naming the option; were the value accepted, the command would fail later on its
    missing input with exit code 1 instead."""
    missing = tmp_path / "missing"
    args = {
        "train": ["--data", missing, "--out", tmp_path / "run", "--device", "cpu"],
        "sample": ["--model", missing, "--out", tmp_path / "samples"],
        "render": [missing, tmp_path / "out"],
    }[command]
    result = invoke(command, *args, option, value)
    assert result.exit_code == EXIT_USAGE, result.output
    assert re.search(rf"Invalid value for '{option}'.*{value}.* not a finite number", result.output), result.output


def test_a_seed_beyond_what_generators_take_is_a_usage_error(tmp_path):
    result = invoke("sample", "--seed", 10**20, "--out", tmp_path / "samples")
    assert result.exit_code == EXIT_USAGE and "Invalid value for '--seed'" in result.output


# ------------------------------------------------------------------ checkpoints


def bundled_ae() -> dict:
    return torch.load(bundled_model_path("ae"), weights_only=True)


def altered_checkpoint(path: Path, config: dict | None = None, **fields) -> Path:
    """The shipped autoencoder's checkpoint with some settings (`config`) or header fields replaced."""
    state = bundled_ae()
    state.update(fields)
    state["config"] = {**state["config"], **(config or {})}
    torch.save(state, path)
    return path


def test_a_huge_model_size_in_the_settings_is_refused_before_it_is_built(tmp_path):
    """hidden = 10 million would build a 125 GB layer; the weights in the file say 512."""
    model = altered_checkpoint(tmp_path / "model.pt", {"hidden": 10_000_000})
    result = run_capped(
        "encode", REPO / "examples" / "digits" / "mnist", tmp_path / "out", "--model", model, "--device", "cpu"
    )
    assert result.returncode == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"weights do not fit .*\[512, 3136\], the settings make \[10000000, 3136\]")


SETTINGS_OF_THE_WRONG_KIND = {
    "lines as text": ({"config": {"lines": "16"}}, r"config 'lines' is '16', not a whole number"),
    "NaN learning rate": ({"config": {"lr": float("nan")}}, r"config 'lr' is nan, not a finite number"),
    "negative latent size": ({"config": {"latent": -3}}, r"config 'latent' is -3; it must be at least 1"),
    "unknown gradients": ({"config": {"gradients": "magic"}}, r"config 'gradients' is 'magic', not one of"),
    "odd channel count": ({"config": {"channels": 12}}, r"'channels' is 12, not a multiple of 8"),
    "model as a list": ({"model": [1, 2]}, r"'model' is \[1, 2\], not a dict"),
    "a weight that is not a tensor": (
        {"model": {"encoder.head.bias": "zeros"}},
        r"weight 'encoder.head.bias' is not a tensor",
    ),
    "format version as text": ({"format_version": "1"}, r"'format_version' is '1', not a whole number"),
    "epoch as a float": ({"epoch": 2.5}, r"'epoch' is 2.5, not a whole number"),
}


@pytest.mark.parametrize("case", SETTINGS_OF_THE_WRONG_KIND, ids=list(SETTINGS_OF_THE_WRONG_KIND))
def test_checkpoint_fields_of_the_wrong_kind_are_one_line(tmp_path, case):
    changes, problem = SETTINGS_OF_THE_WRONG_KIND[case]
    model = altered_checkpoint(tmp_path / "model.pt", **changes)
    result = invoke(
        "encode", REPO / "examples" / "digits" / "mnist", tmp_path / "out", "--model", model, "--device", "cpu"
    )
    assert result.exit_code == EXIT_ERROR, result.output
    one_error(result.stderr, "model.pt", problem)


def test_a_checkpoint_with_compressed_members_is_refused_before_it_inflates(tmp_path):
    """torch.save stores its members as they are; a deflated one could inflate to any size."""
    model = tmp_path / "model.pt"
    with (
        zipfile.ZipFile(bundled_model_path("ae")) as source,
        zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as packed,
    ):
        for member in source.infolist():
            packed.writestr(member.filename, source.read(member.filename))
    result = invoke("sample", "--model", model, "--n", 2, "--out", tmp_path / "samples")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"member .*data\.pkl is compressed")


def test_resuming_from_a_shipped_model_points_to_init(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(bundled_model_path("ae").read_bytes())
    result = invoke("train", "--resume", "--out", run, "--data", digits_npz(tmp_path / "d.npz"), "--device", "cpu")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "model.pt", r"no training state to resume .*use --init .*model\.pt")


# ------------------------------------------------------------------ training that diverges


def test_a_diverged_run_stops_in_one_line_and_keeps_the_last_good_checkpoint(tmp_path):
    data = digits_npz(tmp_path / "d.npz")
    common = [
        "train",
        "--data",
        data,
        "--epochs",
        1,
        "--lines",
        2,
        "--batch-size",
        4,
        "--device",
        "cpu",
        "--out",
        tmp_path / "run",
    ]
    assert invoke(*common).exit_code == EXIT_OK
    good = (tmp_path / "run" / "model.pt").read_bytes()
    result = invoke(*common, "--overwrite", "--lr", 1e30)  # the weights overflow within the first epoch
    assert result.exit_code == EXIT_ERROR
    one_error(
        result.stderr,
        "run",
        r"training diverged in epoch 1: the weights hold NaN or infinite values; "
        r"stopped, .*model\.pt is left as it was",
    )
    assert (tmp_path / "run" / "model.pt").read_bytes() == good


def test_a_loss_that_is_not_finite_stops_training_before_anything_is_saved(tmp_path):
    result = invoke(
        "train",
        "--method",
        "vae",
        "--data",
        digits_npz(tmp_path / "d.npz"),
        "--epochs",
        1,
        "--lines",
        2,
        "--latent",
        4,
        "--batch-size",
        4,
        "--lr",
        1e30,
        "--device",
        "cpu",
        "--out",
        tmp_path / "run",
    )
    assert result.exit_code == EXIT_ERROR
    one_error(
        result.stderr,
        "run",
        r"training diverged in epoch 1 at step \d+: the loss is nan; stopped, "
        r"no checkpoint was saved",
    )
    assert not (tmp_path / "run" / "model.pt").exists()


# ------------------------------------------------------------------ image sources: IDX and .npz


def gzip_members(path: Path, header: bytes, block: bytes, repeats: int) -> Path:
    """A gzip file of several members (gunzipped, they follow each other): `header`, then `block` `repeats`
    times, compressed once, so that a file describing gigabytes is written in milliseconds."""
    member = gzip.compress(block, compresslevel=6)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(repeats):
            handle.write(member)
    return path


def test_an_idx_image_above_the_pixel_limit_is_refused_before_it_is_read(tmp_path):
    """One 20000x20000 image, 400 KB compressed: read whole it took 7 GB."""
    path = gzip_members(
        tmp_path / "poster-images-idx3-ubyte.gz",
        struct.pack(">IIII", 2051, 1, 20_000, 20_000),
        bytes(20_000 * 1000),
        20,
    )
    result = run_capped("encode", path, tmp_path / "out", "--device", "cpu")
    assert result.returncode == EXIT_ERROR
    one_error(
        result.stderr,
        "poster-images-idx3-ubyte.gz",
        r"images of 20,000×20,000 pixels are too large \(400,000,000 pixels each; image files are read up to",
    )


def npz_claiming(path: Path, shape: tuple[int, ...]) -> Path:
    """An .npz whose 'images' header claims `shape` (uint8) and holds no values at all."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", header.getvalue())
    return path


@pytest.mark.parametrize("command", ["encode", "train", "eval"])
def test_an_npz_claiming_a_billion_images_is_refused_before_anything_is_allocated(tmp_path, command):
    path = npz_claiming(tmp_path / "claims.npz", (10**9, 28, 28))
    args = {
        "encode": ["encode", path, tmp_path / "out"],
        "train": ["train", "--data", path, "--out", tmp_path / "r"],
        "eval": ["eval", "--model", "ae", "--data", path],
    }[command]
    result = run_capped(*args, "--device", "cpu")
    assert result.returncode == EXIT_ERROR
    one_error(
        result.stderr,
        "claims.npz",
        r"array 'images' claims 1000000000 × 28 × 28 values of uint8 "
        r"\(784,000,000,000 bytes\), more than",
    )


def test_idx_images_are_read_a_batch_at_a_time(tmp_path):
    """A million digits, 784 MB of pixels in a 4 MB file: `eval --limit 10` reads ten, not the million (read
    whole, the file took more memory than the cap)."""
    digit = (synthetic_digits(1) * 255).astype(np.uint8)
    path = gzip_members(
        tmp_path / "many-images-idx3-ubyte.gz",
        struct.pack(">IIII", 2051, 10**6, 28, 28),
        np.tile(digit, (10_000, 1, 1)).tobytes(),
        100,
    )
    result = run_capped("eval", "--model", "ae", "--data", path, "--limit", 10, "--samples", 0, "--device", "cpu")
    assert result.returncode == EXIT_OK, result.stderr
    assert re.search(r"│ images +│ +10 │", result.stdout), result.stdout  # the results table, on stdout


# ------------------------------------------------------------------ large outputs


def random_vectors(path: Path, count: int, frames: np.ndarray | None = None, meta=None) -> Path:
    """A vectors file of `count` items of 6 random strokes (with `frames`, and `meta` as stored JSON)."""
    rng = np.random.default_rng(0)
    arrays = {
        "lines": rng.uniform(0.2, 0.8, (count, 6, 4)).astype(np.float32),
        "widths": np.full((count, 6), 0.06, np.float32),
        "opacity": np.ones((count, 6), np.float32),
        "names": np.array([f"v{i}" for i in range(count)]),
    }
    if frames is not None:
        arrays["frames"] = frames
    if meta is not None:
        arrays["meta"] = np.array(meta)
    np.savez(path, **arrays)
    return path


def peak_numpy_bytes(*args) -> tuple[object, int]:
    """(the CLI result, the most bytes numpy and Python held at once while it ran), through tracemalloc; the
    command's modules are imported before, so that only what it holds for its work counts."""
    import mnistvec.encoding.drawing  # noqa: F401
    import mnistvec.encoding.folder  # noqa: F401  (and every module they import)
    from mnistvec.models.registry import load_model

    load_model("ae")  # the models' modules
    tracemalloc.start()
    try:
        result = invoke(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_render_draws_large_pngs_a_bounded_batch_at_a_time(tmp_path):
    """50 items at 1024x1024 are 200 MB of float pixels: drawn all at once before, now 16 at a time."""
    vectors = random_vectors(tmp_path / "v.npz", 50)
    result, peak = peak_numpy_bytes("render", vectors, tmp_path / "out", "--size", 1024, "--format", "png")
    assert result.exit_code == EXIT_OK, result.output
    assert len(list((tmp_path / "out" / "png").iterdir())) == 50
    assert peak < 100e6, f"{peak / 1e6:.0f} MB held at once"


def test_encode_draws_large_pngs_a_bounded_batch_at_a_time(tmp_path):
    """20 digits at 2048x2048 are 335 MB of float pixels in one batch: drawn 4 at a time now."""
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sorted((REPO / "examples" / "digits" / "mnist").iterdir())[:20]:
        (folder / source.name).write_bytes(source.read_bytes())
    result, peak = peak_numpy_bytes("encode", folder, tmp_path / "out", "--png", "--size", 2048, "--device", "cpu")
    assert result.exit_code == EXIT_OK, result.output
    assert len(list((tmp_path / "out" / "png").iterdir())) == 20
    assert peak < 200e6, f"{peak / 1e6:.0f} MB held at once"


def test_a_grid_above_the_pixel_limit_is_refused_before_anything_is_drawn(tmp_path):
    result = run_capped("sample", "--n", 1_000_000, "--grid", tmp_path / "grid.png")
    assert result.returncode == EXIT_ERROR
    one_error(
        result.stderr,
        "grid.png",
        r"1,000,000 tiles of 28x28 pixels make a 30,002x30,002 grid, "
        r"900,120,004 pixels, above the limit of [\d,]+: lower --n or --size",
    )
    result = invoke("render", random_vectors(tmp_path / "v.npz", 10), tmp_path / "out", "--size", 8192, "--grid")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "grid.png", r"10 tiles of 8192x8192 pixels .* lower --size, or leave out --grid")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ non-finite strokes never reach a file


def overflowing_vae(path: Path) -> Path:
    """The shipped VAE with its decoder made to overflow for codes whose first number is positive: about
    half of all codes decode to NaN strokes, the others to finite (if dull) ones."""
    state = torch.load(bundled_model_path("vae"), weights_only=True)
    weights = state["model"]
    first = torch.zeros(weights["decoder.0.weight"].shape)
    first[0, 0] = 1e30  # GELU(1e30 z0) is 1e30 z0 for z0 > 0, and exactly 0 for z0 < 0
    second = torch.zeros(weights["decoder.2.weight"].shape)
    second[:, 0] = 1e10  # 1e40 z0: infinite in float32, and inf - inf = NaN in the last layer
    weights.update(
        {
            "decoder.0.weight": first,
            "decoder.0.bias": torch.zeros(first.shape[0]),
            "decoder.2.weight": second,
            "decoder.2.bias": torch.zeros(second.shape[0]),
        }
    )
    torch.save(state, path)
    return path


def svg_texts(folder: Path) -> list[str]:
    return [p.read_text() for p in sorted(folder.rglob("*.svg"))]


def test_encode_names_items_whose_strokes_are_not_finite_and_writes_the_others(tmp_path):
    from mnistvec.io.vectors import Vectors

    model = overflowing_vae(tmp_path / "model.pt")
    result = invoke(
        "encode", REPO / "examples" / "digits" / "mnist", tmp_path / "out", "--model", model, "--device", "cpu"
    )
    assert result.exit_code == EXIT_PARTIAL, result.output
    failed = [line.split("\t")[0] for line in (tmp_path / "out" / "errors.txt").read_text().splitlines()]
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert 0 < len(failed) < 30 and len(warned) == len(failed)
    assert all(
        re.search(rf"warning: {name}: its strokes are not finite numbers", line) for name, line in zip(failed, warned)
    ), warned
    vectors = Vectors.load(tmp_path / "out" / "vectors.npz")
    assert len(vectors) == 30 - len(failed) and not set(failed) & set(vectors.names) and not vectors.bad_items()
    texts = svg_texts(tmp_path / "out")
    assert len(texts) == len(vectors) and not any("nan" in text or "inf" in text for text in texts)


def test_sample_leaves_out_samples_whose_strokes_are_not_finite(tmp_path):
    from mnistvec.io.vectors import Vectors

    model = overflowing_vae(tmp_path / "model.pt")
    result = invoke(  # N(0, I) codes: the draws whose lines overflow in this model
        "sample",
        "--model",
        model,
        "--n",
        16,
        "--prior",
        "standard",
        "--out",
        tmp_path / "s",
        "--grid",
        tmp_path / "g.png",
    )
    assert result.exit_code == EXIT_PARTIAL, result.output
    warned = re.findall(r"warning: (sample-\d+): lines has a non-finite value", result.stderr)
    kept = Vectors.load(tmp_path / "s" / "samples.npz")
    assert 0 < len(warned) < 16 and len(kept) == 16 - len(warned) and not set(warned) & set(kept.names)
    texts = svg_texts(tmp_path / "s") + [(tmp_path / "g.svg").read_text()]
    assert len(texts) == len(kept) + 1 and not any("nan" in text or "inf" in text for text in texts)


# ------------------------------------------------------------------ what a vectors file says about itself


@pytest.mark.parametrize(
    "meta, problem",
    [
        ("[1, 2]", r"its meta is not a JSON object but list"),
        ('{"format_version": "1"}', r"its meta's format_version is '1', not a whole number"),
        ("not json", r"its meta is not JSON"),
    ],
    ids=["a list", "a text version", "not JSON"],
)
def test_an_unusable_meta_is_one_line_for_the_whole_file(tmp_path, meta, problem):
    result = invoke("render", random_vectors(tmp_path / "v.npz", 3, meta=meta), tmp_path / "out")
    assert result.exit_code == EXIT_ERROR
    one_error(result.stderr, "v.npz", problem)


def test_render_source_frame_names_items_with_a_bad_frame_and_draws_the_others(tmp_path):
    frames = np.tile([40.0, 30.0, 30.0, 5.0, 0.0, 0.0], (5, 1))
    frames[1, 2] = np.nan  # no scale
    frames[2, 0] = 1e12  # a trillion pixels wide
    frames[3, 3] = 1e300  # moves the strokes beyond 32-bit floats
    vectors = random_vectors(tmp_path / "v.npz", 5, frames=frames)
    result = invoke("render", vectors, tmp_path / "out", "--source-frame")
    assert result.exit_code == EXIT_PARTIAL, result.output
    for item, reason in [
        (1, "not all finite numbers"),
        (2, r"pixels are above the limit of [\d,]+"),
        (3, "maps the strokes beyond the 32-bit floats"),
    ]:
        one_warning = [line for line in result.stderr.splitlines() if f"item {item} (v{item})" in line]
        assert len(one_warning) == 1 and re.search(rf"bad source frame .*{reason}; skipped", one_warning[0])
    assert sorted(p.name for p in (tmp_path / "out" / "png").iterdir()) == ["v0.png", "v4.png"]
    assert not any("nan" in text or "inf" in text for text in svg_texts(tmp_path / "out"))


# ------------------------------------------------------------------ files of several frames


def test_a_file_of_several_frames_says_the_first_is_used(tmp_path):
    from PIL import Image, ImageDraw

    folder = tmp_path / "in"
    folder.mkdir()
    frames = []
    for k in range(3):
        frame = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(frame).line([(5 + 3 * k, 5), (20, 22)], fill=255, width=3)
        frames.append(frame)
    for name in ("anim.gif", "pages.tiff", "anim.webp"):
        frames[0].save(folder / name, save_all=True, append_images=frames[1:], lossless=True)
    frames[0].save(folder / "still.png")
    result = invoke("encode", folder, tmp_path / "out", "--device", "cpu")
    assert result.exit_code == EXIT_OK, result.output
    notes = sorted(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert [re.sub(r".*/in/", "", line) for line in notes] == [
        f"{name}: 3 frames, the first is used" for name in ("anim.gif", "anim.webp", "pages.tiff")
    ]
    from mnistvec.io.vectors import Vectors

    vectors = Vectors.load(tmp_path / "out" / "vectors.npz")
    assert sorted(vectors.names) == ["anim.gif", "anim.webp", "pages.tiff", "still.png"]
    for k in range(4):  # each drawn from its first frame, the still image
        np.testing.assert_allclose(vectors.lines[k], vectors.lines[vectors.names.index("still.png")], atol=0.02)
