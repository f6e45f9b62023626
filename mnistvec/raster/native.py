"""The native (Rust) renderer, loaded with ctypes: the pixel formula of `coverage.py`, fast, on the CPU.

Units. Strokes come in canvas units and are scaled to pixels by `scale` (pixels per canvas unit):

    endpoint_px = endpoint * scale,   r = max(width, 0) * scale / 2,   alpha = clamp(opacity, 0, 1)

Each pixel is `1 - prod_k (1 - alpha_k * cov_k)` with `cov_k = F(r_k - d_k) - F(-r_k - d_k)` as in
`coverage.py`; a stroke with any non-finite value (before or after scaling) is skipped. The result equals
`render_exact_px(lines * scale, widths * scale / 2, opacity, height, width)` to within rounding.

The library is the extension module `mnistvec._native` (a plain C-ABI shared library, built from `rust/`),
found by `mnistvec.native`. Setting the environment variable `MNISTVEC_NATIVE_LIBRARY` to a library file
loads that file instead, and only it: for instance the debug build `rust/target/debug/libmnistvec_native.so`
(from `cargo build`, with Rust's debug assertions and integer overflow checks on), to run the tests or
`tests/fuzz_native.py` against it. The renderer's part of the library's C ABI:

    uint32_t mnistvec_abi_version(void);
    int32_t  mnistvec_render(const float* lines, const float* widths, const float* opacity,
                             uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
                             float scale, uint32_t threads, float* out);
    int32_t  mnistvec_soft_forward(const double* lines, const double* radius, const double* alpha,
                                   uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
                                   double sigma, double tolerance, uint32_t threads,
                                   double* out, double* product, uint32_t* zeros);
    int32_t  mnistvec_soft_backward(const double* lines, const double* radius, const double* alpha,
                                    uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
                                    double sigma, double tolerance, uint32_t threads,
                                    const double* grad_out, const double* product, const uint32_t* zeros,
                                    double* grad_strokes);
    int32_t  mnistvec_soft_loss(const double* lines, const double* radius, const double* alpha,
                                const double* targets, uint64_t batch, uint64_t n_lines, uint64_t height,
                                uint64_t width, double sigma, double tolerance, uint32_t loss, double eps,
                                uint32_t threads, double* losses, double* grad_strokes);

The soft functions are the soft renderer of `soft.py` in pixel units and float64 (`soft_forward` and
`soft_backward` below; `soft_native.py` wraps them as a differentiable torch function), and the same
renderer scored against target images in one pass (`soft_loss`).
"""

from __future__ import annotations

import ctypes
import math
import warnings

import numpy as np

from mnistvec.native import (  # noqa: F401 (ABI_VERSION, LIBRARY_ENV, MAX_THREADS, _open_library: re-exported)
    ABI_VERSION,
    LIBRARY_ENV,
    MAX_THREADS,
    _open_library,
    as_size,
    as_threads,
    check_code,
    load_library,
)

MAX_OUTPUT_BYTES = 8 * 1024**3
"""Largest output `render_native` allocates: batch * height * width * 4 bytes."""

MAX_SIDE = 2**31
"""Image height and width must be below this (the library counts pixel rows and columns in int32)."""

ERROR_CODES = {
    -1: "null pointer",
    -2: "array size overflow",
    -3: "panic inside the renderer",
    -4: "scale not finite and positive",
    -5: "misaligned pointer",
    -6: "soft renderer sigma not finite and positive, tolerance not in [0, 1), or an unknown loss",
}
"""Meaning of the library functions' negative return codes."""

_float_pointer = ctypes.POINTER(ctypes.c_float)
_double_pointer = ctypes.POINTER(ctypes.c_double)
_uint32_pointer = ctypes.POINTER(ctypes.c_uint32)

SOFT_TOLERANCE = 1e-6
"""Default largest change of any soft pixel from evaluating each stroke only near its segment."""

_MAX_ARRAY_BYTES = int(np.iinfo(np.intp).max)
"""numpy's bound on the product of an array's non-zero sides times its item size, even when it is empty."""


def native_available() -> bool:
    """Whether the native renderer can be used."""
    return load_library() is not None


_warned_missing = False


def warn_native_missing_once() -> None:
    """The one warning, per process, that the native library is missing and torch draws instead."""
    global _warned_missing
    if not _warned_missing:
        _warned_missing = True
        warnings.warn(
            "the native renderer library is not built; using the torch renderers instead (same images, "
            "slower). Reinstall mnistvec with a Rust toolchain available to build it.",
            RuntimeWarning,
            stacklevel=4,
        )


