//! The soft renderer over a batch: span-limited strokes, compositing and its gradient, threads.
//!
//! Each stroke is evaluated only at the pixels whose centre lies within its reach
//! `max(r, 0) + 1/sqrt(2) + k sigma` of its segment, with `k` such that `n_lines Phi(-k) = tolerance`:
//! beyond it a stroke's value is below `Phi(-k)` (see `soft.rs`), and `1 - prod (1 - v)` moves by at most
//! the sum of its factors' changes, so every pixel is within `tolerance` of the full sum over all pixels.
//! A tolerance of 0 evaluates every stroke at every pixel. Pixels are evaluated four at a time along
//! each row's run (a group; the last group of a run may hold fewer pixels).
//!
//! Compositing `pixel = 1 - prod_k (1 - v_k)` keeps, per pixel, the product of its non-zero factors and
//! the count of zero factors. The gradient of a pixel with respect to `v_k` is the product of the other
//! factors: that product divided by `1 - v_k` when no factor is zero, the product itself when
//! `1 - v_k` is the only zero factor, and 0 otherwise. No zero is ever divided by, and the quotient of a
//! product by one of its own non-zero factors is exact to rounding.
//!
//! The gradient pass evaluates every stroke again, with its derivatives: the same values in the same
//! order as the forward pass, so its compositing state is consistent with them.
//!
//! Images are independent and each stroke belongs to one image, so splitting the batch over threads
//! changes no sum's order: results are bit-identical for any thread count.

use crate::clip::Segment;
use crate::coverage::MAX_HALF_SUPPORT;
use crate::lanes::{Lanes4, Portable};
use crate::parallel::{in_parallel, runs, thread_count_for};
use crate::soft::{tail_quantile, RampTable, SoftKernel, SoftStroke, StrokeGradient};
use crate::span::{Capsule, ROWS_AT_ONCE};

/// Estimated work per thread (as `parallel::thread_count` counts it) below which another thread is not
/// worth starting: a soft pixel costs more than an exact one.
pub const MIN_EVALUATIONS_PER_THREAD: u64 = 1 << 14;

/// The inputs of one soft rendering call, as flat row-major `f64` arrays in pixel units.
#[derive(Clone, Copy)]
pub struct SoftBatch<'a> {
    /// `[images, lines_per_image, 4]` endpoints.
    pub lines: &'a [f64],
    /// `[images, lines_per_image]` radii.
    pub radius: &'a [f64],
    /// `[images, lines_per_image]` opacities.
    pub alpha: &'a [f64],
    pub images: usize,
    pub lines_per_image: usize,
    pub height: usize,
    pub width: usize,
    pub sigma: f64,
    /// Multiple of `sigma` added to a stroke's reach (`inf` for the whole image).
    pub reach_sigmas: f64,
}

/// The centres' x of the four pixels from column `first` on.
#[inline(always)]
pub(crate) fn centres(first: usize) -> [f64; 4] {
    let x = first as f64 + 0.5;
    [x, x + 1.0, x + 2.0, x + 3.0]
}

/// Multiplies the transmittance `product[first + lane]` by the factor `1 - values[lane]` of each of a
/// group's `count` pixels, counting a zero factor in `zeros` instead; four at once where it can.
#[inline(always)]
pub(crate) fn composite_group<V: Lanes4>(
    values: V,
    first: usize,
    count: usize,
    product: &mut [f64],
    zeros: &mut [u32],
) {
    let factor = V::splat(1.0) - values;
    let zero = V::splat(0.0);
    if count == 4 && V::all(factor.lt(zero) | factor.gt(zero)) {
        let slot = &mut product[first..first + 4];
        let scaled = V::from_array([slot[0], slot[1], slot[2], slot[3]]) * factor;
        slot.copy_from_slice(&scaled.to_array());
        return;
    }
    for (lane, factor) in factor.to_array().into_iter().enumerate().take(count) {
        let index = first + lane;
        if factor == 0.0 {
            zeros[index] = zeros[index].saturating_add(1);
        } else {
            product[index] *= factor;
        }
    }
}

/// The loss gradient reaching each of a group's `count` pixels' values: `upstream` times the product of
/// the pixel's other factors (0 beyond `count`); four at once where no factor is zero.
#[inline(always)]
pub(crate) fn group_weights<V: Lanes4>(
    values: V,
    first: usize,
    count: usize,
    upstream: &[f64],
    product: &[f64],
    zeros: &[u32],
) -> V {
    let factor = V::splat(1.0) - values;
    let zero = V::splat(0.0);
    if count == 4 && zeros[first..first + 4] == [0; 4] && V::all(factor.lt(zero) | factor.gt(zero)) {
        let (p, g) = (&product[first..first + 4], &upstream[first..first + 4]);
        let others = V::from_array([p[0], p[1], p[2], p[3]]) / factor;
        return V::from_array([g[0], g[1], g[2], g[3]]) * others;
    }
    let mut weights = [0.0; 4];
    for (lane, factor) in factor.to_array().into_iter().enumerate().take(count) {
        let index = first + lane;
        let others = match (factor == 0.0, zeros[index]) {
            (false, 0) => product[index] / factor,
            (true, 1) => product[index],
            _ => 0.0,
        };
        weights[lane] = upstream[index] * others;
    }
    V::from_array(weights)
}

