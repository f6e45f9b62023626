//! Native line renderer for `mnistvec`: anti-aliased straight strokes composited over a black canvas.
//!
//! Pixel (i, j) is the unit square `[j, j+1] x [i, i+1]` with centre `(j + 1/2, i + 1/2)`. A stroke is the
//! segment `A-B` thickened by radius `r` with round caps; it covers a pixel whose centre is at distance `d`
//! from the segment by `cov = F(r - d) - F(-r - d)` (see [`coverage`]), and strokes composite as
//! `pixel = 1 - prod_k (1 - alpha_k cov_k)`.
//!
//! The C ABI (this module) holds the `unsafe` code that touches the caller's memory; elsewhere `unsafe`
//! fences only the AVX2 code paths (`lanes`, `soft_batch`, `soft_loss`, `gemm`, `encoder`), each behind a
//! check that the processor has the instructions, and the C library's `erfc` (`soft`):
//!
//! ```c
//! uint32_t mnistvec_abi_version(void);
//! int32_t mnistvec_render(const float* lines, const float* widths, const float* opacity,
//!                         uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
//!                         float scale, uint32_t threads, float* out);
//! int32_t mnistvec_soft_forward(const double* lines, const double* radius, const double* alpha,
//!                               uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
//!                               double sigma, double tolerance, uint32_t threads,
//!                               double* out, double* product, uint32_t* zeros);
//! int32_t mnistvec_soft_backward(const double* lines, const double* radius, const double* alpha,
//!                                uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
//!                                double sigma, double tolerance, uint32_t threads,
//!                                const double* grad_out, const double* product, const uint32_t* zeros,
//!                                double* grad_strokes);
//! int32_t mnistvec_soft_loss(const double* lines, const double* radius, const double* alpha,
//!                            const double* targets, uint64_t batch, uint64_t n_lines, uint64_t height,
//!                            uint64_t width, double sigma, double tolerance, uint32_t loss, double eps,
//!                            uint32_t threads, double* losses, double* grad_strokes);
//! int32_t mnistvec_write_files(const uint8_t* paths, const uint64_t* path_offsets,
//!                              const uint8_t* temps, const uint64_t* temp_offsets,
//!                              const uint8_t* data, const uint64_t* data_offsets,
//!                              uint64_t count, uint32_t threads, int32_t* errors);
//! int32_t mnistvec_svg_lines(const double* rows, const uint8_t* drawn, uint64_t batch, uint64_t n_lines,
//!                            uint8_t* out, uint64_t capacity, uint64_t* offsets);
//! int32_t mnistvec_encoder_sizes(uint64_t in_planes, uint64_t channels, uint64_t hidden, uint64_t outputs,
//!                                uint64_t* torch_len, uint64_t* packed_len);
//! int32_t mnistvec_encoder_pack(const float* weights, uint64_t weights_len, uint64_t in_planes,
//!                               uint64_t channels, uint64_t hidden, uint64_t outputs, float* packed,
//!                               uint64_t packed_len);
//! int32_t mnistvec_encode(const float* packed, uint64_t packed_len, uint64_t in_planes, uint64_t channels,
//!                         uint64_t hidden, uint64_t outputs, const float* images, uint64_t batch,
//!                         uint32_t threads, float* out);
//! int32_t mnistvec_decode_png_gray(const uint8_t* paths, const uint64_t* offsets, uint64_t count,
//!                                  uint64_t height, uint64_t width, uint32_t threads, uint8_t* out,
//!                                  int32_t* status);
//! ```
//!
//! The soft renderer ([`soft`], [`soft_batch`]) takes pixel units and `f64`, as `render_soft_px` of
//! `mnistvec/raster/soft.py` does: `lines` `[batch, n_lines, 4]`, `radius` and `alpha` `[batch, n_lines]`,
//! applied as given (no clamping). The forward pass writes the pixels and the compositing state
//! (`product`, `zeros`, each `[batch, height, width]`) that the backward pass reads back with the
//! loss gradient `grad_out` to write `grad_strokes`, `[batch, n_lines, 6]`: the gradient with respect
//! to `(x0, y0, x1, y1, radius, alpha)` of every stroke.
//!
//! The encoder ([`encoder`], on [`gemm`] and [`gelu`]) is the network of `mnistvec/models/encoder.py` for
//! inference: its weights, in torch's layout and order, are packed once (`mnistvec_encoder_pack`), then
//! `mnistvec_encode` maps `[batch, 28, 28]` images to `[batch, outputs]` raw stroke numbers.
//!
//! The PNG decoder ([`inflate`], [`png`], [`png_batch`]) reads `count` files named by their path bytes and
//! writes each one's 8-bit gray pixels, `[count, height, width]`, when it is an 8-bit gray or RGB PNG of
//! exactly that size that it handles; `status[k]` says whether it did (0) or not (1: any other file,
//! which the caller reads some other way).

pub mod blob;
pub mod clip;
pub mod coverage;
pub mod encoder;
pub mod files;
pub mod gelu;
pub mod gemm;
pub mod inflate;
pub mod kernel;
pub mod lanes;
pub mod parallel;
pub mod pixel_batch;
pub mod png;
pub mod png_batch;
pub mod raster;
pub mod real;
pub mod soft;
pub mod soft_batch;
pub mod soft_loss;
pub mod span;
pub mod stroke;
pub mod svg_text;
pub mod visibility;

use std::panic::{catch_unwind, AssertUnwindSafe};

use blob::Blob;
use parallel::{render_batch, thread_count, StrokeBatch};
use soft_batch::{Composite, SoftBatch};
use soft_loss::Loss;

/// Version of the C ABI below; bumped on any incompatible change.
pub const ABI_VERSION: u32 = 5;

/// Success.
pub const OK: i32 = 0;
/// A pointer that must be read or written is null.
pub const ERR_NULL_POINTER: i32 = -1;
/// An array size does not fit in memory (`batch * n_lines * 4` or `batch * height * width` floats), or
/// `height` or `width` is not below `MAX_SIDE`.
pub const ERR_SIZE_OVERFLOW: i32 = -2;
/// The renderer panicked; `out` may be partly written.
pub const ERR_PANIC: i32 = -3;
/// `scale` is not finite and positive.
pub const ERR_BAD_SCALE: i32 = -4;
/// A pointer is not aligned for its element type.
pub const ERR_MISALIGNED: i32 = -5;
/// The soft renderer's `sigma` is not finite and positive, its `tolerance` not in `[0, 1)`, or a loss
/// is unknown (or its `eps` not in `(0, 1/2)`).
pub const ERR_BAD_SOFT_PARAMETER: i32 = -6;

/// The encoder's sizes are not ones it runs (`encoder::Dims::valid`), or an array's length is not the
/// one they give.
pub const ERR_BAD_ENCODER: i32 = -7;

/// Image sides must be below this many pixels (`2^31`; pixel rows and columns are counted in `i32`).
pub const MAX_SIDE: u64 = 1 << 31;

/// The version of this C ABI (2: the soft renderer added; 3: visible strokes; 4: batch file writes,
/// SVG stroke text and the PNG decoder; 5: the encoder).
#[no_mangle]
pub extern "C" fn mnistvec_abi_version() -> u32 {
    ABI_VERSION
}

/// Number of `f32` elements in `dims` multiplied together, if the product's bytes fit in `isize`. Any zero
/// makes it 0, however large the other dimensions (their partial products may overflow).
fn element_count(dims: &[u64]) -> Option<usize> {
    element_count_of::<f32>(dims)
}

