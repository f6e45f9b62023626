//! The pixel coverage formula: how much of a unit pixel lies inside a stroke of radius `r`.
//!
//! The stroke's edge crosses the pixel along a unit direction `u`: the segment's direction
//! `(B - A) / |B - A|` beside the segment's body (and where the centre lies on the segment), the tangent of
//! the round cap beside a cap (`(c - q) / d` turned by 90 degrees, so `(|u_x|, |u_y|) = (|d_y|, |d_x|) / d`),
//! and `(1, 0)` for a zero-length segment whose point is the pixel centre. A unit pixel projected across
//! the edge is the sum of two uniform variables of widths `a = max(|u_x|, |u_y|)` and
//! `b = max(min(|u_x|, |u_y|), B_MIN)`. Its density is a trapezoid of half-support `p = (a + b) / 2` and
//! flat top of half-width `m = (a - b) / 2`, with cumulative distribution
//!
//! ```text
//! F(x) = 0                      x <= -p
//!      = (x + p)^2 / (2 a b)    -p < x <= -m
//!      = 1/2 + x / a            -m < x <= 0
//!      = 1 - F(-x)              x > 0
//! ```
//!
//! A pixel whose centre lies at distance `d` from the stroke's segment is covered by
//! `cov = F(r - d) - F(-r - d)`, clamped to `[0, 1]`; `cov = 0` whenever `d >= r + p`, and
//! `p <= MAX_HALF_SUPPORT` for every direction.

use crate::real::Real;

/// Smallest footprint width across a stroke's direction, in pixels (keeps `1 / (2 a b)` finite).
pub const B_MIN: f64 = 1.0 / 64.0;

/// Largest footprint half-support over all edge directions: `p = (|cos| + |sin|) / 2 <= 1 / sqrt(2)`,
/// reached by diagonal edges (an axis-aligned edge has `p = (1 + B_MIN) / 2`).
pub const MAX_HALF_SUPPORT: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Footprint widths `(a, b) = (max(|u_x|, |u_y|), max(min(|u_x|, |u_y|), B_MIN))` of an edge along
/// the unit direction with absolute components `(ux, uy)`. `a` is at least 1/2, which a unit vector
/// always satisfies; the bound keeps `1 / a` finite for rounded inputs.
#[inline(always)]
pub fn edge_widths<T: Real>(ux: T, uy: T) -> (T, T) {
    edge_widths_scaled(ux, uy, T::ONE)
}

/// [`edge_widths`] of the direction `(ux, uy) / length`, multiplied by `length` (no division):
/// `(max(ux, uy, length / 2), max(min(ux, uy), B_MIN length))`.
#[inline(always)]
pub fn edge_widths_scaled<T: Real>(ux: T, uy: T, length: T) -> (T, T) {
    let a = ux.max_fast(uy).max_fast(T::HALF * length);
    let b = ux.min_fast(uy).max_fast(T::from_f64(B_MIN) * length);
    (a, b)
}

/// The footprint widths `(a, b)` of a segment's own direction `(dx, dy)` (any length; `(0, 0)` gives
/// the direction `(1, 0)`). `dx` and `dy` must be differences of `f32` values, so that
/// `dx^2 + dy^2` cannot overflow `f64`.
pub fn direction_widths(dx: f64, dy: f64) -> (f64, f64) {
    let length = (dx * dx + dy * dy).sqrt();
    if length > 0.0 && length.is_finite() {
        edge_widths(dx.abs() / length, dy.abs() / length)
    } else {
        edge_widths(1.0, 0.0)
    }
}

/// The trapezoid footprint of a unit pixel seen across one edge direction, in arithmetic `T`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Footprint<T> {
    /// Half-support `p = (a + b) / 2`: the footprint density is zero beyond `|x| >= p`.
    pub half_support: T,
    /// Half-width of the flat top, `m = (a - b) / 2`.
    pub flat_half_width: T,
    /// `1 / a`: the slope of `F` on the flat top.
    pub inv_a: T,
    /// `1 / (2 a b)`: the curvature of `F` on the ramps.
    pub inv_two_ab: T,
}

impl<T: Real> Footprint<T> {
    /// The footprint of the sum of two uniform variables of widths `a >= b > 0` (one division:
    /// `1 / a = b / (a b)`).
    #[inline(always)]
    pub fn from_widths(a: T, b: T) -> Footprint<T> {
        let inv_ab = T::ONE / (a * b);
        Footprint {
            half_support: T::HALF * (a + b),
            flat_half_width: T::HALF * (a - b),
            inv_a: b * inv_ab,
            inv_two_ab: T::HALF * inv_ab,
        }
    }

