//! One stroke's effect on one pixel: the transmission factor `1 - alpha cov`.
//!
//! With the pixel centre `c` given relative to the segment's start, `w = c - A`, and `v = B - A`:
//! `t = w.v / |v|^2` (0 when `|v| = 0`), `q - A = clamp(t, 0, 1) v`, `(d_x, d_y) = w - (q - A)`,
//! `d = |(d_x, d_y)|`. The edge direction is the segment's beside its body (`0 < t < 1`) or where `d = 0`,
//! and the cap's tangent `(|d_y|, |d_x|) / d` beside a cap (`t <= 0` or `t >= 1`); its footprint gives
//! `cov = F(r - d) - F(-r - d)` (see [`crate::coverage`]), and the pixel's transmittance is multiplied by
//! `1 - alpha cov`.

use crate::coverage::{edge_widths_scaled, Footprint, MAX_HALF_SUPPORT};
use crate::real::Real;
use crate::stroke::PixelStroke;

/// A stroke's constants in arithmetic `T`, relative to its (clipped) start point `A`.
#[derive(Clone, Copy, Debug)]
pub struct StrokeKernel<T> {
    vx: T,
    vy: T,
    /// `1 / |v|^2`, or 0 for a zero-length segment (or one too short for `1 / |v|^2` to be finite).
    inv_length_squared: T,
    radius: T,
    alpha: T,
    /// Footprint widths `(a, b)` of the segment's own direction.
    body_a: T,
    body_b: T,
}

impl<T: Real> StrokeKernel<T> {
    pub fn new(stroke: &PixelStroke) -> StrokeKernel<T> {
        let s = stroke.segment;
        let (vx, vy) = (s.x1 - s.x0, s.y1 - s.y0);
        let inv_length_squared = T::from_f64(1.0 / (vx * vx + vy * vy));
        let finite = inv_length_squared.abs() < T::INFINITY;
        let (body_a, body_b) = stroke.body_widths;
        StrokeKernel {
            vx: T::from_f64(vx),
            vy: T::from_f64(vy),
            inv_length_squared: if finite { inv_length_squared } else { T::ZERO },
            radius: T::from_f64(stroke.radius),
            alpha: T::from_f64(stroke.alpha),
            body_a: T::from_f64(body_a),
            body_b: T::from_f64(body_b),
        }
    }

    /// Whether `r` exceeds every footprint's half-support (with room for rounding), so that
    /// [`StrokeKernel::transmission`] may skip the far edge's term (`THICK = true`).
    pub fn is_thick(&self) -> bool {
        self.radius >= T::from_f64(MAX_HALF_SUPPORT + 1e-3)
    }