/// [`element_count`] for elements of type `T`.
fn element_count_of<T>(dims: &[u64]) -> Option<usize> {
    if dims.contains(&0) {
        return Some(0);
    }
    let count = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
    let bytes = count.checked_mul(std::mem::size_of::<T>() as u64)?;
    if bytes > isize::MAX as u64 {
        return None;
    }
    usize::try_from(count).ok()
}

/// Checks a pointer to `len` elements: non-null and aligned unless `len == 0`.
fn check_pointer<T>(ptr: *const T, len: usize) -> Result<(), i32> {
    if len == 0 {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(ERR_NULL_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(ERR_MISALIGNED);
    }
    Ok(())
}

/// A slice over `len` elements at `ptr`, empty when `len == 0` (whatever `ptr` is).
///
/// # Safety
/// When `len > 0`, `ptr` must be non-null, aligned and valid for reading `len` elements that nothing
/// writes while the slice lives.
unsafe fn input_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

/// The stroke arrays of a rendering call, with their element counts (already checked for overflow).
struct StrokeInputs {
    lines: *const f32,
    widths: *const f32,
    opacity: *const f32,
    batch: u64,
    n_lines: u64,
    line_count: usize,
    stroke_count: usize,
}

impl StrokeInputs {
    /// The batch, after checking `scale` (finite and positive), then the output's pointer check
    /// `output`, then the input pointers (non-null and aligned unless empty), in that order.
    ///
    /// # Safety
    /// Each non-null pointer must be valid for reading its count of elements while the batch lives.
    unsafe fn checked<'a>(&self, scale: f32, output: Result<(), i32>) -> Result<StrokeBatch<'a>, i32> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ERR_BAD_SCALE);
        }
        output?;
        check_pointer(self.lines, self.line_count)?;
        check_pointer(self.widths, self.stroke_count)?;
        check_pointer(self.opacity, self.stroke_count)?;
        // SAFETY: pointers checked above; sizes and validity are the caller's contract.
        Ok(StrokeBatch {
            lines: unsafe { input_slice(self.lines, self.line_count) },
            widths: unsafe { input_slice(self.widths, self.stroke_count) },
            opacity: unsafe { input_slice(self.opacity, self.stroke_count) },
            images: self.batch as usize,
            lines_per_image: self.n_lines as usize,
            scale,
        })
    }
}

/// Renders `batch` images of `height x width` pixels, each from `n_lines` strokes.
///
/// * `lines`: `[batch, n_lines, 4]` endpoints `(x0, y0, x1, y1)` in canvas units;
/// * `widths`: `[batch, n_lines]` full stroke widths in canvas units;
/// * `opacity`: `[batch, n_lines]`;
/// * `scale`: pixels per canvas unit (`endpoint_px = endpoint * scale`, `r = max(width, 0) * scale / 2`,
///   `alpha = clamp(opacity, 0, 1)`); strokes with a non-finite value are skipped;
/// * `threads`: worker threads, 0 for the machine's available parallelism;
/// * `out`: `[batch, height, width]`, every element written with `1 - prod_k (1 - alpha_k cov_k)`.
///
/// Returns `OK` (0), or a negative `ERR_*` code. When `batch`, `height` or `width` is 0 it returns `OK`
/// without reading or writing anything, whatever the other sizes and pointers; with `n_lines == 0` the
/// inputs are not read and `out` is filled with zeros. Otherwise `height` and `width` must be below
/// `MAX_SIDE`.
///
/// # Safety
/// Each non-null pointer must be valid for its array's size as above; `out` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_render(
    lines: *const f32,
    widths: *const f32,
    opacity: *const f32,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    scale: f32,
    threads: u32,
    out: *mut f32,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (Some(out_len), Some(line_count), Some(stroke_count)) = (
            element_count(&[batch, height, width]),
            element_count(&[batch, n_lines, 4]),
            element_count(&[batch, n_lines]),
        ) else {
            return ERR_SIZE_OVERFLOW;
        };
        if out_len == 0 {
            return OK;
        }
        if height >= MAX_SIDE || width >= MAX_SIDE {
            return ERR_SIZE_OVERFLOW;
        }
        let inputs = StrokeInputs {
            lines,
            widths,
            opacity,
            batch,
            n_lines,
            line_count,
            stroke_count,
        };
        // SAFETY: the sizes are the caller's contract, checked against overflow above.
        let strokes = match unsafe { inputs.checked(scale, check_pointer(out, out_len)) } {
            Ok(strokes) => strokes,
            Err(code) => return code,
        };
        // SAFETY: `out` checked non-null and aligned by `checked`; its size is the caller's contract.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        let (height, width) = (height as usize, width as usize);
        let threads = thread_count(threads, strokes.images, strokes.lines_per_image, height, width);
        render_batch(&strokes, height, width, threads, out);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Marks which strokes of each image can be seen (`visibility.rs`): `keep[b, k]` is 1 when stroke `k` of
/// image `b` stays, 0 when it is taken away because the drawing without it (and without the strokes
/// taken away before it) differs from the full drawing by less than `threshold` at every pixel of a
/// `height x width` rendering at `scale` pixels per canvas unit. Inputs as for [`mnistvec_render`];
/// strokes that draw nothing (opacity 0, width 0, non-finite) get 0.
///
/// Returns `OK` (0), or a negative `ERR_*` code (`ERR_BAD_SCALE` also for a non-finite `threshold`).
/// With `batch` or `n_lines` 0 nothing is read or written.
///
/// # Safety
/// Each non-null pointer must be valid for its array's size; `keep` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_visible_strokes(
    lines: *const f32,
    widths: *const f32,
    opacity: *const f32,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    scale: f32,
    threshold: f64,
    threads: u32,
    keep: *mut u8,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (Some(line_count), Some(stroke_count), Some(_)) = (
            element_count(&[batch, n_lines, 4]),
            element_count(&[batch, n_lines]),
            element_count(&[n_lines, height, width]),
        ) else {
            return ERR_SIZE_OVERFLOW;
        };
        if stroke_count == 0 {
            return OK;
        }
        if height >= MAX_SIDE || width >= MAX_SIDE {
            return ERR_SIZE_OVERFLOW;
        }
        if !threshold.is_finite() {
            return ERR_BAD_SCALE;
        }
        let inputs = StrokeInputs {
            lines,
            widths,
            opacity,
            batch,
            n_lines,
            line_count,
            stroke_count,
        };
        // SAFETY: the sizes are the caller's contract, checked against overflow above.
        let strokes = match unsafe { inputs.checked(scale, check_pointer(keep, stroke_count)) } {
            Ok(strokes) => strokes,
            Err(code) => return code,
        };
        // SAFETY: `keep` checked non-null and aligned by `checked`; its size is the caller's contract.
        let keep = unsafe { std::slice::from_raw_parts_mut(keep, stroke_count) };
        let (height, width) = (height as usize, width as usize);
        let threads = thread_count(threads, strokes.images, strokes.lines_per_image, height, width);
        visibility::visible_strokes(&strokes, height, width, threshold, threads, keep);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Whether a soft call has nothing to write: no pixels (forward), or no strokes (backward, loss),
/// whatever the other sizes (their products may overflow).
fn nothing_to_write(dims: &[u64]) -> bool {
    dims.contains(&0)
}

/// The sizes of a soft rendering call, checked: `(pixels, lines, strokes)` element counts, or an error.
fn soft_sizes(batch: u64, n_lines: u64, height: u64, width: u64) -> Result<(usize, usize, usize), i32> {
    let (Some(pixels), Some(line_count), Some(stroke_count), Some(_)) = (
        element_count_of::<f64>(&[batch, height, width]),
        element_count_of::<f64>(&[batch, n_lines, 4]),
        element_count_of::<f64>(&[batch, n_lines]),
        element_count_of::<f64>(&[batch, n_lines, 6]),
    ) else {
        return Err(ERR_SIZE_OVERFLOW);
    };
    if height >= MAX_SIDE || width >= MAX_SIDE {
        return Err(ERR_SIZE_OVERFLOW);
    }
    Ok((pixels, line_count, stroke_count))
}

