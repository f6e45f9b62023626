"""Fuzz the native renderers through their Python API for a while: random hostile inputs, checked invariants.

Each case draws random shapes (zero sizes, many images, 100,000 strokes in one image, sides past the
single-precision limit of 4,096 pixels), values mixing ordinary numbers with NaN, +-inf, +-1e30, +-3e38,
subnormals, zero and negative widths and opacities outside [0, 1], random float32 bit patterns, several
dtypes and memory layouts, thread counts and scales (invalid ones included). Every case checks that:

- `render_native` returns a float32 [B, H, W] batch, every pixel finite and in [0, 1] (or refuses an
  invalid scale with ValueError, and the library returns its bad-scale code);
- calling the library directly with every array inside guard regions (`native_guards.py`), once with NaN
  and once with ink around the inputs and with another thread count, writes nothing outside the output,
  nothing into the inputs, and gives the same image bit for bit;
- with ordinary inputs, the image matches the torch exact renderer to within 1e-3.

Each case also runs the soft renderer on the same strokes converted to float64 pixel units (endpoints
times scale, radius = width * scale / 2 unclamped, so negative, and opacity unclamped), some values
replaced by ones only float64 holds (1e300, the 1e60 limit and just past it), at a blur sigma of 0.05 to
3 pixels or from 1e-3 to 1e3, and checks that:

- `soft_forward` and `soft_backward` refuse an invalid sigma or tolerance with ValueError (and the library
  returns its bad-parameter code);
- otherwise they return images, state and gradients of the right shapes and types, every pixel and every
  gradient of a stroke it draws finite, 0 for every stroke it skips (finiteness only where the opacities
  cannot make `1 - prod_k (1 - alpha_k cov_k)` overflow float64, as it does legitimately for large ones);
- calling `mnistvec_soft_forward` and `mnistvec_soft_backward` directly with every array inside guard
  regions, with NaN and with ink around the inputs and another thread count, writes nothing outside the
  outputs, nothing into the inputs, and gives the same images and gradients bit for bit;
- with ordinary inputs small enough, the images match the torch soft renderer in float64 to within 1e-5.

Not part of the test suite (it runs until time is up). Case `i` of seed `s` depends on nothing else, so a
failure is reproduced by its printed command. After a crash, rerun with --verbose: the last case it names
is the one that crashed.

    python tests/fuzz_native.py --seconds 300 --seed 1
    python tests/fuzz_native.py --seed 1 --case 1234          # replay one case
    cargo build --manifest-path rust/Cargo.toml                # debug assertions and overflow checks on
    python tests/fuzz_native.py --seconds 300 --library rust/target/debug/libmnistvec_native.so
"""

from __future__ import annotations

import argparse
import faulthandler
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPECIAL = np.array(
    [
        np.nan,
        np.inf,
        -np.inf,
        1e30,
        -1e30,
        3e38,
        -3e38,
        np.finfo(np.float32).max,
        -np.finfo(np.float32).max,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-40,
        1.17549435e-38,
        1e-6,
        0.5,
        1.0,
        -1.0,
        2.0,
        28.0,
        -5.0,
    ],
    dtype=np.float32,
)
"""Values that need care, mixed into the inputs."""

SPECIAL_SCALES = [1e-40, 1e-30, 1e-3, 0.5, 1.0, 28.0, 4096.0, 1e6, 1e30, 3.4e38]
"""Valid scales (positive and finite as float32) far from the usual one."""

INVALID_SCALES = [0.0, -0.0, -1.0, -1e30, math.nan, math.inf, -math.inf, 1e39, 1e-50]
"""Scales `render_native` must refuse (not positive, or not finite, as float32)."""

ORDINARY_RANGES = {"lines": (-0.5, 1.5), "widths": (-0.05, 0.3), "opacity": (-0.5, 1.5)}

EXACT_TOLERANCE = 1e-3
EXACT_MAX_WORK = 2_000_000
"""Largest batch * lines * pixels compared with the (slower) torch exact renderer."""

SOFT_SPECIAL = np.array(
    [
        np.nan,
        np.inf,
        -np.inf,
        1e30,
        -1e30,
        3e38,
        -3e38,
        1e60,
        -1e60,
        1.0000001e60,
        -1e61,
        1e300,
        -1e300,
        0.0,
        -0.0,
        5e-324,
        1e-310,
        1e-6,
        0.5,
        1.0,
        -1.0,
        2.0,
        28.0,
        -5.0,
    ],
    dtype=np.float64,
)
"""Values that need care in the soft renderer's float64 pixel units: the float32 ones, the limit 1e60 (the
largest value drawn) and just past it (skipped), and values only float64 holds."""