/// A run of pixels of one row: columns `first..first + count`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub row: usize,
    pub first: usize,
    pub count: usize,
}

/// The per-pixel state that the backward pass needs from the forward pass.
pub struct Composite<'a> {
    /// `[images, height, width]` products of the non-zero factors `1 - v_k`.
    pub product: &'a mut [f64],
    /// `[images, height, width]` counts of zero factors.
    pub zeros: &'a mut [u32],
}

impl<'a> SoftBatch<'a> {
    /// The reach multiple for `tolerance` over `lines_per_image` strokes (see the module docs).
    pub fn reach_for(tolerance: f64, lines_per_image: usize) -> f64 {
        tail_quantile(tolerance / lines_per_image.max(1) as f64)
    }

    pub(crate) fn stroke(&self, image: usize, k: usize) -> SoftStroke {
        let i = image * self.lines_per_image + k;
        let l = &self.lines[4 * i..4 * i + 4];
        SoftStroke {
            x0: l[0],
            y0: l[1],
            x1: l[2],
            y1: l[3],
            radius: self.radius[i],
            alpha: self.alpha[i],
        }
    }

    /// The pixel runs `(row, first column, count)` within the reach of `stroke`, into `spans`.
    pub(crate) fn spans(&self, stroke: &SoftStroke, spans: &mut Vec<Span>) {
        spans.clear();
        let reach = stroke.radius.max(0.0) + MAX_HALF_SUPPORT + self.reach_sigmas * self.sigma;
        let (height, width) = (self.height, self.width);
        if reach.is_nan() || reach >= 1e30 {
            spans.extend((0..height).map(|row| Span {
                row,
                first: 0,
                count: width,
            }));
            return;
        }
        let segment = Segment {
            x0: stroke.x0,
            y0: stroke.y0,
            x1: stroke.x1,
            y1: stroke.y1,
        };
        let capsule = Capsule::<f64>::new(segment, reach, reach);
        let (first_row, rows) = capsule.vertical_extent().cell_centres(height as f64);
        let (first_row, rows) = (first_row as i32, rows as i32);
        let mut firsts = [0i32; ROWS_AT_ONCE];
        let mut counts = [0i32; ROWS_AT_ONCE];
        let end = first_row + rows;
        for chunk in (first_row..end).step_by(ROWS_AT_ONCE) {
            capsule.column_ranges(chunk, width as i32, &mut firsts, &mut counts);
            for (row, (&first, &count)) in (chunk..end).zip(firsts.iter().zip(&counts)) {
                if count > 0 {
                    spans.push(Span {
                        row: row as usize,
                        first: first as usize,
                        count: count as usize,
                    });
                }
            }
        }
    }

    /// Image `image`'s pixels into `out`, and its compositing state into `product` and `zeros`.
    #[inline(always)]
    fn forward_image<V: Lanes4>(
        &self,
        image: usize,
        out: &mut [f64],
        product: &mut [f64],
        zeros: &mut [u32],
    ) {
        let table = RampTable::get();
        product.fill(1.0);
        zeros.fill(0);
        let mut spans = Vec::new();
        for k in 0..self.lines_per_image {
            let stroke = self.stroke(image, k);
            if !stroke.is_usable() {
                continue;
            }
            let kernel = SoftKernel::new(stroke, table, self.sigma);
            self.spans(&stroke, &mut spans);
            for span in &spans {
                let cy = span.row as f64 + 0.5;
                let end = span.first + span.count;
                for first in (span.first..end).step_by(4) {
                    let (values, _) = kernel.eval4::<V, false>(V::from_array(centres(first)), cy);
                    let count = (end - first).min(4);
                    composite_group(values, span.row * self.width + first, count, product, zeros);
                }
            }
        }
        for ((pixel, &p), &z) in out.iter_mut().zip(product.iter()).zip(zeros.iter()) {
            *pixel = if z > 0 { 1.0 } else { 1.0 - p };
        }
    }

