//! The soft renderer and a per-pixel loss in one pass: each image's loss and its gradient with respect
//! to every stroke, without handing the image back and forth.
//!
//! For image `b` with target `x` and soft rendering `y` (as [`SoftBatch::forward`] draws it):
//!
//! ```text
//! squared error:   L_b = sum_pixels (y - x)^2                      dL/dy = 2 (y - x)
//! cross-entropy:   L_b = -sum_pixels x ln c + (1 - x) ln(1 - c)    dL/dy = (c - x) / (c (1 - c))
//!                  with c = clamp(y, eps, 1 - eps)                 (0 where the clamp is active)
//! ```
//!
//! The pass evaluates every stroke once, with its derivatives, keeping them per image in scratch space
//! that stays in the processor's cache; the pixels' loss gradient then weighs them exactly as
//! [`SoftBatch::backward`] does (same values, same order), so the gradient equals the separate forward
//! and backward passes' bit for bit, and it does not depend on the number of threads.

use crate::lanes::{Lanes4, Portable};
use crate::parallel::{in_parallel, runs};
use crate::soft::{RampTable, SoftKernel, StrokeGradient};
use crate::soft_batch::{centres, composite_group, group_weights, SoftBatch, Span};

/// The per-pixel loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `(y - x)^2`.
    SquaredError,
    /// `-x ln c - (1 - x) ln(1 - c)`, `c = clamp(y, eps, 1 - eps)`.
    CrossEntropy { eps: f64 },
}

impl Loss {
    /// `(loss, d loss / d y)` of one pixel rendered `y` with target `x`.
    #[inline(always)]
    fn pixel(self, y: f64, x: f64) -> (f64, f64) {
        match self {
            Loss::SquaredError => ((y - x) * (y - x), 2.0 * (y - x)),
            Loss::CrossEntropy { eps } => {
                let c = y.clamp(eps, 1.0 - eps);
                let loss = -(x * c.ln() + (1.0 - x) * (1.0 - c).ln());
                let inside = (eps..=1.0 - eps).contains(&y);
                (loss, if inside { (c - x) / (c * (1.0 - c)) } else { 0.0 })
            }
        }
    }
}

/// One group of four pixels of one stroke, as the pass evaluated it.
#[derive(Clone, Copy)]
struct Group {
    /// Index of its first pixel in the image, and how many of its four pixels are in the image's run.
    first: usize,
    count: usize,
    values: [f64; 4],
    derivatives: [[f64; 4]; 6],
}

/// Scratch space of one thread, reused from image to image.
#[derive(Default)]
struct Scratch {
    product: Vec<f64>,
    zeros: Vec<u32>,
    upstream: Vec<f64>,
    groups: Vec<Group>,
    /// `groups[ends[k - 1]..ends[k]]` are stroke `k`'s.
    ends: Vec<usize>,
    spans: Vec<Span>,
}

impl<'a> SoftBatch<'a> {
    /// Image `image`'s loss against `target`, and its strokes' gradients into `grads`.
    #[inline(always)]
    fn loss_image<V: Lanes4>(
        &self,
        image: usize,
        target: &[f64],
        loss: Loss,
        grads: &mut [f64],
        scratch: &mut Scratch,
    ) -> f64 {
        let table = RampTable::get();
        let size = self.height * self.width;
        let Scratch {
            product,
            zeros,
            upstream,
            groups,
            ends,
            spans,
        } = scratch;
        product.clear();
        product.resize(size, 1.0);
        zeros.clear();
        zeros.resize(size, 0);
        groups.clear();
        ends.clear();
        for k in 0..self.lines_per_image {
            let stroke = self.stroke(image, k);
            if stroke.is_usable() {
                let kernel = SoftKernel::new(stroke, table, self.sigma);
                self.spans(&stroke, spans);
                for span in spans.iter() {
                    let cy = span.row as f64 + 0.5;
                    let end = span.first + span.count;
                    for first in (span.first..end).step_by(4) {
                        let (values, derivatives) =
                            kernel.eval4::<V, true>(V::from_array(centres(first)), cy);
                        let group = Group {
                            first: span.row * self.width + first,
                            count: (end - first).min(4),
                            values: values.to_array(),
                            derivatives: [
                                derivatives[0].to_array(),
                                derivatives[1].to_array(),
                                derivatives[2].to_array(),
                                derivatives[3].to_array(),
                                derivatives[4].to_array(),
                                derivatives[5].to_array(),
                            ],
                        };
                        composite_group(values, group.first, group.count, product, zeros);
                        groups.push(group);
                    }
                }
            }
            ends.push(groups.len());
        }
        upstream.clear();
        let mut total = 0.0;
        for index in 0..size {
            let pixel = if zeros[index] > 0 {
                1.0
            } else {
                1.0 - product[index]
            };
            let (value, slope) = loss.pixel(pixel, target[index]);
            total += value;
            upstream.push(slope);
        }
        let mut start = 0;
        for (k, slot) in grads.chunks_exact_mut(6).enumerate() {
            let mut sums = [V::splat(0.0); 6];
            for group in &groups[start..ends[k]] {
                let values = V::from_array(group.values);
                let weights = group_weights(values, group.first, group.count, upstream, product, zeros);
                for (sum, derivative) in sums.iter_mut().zip(&group.derivatives) {
                    *sum = *sum + weights * V::from_array(*derivative);
                }
            }
            let mut gradient: StrokeGradient = [0.0; 6];
            for (g, sum) in gradient.iter_mut().zip(sums) {
                let lanes = sum.to_array();
                *g = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
            }
            slot.copy_from_slice(&gradient);
            start = ends[k];
        }
        total
    }