SOFT_SIGMAS = [0.05, 0.3, 1.0, 3.0]
INVALID_SIGMAS = [0.0, -0.0, -1.0, math.nan, math.inf, -math.inf]
"""Blurs `soft_forward` must refuse (not finite and positive)."""
INVALID_TOLERANCES = [-1e-9, -1.0, 1.0, 2.0, math.nan, math.inf]
"""Span tolerances `soft_forward` must refuse (not in [0, 1))."""

SOFT_TOLERANCE = 1e-5
"""Native soft images (span tolerance 1e-6) against the torch soft renderer, both in float64."""
SOFT_MAX_WORK = 5_000_000
"""Largest batch * lines * pixels given to the soft renderer: a larger case keeps its first strokes."""
SOFT_REFERENCE_MAX_WORK = 300_000
"""Largest batch * lines * pixels compared with the torch soft renderer."""
SOFT_MAX_GROWTH = 250.0
"""Largest log10 of how much an image's opacities outside [0, 1] can grow a pixel's product of factors
for which images and gradients must still be finite (float64 reaches 1e308)."""


@dataclass
class Case:
    lines: np.ndarray
    widths: np.ndarray
    opacity: np.ndarray
    height: int
    width: int
    scale: float
    threads: int
    ordinary: bool
    valid_scale: bool
    soft: tuple[np.ndarray, np.ndarray, np.ndarray]
    """The strokes in float64 pixel units for the soft renderer (lines, radius, alpha)."""
    sigma: float
    tolerance: float
    valid_soft: bool
    grad_images: np.ndarray
    """The loss gradient the soft backward pass gets, [B, H, W] (empty when the images are)."""

    def summary(self) -> str:
        batch, n_lines = self.widths.shape
        layouts = ", ".join(
            f"{a.dtype.str}{'' if a.flags.c_contiguous else ' strided'}{'' if a.flags.aligned else ' unaligned'}"
            for a in (self.lines, self.widths, self.opacity)
        )
        return (
            f"batch {batch}, lines {n_lines}, {self.height} x {self.width}, scale {self.scale!r}, "
            f"threads {self.threads}, {'ordinary' if self.ordinary else 'hostile'} ({layouts}); soft: "
            f"{self.soft[1].shape[1]} lines, sigma {self.sigma!r}, tolerance {self.tolerance!r}"
        )


def draw_shape(rng: np.random.Generator, max_work: int) -> tuple[int, int, int, int]:
    """(batch, n_lines, height, width): mostly small, with zero sizes, many images, huge N and wide images."""
    kind = rng.choice(["small", "zero", "many images", "huge N", "wide"], p=[0.6, 0.1, 0.1, 0.1, 0.1])
    if kind == "small":
        shape = rng.integers(1, 7), rng.integers(0, 41), rng.integers(1, 65), rng.integers(1, 65)
    elif kind == "zero":
        shape = [rng.integers(0, 4), rng.integers(0, 20), rng.integers(0, 40), rng.integers(0, 40)]
        if rng.random() < 0.3:  # with sides up to the largest allowed
            shape[2:] = rng.integers(1, 2**31, size=2)
        shape[rng.choice([0, 2, 3])] = 0
    elif kind == "many images":
        shape = rng.integers(100, 3001), rng.integers(0, 9), rng.integers(1, 17), rng.integers(1, 17)
    elif kind == "huge N":
        shape = rng.integers(1, 3), rng.integers(20_000, 100_001), rng.integers(1, 29), rng.integers(1, 29)
    else:
        side = int(rng.integers(4000, 6001))
        shape = (rng.integers(1, 3), rng.integers(0, 9), side, rng.integers(1, 4))
        shape = shape if rng.random() < 0.5 else (shape[0], shape[1], shape[3], shape[2])
    batch, n_lines, height, width = (int(v) for v in shape)
    while n_lines > 1 and batch * n_lines * height * width > max_work:
        n_lines //= 2
    return batch, n_lines, height, width


