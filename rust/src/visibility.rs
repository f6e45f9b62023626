//! Stroke hygiene: which strokes of each image can be seen at all.
//!
//! With `P_k` the ink of stroke `k` drawn alone (`alpha_k * cov_k`, the exact renderer's) and the
//! compositing `D = 1 - prod_k (1 - P_k)`, the drawing without a set `S` of strokes is
//! `D_S = 1 - T_S`, `T_S = prod_{k not in S} (1 - P_k)`, and `D_0 - D_S = T_S - T_0 >= 0`.
//!
//! Strokes are taken away one per round, the one whose removal moves the drawing least, while the drawing
//! without all of them stays within `threshold` of the full one at every pixel:
//!
//! ```text
//! S <- S + {i}   while   min_i max_p (T_{S+i}(p) - T_0(p)) < threshold
//! ```
//!
//! `T_{S+i}` differs from `T_S` only where `P_i > 0`, so a round looks at each stroke's own pixels:
//! `T_{S+i} = T_S / (1 - P_i)` where `1 - P_i >= DIVIDE_ABOVE`, and the product over the kept strokes
//! other than `i` taken afresh elsewhere (no division by a small number).

use crate::parallel::{for_each_run, StrokeBatch};
use crate::raster::Rasteriser;
use crate::stroke::CanvasStroke;

/// Below this transmission `T_{S+i}` is recomputed as a product instead of divided out.
const DIVIDE_ABOVE: f64 = 1e-3;

/// Scratch space for one image: every stroke's ink and the pixels it touches.
struct Scratch {
    rasteriser: Rasteriser,
    ink: Vec<f32>,
    pixels: Vec<Vec<u32>>,
    transmission: Vec<f64>,
    full: Vec<f64>,
}

impl Scratch {
    fn new(lines_per_image: usize, pixel_count: usize) -> Scratch {
        Scratch {
            rasteriser: Rasteriser::new(),
            ink: vec![0.0; lines_per_image * pixel_count],
            pixels: vec![Vec::new(); lines_per_image],
            transmission: vec![1.0; pixel_count],
            full: vec![1.0; pixel_count],
        }
    }

    /// Writes `keep[k]` (1: visible) for the strokes of one image (module docs).
    fn image(
        &mut self,
        strokes: &[CanvasStroke],
        scale: f32,
        height: usize,
        width: usize,
        threshold: f64,
        keep: &mut [u8],
    ) {
        let pixel_count = height * width;
        for (k, stroke) in strokes.iter().enumerate() {
            let ink = &mut self.ink[k * pixel_count..(k + 1) * pixel_count];
            self.rasteriser
                .render_image(std::iter::once(*stroke), scale, height, width, ink);
            self.pixels[k].clear();
            self.pixels[k].extend(
                ink.iter()
                    .enumerate()
                    .filter(|(_, &v)| v > 0.0)
                    .map(|(p, _)| p as u32),
            );
            keep[k] = u8::from(!self.pixels[k].is_empty());
        }
        let n = strokes.len();
        for p in 0..pixel_count {
            let t: f64 = (0..n)
                .map(|k| 1.0 - f64::from(self.ink[k * pixel_count + p]))
                .product();
            self.transmission[p] = t;
            self.full[p] = t;
        }
        let mut changed = 0.0f64; // max_p (T_S - T_0)
        loop {
            let mut best: Option<(usize, f64)> = None;
            for k in (0..n).filter(|&k| keep[k] == 1) {
                let mut loss = changed;
                for &p in &self.pixels[k] {
                    let p = p as usize;
                    let without = self.without(k, p, n, keep);
                    loss = loss.max(without - self.full[p]);
                }
                if best.is_none_or(|(_, b)| loss < b) {
                    best = Some((k, loss));
                }
            }
            let Some((k, _)) = best.filter(|&(_, loss)| loss < threshold) else {
                return;
            };
            keep[k] = 0;
            for i in 0..self.pixels[k].len() {
                let p = self.pixels[k][i] as usize;
                self.transmission[p] = self.kept_product(p, n, keep, usize::MAX);
                changed = changed.max(self.transmission[p] - self.full[p]);
            }
        }
    }

    /// `T_{S+k}` at pixel `p` (`k` kept so far).
    fn without(&self, k: usize, p: usize, n: usize, keep: &[u8]) -> f64 {
        let pixel_count = self.full.len();
        let remaining = 1.0 - f64::from(self.ink[k * pixel_count + p]);
        if remaining >= DIVIDE_ABOVE {
            self.transmission[p] / remaining
        } else {
            self.kept_product(p, n, keep, k)
        }
    }