fn check_soft_parameters(sigma: f64, tolerance: f64) -> Result<(), i32> {
    let sigma_ok = sigma.is_finite() && sigma > 0.0;
    let tolerance_ok = (0.0..1.0).contains(&tolerance);
    if sigma_ok && tolerance_ok {
        Ok(())
    } else {
        Err(ERR_BAD_SOFT_PARAMETER)
    }
}

/// The first error among `checks`, if any.
fn first_error(checks: &[Result<(), i32>]) -> Result<(), i32> {
    checks.iter().copied().find(Result::is_err).unwrap_or(Ok(()))
}

/// The strokes of a soft call, checked (sizes, `sigma` and `tolerance`, input pointers) and viewed as a
/// [`SoftBatch`], with the number of pixels of its images.
///
/// # Safety
/// Each non-null input pointer must be valid for its array's size (see the soft functions).
#[allow(clippy::too_many_arguments)]
unsafe fn soft_strokes<'a>(
    lines: *const f64,
    radius: *const f64,
    alpha: *const f64,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    sigma: f64,
    tolerance: f64,
) -> Result<(SoftBatch<'a>, usize), i32> {
    let (pixels, line_count, stroke_count) = soft_sizes(batch, n_lines, height, width)?;
    first_error(&[
        check_soft_parameters(sigma, tolerance),
        check_pointer(lines, line_count),
        check_pointer(radius, stroke_count),
        check_pointer(alpha, stroke_count),
    ])?;
    // SAFETY: pointers checked non-null and aligned above; sizes and validity are the caller's contract.
    let strokes = SoftBatch {
        lines: unsafe { input_slice(lines, line_count) },
        radius: unsafe { input_slice(radius, stroke_count) },
        alpha: unsafe { input_slice(alpha, stroke_count) },
        images: batch as usize,
        lines_per_image: n_lines as usize,
        height: height as usize,
        width: width as usize,
        sigma,
        reach_sigmas: SoftBatch::reach_for(tolerance, n_lines as usize),
    };
    Ok((strokes, pixels))
}