def draw_values(rng: np.random.Generator, name: str, shape: tuple[int, ...], hostile: bool) -> np.ndarray:
    """float32 values: uniform in the name's ordinary range, with special values or raw bit patterns mixed in
    when `hostile`."""
    lo, hi = ORDINARY_RANGES[name]
    values = rng.uniform(lo, hi, shape).astype(np.float32)
    if not hostile or values.size == 0:
        return values
    fraction = rng.choice([0.0, 0.01, 0.1, 0.5, 1.0])
    chosen = rng.random(shape) < fraction
    values[chosen] = rng.choice(SPECIAL, size=int(chosen.sum()))
    if rng.random() < 0.2:  # random bit patterns: every NaN payload, subnormals, huge values
        chosen = rng.random(shape) < rng.choice([0.05, 0.5])
        bits = rng.integers(0, 2**32, size=int(chosen.sum()), dtype=np.uint64).astype(np.uint32)
        values[chosen] = bits.view(np.float32)
    return values


def vary_layout(rng: np.random.Generator, values: np.ndarray, ordinary: bool) -> np.ndarray:
    """The same values as float32 (usually), float64, a strided, unaligned, big-endian or Fortran-order
    array; hostile cases may also get float64 values beyond float32's range or integers."""
    choice = rng.random()
    if choice < 0.6:
        return values
    if choice < 0.7:
        wide = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), dtype=np.float32)
        wide[..., ::2] = values
        return wide[..., ::2]
    if choice < 0.75:
        raw = np.zeros(values.nbytes + 1, dtype=np.uint8)
        unaligned = raw[1:].view(np.float32).reshape(values.shape)
        unaligned[...] = values
        return unaligned
    if choice < 0.8:
        return values.astype(">f4")
    if choice < 0.85:
        return np.asfortranarray(values)
    if choice < 0.95 or ordinary:
        with np.errstate(invalid="ignore"):  # signalling NaN bit patterns
            doubled = values.astype(np.float64)
        if not ordinary and doubled.size:
            doubled.reshape(-1)[rng.integers(0, doubled.size)] = rng.choice([1e300, -1e300, 1e-300])
        return doubled
    return rng.integers(-(2**31), 2**31, size=values.shape).astype(np.int64)


def draw_case(seed: int, index: int, max_work: int) -> Case:
    """Case `index` of `seed`: a function of those two numbers only."""
    rng = np.random.default_rng([seed, index])
    batch, n_lines, height, width = draw_shape(rng, max_work)
    ordinary = rng.random() < 0.25
    arrays = [
        draw_values(rng, name, shape, not ordinary)
        for name, shape in (("lines", (batch, n_lines, 4)), ("widths", (batch, n_lines)), ("opacity", (batch, n_lines)))
    ]
    lines, widths, opacity = (vary_layout(rng, a, ordinary) for a in arrays)
    valid_scale = True
    if ordinary:
        scale = max(height, width, 1) * float(rng.uniform(0.5, 2.0))
    elif rng.random() < 0.05:
        scale, valid_scale = float(rng.choice(INVALID_SCALES)), False
    elif rng.random() < 0.5:
        scale = float(rng.choice(SPECIAL_SCALES))
    else:
        scale = float(10.0 ** rng.uniform(-3, 4))
    threads = int(rng.choice([0, 1, 2, 3, 8, 2**32 - 1]))
    # The soft renderer's inputs, drawn after everything above (which stays as it was for each case).
    soft = draw_soft_strokes(rng, lines, widths, opacity, scale, height, width, ordinary)
    valid_soft = True
    if ordinary:
        sigma = float(rng.choice(SOFT_SIGMAS)) if rng.random() < 0.5 else float(rng.uniform(0.05, 3.0))
        tolerance = 1e-6
    else:
        sigma = float(rng.choice(SOFT_SIGMAS)) if rng.random() < 0.5 else float(10.0 ** rng.uniform(-3, 3))
        tolerance = float(rng.choice([1e-6, 1e-6, 0.0, 1e-3, 0.5]))
        if rng.random() < 0.05:
            sigma, valid_soft = float(rng.choice(INVALID_SIGMAS)), False
        elif rng.random() < 0.05:
            tolerance, valid_soft = float(rng.choice(INVALID_TOLERANCES)), False
    pixels = (batch, height, width)
    grad_images = rng.standard_normal(pixels) if numpy_can_shape(pixels, 8) else np.zeros((0, 0, 0))
    return Case(
        lines,
        widths,
        opacity,
        height,
        width,
        scale,
        threads,
        ordinary,
        valid_scale,
        soft,
        sigma,
        tolerance,
        valid_soft,
        grad_images,
    )