    /// Image `image`'s stroke gradients (`[lines_per_image, 6]` into `grads`) given the loss gradient
    /// `grad_out` with respect to its pixels and the forward pass's compositing state.
    #[inline(always)]
    fn backward_image<V: Lanes4>(
        &self,
        image: usize,
        grad_out: &[f64],
        product: &[f64],
        zeros: &[u32],
        grads: &mut [f64],
    ) {
        let table = RampTable::get();
        let mut spans = Vec::new();
        for (k, slot) in grads.chunks_exact_mut(6).enumerate() {
            slot.fill(0.0);
            let stroke = self.stroke(image, k);
            if !stroke.is_usable() {
                continue;
            }
            let kernel = SoftKernel::new(stroke, table, self.sigma);
            // Per-lane partial sums (pixels in column order within each lane), added up at the end.
            let mut sums = [V::splat(0.0); 6];
            self.spans(&stroke, &mut spans);
            for span in &spans {
                let cy = span.row as f64 + 0.5;
                let end = span.first + span.count;
                for first in (span.first..end).step_by(4) {
                    let (values, derivatives) = kernel.eval4::<V, true>(V::from_array(centres(first)), cy);
                    let count = (end - first).min(4);
                    let weights = group_weights(
                        values,
                        span.row * self.width + first,
                        count,
                        grad_out,
                        product,
                        zeros,
                    );
                    for k in 0..6 {
                        sums[k] = sums[k] + weights * derivatives[k];
                    }
                }
            }
            let mut total: StrokeGradient = [0.0; 6];
            for k in 0..6 {
                let lanes = sums[k].to_array();
                total[k] = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
            }
            slot.copy_from_slice(&total);
        }
    }

    /// [`SoftBatch::forward_image`] compiled for the best instruction set this processor has.
    fn forward_image_fast(&self, image: usize, out: &mut [f64], product: &mut [f64], zeros: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { simd::forward_image_avx2(self, image, out, product, zeros) };
        }
        self.forward_image::<Portable>(image, out, product, zeros)
    }

    /// [`SoftBatch::backward_image`] compiled for the best instruction set this processor has.
    fn backward_image_fast(
        &self,
        image: usize,
        grad_out: &[f64],
        product: &[f64],
        zeros: &[u32],
        grads: &mut [f64],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { simd::backward_image_avx2(self, image, grad_out, product, zeros, grads) };
        }
        self.backward_image::<Portable>(image, grad_out, product, zeros, grads)
    }

    /// The number of threads worth using for `requested` (0: the machine's available parallelism), as
    /// [`thread_count_for`] estimates the work.
    pub fn threads(&self, requested: u32) -> usize {
        let (images, lines) = (self.images, self.lines_per_image);
        thread_count_for(
            requested,
            images,
            lines,
            self.height,
            self.width,
            MIN_EVALUATIONS_PER_THREAD,
        )
    }

    /// Renders every image into `out` (`[images, height, width]`), keeping the state for the gradient.
    pub fn forward(&self, threads: usize, out: &mut [f64], state: Composite) {
        let size = self.height * self.width;
        if self.images == 0 || size == 0 {
            return;
        }
        let (mut out, mut product, mut zeros) = (out, state.product, state.zeros);
        let mut parts = Vec::new();
        for run in runs(self.images, threads) {
            let pixels = run.len() * size;
            let (o, rest) = std::mem::take(&mut out).split_at_mut(pixels);
            out = rest;
            let (p, rest) = std::mem::take(&mut product).split_at_mut(pixels);
            product = rest;
            let (z, rest) = std::mem::take(&mut zeros).split_at_mut(pixels);
            zeros = rest;
            parts.push((run, o, p, z));
        }
        in_parallel(parts, |(run, out, product, zeros)| {
            for offset in 0..run.len() {
                let pixels = offset * size..(offset + 1) * size;
                self.forward_image_fast(
                    run.start + offset,
                    &mut out[pixels.clone()],
                    &mut product[pixels.clone()],
                    &mut zeros[pixels],
                );
            }
        });
    }

    /// Every stroke's gradient into `grads` (`[images, lines_per_image, 6]`: x0, y0, x1, y1, r, alpha).
    pub fn backward(
        &self,
        threads: usize,
        grad_out: &[f64],
        product: &[f64],
        zeros: &[u32],
        grads: &mut [f64],
    ) {
        let size = self.height * self.width;
        let stride = self.lines_per_image * 6;
        if self.images == 0 || stride == 0 {
            return;
        }
        if size == 0 {
            grads.fill(0.0);
            return;
        }
        let mut grads = grads;
        let mut parts = Vec::new();
        for run in runs(self.images, threads) {
            let (g, rest) = std::mem::take(&mut grads).split_at_mut(run.len() * stride);
            grads = rest;
            parts.push((run, g));
        }
        in_parallel(parts, |(run, grads)| {
            for (offset, image) in run.clone().enumerate() {
                let pixels = image * size..(image + 1) * size;
                self.backward_image_fast(
                    image,
                    &grad_out[pixels.clone()],
                    &product[pixels.clone()],
                    &zeros[pixels],
                    &mut grads[offset * stride..(offset + 1) * stride],
                );
            }
        });
    }
}