/// Renders `batch` soft images of `height x width` pixels from strokes in pixel units (see the crate
/// docs): `out[b, i, j] = 1 - prod_k (1 - alpha cov_k)` with the blurred coverage of `soft.rs`, blur
/// `sigma` pixels, each stroke evaluated where it can change a pixel by more than `tolerance / n_lines`
/// (`tolerance` 0: everywhere). `product` and `zeros` receive the compositing state the backward pass
/// needs. `threads` 0 uses the machine's available parallelism; the result does not depend on it.
///
/// Returns `OK`, or `ERR_SIZE_OVERFLOW`, `ERR_BAD_SOFT_PARAMETER`, `ERR_NULL_POINTER`, `ERR_MISALIGNED`,
/// `ERR_PANIC`. With no pixels it returns `OK` touching nothing; with `n_lines == 0` the inputs are not
/// read. Strokes with a non-finite value, or one beyond `1e60` in magnitude, are skipped.
///
/// # Safety
/// Each non-null pointer must be valid for its array's size; outputs must not overlap each other or the
/// inputs.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_soft_forward(
    lines: *const f64,
    radius: *const f64,
    alpha: *const f64,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    sigma: f64,
    tolerance: f64,
    threads: u32,
    out: *mut f64,
    product: *mut f64,
    zeros: *mut u32,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if nothing_to_write(&[batch, height, width]) {
            return OK;
        }
        let (strokes, pixels) = match unsafe {
            soft_strokes(
                lines, radius, alpha, batch, n_lines, height, width, sigma, tolerance,
            )
        } {
            Ok(found) => found,
            Err(code) => return code,
        };
        let checks = [
            check_pointer(out, pixels),
            check_pointer(product, pixels),
            check_pointer(zeros, pixels),
        ];
        if let Err(code) = first_error(&checks) {
            return code;
        }
        // SAFETY: pointers checked non-null and aligned above; sizes and validity are the caller's contract.
        let (out, product, zeros) = unsafe {
            (
                std::slice::from_raw_parts_mut(out, pixels),
                std::slice::from_raw_parts_mut(product, pixels),
                std::slice::from_raw_parts_mut(zeros, pixels),
            )
        };
        strokes.forward(strokes.threads(threads), out, Composite { product, zeros });
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// The gradient of a loss with respect to every stroke of a [`mnistvec_soft_forward`] call, given its
/// gradient `grad_out` with respect to the pixels and the forward call's `product` and `zeros` (same
/// strokes, sizes, `sigma` and `tolerance`). Writes `grad_strokes` `[batch, n_lines, 6]`: the partial
/// derivatives with respect to `(x0, y0, x1, y1, radius, alpha)`, 0 for skipped strokes. Each stroke's
/// sum over pixels runs in a fixed order, so the result does not depend on `threads`.
///
/// Returns as [`mnistvec_soft_forward`]. With no strokes it returns `OK` touching nothing; with no
/// pixels it writes zeros.
///
/// # Safety
/// As [`mnistvec_soft_forward`].
#[no_mangle]
pub unsafe extern "C" fn mnistvec_soft_backward(
    lines: *const f64,
    radius: *const f64,
    alpha: *const f64,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    sigma: f64,
    tolerance: f64,
    threads: u32,
    grad_out: *const f64,
    product: *const f64,
    zeros: *const u32,
    grad_strokes: *mut f64,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if nothing_to_write(&[batch, n_lines]) {
            return OK;
        }
        let (strokes, pixels) = match unsafe {
            soft_strokes(
                lines, radius, alpha, batch, n_lines, height, width, sigma, tolerance,
            )
        } {
            Ok(found) => found,
            Err(code) => return code,
        };
        let grad_count = strokes.images * strokes.lines_per_image * 6;
        let checks = [
            check_pointer(grad_strokes, grad_count),
            check_pointer(grad_out, pixels),
            check_pointer(product, pixels),
            check_pointer(zeros, pixels),
        ];
        if let Err(code) = first_error(&checks) {
            return code;
        }
        // SAFETY: pointers checked non-null and aligned above; sizes and validity are the caller's contract.
        let grads = unsafe { std::slice::from_raw_parts_mut(grad_strokes, grad_count) };
        let (grad_out, product, zeros) = unsafe {
            (
                input_slice(grad_out, pixels),
                input_slice(product, pixels),
                input_slice(zeros, pixels),
            )
        };
        strokes.backward(strokes.threads(threads), grad_out, product, zeros, grads);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Renders each image's strokes softly and scores them against `targets` (`[batch, height, width]`):
/// `losses[b]` (`[batch]`) is the sum over image `b`'s pixels of the per-pixel loss (`loss` 0: squared
/// error; 1: cross-entropy with the rendering clamped to `[eps, 1 - eps]`; see `soft_loss.rs`), and
/// `grad_strokes` (`[batch, n_lines, 6]`) its gradient with respect to every stroke, as
/// [`mnistvec_soft_backward`] would give it after [`mnistvec_soft_forward`]. Returns as those.
///
/// # Safety
/// As [`mnistvec_soft_forward`].
#[no_mangle]
pub unsafe extern "C" fn mnistvec_soft_loss(
    lines: *const f64,
    radius: *const f64,
    alpha: *const f64,
    targets: *const f64,
    batch: u64,
    n_lines: u64,
    height: u64,
    width: u64,
    sigma: f64,
    tolerance: f64,
    loss: u32,
    eps: f64,
    threads: u32,
    losses: *mut f64,
    grad_strokes: *mut f64,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if nothing_to_write(&[batch]) {
            return OK;
        }
        let loss = match loss {
            0 => Loss::SquaredError,
            1 if eps > 0.0 && eps < 0.5 => Loss::CrossEntropy { eps },
            _ => return ERR_BAD_SOFT_PARAMETER,
        };
        let (strokes, pixels) = match unsafe {
            soft_strokes(
                lines, radius, alpha, batch, n_lines, height, width, sigma, tolerance,
            )
        } {
            Ok(found) => found,
            Err(code) => return code,
        };
        let grad_count = strokes.images * strokes.lines_per_image * 6;
        let checks = [
            check_pointer(losses, strokes.images),
            check_pointer(grad_strokes, grad_count),
            check_pointer(targets, pixels),
        ];
        if let Err(code) = first_error(&checks) {
            return code;
        }
        // SAFETY: pointers checked non-null and aligned above; sizes and validity are the caller's contract.
        let (losses, grads) = unsafe {
            (
                std::slice::from_raw_parts_mut(losses, strokes.images),
                std::slice::from_raw_parts_mut(grad_strokes, grad_count),
            )
        };
        let targets = unsafe { input_slice(targets, pixels) };
        strokes.loss(strokes.threads(threads), targets, loss, losses, grads);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// A blob of `count` byte strings and its `count + 1` offsets (see [`blob`]), checked: pointers non-null
/// and aligned, offsets non-decreasing. The blob's length is the last offset.
///
/// # Safety
/// `offsets` must be valid for `count + 1` `u64`s, and `bytes` for as many bytes as the last offset says.
unsafe fn checked_blob<'a>(bytes: *const u8, offsets: *const u64, count: u64) -> Result<Blob<'a>, i32> {
    let Some(offset_count) = count.checked_add(1).and_then(|n| element_count_of::<u64>(&[n])) else {
        return Err(ERR_SIZE_OVERFLOW);
    };
    check_pointer(offsets, offset_count)?;
    // SAFETY: checked non-null and aligned; its size is the caller's contract.
    let offsets = unsafe { input_slice(offsets, offset_count) };
    let Some(length) = element_count_of::<u8>(&[offsets[offset_count - 1]]) else {
        return Err(ERR_SIZE_OVERFLOW);
    };
    check_pointer(bytes, length)?;
    // SAFETY: as above.
    let blob = Blob {
        bytes: unsafe { input_slice(bytes, length) },
        offsets,
    };
    if blob.is_valid() {
        Ok(blob)
    } else {
        Err(ERR_SIZE_OVERFLOW)
    }
}

/// Writes `count` files atomically (see [`files`]): file `k` goes to path `k` of the `paths` blob by way of
/// the temporary path `k` of `temps`, with the bytes `k` of `data` (each blob: its byte strings one after
/// another, string `k` at `blob[offsets[k]..offsets[k + 1]]`, `count + 1` offsets from 0; paths are the
/// Unix bytes of the names, without NUL). `errors[k]` gets 0 when file `k` was written, else the OS error
/// number (or -1 for an error without one), the target then left as it was and no temporary file left.
/// `threads`: worker threads, 0 for one per core (files of one folder mostly wait on each other in the
/// kernel, so 1 is as fast there).
///
/// Returns `OK` (0) once every file was tried, or a negative `ERR_*` code before any was (bad offsets:
/// `ERR_SIZE_OVERFLOW`).
///
/// # Safety
/// Each blob and its offsets must be valid as above, and `errors` for `count` `i32`s.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_write_files(
    paths: *const u8,
    path_offsets: *const u64,
    temps: *const u8,
    temp_offsets: *const u64,
    data: *const u8,
    data_offsets: *const u64,
    count: u64,
    threads: u32,
    errors: *mut i32,
) -> i32 {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    let result = catch_unwind(AssertUnwindSafe(|| {
        let Some(files) = element_count_of::<i32>(&[count]) else {
            return ERR_SIZE_OVERFLOW;
        };
        // SAFETY: the blobs' validity is the caller's contract; `checked_blob` checks their offsets.
        let blobs = unsafe {
            (
                checked_blob(paths, path_offsets, count),
                checked_blob(temps, temp_offsets, count),
                checked_blob(data, data_offsets, count),
            )
        };
        let (paths, temps, data) = match blobs {
            (Ok(p), Ok(t), Ok(d)) => (p, t, d),
            (Err(code), _, _) | (_, Err(code), _) | (_, _, Err(code)) => return code,
        };
        if let Err(code) = check_pointer(errors, files) {
            return code;
        }
        let jobs: Vec<files::FileJob> = (0..files)
            .map(|k| files::FileJob {
                target: Path::new(OsStr::from_bytes(paths.item(k))),
                temp: Path::new(OsStr::from_bytes(temps.item(k))),
                data: data.item(k),
            })
            .collect();
        // SAFETY: `errors` checked non-null and aligned; its size is the caller's contract.
        let errors = unsafe { std::slice::from_raw_parts_mut(errors, files) };
        let threads = if threads == 0 {
            parallel::available_threads()
        } else {
            threads as usize
        };
        files::write_all_atomic(&jobs, threads.min(parallel::MAX_THREADS), errors);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// The `<line>` elements of `batch` SVG drawings of `n_lines` strokes each (see [`svg_text`]): `rows`
/// `[batch, n_lines, 6]` holds each stroke's `(x0, y0, x1, y1, width, opacity)` in pixels, `drawn`
/// `[batch, n_lines]` which of them are written. Drawing `k`'s text goes to `out[offsets[k]..offsets[k + 1]]`
/// (`offsets`: `batch + 1` entries from 0), with `capacity` bytes at `out`, which must be at least
/// `batch * n_lines * 144` (`svg_text::MAX_ELEMENT_BYTES` per stroke).
///
/// Returns `OK` (0), or a negative `ERR_*` code (`ERR_SIZE_OVERFLOW` for a `capacity` below that bound).
///
/// # Safety
/// Each non-null pointer must be valid for its array's size; `out` and `offsets` must not overlap the
/// inputs or each other.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_svg_lines(
    rows: *const f64,
    drawn: *const u8,
    batch: u64,
    n_lines: u64,
    out: *mut u8,
    capacity: u64,
    offsets: *mut u64,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (Some(row_count), Some(strokes), Some(offset_count), Some(needed)) = (
            element_count_of::<f64>(&[batch, n_lines, 6]),
            element_count_of::<u8>(&[batch, n_lines]),
            batch.checked_add(1).and_then(|n| element_count_of::<u64>(&[n])),
            element_count_of::<u8>(&[batch, n_lines, svg_text::MAX_ELEMENT_BYTES as u64]),
        ) else {
            return ERR_SIZE_OVERFLOW;
        };
        if (capacity as u128) < needed as u128 || usize::try_from(capacity).is_err() {
            return ERR_SIZE_OVERFLOW;
        }
        for check in [
            check_pointer(rows, row_count),
            check_pointer(drawn, strokes),
            check_pointer(out as *const u8, needed),
            check_pointer(offsets as *const u64, offset_count),
        ] {
            if let Err(code) = check {
                return code;
            }
        }
        // SAFETY: pointers checked above; sizes and validity are the caller's contract.
        let (rows, drawn) = unsafe { (input_slice(rows, row_count), input_slice(drawn, strokes)) };
        // SAFETY: as above; `offsets` has `batch + 1` entries.
        let offsets = unsafe { std::slice::from_raw_parts_mut(offsets, offset_count) };
        let n = n_lines as usize;
        let mut text = Vec::with_capacity(needed);
        offsets[0] = 0;
        for k in 0..batch as usize {
            svg_text::push_lines(
                &rows[k * n * 6..(k + 1) * n * 6],
                &drawn[k * n..(k + 1) * n],
                &mut text,
            );
            offsets[k + 1] = text.len() as u64;
        }
        if text.len() > needed {
            return ERR_SIZE_OVERFLOW; // never: each element is within its bound
        }
        if !text.is_empty() {
            // SAFETY: `out` is valid for `needed >= text.len()` bytes (bound above) and does not overlap `text`.
            unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), out, text.len()) };
        }
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Reads and decodes `count` PNG files to 8-bit gray (see [`png`] for what is handled): file `k`'s path is
/// the bytes `paths[offsets[k]..offsets[k + 1]]` (Unix path bytes, no NUL; `offsets` has `count + 1`
/// non-decreasing entries, `paths` `offsets[count]` bytes). Each file is opened without blocking, checked
/// to be a regular file of at most 16 MiB, read and decoded; `out[k * height * width ..]` (`[count, height,
/// width]`) gets its pixels and `status[k]` 0, or `status[k]` is 1 (not handled, for any reason, an I/O
/// error included) and its slot of `out` is unspecified. `threads` 0 uses the machine's available
/// parallelism; the result does not depend on it.
///
/// Returns `OK`, `ERR_NULL_POINTER`, `ERR_MISALIGNED`, `ERR_SIZE_OVERFLOW` (also for offsets that
/// decrease) or `ERR_PANIC`. With `count == 0` nothing is read or written; with `height` or `width` 0 every
/// status is 1 and no file is opened.
///
/// # Safety
/// Each non-null pointer must be valid for its array's size; `out` and `status` must not overlap each
/// other or the inputs.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_decode_png_gray(
    paths: *const u8,
    offsets: *const u64,
    count: u64,
    height: u64,
    width: u64,
    threads: u32,
    out: *mut u8,
    status: *mut i32,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if count == 0 {
            return OK;
        }
        let (Some(out_len), Some(status_len)) = (
            element_count_of::<u8>(&[count, height, width]),
            element_count_of::<i32>(&[count]),
        ) else {
            return ERR_SIZE_OVERFLOW;
        };
        if let Err(code) = first_error(&[check_pointer(status, status_len), check_pointer(out, out_len)]) {
            return code;
        }
        // SAFETY: the paths' validity is the caller's contract; `checked_blob` checks their offsets.
        let files = match unsafe { checked_blob(paths, offsets, count) } {
            Ok(files) => files,
            Err(code) => return code,
        };
        // SAFETY: checked non-null and aligned above; sizes and validity are the caller's contract.
        let (out, status) = unsafe {
            (
                std::slice::from_raw_parts_mut(out, out_len),
                std::slice::from_raw_parts_mut(status, status_len),
            )
        };
        png_batch::decode_files(files, height as usize, width as usize, threads, out, status);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// The encoder's sizes, from four `u64`s, when they are ones it runs.
fn encoder_dims(in_planes: u64, channels: u64, hidden: u64, outputs: u64) -> Result<encoder::Dims, i32> {
    let size = |v: u64| usize::try_from(v).map_err(|_| ERR_BAD_ENCODER);
    let dims = encoder::Dims {
        in_planes: size(in_planes)?,
        channels: size(channels)?,
        hidden: size(hidden)?,
        outputs: size(outputs)?,
    };
    if dims.valid() {
        Ok(dims)
    } else {
        Err(ERR_BAD_ENCODER)
    }
}

/// Writes how many floats the encoder of these sizes has in torch's layout (`torch_len`) and packed
/// (`packed_len`).
///
/// Returns `OK` (0), `ERR_BAD_ENCODER` for sizes it does not run (`in_planes` 1 or 3, `channels` a
/// positive multiple of 8 up to 4096, `hidden` and `outputs` from 1 to 65536), or another negative `ERR_*`
/// code.
///
/// # Safety
/// `torch_len` and `packed_len` must each be valid for writing one `u64`.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_encoder_sizes(
    in_planes: u64,
    channels: u64,
    hidden: u64,
    outputs: u64,
    torch_len: *mut u64,
    packed_len: *mut u64,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let dims = match encoder_dims(in_planes, channels, hidden, outputs) {
            Ok(dims) => dims,
            Err(code) => return code,
        };
        if let Err(code) = first_error(&[check_pointer(torch_len, 1), check_pointer(packed_len, 1)]) {
            return code;
        }
        // SAFETY: checked non-null and aligned above; validity is the caller's contract.
        unsafe {
            *torch_len = dims.torch_len() as u64;
            *packed_len = dims.packed_len() as u64;
        }
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Packs the encoder's weights, `weights_len` floats in torch's layout and order (module docs of
/// [`encoder`]), into `packed` (`packed_len` floats), for [`mnistvec_encode`].
///
/// Returns `OK` (0), `ERR_BAD_ENCODER` for sizes it does not run or lengths other than
/// [`mnistvec_encoder_sizes`] gives, or another negative `ERR_*` code.
///
/// # Safety
/// `weights` must be valid for reading `weights_len` floats and `packed` for writing `packed_len`, not
/// overlapping.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_encoder_pack(
    weights: *const f32,
    weights_len: u64,
    in_planes: u64,
    channels: u64,
    hidden: u64,
    outputs: u64,
    packed: *mut f32,
    packed_len: u64,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let dims = match encoder_dims(in_planes, channels, hidden, outputs) {
            Ok(dims) => dims,
            Err(code) => return code,
        };
        if weights_len != dims.torch_len() as u64 || packed_len != dims.packed_len() as u64 {
            return ERR_BAD_ENCODER;
        }
        let (weights_len, packed_len) = (dims.torch_len(), dims.packed_len());
        if let Err(code) = first_error(&[
            check_pointer(weights, weights_len),
            check_pointer(packed, packed_len),
        ]) {
            return code;
        }
        // SAFETY: checked non-null and aligned above; sizes and validity are the caller's contract.
        let (weights, packed) = unsafe {
            (
                input_slice(weights, weights_len),
                std::slice::from_raw_parts_mut(packed, packed_len),
            )
        };
        encoder::pack_weights(dims, weights, packed);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

/// Runs the encoder (weights from [`mnistvec_encoder_pack`], `packed_len` floats) on `images`
/// (`[batch, 28, 28]` floats) and writes its `[batch, outputs]` raw numbers to `out`, on up to `threads`
/// threads (0: the machine's available parallelism). An image's numbers do not depend on the batch or
/// the threads.
///
/// Returns `OK` (0), `ERR_BAD_ENCODER` for sizes it does not run or a `packed_len` other than theirs,
/// `ERR_SIZE_OVERFLOW` when the arrays' sizes overflow, or another negative `ERR_*` code. With `batch` 0
/// the images and `out` are not read or written.
///
/// # Safety
/// `packed` must be valid for reading `packed_len` floats, `images` for reading `batch * 784` and `out`
/// for writing `batch * outputs`, `out` not overlapping the others.
#[no_mangle]
pub unsafe extern "C" fn mnistvec_encode(
    packed: *const f32,
    packed_len: u64,
    in_planes: u64,
    channels: u64,
    hidden: u64,
    outputs: u64,
    images: *const f32,
    batch: u64,
    threads: u32,
    out: *mut f32,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let dims = match encoder_dims(in_planes, channels, hidden, outputs) {
            Ok(dims) => dims,
            Err(code) => return code,
        };
        if packed_len != dims.packed_len() as u64 {
            return ERR_BAD_ENCODER;
        }
        let side = encoder::SIDE as u64;
        let (Some(image_len), Some(out_len)) = (
            element_count(&[batch, side, side]),
            element_count(&[batch, outputs]),
        ) else {
            return ERR_SIZE_OVERFLOW;
        };
        if batch == 0 {
            return OK;
        }
        let packed_len = dims.packed_len();
        if let Err(code) = first_error(&[
            check_pointer(out, out_len),
            check_pointer(packed, packed_len),
            check_pointer(images, image_len),
        ]) {
            return code;
        }
        // SAFETY: checked non-null and aligned above; sizes and validity are the caller's contract.
        let (packed, images, out) = unsafe {
            (
                input_slice(packed, packed_len),
                input_slice(images, image_len),
                std::slice::from_raw_parts_mut(out, out_len),
            )
        };
        encoder::encode_images(dims, packed, images, threads, out);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_version_is_five() {
        assert_eq!(mnistvec_abi_version(), 5);
    }

    #[test]
    fn visible_strokes_through_the_c_abi() {
        let lines = [0.2f32, 0.2, 0.8, 0.2, 0.2, 0.7, 0.8, 0.7];
        let widths = [0.08f32, 0.08];
        let opacity = [1.0f32, 0.002];
        let mut keep = [7u8; 2];
        let code = unsafe {
            mnistvec_visible_strokes(
                lines.as_ptr(),
                widths.as_ptr(),
                opacity.as_ptr(),
                1,
                2,
                28,
                28,
                28.0,
                1.0 / 255.0,
                1,
                keep.as_mut_ptr(),
            )
        };
        assert_eq!((code, keep), (OK, [1, 0]));
        let null = unsafe {
            mnistvec_visible_strokes(
                std::ptr::null(),
                widths.as_ptr(),
                opacity.as_ptr(),
                1,
                2,
                28,
                28,
                28.0,
                1.0 / 255.0,
                1,
                keep.as_mut_ptr(),
            )
        };
        assert_eq!(null, ERR_NULL_POINTER);
        let bad = unsafe {
            mnistvec_visible_strokes(
                lines.as_ptr(),
                widths.as_ptr(),
                opacity.as_ptr(),
                1,
                2,
                28,
                28,
                28.0,
                f64::NAN,
                1,
                keep.as_mut_ptr(),
            )
        };
        assert_eq!(bad, ERR_BAD_SCALE);
    }

    #[test]
    fn renders_through_the_c_abi() {
        let lines = [0.0f32, 0.5, 1.0, 0.5, 0.5, 0.0, 0.5, 1.0];
        let widths = [0.25f32, 0.0];
        let opacity = [1.0f32, 1.0];
        let mut out = vec![f32::NAN; 2 * 8 * 8];
        let code = unsafe {
            mnistvec_render(
                lines.as_ptr(),
                widths.as_ptr(),
                opacity.as_ptr(),
                2,
                1,
                8,
                8,
                8.0,
                0,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(code, OK);
        // Image 0: a horizontal 2-pixel stroke on y = 4 px fills rows 3 and 4.
        for row in 0..8 {
            let value = out[row * 8 + 4];
            let expected = if row == 3 || row == 4 { 1.0 } else { 0.0 };
            assert!((value - expected).abs() < 1.0 / 256.0, "row {row}: {value}");
        }
        // Image 1: a zero-width stroke draws nothing.
        assert!(out[64..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn zero_lines_fill_zeros_without_reading_inputs() {
        let mut out = vec![f32::NAN; 3 * 4 * 5];
        let null = std::ptr::null();
        let code = unsafe { mnistvec_render(null, null, null, 3, 0, 4, 5, 1.0, 1, out.as_mut_ptr()) };
        assert_eq!(code, OK);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn empty_output_is_a_no_op() {
        let null = std::ptr::null();
        let code = unsafe { mnistvec_render(null, null, null, 0, 5, 28, 28, 1.0, 0, std::ptr::null_mut()) };
        assert_eq!(code, OK);
        let code = unsafe { mnistvec_render(null, null, null, 5, 5, 0, 28, 1.0, 0, std::ptr::null_mut()) };
        assert_eq!(code, OK);
    }

    #[test]
    fn bad_arguments_return_error_codes() {
        let values = [0.5f32; 4];
        let p = values.as_ptr();
        let mut out = [0.0f32; 4];
        let o = out.as_mut_ptr();
        let null = std::ptr::null();
        unsafe {
            assert_eq!(
                mnistvec_render(null, p, p, 1, 1, 2, 2, 1.0, 1, o),
                ERR_NULL_POINTER
            );
            assert_eq!(
                mnistvec_render(p, p, null, 1, 1, 2, 2, 1.0, 1, o),
                ERR_NULL_POINTER
            );
            assert_eq!(
                mnistvec_render(p, p, p, 1, 1, 2, 2, 1.0, 1, std::ptr::null_mut()),
                ERR_NULL_POINTER
            );
            assert_eq!(
                mnistvec_render(p, p, p, 1, 1, 2, 2, f32::NAN, 1, o),
                ERR_BAD_SCALE
            );
            assert_eq!(mnistvec_render(p, p, p, 1, 1, 2, 2, 0.0, 1, o), ERR_BAD_SCALE);
            assert_eq!(
                mnistvec_render(p, p, p, u64::MAX, 1, 2, 2, 1.0, 1, o),
                ERR_SIZE_OVERFLOW
            );
            assert_eq!(
                mnistvec_render(p, p, p, 1, u64::MAX / 2, 2, 2, 1.0, 1, o),
                ERR_SIZE_OVERFLOW
            );
            assert_eq!(
                mnistvec_render(p, p, p, 1, 1, 1 << 32, 1 << 31, 1.0, 1, o),
                ERR_SIZE_OVERFLOW
            );
            assert_eq!(
                mnistvec_render(p, p, p, 1, 1, 1, MAX_SIDE, 1.0, 1, o),
                ERR_SIZE_OVERFLOW
            );
            let misaligned = (p as *const u8).add(1) as *const f32;
            assert_eq!(
                mnistvec_render(misaligned, p, p, 1, 1, 2, 2, 1.0, 1, o),
                ERR_MISALIGNED
            );
        }
    }

    /// Floats on each side of an output buffer, and the bit pattern they hold (a quiet NaN).
    const GUARD: usize = 64;
    const SENTINEL: u32 = 0x7FC5_A5A5;

    /// Values that need care: NaN, infinities, huge, subnormal, zero, negative.
    const HOSTILE: [f32; 18] = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        3e38,
        -3e38,
        f32::MAX,
        f32::MIN,
        0.0,
        -0.0,
        1e-45,
        1e-40,
        f32::MIN_POSITIVE,
        0.5,
        1.0,
        -1.0,
        2.0,
    ];

    /// `count` values, each an ordinary one in `[lo, hi]` or (one time in three) one of [`HOSTILE`].
    fn hostile_values(seed: u32, count: usize, lo: f32, hi: f32) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let pick = state >> 8;
                if pick.is_multiple_of(3) {
                    HOSTILE[(pick / 3) as usize % HOSTILE.len()]
                } else {
                    lo + (hi - lo) * (pick % 65_536) as f32 / 65_536.0
                }
            })
            .collect()
    }

    struct Strokes {
        lines: Vec<f32>,
        widths: Vec<f32>,
        opacity: Vec<f32>,
        batch: u64,
        n_lines: u64,
    }

    fn hostile_strokes(seed: u32, batch: usize, n_lines: usize) -> Strokes {
        let count = batch * n_lines;
        Strokes {
            lines: hostile_values(seed, count * 4, -0.5, 1.5),
            widths: hostile_values(seed + 1, count, -0.05, 0.3),
            opacity: hostile_values(seed + 2, count, -0.5, 1.5),
            batch: batch as u64,
            n_lines: n_lines as u64,
        }
    }

    /// `mnistvec_render` writing into the middle of a buffer of [`SENTINEL`]s: the return code and the
    /// image, after checking that no guard float changed.
    fn render_guarded(
        strokes: &Strokes,
        lines: *const f32,
        widths: *const f32,
        opacity: *const f32,
        (height, width): (u64, u64),
        scale: f32,
        threads: u32,
    ) -> (i32, Vec<f32>) {
        let len = (strokes.batch * height * width) as usize;
        let mut buffer = vec![f32::from_bits(SENTINEL); len + 2 * GUARD];
        let out = buffer[GUARD..].as_mut_ptr();
        let (batch, n_lines) = (strokes.batch, strokes.n_lines);
        let code = unsafe {
            mnistvec_render(
                lines, widths, opacity, batch, n_lines, height, width, scale, threads, out,
            )
        };
        let guards = buffer[..GUARD].iter().chain(&buffer[GUARD + len..]);
        assert!(
            guards.into_iter().all(|v| v.to_bits() == SENTINEL),
            "a guard float was written"
        );
        (code, buffer[GUARD..GUARD + len].to_vec())
    }

    fn render_clean(strokes: &Strokes, size: (u64, u64), scale: f32, threads: u32) -> (i32, Vec<f32>) {
        let (l, w, o) = (&strokes.lines, &strokes.widths, &strokes.opacity);
        render_guarded(strokes, l.as_ptr(), w.as_ptr(), o.as_ptr(), size, scale, threads)
    }

    #[test]
    fn hostile_values_give_finite_pixels_inside_the_output_only() {
        let strokes = hostile_strokes(7, 40, 60);
        for scale in [1e-45, 1e-3, 1.0, 20.0, 5000.0, 1e30, f32::MAX] {
            for size in [(20, 17), (1, 1), (3, 4100)] {
                let (code, image) = render_clean(&strokes, size, scale, 1);
                assert_eq!(code, OK);
                assert!(
                    image.iter().all(|v| (0.0..=1.0).contains(v)),
                    "scale {scale}, {size:?}"
                );
                let (code, threaded) = render_clean(&strokes, size, scale, u32::MAX);
                assert_eq!(code, OK);
                assert!(threaded
                    .iter()
                    .zip(&image)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
        let (_, image) = render_clean(&strokes, (20, 17), 20.0, 0);
        assert!(image.iter().any(|&v| v > 0.5) && image.contains(&0.0));
    }

    /// A copy of `values` in the middle of a vector padded with `fill`, and a pointer to the copy.
    fn padded(values: &[f32], fill: f32) -> (Vec<f32>, usize) {
        let mut buffer = vec![fill; values.len() + 2 * GUARD];
        buffer[GUARD..GUARD + values.len()].copy_from_slice(values);
        (buffer, GUARD)
    }

    #[test]
    fn inputs_are_read_within_their_bounds_only() {
        // Strokes that cover every pixel lie just past each input: reading one would change the image.
        let strokes = hostile_strokes(11, 9, 30);
        let (clean_code, clean) = render_clean(&strokes, (16, 16), 16.0, 1);
        assert_eq!(clean_code, OK);
        let (lines, start) = padded(&strokes.lines, 0.5);
        let (widths, _) = padded(&strokes.widths, 1e30);
        let (opacity, _) = padded(&strokes.opacity, 1.0);
        let (l, w, o) = (
            lines[start..].as_ptr(),
            widths[start..].as_ptr(),
            opacity[start..].as_ptr(),
        );
        for threads in [1, 3] {
            let (code, image) = render_guarded(&strokes, l, w, o, (16, 16), 16.0, threads);
            assert_eq!(code, OK);
            assert!(image.iter().zip(&clean).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn empty_outputs_touch_nothing_whatever_the_other_sizes() {
        let null = std::ptr::null();
        let out = std::ptr::null_mut();
        for (batch, n_lines, height, width) in [
            (0, u64::MAX / 8, MAX_SIDE - 1, MAX_SIDE - 1),
            (3, 5, MAX_SIDE - 1, 0),
            (3, 5, 0, u64::MAX / 16),
            // The partial product batch * height overflows before width makes it 0 (once refused).
            (u64::MAX / 16, 0, 28, 0),
        ] {
            let code =
                unsafe { mnistvec_render(null, null, null, batch, n_lines, height, width, 1.0, 0, out) };
            assert_eq!(code, OK, "{batch} x {n_lines} x {height} x {width}");
        }
    }

    #[test]
    fn sizes_that_overflow_are_refused_before_any_access() {
        // Dangling but non-null, aligned pointers: any access would be out of bounds.
        let dangling = std::ptr::NonNull::<f32>::dangling().as_ptr();
        for (batch, n_lines, height, width) in [
            (u64::MAX, 1, 1, 1),
            (1, u64::MAX / 4 + 1, 1, 1),
            (1 << 33, 1 << 33, 1, 1),
            (1 << 62, 1, 1, 1),
            (1 << 61, 0, 1, 1),
            (1, 1, 1 << 32, 1 << 32),
            (1, 1, MAX_SIDE, 1),
            (1, 1, 1, u64::MAX),
        ] {
            let code = unsafe {
                mnistvec_render(
                    dangling, dangling, dangling, batch, n_lines, height, width, 1.0, 0, dangling,
                )
            };
            assert_eq!(
                code, ERR_SIZE_OVERFLOW,
                "{batch} x {n_lines} x {height} x {width}"
            );
        }
    }

    #[test]
    fn scales_that_are_not_finite_and_positive_are_refused() {
        let strokes = hostile_strokes(3, 1, 2);
        for scale in [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            f32::MIN,
        ] {
            let (code, image) = render_clean(&strokes, (2, 2), scale, 1);
            assert_eq!(code, ERR_BAD_SCALE, "scale {scale}");
            assert!(
                image.iter().all(|v| v.to_bits() == SENTINEL),
                "written with scale {scale}"
            );
        }
    }

    #[test]
    fn null_and_misaligned_pointers_are_refused_in_every_position() {
        let values = [0.5f32; 8];
        let p = values.as_ptr();
        let misaligned = unsafe { (p as *const u8).add(1) as *const f32 };
        let mut out = [0.0f32; 8];
        let o = out.as_mut_ptr();
        for (bad, code) in [(std::ptr::null(), ERR_NULL_POINTER), (misaligned, ERR_MISALIGNED)] {
            let bad_out = bad as *mut f32;
            unsafe {
                assert_eq!(mnistvec_render(bad, p, p, 1, 1, 2, 2, 1.0, 1, o), code);
                assert_eq!(mnistvec_render(p, bad, p, 1, 1, 2, 2, 1.0, 1, o), code);
                assert_eq!(mnistvec_render(p, p, bad, 1, 1, 2, 2, 1.0, 1, o), code);
                assert_eq!(mnistvec_render(p, p, p, 1, 1, 2, 2, 1.0, 1, bad_out), code);
            }
        }
        assert!(out.iter().all(|&v| v == 0.0));
    }

    /// One soft rendering of `images` images of 8x8 pixels from `lines` (4 per stroke), radius 1.5 and
    /// opacity 0.8, through the three soft functions of the C ABI: (codes, pixels, forward-backward
    /// gradient, fused-loss gradient).
    fn soft_through_the_abi(
        lines: &[f64],
        images: usize,
        sigma: f64,
    ) -> ([i32; 3], Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = lines.len() / 4 / images;
        let radius = vec![1.5; images * n];
        let alpha = vec![0.8; images * n];
        let pixels = images * 64;
        let (mut out, mut product, mut zeros) =
            (vec![f64::NAN; pixels], vec![f64::NAN; pixels], vec![9u32; pixels]);
        let targets = vec![0.25; pixels];
        let upstream: Vec<f64> = vec![f64::NAN; pixels];
        let (mut grads, mut fused, mut losses) = (
            vec![f64::NAN; images * n * 6],
            vec![f64::NAN; images * n * 6],
            vec![0.0; images],
        );
        let (b, n64) = (images as u64, n as u64);
        let forward = unsafe {
            mnistvec_soft_forward(
                lines.as_ptr(),
                radius.as_ptr(),
                alpha.as_ptr(),
                b,
                n64,
                8,
                8,
                sigma,
                1e-6,
                0,
                out.as_mut_ptr(),
                product.as_mut_ptr(),
                zeros.as_mut_ptr(),
            )
        };
        // The squared error's gradient with respect to the pixels, 2 (y - x).
        let upstream: Vec<f64> = upstream
            .iter()
            .zip(&out)
            .map(|(_, &y)| 2.0 * (y - 0.25))
            .collect();
        let backward = unsafe {
            mnistvec_soft_backward(
                lines.as_ptr(),
                radius.as_ptr(),
                alpha.as_ptr(),
                b,
                n64,
                8,
                8,
                sigma,
                1e-6,
                0,
                upstream.as_ptr(),
                product.as_ptr(),
                zeros.as_ptr(),
                grads.as_mut_ptr(),
            )
        };
        let loss = unsafe {
            mnistvec_soft_loss(
                lines.as_ptr(),
                radius.as_ptr(),
                alpha.as_ptr(),
                targets.as_ptr(),
                b,
                n64,
                8,
                8,
                sigma,
                1e-6,
                0,
                0.0,
                0,
                losses.as_mut_ptr(),
                fused.as_mut_ptr(),
            )
        };
        ([forward, backward, loss], out, grads, fused)
    }

    #[test]
    fn soft_functions_draw_and_differentiate_through_the_c_abi() {
        let lines = [
            1.0,
            4.0,
            7.0,
            4.0,
            f64::NAN,
            0.0,
            1.0,
            1.0,
            4.0,
            1.0,
            4.0,
            7.0,
            1e30,
            -1e30,
            3e38,
            2.0,
        ];
        let (codes, out, grads, fused) = soft_through_the_abi(&lines, 2, 0.5);
        assert_eq!(codes, [OK; 3]);
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            out[..64].iter().any(|&v| v > 0.5),
            "the first image has a horizontal stroke"
        );
        assert!(grads.iter().all(|v| v.is_finite()));
        assert_eq!(grads, fused, "the fused loss gives the separate passes' gradient");
        assert!(
            grads[6..12].iter().all(|&g| g == 0.0),
            "a stroke with NaN is skipped"
        );
        assert!(grads[..6].iter().any(|&g| g != 0.0));
    }

    #[test]
    fn soft_functions_refuse_bad_parameters_and_pointers() {
        let values = [0.5f64; 16];
        let mut out = [0.0f64; 64];
        let mut product = [0.0f64; 64];
        let mut zeros = [0u32; 64];
        let p = values.as_ptr();
        let (product_ptr, zeros_ptr) = (product.as_mut_ptr(), zeros.as_mut_ptr());
        let forward = |sigma: f64, tolerance: f64, lines: *const f64, out: *mut f64| unsafe {
            mnistvec_soft_forward(
                lines,
                p,
                p,
                1,
                1,
                8,
                8,
                sigma,
                tolerance,
                1,
                out,
                product_ptr,
                zeros_ptr,
            )
        };
        let o = out.as_mut_ptr();
        for (sigma, tolerance) in [
            (0.0, 1e-6),
            (-1.0, 0.0),
            (f64::NAN, 0.0),
            (f64::INFINITY, 0.0),
            (0.5, 1.0),
            (0.5, -1e-9),
            (0.5, f64::NAN),
        ] {
            assert_eq!(
                forward(sigma, tolerance, p, o),
                ERR_BAD_SOFT_PARAMETER,
                "{sigma} {tolerance}"
            );
        }
        assert_eq!(forward(0.5, 0.0, std::ptr::null(), o), ERR_NULL_POINTER);
        assert_eq!(forward(0.5, 0.0, p, std::ptr::null_mut()), ERR_NULL_POINTER);
        let misaligned = unsafe { (p as *const u8).add(1) } as *const f64;
        assert_eq!(forward(0.5, 0.0, misaligned, o), ERR_MISALIGNED);
        assert_eq!(forward(0.5, 0.0, p, o), OK);
        // Sizes that overflow, and empty outputs that touch nothing.
        let dangling = std::ptr::NonNull::<f64>::dangling().as_ptr();
        let code = unsafe {
            mnistvec_soft_forward(
                dangling,
                dangling,
                dangling,
                u64::MAX,
                1,
                1,
                1,
                0.5,
                0.0,
                0,
                dangling,
                dangling,
                std::ptr::NonNull::<u32>::dangling().as_ptr(),
            )
        };
        assert_eq!(code, ERR_SIZE_OVERFLOW);
        let code = unsafe {
            mnistvec_soft_forward(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                1 << 40,
                1 << 20,
                0,
                28,
                0.5,
                0.0,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(code, OK);
        let mut losses = [0.0f64; 1];
        let mut grads = [0.0f64; 6];
        for (loss, eps) in [(2, 0.0), (1, 0.0), (1, 0.5), (1, f64::NAN)] {
            let code = unsafe {
                mnistvec_soft_loss(
                    p,
                    p,
                    p,
                    out.as_ptr(),
                    1,
                    1,
                    8,
                    8,
                    0.5,
                    0.0,
                    loss,
                    eps,
                    1,
                    losses.as_mut_ptr(),
                    grads.as_mut_ptr(),
                )
            };
            assert_eq!(code, ERR_BAD_SOFT_PARAMETER, "loss {loss}, eps {eps}");
        }
    }

    #[test]
    fn png_decoder_through_the_c_abi() {
        let names: &[&[u8]] = &[b"/nonexistent/a.png", b"/", b"/dev/null"];
        let paths: Vec<u8> = names.concat();
        let mut offsets = vec![0u64];
        for name in names {
            offsets.push(offsets.last().unwrap() + name.len() as u64);
        }
        let mut out = vec![0u8; 3 * 4];
        let mut status = vec![7i32; 3];
        let call = |offsets: &[u64], count, out: *mut u8, status: *mut i32| unsafe {
            mnistvec_decode_png_gray(paths.as_ptr(), offsets.as_ptr(), count, 2, 2, 0, out, status)
        };
        assert_eq!(call(&offsets, 3, out.as_mut_ptr(), status.as_mut_ptr()), OK);
        assert_eq!(status, vec![1, 1, 1]);
        assert_eq!(call(&offsets, 0, std::ptr::null_mut(), std::ptr::null_mut()), OK);
        assert_eq!(
            call(&offsets, 3, std::ptr::null_mut(), status.as_mut_ptr()),
            ERR_NULL_POINTER
        );
        assert_eq!(
            call(&[0, 5, 3, 12], 3, out.as_mut_ptr(), status.as_mut_ptr()),
            ERR_SIZE_OVERFLOW
        );
        assert_eq!(
            call(&offsets, u64::MAX, out.as_mut_ptr(), status.as_mut_ptr()),
            ERR_SIZE_OVERFLOW
        );
        let misaligned = unsafe { (status.as_mut_ptr() as *mut u8).add(1) as *mut i32 };
        assert_eq!(call(&offsets, 3, out.as_mut_ptr(), misaligned), ERR_MISALIGNED);
    }
}