    fn loss_image_fast(
        &self,
        image: usize,
        target: &[f64],
        loss: Loss,
        grads: &mut [f64],
        scratch: &mut Scratch,
    ) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { simd::loss_image_avx2(self, image, target, loss, grads, scratch) };
        }
        self.loss_image::<Portable>(image, target, loss, grads, scratch)
    }

    /// Every image's loss against `targets` (`[images, height, width]`) into `losses` (`[images]`), and
    /// its gradient with respect to every stroke into `grads` (`[images, lines_per_image, 6]`).
    pub fn loss(&self, threads: usize, targets: &[f64], loss: Loss, losses: &mut [f64], grads: &mut [f64]) {
        let size = self.height * self.width;
        let stride = self.lines_per_image * 6;
        if self.images == 0 {
            return;
        }
        let (mut losses, mut grads) = (losses, grads);
        let mut parts = Vec::new();
        for run in runs(self.images, threads) {
            let (l, rest) = std::mem::take(&mut losses).split_at_mut(run.len());
            losses = rest;
            let (g, rest) = std::mem::take(&mut grads).split_at_mut(run.len() * stride);
            grads = rest;
            parts.push((run, l, g));
        }
        in_parallel(parts, |(run, losses, grads)| {
            let mut scratch = Scratch::default();
            for (offset, image) in run.clone().enumerate() {
                let grads = &mut grads[offset * stride..(offset + 1) * stride];
                losses[offset] = self.loss_image_fast(
                    image,
                    &targets[image * size..(image + 1) * size],
                    loss,
                    grads,
                    &mut scratch,
                );
            }
        });
    }
}

/// [`SoftBatch::loss_image`] compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{Loss, Scratch};
    use crate::lanes::Avx2;
    use crate::soft_batch::SoftBatch;

    #[target_feature(enable = "avx2")]
    pub(super) fn loss_image_avx2(
        batch: &SoftBatch,
        image: usize,
        target: &[f64],
        loss: Loss,
        grads: &mut [f64],
        scratch: &mut Scratch,
    ) -> f64 {
        batch.loss_image::<Avx2>(image, target, loss, grads, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soft_batch::Composite;

    #[test]
    fn the_fused_pass_equals_forward_then_backward() {
        let (images, n, size) = (5, 7, 16);
        let mut state = 7u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f64 / (1u32 << 24) as f64
        };
        let lines: Vec<f64> = (0..images * n * 4).map(|_| 16.0 * next()).collect();
        let radius: Vec<f64> = (0..images * n).map(|_| 0.3 + next()).collect();
        let mut alpha: Vec<f64> = (0..images * n).map(|_| 0.3 + 0.7 * next()).collect();
        alpha[3] = 1.0;
        let targets: Vec<f64> = (0..images * size * size)
            .map(|_| if next() > 0.7 { next() } else { 0.0 })
            .collect();
        let batch = SoftBatch {
            lines: &lines,
            radius: &radius,
            alpha: &alpha,
            images,
            lines_per_image: n,
            height: size,
            width: size,
            sigma: 0.4,
            reach_sigmas: SoftBatch::reach_for(1e-6, n),
        };
        let pixels = images * size * size;
        let (mut out, mut product, mut zeros) = (vec![0.0; pixels], vec![0.0; pixels], vec![0u32; pixels]);
        batch.forward(
            2,
            &mut out,
            Composite {
                product: &mut product,
                zeros: &mut zeros,
            },
        );
        for loss in [Loss::SquaredError, Loss::CrossEntropy { eps: 1e-5 }] {
            let upstream: Vec<f64> = out
                .iter()
                .zip(&targets)
                .map(|(&y, &x)| loss.pixel(y, x).1)
                .collect();
            let mut expected = vec![0.0; images * n * 6];
            batch.backward(2, &upstream, &product, &zeros, &mut expected);
            for threads in [1, 3] {
                let mut losses = vec![f64::NAN; images];
                let mut grads = vec![f64::NAN; images * n * 6];
                batch.loss(threads, &targets, loss, &mut losses, &mut grads);
                assert_eq!(grads, expected, "{loss:?}, {threads} threads");
                for (b, &value) in losses.iter().enumerate() {
                    let pixels = b * size * size..(b + 1) * size * size;
                    let sum: f64 = out[pixels.clone()]
                        .iter()
                        .zip(&targets[pixels])
                        .map(|(&y, &x)| loss.pixel(y, x).0)
                        .sum();
                    assert_eq!(value, sum);
                }
            }
        }
    }
}