def _as_number_array(name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers (float or integer), got dtype {array.dtype}")
    return array


def _as_c_floats(array: np.ndarray) -> np.ndarray:
    """C-contiguous, aligned float32 (the same array when it already is); values beyond float32 become inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.require(array, dtype=np.float32, requirements=["C", "A"])


def _checked_strokes(lines, **per_stroke) -> tuple[np.ndarray, list[np.ndarray]]:
    """`lines` [B, N, 4] and the named per-stroke arrays [B, N] as number arrays, shapes checked."""
    lines = _as_number_array("lines", lines)
    others = [_as_number_array(name, value) for name, value in per_stroke.items()]
    if lines.ndim != 3 or lines.shape[-1] != 4:
        raise ValueError(f"lines must have shape [B, N, 4], got {lines.shape}")
    strokes_shape = lines.shape[:2]
    for name, array in zip(per_stroke, others):
        if array.shape != strokes_shape:
            raise ValueError(f"{name} must have shape [B, N] = {list(strokes_shape)}, got {list(array.shape)}")
    return lines, others


def _checked_sizes(height, width, threads) -> tuple[int, int, int]:
    """Image sides below `MAX_SIDE` and a thread count that fits a uint32, as plain integers."""
    height, width, threads = as_size("height", height), as_size("width", width), as_threads(threads)
    for name, side in (("height", height), ("width", width)):
        if side >= MAX_SIDE:
            raise ValueError(f"{name} must be below {MAX_SIDE}, got {side}")
    return height, width, threads


def _check_output(batch: int, height: int, width: int, bytes_per_pixel: int, item_bytes: int, kind: str) -> None:
    """Refuse outputs of more than `MAX_OUTPUT_BYTES` (`bytes_per_pixel` in all), and empty ones whose
    arrays (of `item_bytes` items) numpy cannot make."""
    output_bytes = batch * height * width * bytes_per_pixel
    if output_bytes > MAX_OUTPUT_BYTES:
        raise ValueError(
            f"output of {batch} x {height} x {width} {kind} would take {output_bytes} bytes, "
            f"more than the limit of {MAX_OUTPUT_BYTES} bytes"
        )
    if math.prod(side for side in (batch, height, width) if side) * item_bytes > _MAX_ARRAY_BYTES:
        # Only an empty output gets here; numpy refuses such shapes with a misleading message.
        raise ValueError(
            f"an empty output of {batch} x {height} x {width} {kind} cannot be made: numpy needs the product "
            f"of an array's non-zero sides times {item_bytes} bytes to be at most {_MAX_ARRAY_BYTES}"
        )


def _required_library() -> ctypes.CDLL:
    library = load_library()
    if library is None:
        raise RuntimeError("the native renderer mnistvec._native is not built or could not be loaded")
    return library


def _check_code(function: str, code: int) -> None:
    check_code(function, code, ERROR_CODES)


def render_native(lines, widths, opacity, height: int, width: int, scale: float, threads: int = 0) -> np.ndarray:
    """Render strokes given in canvas units into float32 images [B, H, W] with values in [0, 1].

    lines: [B, N, 4] endpoints (x0, y0, x1, y1) in canvas units; widths: [B, N] full stroke widths in canvas
    units; opacity: [B, N]. `scale` is pixels per canvas unit (a canvas of 1 unit spanning 28 pixels has
    scale 28). Pixel (i, j) covers [j, j+1] x [i, i+1] in pixel units. `threads` = 0 uses every core.

    Raises ValueError for malformed arguments and RuntimeError when the library is missing or fails.
    """
    lines, (widths, opacity) = _checked_strokes(lines, widths=widths, opacity=opacity)
    height, width, threads = _checked_sizes(height, width, threads)
    scale = _checked_scale(scale)
    batch, n_lines = lines.shape[:2]
    _check_output(batch, height, width, 4, 4, "float32")
    library = _required_library()

    out = np.empty((batch, height, width), dtype=np.float32)
    if out.size == 0:
        return out
    lines_c = _as_c_floats(lines)
    widths_c = _as_c_floats(widths)
    opacity_c = _as_c_floats(opacity)
    code = library.mnistvec_render(
        lines_c.ctypes.data_as(_float_pointer),
        widths_c.ctypes.data_as(_float_pointer),
        opacity_c.ctypes.data_as(_float_pointer),
        batch,
        n_lines,
        height,
        width,
        scale,
        threads,
        out.ctypes.data_as(_float_pointer),
    )
    _check_code("mnistvec_render", code)
    return out


def _checked_scale(scale) -> float:
    """`scale` as a float that is finite and positive in float32, or ValueError."""
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a real number, got {scale!r}") from None
    with np.errstate(over="ignore", under="ignore"):
        scale_f32 = float(np.float32(scale))
    if not (math.isfinite(scale_f32) and scale_f32 > 0.0):
        raise ValueError(f"scale must be finite and positive (as float32), got {scale}")
    return scale


def visible_strokes_native(
    lines, widths, opacity, height: int, width: int, scale: float, threshold: float, threads: int = 0
) -> np.ndarray:
    """bool [B, N]: which strokes stay visible by the rule of `visibility.py` (the drawing without the others
    is within `threshold` of the full one at every pixel of a height x width rendering). Arguments as for
    `render_native`; ValueError for malformed ones, RuntimeError when the library is missing or fails."""
    lines, (widths, opacity) = _checked_strokes(lines, widths=widths, opacity=opacity)
    height, width, threads = _checked_sizes(height, width, threads)
    scale = _checked_scale(scale)
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be finite, got {threshold}")
    batch, n_lines = lines.shape[:2]
    library = _required_library()
    keep = np.zeros((batch, n_lines), dtype=np.uint8)
    if keep.size == 0:
        return keep.astype(bool)
    code = library.mnistvec_visible_strokes(
        _as_c_floats(lines).ctypes.data_as(_float_pointer),
        _as_c_floats(widths).ctypes.data_as(_float_pointer),
        _as_c_floats(opacity).ctypes.data_as(_float_pointer),
        batch,
        n_lines,
        height,
        width,
        scale,
        float(threshold),
        threads,
        keep.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
    )
    _check_code("mnistvec_visible_strokes", code)
    return keep.astype(bool)


def _soft_arguments(lines, radius, alpha, height: int, width: int, sigma: float, tolerance: float, threads: int):
    """Checked arguments of the soft functions: float64 C-contiguous arrays and plain numbers."""
    lines, (radius, alpha) = _checked_strokes(lines, radius=radius, alpha=alpha)
    lines, radius, alpha = (np.ascontiguousarray(a, dtype=np.float64) for a in (lines, radius, alpha))
    height, width, threads = _checked_sizes(height, width, threads)
    sigma, tolerance = float(sigma), float(tolerance)
    if not (math.isfinite(sigma) and sigma > 0.0):
        raise ValueError(f"sigma must be finite and positive (pixels), got {sigma}")
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    # The images and their compositing state: two float64 and one uint32 per pixel.
    _check_output(lines.shape[0], height, width, 20, 8, "soft pixels")
    return _required_library(), lines, radius, alpha, height, width, sigma, tolerance, threads


def _pointer(array: np.ndarray, kind):
    return array.ctypes.data_as(kind)


def soft_forward(
    lines, radius, alpha, height: int, width: int, sigma: float, tolerance: float = SOFT_TOLERANCE, threads: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The soft renderer in pixel units: `(images, product, zeros)`, each [B, H, W].

    lines [B, N, 4], radius [B, N] and alpha [B, N] in pixels, used as given (as `soft.render_soft_px`
    does; the canvas-unit clamps are the caller's). `images` (float64) are `1 - prod_k (1 - alpha_k cov_k)`
    with the blurred coverage at blur `sigma` pixels, each stroke evaluated only where it can change a
    pixel by more than `tolerance / N` (0: everywhere). `product` (float64) and `zeros` (uint32) are the
    compositing state `soft_backward` needs. Strokes with a non-finite value are skipped.
    """
    library, lines, radius, alpha, height, width, sigma, tolerance, threads = _soft_arguments(
        lines, radius, alpha, height, width, sigma, tolerance, threads
    )
    batch, n_lines = radius.shape
    images = np.empty((batch, height, width), np.float64)
    product = np.empty((batch, height, width), np.float64)
    zeros = np.empty((batch, height, width), np.uint32)
    if images.size == 0:
        return images, product, zeros
    code = library.mnistvec_soft_forward(
        _pointer(lines, _double_pointer),
        _pointer(radius, _double_pointer),
        _pointer(alpha, _double_pointer),
        batch,
        n_lines,
        height,
        width,
        sigma,
        tolerance,
        threads,
        _pointer(images, _double_pointer),
        _pointer(product, _double_pointer),
        _pointer(zeros, _uint32_pointer),
    )
    _check_code("mnistvec_soft_forward", code)
    return images, product, zeros


def soft_backward(
    lines,
    radius,
    alpha,
    height: int,
    width: int,
    sigma: float,
    grad_images,
    product,
    zeros,
    tolerance: float = SOFT_TOLERANCE,
    threads: int = 0,
) -> np.ndarray:
    """The gradient [B, N, 6] of a loss with respect to each stroke's (x0, y0, x1, y1, radius, alpha),
    given its gradient `grad_images` [B, H, W] with respect to the images of `soft_forward` called with
    the same arguments, and that call's `product` and `zeros`."""
    library, lines, radius, alpha, height, width, sigma, tolerance, threads = _soft_arguments(
        lines, radius, alpha, height, width, sigma, tolerance, threads
    )
    batch, n_lines = radius.shape
    shape = (batch, height, width)
    grad_images = np.ascontiguousarray(_as_number_array("grad_images", grad_images), dtype=np.float64)
    product = np.ascontiguousarray(product, dtype=np.float64)
    zeros = np.ascontiguousarray(zeros, dtype=np.uint32)
    for name, array in (("grad_images", grad_images), ("product", product), ("zeros", zeros)):
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {list(shape)}, got {list(array.shape)}")
    grads = np.zeros((batch, n_lines, 6), np.float64)
    if grads.size == 0:
        return grads
    code = library.mnistvec_soft_backward(
        _pointer(lines, _double_pointer),
        _pointer(radius, _double_pointer),
        _pointer(alpha, _double_pointer),
        batch,
        n_lines,
        height,
        width,
        sigma,
        tolerance,
        threads,
        _pointer(grad_images, _double_pointer),
        _pointer(product, _double_pointer),
        _pointer(zeros, _uint32_pointer),
        _pointer(grads, _double_pointer),
    )
    _check_code("mnistvec_soft_backward", code)
    return grads


SOFT_LOSSES = {"squared_error": 0, "cross_entropy": 1}
"""The per-pixel losses `soft_loss` computes, and their codes in the C ABI."""


def soft_loss(
    lines,
    radius,
    alpha,
    targets,
    sigma: float,
    loss: str = "squared_error",
    eps: float = 1e-5,
    tolerance: float = SOFT_TOLERANCE,
    threads: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's loss against `targets` [B, H, W] and its gradient [B, N, 6] with respect to each
    stroke's (x0, y0, x1, y1, radius, alpha), in one pass: the soft rendering of `soft_forward` scored
    pixel by pixel with `loss` ("squared_error": (y - x)^2; "cross_entropy": -x ln c - (1 - x) ln(1 - c)
    with c the rendering clamped to [eps, 1 - eps]) and summed over each image's pixels."""
    if loss not in SOFT_LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(SOFT_LOSSES)}")
    if loss == "cross_entropy" and not 0.0 < float(eps) < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    targets = np.ascontiguousarray(_as_number_array("targets", targets), dtype=np.float64)
    if targets.ndim != 3:
        raise ValueError(f"targets must have shape [B, H, W], got {targets.shape}")
    height, width = targets.shape[1:]
    library, lines, radius, alpha, height, width, sigma, tolerance, threads = _soft_arguments(
        lines, radius, alpha, height, width, sigma, tolerance, threads
    )
    batch, n_lines = radius.shape
    if targets.shape[0] != batch:
        raise ValueError(f"targets must hold {batch} images, got {targets.shape[0]}")
    losses = np.zeros(batch, np.float64)
    grads = np.zeros((batch, n_lines, 6), np.float64)
    if batch == 0:
        return losses, grads
    code = library.mnistvec_soft_loss(
        _pointer(lines, _double_pointer),
        _pointer(radius, _double_pointer),
        _pointer(alpha, _double_pointer),
        _pointer(targets, _double_pointer),
        batch,
        n_lines,
        height,
        width,
        sigma,
        tolerance,
        SOFT_LOSSES[loss],
        float(eps),
        threads,
        _pointer(losses, _double_pointer),
        _pointer(grads, _double_pointer),
    )
    _check_code("mnistvec_soft_loss", code)
    return losses, grads