    /// `F(x)` for `x <= 0`: `(x + p)^2 / (2 a b)` on the ramp (zero below `-p`), `1/2 + x / a` on the
    /// flat top.
    #[inline(always)]
    pub fn cdf_nonpositive(&self, x: T) -> T {
        let ramp_offset = (x + self.half_support).positive_part();
        let ramp = ramp_offset * ramp_offset * self.inv_two_ab;
        let flat = T::HALF + x * self.inv_a;
        if x <= -self.flat_half_width {
            ramp
        } else {
            flat
        }
    }

    /// `F(x)` for any `x`, through the symmetry `F(x) = 1 - F(-x)`.
    #[inline(always)]
    pub fn cdf(&self, x: T) -> T {
        let tail = self.cdf_nonpositive(-x.abs());
        if x > T::ZERO {
            T::ONE - tail
        } else {
            tail
        }
    }

    /// `cov = F(r - d) - F(-r - d)` clamped to `[0, 1]`, for radius `r >= 0` and distance `d >= 0`.
    ///
    /// `-r - d <= 0`, so the second term is always a tail `F(-r - d)`. A NaN result becomes 0.
    #[inline(always)]
    pub fn coverage(&self, radius: T, distance: T) -> T {
        self.coverage_scaled(radius, distance, T::ONE)
    }

    /// [`Footprint::coverage`] for a footprint whose widths were multiplied by `scale > 0`: scaling the
    /// variable scales the distribution, `F(x; a, b) = F(s x; s a, s b)`, so this evaluates
    /// `F(s (r - d)) - F(s (-r - d))` with the scaled footprint.
    #[inline(always)]
    pub fn coverage_scaled(&self, radius: T, distance: T, scale: T) -> T {
        let cov = self.cdf(scale * (radius - distance)) - self.cdf_nonpositive(scale * (-radius - distance));
        cov.clamp_unit()
    }