def numpy_can_shape(shape, itemsize: int) -> bool:
    """Whether numpy can make an array of this shape (even an empty one: its non-zero sides times the item
    size must stay below 2**63 bytes)."""
    return math.prod(side for side in shape if side) * itemsize <= np.iinfo(np.intp).max


def draw_soft_strokes(
    rng: np.random.Generator, lines, widths, opacity, scale: float, height: int, width: int, ordinary: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The case's strokes in float64 pixel units, unclamped (the soft renderer applies its formula as
    given), the first ones only where the case is more work than `SOFT_MAX_WORK`; in a hostile case, some
    values replaced by `SOFT_SPECIAL` ones."""
    batch, n_lines = np.shape(widths)
    pixels = batch * height * width
    if pixels and batch * n_lines * height * width > SOFT_MAX_WORK:
        n_lines = max(1, SOFT_MAX_WORK // pixels)
    with np.errstate(all="ignore"):  # an invalid scale makes NaN and infinite strokes: skipped ones
        soft_lines = np.asarray(lines, np.float64)[:, :n_lines] * scale
        radius = np.asarray(widths, np.float64)[:, :n_lines] * scale / 2.0
        alpha = np.array(np.asarray(opacity, np.float64)[:, :n_lines])
    if not ordinary and rng.random() < 0.3:
        for values in (soft_lines, radius, alpha):
            chosen = rng.random(values.shape) < rng.choice([0.01, 0.1, 0.5])
            values[chosen] = rng.choice(SOFT_SPECIAL, size=int(chosen.sum()))
    return np.ascontiguousarray(soft_lines), np.ascontiguousarray(radius), alpha


def check_case(case: Case, library) -> list[str]:
    """The invariants' violations for one case (empty when all hold)."""
    return check_render(case, library) + [f"soft: {problem}" for problem in check_soft(case, library)]


def check_render(case: Case, library) -> list[str]:
    """The invariants' violations of `render_native` for one case."""
    from native_guards import INK_FILL, NAN_FILL, GuardViolation, image_problems, render_guarded

    from mnistvec.raster.native import render_native

    batch, n_lines = case.widths.shape
    shape = (batch, case.height, case.width)
    args = (case.lines, case.widths, case.opacity, case.height, case.width, case.scale)
    if not case.valid_scale:
        try:
            render_native(*args, case.threads)
        except ValueError:
            pass
        else:
            return ["an invalid scale was accepted"]
        code, _ = render_guarded(library, *as_float32(case), case.height, case.width, case.scale, case.threads)
        expected = 0 if batch * case.height * case.width == 0 else -4
        return [] if code == expected else [f"library returned {code} for scale {case.scale!r}, not {expected}"]
    if math.prod(side for side in shape if side) * 4 > np.iinfo(np.intp).max:
        problems = []
        try:
            render_native(*args, case.threads)
            problems.append(f"an empty {shape} output that numpy cannot shape was accepted")
        except ValueError as error:
            if "empty output" not in str(error):
                problems.append(f"unclear refusal of an empty {shape} output: {error}")
        code, _ = render_guarded(library, *as_float32(case), case.height, case.width, case.scale, case.threads)
        return problems + ([] if code == 0 else [f"library returned {code} for an empty output"])
    try:
        out = render_native(*args, case.threads)
    except Exception as error:  # any exception is a failure here
        return [f"render_native raised {type(error).__name__}: {error}"]
    problems = image_problems(out, shape)
    floats = as_float32(case)
    other_threads = 1 if case.threads != 1 else 3
    for fill, threads in ((NAN_FILL, case.threads), (INK_FILL, other_threads)):
        try:
            code, guarded = render_guarded(library, *floats, case.height, case.width, case.scale, threads, fill)
        except GuardViolation as error:
            problems.append(f"guard violated (input guards {fill}): {error}")
            continue
        if code != 0:
            problems.append(f"library returned {code} (input guards {fill}, threads {threads})")
        elif not np.array_equal(guarded.view(np.uint32), out.view(np.uint32)):
            differ = int((guarded != out).sum())
            problems.append(f"{differ} pixels differ from render_native (input guards {fill}, threads {threads})")
    if case.ordinary and batch * n_lines * case.height * case.width <= EXACT_MAX_WORK:
        want = exact_reference(floats, case.height, case.width, case.scale)
        error = float(np.abs(out - want).max()) if out.size else 0.0
        if error > EXACT_TOLERANCE:
            problems.append(f"differs from the exact renderer by {error:.2e}")
    return problems