    /// The product of `1 - P_j` at pixel `p` over the kept strokes `j != skip`.
    fn kept_product(&self, p: usize, n: usize, keep: &[u8], skip: usize) -> f64 {
        let pixel_count = self.full.len();
        (0..n)
            .filter(|&j| keep[j] == 1 && j != skip)
            .map(|j| 1.0 - f64::from(self.ink[j * pixel_count + p]))
            .product()
    }
}

fn visible_run(
    batch: &StrokeBatch,
    first_image: usize,
    height: usize,
    width: usize,
    threshold: f64,
    keep: &mut [u8],
) {
    let n = batch.lines_per_image;
    let mut scratch = Scratch::new(n, height * width);
    let mut strokes = Vec::with_capacity(n);
    for (offset, image_keep) in keep.chunks_exact_mut(n).enumerate() {
        strokes.clear();
        strokes.extend(batch.strokes(first_image + offset));
        scratch.image(&strokes, batch.scale, height, width, threshold, image_keep);
    }
}

/// `keep` (`[images, lines_per_image]`): 1 for each stroke kept by the rule of the module docs, 0 for
/// each invisible one (strokes that draw nothing, such as opacity 0, included), using up to `threads`.
pub fn visible_strokes(
    batch: &StrokeBatch,
    height: usize,
    width: usize,
    threshold: f64,
    threads: usize,
    keep: &mut [u8],
) {
    let n = batch.lines_per_image;
    if batch.images == 0 || n == 0 {
        return;
    }
    debug_assert_eq!(keep.len(), batch.images * n);
    if height * width == 0 {
        keep.fill(0);
        return;
    }
    for_each_run(keep, n, threads, |first, run| {
        visible_run(batch, first, height, width, threshold, run)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_of(strokes: &[([f32; 4], f32, f32)]) -> Vec<u8> {
        let lines: Vec<f32> = strokes.iter().flat_map(|s| s.0).collect();
        let widths: Vec<f32> = strokes.iter().map(|s| s.1).collect();
        let opacity: Vec<f32> = strokes.iter().map(|s| s.2).collect();
        let batch = StrokeBatch {
            lines: &lines,
            widths: &widths,
            opacity: &opacity,
            images: 1,
            lines_per_image: strokes.len(),
            scale: 28.0,
        };
        let mut keep = vec![9u8; strokes.len()];
        visible_strokes(&batch, 28, 28, 1.0 / 255.0, 1, &mut keep);
        keep
    }

    #[test]
    fn faint_buried_and_empty_strokes_go_and_the_others_stay() {
        let clear = ([0.2, 0.2, 0.8, 0.2], 0.08, 1.0);
        let faint = ([0.2, 0.7, 0.8, 0.7], 0.08, 0.002);
        let wide = ([0.1, 0.5, 0.9, 0.5], 0.3, 1.0);
        let buried = ([0.3, 0.5, 0.7, 0.5], 0.05, 0.7);
        let empty = ([0.3, 0.3, 0.6, 0.6], 0.05, 0.0);
        assert_eq!(keep_of(&[clear, faint, wide, buried, empty]), vec![1, 0, 1, 0, 0]);
    }

    #[test]
    fn threads_do_not_change_the_answer() {
        let n = 8;
        let images = 37;
        let mut lines = Vec::new();
        let mut widths = Vec::new();
        let mut opacity = Vec::new();
        let mut state = 12345u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32
        };
        for _ in 0..images * n {
            lines.extend([next(), next(), next(), next()]);
            widths.push(0.02 + 0.06 * next());
            opacity.push(if next() < 0.3 { 0.003 * next() } else { next() });
        }
        let batch = StrokeBatch {
            lines: &lines,
            widths: &widths,
            opacity: &opacity,
            images,
            lines_per_image: n,
            scale: 28.0,
        };
        let mut one = vec![0u8; images * n];
        let mut four = vec![0u8; images * n];
        visible_strokes(&batch, 28, 28, 1.0 / 255.0, 1, &mut one);
        visible_strokes(&batch, 28, 28, 1.0 / 255.0, 4, &mut four);
        assert_eq!(one, four);
        assert!(one.iter().any(|&k| k == 0) && one.iter().any(|&k| k == 1));
    }
}