    /// [`Footprint::coverage_scaled`] for a stroke at least as wide as the footprint, `r >= p`: then
    /// `-r - d <= -p` and the far edge's term `F(-r - d)` is 0, leaving `cov = F(s (r - d))`.
    #[inline(always)]
    pub fn coverage_scaled_thick(&self, radius: T, distance: T, scale: T) -> T {
        self.cdf(scale * (radius - distance)).clamp_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footprint_at(angle: f64) -> Footprint<f64> {
        let (a, b) = direction_widths(angle.cos(), angle.sin());
        Footprint::from_widths(a, b)
    }

    fn footprints() -> Vec<Footprint<f64>> {
        let (a, b) = direction_widths(0.0, 0.0);
        let mut all = vec![Footprint::from_widths(a, b)];
        for k in 0..=16 {
            all.push(footprint_at(k as f64 * std::f64::consts::PI / 16.0));
        }
        all
    }

    #[test]
    fn zero_length_direction_is_horizontal() {
        assert_eq!(direction_widths(0.0, 0.0), (1.0, B_MIN));
        assert_eq!(direction_widths(-3.0, 0.0), (1.0, B_MIN));
        assert_eq!(direction_widths(0.0, 2.0), (1.0, B_MIN));
        let horizontal = Footprint::from_widths(1.0, B_MIN);
        assert_eq!(horizontal.half_support, 0.5 * (1.0 + B_MIN));
    }

    #[test]
    fn diagonal_footprint_is_a_triangle_of_the_largest_half_support() {
        let diagonal = footprint_at(std::f64::consts::FRAC_PI_4);
        assert!((diagonal.half_support - MAX_HALF_SUPPORT).abs() < 1e-12);
        assert!(diagonal.flat_half_width.abs() < 1e-12);
        for f in footprints() {
            assert!(f.half_support <= MAX_HALF_SUPPORT + 1e-12);
        }
    }

    #[test]
    fn cdf_is_continuous_at_the_breakpoints() {
        let h = 1e-9;
        for f in footprints() {
            let p = f.half_support;
            let m = f.flat_half_width;
            for x in [-p, -m, 0.0, m, p] {
                let jump = (f.cdf(x + h) - f.cdf(x - h)).abs();
                assert!(jump < 1e-6, "jump {jump} at x = {x} for {f:?}");
            }
            assert_eq!(f.cdf(-p), 0.0);
            assert!((f.cdf(0.0) - 0.5).abs() < 1e-12);
            assert!((f.cdf(p) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn cdf_is_antisymmetric_about_one_half() {
        for f in footprints() {
            for k in -100..=100 {
                let x = k as f64 * 0.0123;
                let sum = f.cdf(-x) + f.cdf(x);
                assert!((sum - 1.0).abs() < 1e-12, "F(-x) + F(x) = {sum} at x = {x}");
            }
        }
    }

    #[test]
    fn cdf_is_monotone_and_saturates() {
        for f in footprints() {
            let mut previous = f.cdf(-2.0);
            assert_eq!(previous, 0.0);
            for k in -200..=200 {
                let value = f.cdf(k as f64 * 0.01);
                assert!(value >= previous - 1e-15);
                previous = value;
            }
            assert_eq!(f.cdf(2.0), 1.0);
        }
    }

    #[test]
    fn cdf_is_the_area_of_a_unit_square_below_a_line() {
        // A square of side 1 centred at the origin, cut by the line x.n = s with n at 30 degrees: the
        // area with x.n <= s, by fine sampling, equals F(s).
        let angle = std::f64::consts::PI / 6.0;
        let (nx, ny) = (angle.cos(), angle.sin());
        let f = footprint_at(angle);
        let samples = 600;
        for s in [-0.6, -0.3, -0.1, 0.0, 0.2, 0.45] {
            let mut inside = 0usize;
            for i in 0..samples {
                for j in 0..samples {
                    let x = (i as f64 + 0.5) / samples as f64 - 0.5;
                    let y = (j as f64 + 0.5) / samples as f64 - 0.5;
                    inside += usize::from(x * nx + y * ny <= s);
                }
            }
            let area = inside as f64 / (samples * samples) as f64;
            assert!(
                (area - f.cdf(s)).abs() < 3e-3,
                "s = {s}: area {area} vs F {}",
                f.cdf(s)
            );
        }
    }

    #[test]
    fn coverage_of_a_half_plane_edge_through_the_centre_is_one_half() {
        let horizontal = Footprint::from_widths(1.0, B_MIN);
        let huge = 1e6;
        assert!((horizontal.coverage(huge, huge) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn coverage_of_a_two_pixel_horizontal_band_is_exact() {
        let horizontal = Footprint::from_widths(1.0, B_MIN);
        // A band of half-width 1 centred on a pixel boundary covers the two adjacent pixel rows fully,
        // less the B_MIN widening: (1/128)^2 / (2 B_MIN) = 1/512.
        assert!((horizontal.coverage(1.0, 0.5) - (1.0 - 1.0 / 512.0)).abs() < 1e-12);
        // The next row out is untouched but for the B_MIN widening.
        assert!(horizontal.coverage(1.0, 1.5) < 1.0 / 256.0);
        assert_eq!(horizontal.coverage(1.0, 1.0 + horizontal.half_support), 0.0);
    }

    #[test]
    fn coverage_vanishes_beyond_radius_plus_half_support() {
        for f in footprints() {
            for radius in [0.0, 0.3, 1.0, 7.5] {
                assert!(f.coverage(radius, radius + f.half_support) < 1e-24);
                assert_eq!(f.coverage(radius, radius + f.half_support + 1e-9), 0.0);
                assert_eq!(f.coverage(radius, radius + MAX_HALF_SUPPORT + 1e-9), 0.0);
            }
        }
    }

    #[test]
    fn coverage_stays_in_unit_interval_and_agrees_across_precisions() {
        let (a, b) = direction_widths(0.3, 0.7);
        let f = Footprint::from_widths(a, b);
        let single = Footprint::from_widths(a as f32, b as f32);
        for k in 0..100 {
            let (radius, distance) = (0.05 * k as f64, 0.37 * k as f64 % 3.0);
            let cov = f.coverage(radius, distance);
            assert!((0.0..=1.0).contains(&cov));
            let narrow = single.coverage(radius as f32, distance as f32) as f64;
            assert!((narrow - cov).abs() < 1e-5, "{narrow} vs {cov}");
        }
        assert_eq!(f.coverage(f64::NAN, 1.0), 0.0);
        assert_eq!(single.coverage(1.0, f32::NAN), 0.0);
    }

    #[test]
    fn scaled_footprints_give_the_same_coverage() {
        for (ux, uy) in [(0.6, 0.8), (1.0, 0.0), (0.01, 0.99995), (0.707, 0.707)] {
            let (a, b) = edge_widths(ux, uy);
            let plain = Footprint::from_widths(a, b);
            for length in [1e-6, 0.3, 2.0, 4000.0] {
                let (sa, sb) = edge_widths_scaled(ux * length, uy * length, length);
                let scaled = Footprint::from_widths(sa, sb);
                for (radius, distance) in [(0.3, 0.0), (0.3, 0.5), (1.2, 1.0), (1.2, 1.7), (5.0, 5.4)] {
                    let want = plain.coverage(radius, distance);
                    let got = scaled.coverage_scaled(radius, distance, length);
                    assert!((got - want).abs() < 1e-9, "{got} vs {want} at length {length}");
                }
            }
        }
    }

    #[test]
    fn edge_widths_order_and_bound_the_components() {
        assert_eq!(edge_widths(0.6, 0.8), (0.8, 0.6));
        assert_eq!(edge_widths(0.0f32, 1.0f32), (1.0, 1.0 / 64.0));
        assert_eq!(edge_widths(0.1, 0.2), (0.5, 0.1));
    }
}