def soft_growth(alpha: np.ndarray, usable: np.ndarray) -> float:
    """log10 of the most an image's factors `1 - alpha cov` (cov in [0, 1]) can grow a product: only
    opacities outside [0, 1] can make a factor's magnitude exceed 1 (to at most max(|alpha| - 1, 1 + |alpha|))."""
    with np.errstate(all="ignore"):
        size = np.where(alpha > 1.0, alpha - 1.0, np.where(alpha < 0.0, 1.0 - alpha, 1.0))
        growth = np.where(usable, np.log10(np.maximum(size, 1.0)), 0.0)
    return float(growth.sum(axis=1).max()) if growth.size else 0.0


def check_soft(case: Case, library) -> list[str]:
    """The invariants' violations of `soft_forward` and `soft_backward` for one case."""
    from native_guards import (
        SOFT_INK_FILL,
        SOFT_NAN_FILL,
        GuardViolation,
        soft_gradient_problems,
        soft_guarded,
        soft_problems,
        usable_strokes,
    )

    from mnistvec.raster.native import soft_backward, soft_forward

    lines, radius, alpha = case.soft
    batch, n_lines = radius.shape
    shape = (batch, case.height, case.width)
    args = (lines, radius, alpha, case.height, case.width, case.sigma)
    parameters = f"sigma {case.sigma!r} with tolerance {case.tolerance!r}"
    if not case.valid_soft:
        try:
            soft_forward(*args, case.tolerance, case.threads)
        except ValueError:
            pass
        else:
            return [f"soft_forward accepted {parameters}"]
        if not numpy_can_shape(shape, 8):
            return []
        state = np.zeros(shape)
        try:
            soft_backward(*args, state, state, state.astype(np.uint32), case.tolerance, case.threads)
        except ValueError:
            pass
        else:
            return [f"soft_backward accepted {parameters}"]
        result = soft_guarded(library, *args, case.tolerance, case.threads, case.grad_images)
        pixels = batch * case.height * case.width
        want_forward = 0 if pixels == 0 else -6
        want_backward = None if pixels else (0 if batch * n_lines == 0 else -6)
        if (result.forward_code, result.backward_code) != (want_forward, want_backward):
            return [
                f"the library returned {result.forward_code} (forward), {result.backward_code} (backward) "
                f"for {parameters}, not {want_forward}, {want_backward}"
            ]
        return []
    if not numpy_can_shape(shape, 8):
        try:  # numpy cannot make even these empty arrays: a ValueError is the answer the contract allows
            soft_forward(*args, case.tolerance, case.threads)
        except ValueError:
            return []
        return [f"soft_forward made an empty {shape} output numpy cannot shape"]
    try:
        images, product, zeros = soft_forward(*args, case.tolerance, case.threads)
        grads = soft_backward(*args, case.grad_images, product, zeros, case.tolerance, case.threads)
    except Exception as error:  # any exception is a failure here
        return [f"soft_forward or soft_backward raised {type(error).__name__}: {error}"]
    usable = usable_strokes(lines, radius, alpha)
    finite = soft_growth(alpha, usable) < SOFT_MAX_GROWTH and not (np.abs(np.where(usable, alpha, 0.0)) > 1e30).any()
    problems = soft_problems(images, product, zeros, shape, finite) + soft_gradient_problems(
        grads, lines, radius, alpha, finite
    )
    other_threads = 1 if case.threads != 1 else 3
    for fill, threads in ((SOFT_NAN_FILL, case.threads), (SOFT_INK_FILL, other_threads)):
        name = "NaN" if fill is SOFT_NAN_FILL else "ink"
        try:
            result = soft_guarded(library, *args, case.tolerance, threads, case.grad_images, fill)
        except GuardViolation as error:
            problems.append(f"guard violated ({name} input guards): {error}")
            continue
        if result.forward_code != 0 or result.backward_code != 0:
            problems.append(
                f"library returned {result.forward_code}, {result.backward_code} ({name} input "
                f"guards, threads {threads})"
            )
            continue
        for what, got, want in (
            ("images", result.images, images),
            ("product", result.product, product),
            ("zeros", result.zeros, zeros),
            ("gradients", result.grads, grads),
        ):
            if not np.array_equal(got.view(np.uint8), want.view(np.uint8)):
                differ = int((got != want).sum())
                problems.append(
                    f"{differ} {what} differ from the unguarded call ({name} input guards, threads {threads})"
                )
    if case.ordinary and batch * n_lines * case.height * case.width <= SOFT_REFERENCE_MAX_WORK:
        want = soft_reference(lines, radius, alpha, case.height, case.width, case.sigma)
        error = float(np.abs(images - want).max()) if images.size else 0.0
        if error > SOFT_TOLERANCE:
            problems.append(f"differs from the torch soft renderer by {error:.2e}")
    return problems


