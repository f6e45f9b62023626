//! Native line renderer for `mnistvec`: anti-aliased straight strokes composited over a black canvas.
//!
//! Pixel (i, j) is the unit square `[j, j+1] x [i, i+1]` with centre `(j + 1/2, i + 1/2)`. A stroke is the
//! segment `A-B` thickened by radius `r` with round caps; it covers a pixel whose centre is at distance `d`
//! from the segment by `cov = F(r - d) - F(-r - d)` (see [`coverage`]), and strokes composite as
//! `pixel = 1 - prod_k (1 - alpha_k cov_k)`.
//!
//! The C ABI (this module) is the only place with `unsafe` code:
//!
//! ```c
//! uint32_t mnistvec_abi_version(void);
//! int32_t mnistvec_render(const float* lines, const float* widths, const float* opacity,
//!                         uint64_t batch, uint64_t n_lines, uint64_t height, uint64_t width,
//!                         float scale, uint32_t threads, float* out);
//! ```

pub mod clip;
pub mod coverage;
pub mod kernel;
pub mod parallel;
pub mod pixel_batch;
pub mod raster;
pub mod real;
pub mod span;
pub mod stroke;

use std::panic::{catch_unwind, AssertUnwindSafe};

use parallel::{render_batch, thread_count, StrokeBatch};

/// Version of the C ABI below; bumped on any incompatible change.
pub const ABI_VERSION: u32 = 1;

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
/// A pointer is not aligned for `float`.
pub const ERR_MISALIGNED: i32 = -5;

/// Image sides must be below this many pixels (`2^31`; pixel rows and columns are counted in `i32`).
pub const MAX_SIDE: u64 = 1 << 31;

/// The version of this C ABI (1).
#[no_mangle]
pub extern "C" fn mnistvec_abi_version() -> u32 {
    ABI_VERSION
}

/// Number of `f32` elements in `dims` multiplied together, if the product's bytes fit in `isize`. Any zero
/// makes it 0, however large the other dimensions (their partial products may overflow).
fn element_count(dims: &[u64]) -> Option<usize> {
    if dims.contains(&0) {
        return Some(0);
    }
    let count = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
    let bytes = count.checked_mul(std::mem::size_of::<f32>() as u64)?;
    if bytes > isize::MAX as u64 {
        return None;
    }
    usize::try_from(count).ok()
}

/// Checks a pointer to `len` floats: non-null and aligned unless `len == 0`.
fn check_pointer(ptr: *const f32, len: usize) -> Result<(), i32> {
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

/// A slice over `len` floats at `ptr`, empty when `len == 0` (whatever `ptr` is).
///
/// # Safety
/// When `len > 0`, `ptr` must be non-null, aligned and valid for reading `len` floats that nothing
/// writes while the slice lives.
unsafe fn input_slice<'a>(ptr: *const f32, len: usize) -> &'a [f32] {
    if len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
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
        if !(scale.is_finite() && scale > 0.0) {
            return ERR_BAD_SCALE;
        }
        let checks = [
            check_pointer(out, out_len),
            check_pointer(lines, line_count),
            check_pointer(widths, stroke_count),
            check_pointer(opacity, stroke_count),
        ];
        if let Some(Err(code)) = checks.into_iter().find(Result::is_err) {
            return code;
        }
        // SAFETY: pointers checked non-null and aligned above; sizes and validity are the caller's contract.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        let strokes = StrokeBatch {
            lines: unsafe { input_slice(lines, line_count) },
            widths: unsafe { input_slice(widths, stroke_count) },
            opacity: unsafe { input_slice(opacity, stroke_count) },
            images: batch as usize,
            lines_per_image: n_lines as usize,
            scale,
        };
        let (height, width) = (height as usize, width as usize);
        let threads = thread_count(threads, strokes.images, strokes.lines_per_image, height, width);
        render_batch(&strokes, height, width, threads, out);
        OK
    }));
    result.unwrap_or(ERR_PANIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_version_is_one() {
        assert_eq!(mnistvec_abi_version(), 1);
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
}