/// The per-image passes compiled with AVX2 enabled (the code is the same; only its instructions differ).
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::SoftBatch;
    use crate::lanes::Avx2;

    #[target_feature(enable = "avx2")]
    pub fn forward_image_avx2(
        batch: &SoftBatch,
        image: usize,
        out: &mut [f64],
        product: &mut [f64],
        zeros: &mut [u32],
    ) {
        batch.forward_image::<Avx2>(image, out, product, zeros)
    }

    #[target_feature(enable = "avx2")]
    pub fn backward_image_avx2(
        batch: &SoftBatch,
        image: usize,
        grad_out: &[f64],
        product: &[f64],
        zeros: &[u32],
        grads: &mut [f64],
    ) {
        batch.backward_image::<Avx2>(image, grad_out, product, zeros, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(images: usize, n: usize, size: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut state = 99u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f64 / (1u32 << 24) as f64
        };
        let lines = (0..images * n * 4).map(|_| size * (0.1 + 0.8 * next())).collect();
        let radius = (0..images * n).map(|_| size * 0.02 * (0.5 + next())).collect();
        let alpha = (0..images * n).map(|_| 0.5 + 0.5 * next()).collect();
        (lines, radius, alpha)
    }

    fn run(batch: &SoftBatch, threads: usize) -> (Vec<f64>, Vec<f64>) {
        let size = batch.images * batch.height * batch.width;
        let mut out = vec![f64::NAN; size];
        let mut product = vec![f64::NAN; size];
        let mut zeros = vec![7u32; size];
        batch.forward(
            threads,
            &mut out,
            Composite {
                product: &mut product,
                zeros: &mut zeros,
            },
        );
        let grad_out: Vec<f64> = (0..size).map(|i| ((i % 7) as f64 - 3.0) * 0.1).collect();
        let mut grads = vec![f64::NAN; batch.images * batch.lines_per_image * 6];
        batch.backward(threads, &grad_out, &product, &zeros, &mut grads);
        (out, grads)
    }

    #[test]
    fn any_thread_count_gives_the_same_bits() {
        let (lines, radius, alpha) = sample(13, 9, 20.0);
        let batch = SoftBatch {
            lines: &lines,
            radius: &radius,
            alpha: &alpha,
            images: 13,
            lines_per_image: 9,
            height: 20,
            width: 20,
            sigma: 0.5,
            reach_sigmas: SoftBatch::reach_for(1e-6, 9),
        };
        let single = run(&batch, 1);
        assert!(single.0.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(single.1.iter().all(|v| v.is_finite()));
        assert!(single.1.iter().any(|v| *v != 0.0));
        for threads in [2, 3, 8, 13, 40] {
            let other = run(&batch, threads);
            assert_eq!(other.0, single.0, "threads {threads}");
            assert_eq!(other.1, single.1, "threads {threads}");
        }
    }

    #[test]
    fn span_limit_stays_within_its_tolerance() {
        let (lines, radius, alpha) = sample(6, 16, 28.0);
        for sigma in [0.05, 0.5, 3.0] {
            let full = SoftBatch {
                lines: &lines,
                radius: &radius,
                alpha: &alpha,
                images: 6,
                lines_per_image: 16,
                height: 28,
                width: 28,
                sigma,
                reach_sigmas: f64::INFINITY,
            };
            let limited = SoftBatch {
                reach_sigmas: SoftBatch::reach_for(1e-6, 16),
                ..full
            };
            let (a, _) = run(&full, 1);
            let (b, _) = run(&limited, 1);
            let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-6, "sigma {sigma}: {worst}");
        }
    }

    #[test]
    fn a_zero_factor_keeps_the_gradient_of_the_others() {
        // Two strokes on one pixel: one fully opaque and covering it (factor 0), one half transparent.
        let lines = [0.5, -5.0, 0.5, 5.0, 0.5, -5.0, 0.5, 5.0];
        let radius = [3.0, 3.0];
        let alpha = [1.0, 0.5];
        let batch = SoftBatch {
            lines: &lines,
            radius: &radius,
            alpha: &alpha,
            images: 1,
            lines_per_image: 2,
            height: 1,
            width: 1,
            sigma: 0.05,
            reach_sigmas: f64::INFINITY,
        };
        let (out, grads) = run(&batch, 1);
        assert_eq!(out, vec![1.0]);
        // d pixel / d alpha_1 = cov_1 * (1 - v_2) = 1 * 0.5; d pixel / d alpha_2 = (1 - v_1) cov_2 = 0.
        let g = |k: usize| grads[k];
        let upstream = -0.3; // grad_out[0] in `run`
        assert!((g(5) - upstream * 0.5).abs() < 1e-12, "{}", g(5));
        assert_eq!(g(11), 0.0);
        assert!(grads.iter().all(|v| v.is_finite()));
    }
}