def soft_reference(lines, radius, alpha, height: int, width: int, sigma: float) -> np.ndarray:
    """The torch soft renderer in float64 on the same pixel-unit strokes."""
    import torch

    from mnistvec.raster.soft import render_soft_torch_px

    tensors = (torch.from_numpy(a) for a in (lines, radius, alpha))
    return render_soft_torch_px(*tensors, height, width, sigma).numpy()


def as_float32(case: Case) -> list[np.ndarray]:
    """The inputs as float32, as `render_native` converts them (values beyond float32's range become inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return [np.asarray(a, dtype=np.float32) for a in (case.lines, case.widths, case.opacity)]


def exact_reference(floats, height: int, width: int, scale: float) -> np.ndarray:
    """The torch exact renderer on the same float32 inputs, in pixel units."""
    import torch

    from mnistvec.raster.exact import render_exact_px

    lines, widths, opacity = (torch.from_numpy(np.ascontiguousarray(a)) for a in floats)
    return render_exact_px(lines * scale, widths * scale / 2.0, opacity, height, width).numpy()


def load(library_path: str | None):
    """The native library: the package's, or the file given (through MNISTVEC_NATIVE_LIBRARY)."""
    from mnistvec.raster import native

    if library_path:
        os.environ[native.LIBRARY_ENV] = library_path
        native.load_library.cache_clear()
    library = native.load_library()
    if library is None:
        sys.exit(f"the native library could not be loaded ({library_path or 'package extension'})")
    if library_path and Path(library._name) != Path(library_path).absolute():
        sys.exit(f"loaded {library._name}, not {library_path}")
    return library


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the case sequence (default 0)")
    parser.add_argument("--case", type=int, help="run only this case of the seed, and describe it")
    parser.add_argument("--library", help="library file to load instead of the package's (e.g. a debug build)")
    parser.add_argument(
        "--max-work",
        type=float,
        default=1e8,
        help="cap on batch * lines * pixels per case (default 1e8; lower it for debug builds)",
    )
    parser.add_argument("--max-failures", type=int, default=10, help="stop after this many failing cases")
    parser.add_argument("--verbose", action="store_true", help="name every case before running it")
    args = parser.parse_args(argv)
    faulthandler.enable()
    library = load(args.library)
    print(f"library: {library._name}", flush=True)
    indices = [args.case] if args.case is not None else range(sys.maxsize)
    deadline = time.monotonic() + args.seconds
    cases = failures = ordinary = 0
    for index in indices:
        if args.case is None and time.monotonic() >= deadline:
            break
        case = draw_case(args.seed, index, int(args.max_work))
        if args.verbose or args.case is not None:
            print(f"case {index}: {case.summary()}", flush=True)
        try:
            problems = check_case(case, library)
        except Exception as error:  # a guard violation outside the checks' own handling, or a fuzzer bug
            problems = [f"{type(error).__name__}: {error}"]
        cases += 1
        ordinary += case.ordinary
        if problems:
            failures += 1
            print(f"FAILED case {index}: {case.summary()}", flush=True)
            for problem in problems:
                print(f"  {problem}", flush=True)
            print(
                f"  reproduce: python tests/fuzz_native.py --seed {args.seed} --case {index}"
                + (f" --library {args.library}" if args.library else ""),
                flush=True,
            )
            if failures >= args.max_failures:
                break
    print(
        f"{cases} cases ({ordinary} ordinary, compared with the exact and soft torch renderers where "
        f"small), {failures} failed, seed {args.seed}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