    /// `1 - alpha cov` for the pixel centre at `w = (wx, wy) = c - A`; `THICK` only when
    /// [`StrokeKernel::is_thick`].
    #[inline(always)]
    pub fn transmission<const THICK: bool>(&self, wx: T, wy: T) -> T {
        let t_raw = (wx * self.vx + wy * self.vy) * self.inv_length_squared;
        let t = t_raw.clamp_unit();
        let dx = wx - t * self.vx;
        let dy = wy - t * self.vy;
        let distance_squared = dx * dx + dy * dy;
        let distance = distance_squared.sqrt();
        let beside_cap = (t_raw <= T::ZERO || t_raw >= T::ONE) && distance_squared > T::ZERO;
        // Beside a cap the widths of (|d_y|, |d_x|) / d are used multiplied by d, which saves a division.
        let (cap_a, cap_b) = edge_widths_scaled(dy.abs(), dx.abs(), distance);
        let a = if beside_cap { cap_a } else { self.body_a };
        let b = if beside_cap { cap_b } else { self.body_b };
        let scale = if beside_cap { distance } else { T::ONE };
        let footprint = Footprint::from_widths(a, b);
        let cov = if THICK {
            footprint.coverage_scaled_thick(self.radius, distance, scale)
        } else {
            footprint.coverage_scaled(self.radius, distance, scale)
        };
        T::ONE - self.alpha * cov
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::Segment;
    use crate::coverage::direction_widths;

    fn stroke(segment: Segment, radius: f64, alpha: f64) -> PixelStroke {
        let body_widths = direction_widths(segment.x1 - segment.x0, segment.y1 - segment.y0);
        PixelStroke {
            segment,
            radius,
            alpha,
            body_widths,
        }
    }

    #[test]
    fn distance_is_measured_to_the_nearest_point_of_the_segment() {
        let segment = Segment {
            x0: 0.0,
            y0: 0.0,
            x1: 10.0,
            y1: 0.0,
        };
        let kernel: StrokeKernel<f64> = StrokeKernel::new(&stroke(segment, 1.0, 1.0));
        // On the segment, and beside its middle within r - p: fully covered.
        assert_eq!(kernel.transmission::<false>(5.0, 0.0), 0.0);
        assert_eq!(kernel.transmission::<false>(5.0, 0.4), 0.0);
        // Beyond r + p beside the middle, and beyond r + p past the ends: untouched.
        assert_eq!(kernel.transmission::<false>(5.0, 1.6), 1.0);
        assert_eq!(kernel.transmission::<false>(-1.6, 0.0), 1.0);
        assert_eq!(kernel.transmission::<false>(11.6, 0.0), 1.0);
        // On the edge the coverage is one half, beside the body and straight past a cap.
        assert!((kernel.transmission::<false>(5.0, -1.0) - 0.5).abs() < 1e-12);
        assert!((kernel.transmission::<false>(11.0, 0.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn cap_pixels_use_the_tangent_of_the_cap() {
        let segment = Segment {
            x0: 0.0,
            y0: 0.0,
            x1: 10.0,
            y1: 0.0,
        };
        let kernel: StrokeKernel<f64> = StrokeKernel::new(&stroke(segment, 2.0, 1.0));
        // Diagonally past the end, at distance r + 0.6: a horizontal edge (p = 0.508) would leave the
        // pixel untouched, the cap's diagonal tangent (p = 0.707) covers a little of it.
        let offset = (2.0 + 0.6) / std::f64::consts::SQRT_2;
        let cov = 1.0 - kernel.transmission::<false>(10.0 + offset, offset);
        let expected = (std::f64::consts::FRAC_1_SQRT_2 - 0.6).powi(2) / (2.0 * 0.5);
        assert!((cov - expected).abs() < 1e-9, "{cov} vs {expected}");
        // Beside the body at the same distance nothing is covered.
        assert_eq!(kernel.transmission::<false>(5.0, 2.6), 1.0);
    }

    #[test]
    fn thick_strokes_may_skip_the_far_edge() {
        let segment = Segment {
            x0: 1.0,
            y0: 2.0,
            x1: 9.0,
            y1: 5.0,
        };
        let thin: StrokeKernel<f32> = StrokeKernel::new(&stroke(segment, 0.5, 0.8));
        assert!(!thin.is_thick());
        let thick: StrokeKernel<f32> = StrokeKernel::new(&stroke(segment, 0.75, 0.8));
        assert!(thick.is_thick());
        for i in 0..40 {
            for j in 0..40 {
                let (wx, wy) = (i as f32 * 0.3 - 2.0, j as f32 * 0.3 - 3.0);
                assert_eq!(
                    thick.transmission::<true>(wx, wy),
                    thick.transmission::<false>(wx, wy)
                );
            }
        }
    }

    #[test]
    fn zero_length_segment_is_a_disk() {
        let segment = Segment {
            x0: 2.0,
            y0: 3.0,
            x1: 2.0,
            y1: 3.0,
        };
        let kernel: StrokeKernel<f32> = StrokeKernel::new(&stroke(segment, 2.0, 0.5));
        assert_eq!(kernel.transmission::<false>(0.0, 0.0), 0.5);
        assert_eq!(kernel.transmission::<false>(0.0, 1.0), 0.5);
        assert_eq!(kernel.transmission::<false>(-2.6, 0.0), 1.0);
        assert!((kernel.transmission::<false>(0.0, 2.0) - 0.75).abs() < 1e-6);
        assert!((kernel.transmission::<false>(2.0, 0.0) - 0.75).abs() < 1e-6);
        let diagonal = 2.0 / std::f32::consts::SQRT_2;
        assert!((kernel.transmission::<false>(diagonal, diagonal) - 0.75).abs() < 1e-6);
    }
}
