//! The soft pixel formula and its hand-derived gradient: one stroke at one pixel.
//!
//! This is the formula of `mnistvec/raster/soft.py`, term for term, in `f64`. Units are pixels; a stroke
//! is `A = (x0, y0)`, `B = (x1, y1)`, a radius `r` and an opacity `alpha`; the pixel centre is `c`.
//!
//! # Forward
//!
//! ```text
//! v = B - A,  w = c - A,  len2 = |v|^2
//! t_raw = w.v / len2  (0 when len2 = 0),   t = clamp(t_raw, 0, 1)
//! delta = w - t v,  d2 = |delta|^2,  d = sqrt(d2 + eps^2),  L = sqrt(len2 + eps^2)    (eps = 1e-3)
//! beside a cap ((t_raw <= 0 or t_raw >= 1) and d2 > 0):  (ux, uy) = (|delta_y|, |delta_x|) / d
//! elsewhere:                                             (ux, uy) = (|v_x|, |v_y|) / L
//! a = max(max(ux, uy), 1/2),  b = max(min(ux, uy), B_MIN),  p = (a + b) / 2,  m = (a - b) / 2
//! cov = clamp(F(r - d) - F(-r - d), 0, 1),   value = alpha cov
//! ```
//!
//! with the Gaussian-blurred footprint distribution, evaluated at `y = -|x|` and mirrored,
//!
//! ```text
//! N(y)   = R(y + p) - R(y + m) - R(y - m) + R(y - p),    T(y) = N(y) / (a b)
//! F(x)   = T(-|x|) for x <= 0,   1 - T(-|x|) for x > 0
//! R(x)   = sigma^2 G(x / sigma),   G(z) = ((z^2 + 1) Phi(z) + z phi(z)) / 2,   G'(z) = z Phi(z) + phi(z)
//! ```
//!
//! `G` is tabulated (see [`RampTable`]): on `[Z_LOW, Z_HIGH]` by quintic Hermite pieces that match `G`,
//! `G'` and `G'' = Phi` at knots 1/32 apart (tested within 1e-12 of `G` and 1e-10 of `G'`), its knots for
//! `z > 0` from the identity `G(z) + G(-z) = (z^2 + 1) / 2`; constant below `Z_LOW` (where
//! `G < 1e-12`) and the parabola `(z^2 + 1) / 2` above `Z_HIGH` (where `G(-z) < 1e-13`). The
//! derivative used below is the derivative of the tabulated function itself, so forward and backward
//! agree exactly. Blurs below `SIGMA_FLOOR` are computed as `SIGMA_FLOOR`.
//!
//! # Backward
//!
//! With `R'(x) = sigma G'(x / sigma)`, at `y = -|x|`:
//!
//! ```text
//! dT/dy = [R'(y+p) - R'(y+m) - R'(y-m) + R'(y-p)] / (a b)
//! dN/dp = R'(y+p) - R'(y-p),   dN/dm = R'(y-m) - R'(y+m)
//! dN/da = (dN/dp + dN/dm) / 2,   dN/db = (dN/dp - dN/dm) / 2            (p, m are half sums/differences)
//! dT/da = (dN/da - N / a) / (a b),   dT/db = (dN/db - N / b) / (a b)
//! dF/dx = dT/dy (both sides of 0: the mirror's two sign flips cancel)
//! dF/da = +-dT/da, dF/db = +-dT/db (minus for x > 0)
//! ```
//!
//! Then, with `x1 = r - d` and `x2 = -r - d`, inside the clamp (`0 <= cov <= 1`, inclusive like torch):
//!
//! ```text
//! dvalue/dalpha = cov (clamped)             dvalue/dr = alpha (F'(x1) + F'(x2))
//! dvalue/dd = alpha (F'(x2) - F'(x1))       dvalue/da = alpha (F_a(x1) - F_a(x2)),  likewise b
//! ```
//!
//! `a` and `b` pass their gradients to the larger and the smaller of `ux, uy` (where the clamps are not
//! active; at a tie `a = b` the two partials are equal, as `F` is symmetric in `a` and `b`). Beside a cap,
//! with `s = (g_ux |delta_y| + g_uy |delta_x|) / d^3`:
//!
//! ```text
//! g_delta = g_d delta / d + (g_uy sgn(delta_x) / d - s delta_x,  g_ux sgn(delta_y) / d - s delta_y)
//! ```
//!
//! (beside the body only the first term), and beside the body the direction gives, with
//! `s' = (g_ux |v_x| + g_uy |v_y|) / L^3`, `g_v = (g_ux sgn(v_x) / L - s' v_x, g_uy sgn(v_y) / L - s' v_y)`.
//! With `g_t = -g_delta.v` (zero unless `0 <= t_raw <= 1` and `len2 > 0`; `g_delta` is then mostly
//! normal to `v`), `dt/dA = (2 t v - v - w) / len2` and `dt/dB = (w - 2 t v) / len2`:
//!
//! ```text
//! dL/dA = -(1 - t) g_delta + g_t dt/dA - g_v,     dL/dB = -t g_delta + g_t dt/dB + g_v
//! ```
//!
//! `sgn(0) = 0`, as torch's gradient of `|x|` at 0. The compositing `pixel = 1 - prod_k (1 - value_k)`
//! is differentiated in `soft_batch.rs` without dividing by a zero factor.
//!
//! # Reach
//!
//! `F(x) = E[F_0(x + sigma Z)]` for the unblurred trapezoid distribution `F_0`, which is 0 below `-p`, so
//! `cov <= F(r - d) <= P(Z > (d - r - p) / sigma) = Phi(-k)` wherever `d >= r + p + k sigma`; with
//! `p <= 1/sqrt(2)` a stroke changes no pixel by more than `Phi(-k)` beyond `r + 1/sqrt(2) + k sigma`.
//! `d` here is never below the true distance, so pixels are selected by the true distance.

use std::sync::OnceLock;

use crate::coverage::B_MIN;
use crate::lanes::{Lanes4, Piece};

/// Blurs below this many pixels are computed as this blur (the images cannot tell them apart), so that
/// `sigma^2` stays a normal number.
pub const SIGMA_FLOOR: f64 = 1e-100;

/// Smoothing of `|B - A|` and `d` near zero, in pixels (`LENGTH_EPS` of `soft.py`).
pub const LENGTH_EPS: f64 = 1e-3;

/// Below `z = Z_LOW`, `G(z)` is taken as `G(Z_LOW) < 1e-12` (which changes a pixel by less than
/// `2 sigma^2 1e-12 / (a b) < 2e-10 sigma^2`).
pub const Z_LOW: f64 = -6.5;

/// Above `z = Z_HIGH`, `G(z)` is taken as `(z^2 + 1) / 2` (they differ by `G(-z) < 1e-13`).
pub const Z_HIGH: f64 = 7.0;

/// Knots of the table of `G` per unit of `z`.
const KNOTS_PER_UNIT: f64 = 32.0;

/// Strokes with a value beyond this magnitude (pixels) are skipped like non-finite ones: every product
/// the gradient forms (up to cubes) stays finite in `f64`.
pub const VALUE_LIMIT: f64 = 1e60;

extern "C" {
    /// The C library's complementary error function (`libm`), used only to build the table.
    fn erfc(x: f64) -> f64;
}

/// The standard normal distribution `Phi(z)`.
fn normal_cdf(z: f64) -> f64 {
    // SAFETY: `erfc` is a pure function of its argument, defined for every double.
    0.5 * unsafe { erfc(-z * std::f64::consts::FRAC_1_SQRT_2) }
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() * (0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2)
}

/// `G(z)`, `G'(z)` and `G''(z) = Phi(z)` computed directly (for the table's knots and for tests).
pub fn ramp_exact(z: f64) -> (f64, f64, f64) {
    let (cdf, pdf) = (normal_cdf(z), normal_pdf(z));
    (0.5 * ((z * z + 1.0) * cdf + z * pdf), z * cdf + pdf, cdf)
}

/// `Phi(-k) = tolerance`, solved for `k >= 0` by bisection (`k = inf` for a tolerance of 0).
pub fn tail_quantile(tolerance: f64) -> f64 {
    if tolerance.is_nan() || tolerance <= 0.0 {
        return f64::INFINITY;
    }
    if tolerance >= 0.5 {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(-mid) > tolerance {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// `G` on `[Z_LOW, Z_HIGH]` as quintic Hermite pieces (matching `G`, `G'` and `G''` at every knot):
/// piece `i` is `G(Z_LOW + (i + u) h) = c0 + u c1 + ... + u^5 c5` for `u` in `[0, 1]`.
pub struct RampTable {
    pieces: Vec<Piece>,
}

impl RampTable {
    fn build() -> RampTable {
        let count = ((Z_HIGH - Z_LOW) * KNOTS_PER_UNIT) as usize;
        let h = 1.0 / KNOTS_PER_UNIT;
        let knot = |i: usize| {
            let z = Z_LOW + i as f64 * h;
            // Positive knots through G(z) = (z^2 + 1) / 2 - G(-z), which keeps G's tail exact.
            let (g, g1, g2) = if z <= 0.0 {
                ramp_exact(z)
            } else {
                let (g, g1, g2) = ramp_exact(-z);
                (0.5 * (z * z + 1.0) - g, z + g1, 1.0 - g2)
            };
            (g, g1 * h, g2 * h * h)
        };
        let pieces = (0..count)
            .map(|i| {
                let (f0, d0, s0) = knot(i);
                let (f1, d1, s1) = knot(i + 1);
                let (c0, c1, c2) = (f0, d0, 0.5 * s0);
                let rest_value = f1 - (c0 + c1 + c2);
                let rest_slope = d1 - (c1 + 2.0 * c2);
                let rest_curve = s1 - 2.0 * c2;
                Piece([
                    c0,
                    c1,
                    c2,
                    10.0 * rest_value - 4.0 * rest_slope + 0.5 * rest_curve,
                    -15.0 * rest_value + 7.0 * rest_slope - rest_curve,
                    6.0 * rest_value - 3.0 * rest_slope + 0.5 * rest_curve,
                    0.0,
                    0.0,
                ])
            })
            .collect();
        RampTable { pieces }
    }

    /// The shared table (built on first use).
    pub fn get() -> &'static RampTable {
        static TABLE: OnceLock<RampTable> = OnceLock::new();
        TABLE.get_or_init(RampTable::build)
    }

    /// `(G(z), G'(z))` in every lane, without branches, from the table: below `Z_LOW` its first value
    /// (`G(Z_LOW) < 1e-12`); the mask tells the lanes above `Z_HIGH`, where the caller takes the
    /// parabola `(z^2 + 1) / 2` (whose value the table does not hold).
    #[inline(always)]
    pub fn ramp<V: Lanes4>(&self, z: V) -> (V, V, V::Mask) {
        let last = (self.pieces.len() - 1) as f64;
        let position = ((z - V::splat(Z_LOW)) * V::splat(KNOTS_PER_UNIT)).clamp(0.0, last + 1.0);
        let index = position.floor().min(V::splat(last));
        let u = position - index;
        // SAFETY: `index` is integral and in `0..=last`: the clamps take NaN and infinities into range too
        // (a NaN lane's `max` gives the bound, as both implementations of `Lanes4::max` do).
        let [c0, c1, c2, c3, c4, c5] = unsafe { V::gather(&self.pieces, index) };
        let value = c0 + u * (c1 + u * (c2 + u * (c3 + u * (c4 + u * c5))));
        let (two, three, four, five) = (V::splat(2.0), V::splat(3.0), V::splat(4.0), V::splat(5.0));
        let slope = c1 + u * (two * c2 + u * (three * c3 + u * (four * c4 + u * (five * c5))));
        (value, slope * V::splat(KNOTS_PER_UNIT), z.gt(V::splat(Z_HIGH)))
    }

    /// [`RampTable::ramp`] of one number, the parabola included (for the tests).
    #[cfg(test)]
    pub fn ramp_one(&self, z: f64) -> (f64, f64) {
        let (value, slope, beyond) = self.ramp(crate::lanes::Portable::splat(z));
        if beyond.0[0] {
            (0.5 * (z * z + 1.0), z)
        } else {
            (value.0[0], slope.0[0])
        }
    }
}

/// One stroke in pixel units, as `soft.py` receives it (no clamping: the formula is applied as is).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftStroke {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub radius: f64,
    pub alpha: f64,
}

impl SoftStroke {
    /// Whether every value is finite and within [`VALUE_LIMIT`] (other strokes are skipped).
    pub fn is_usable(&self) -> bool {
        [self.x0, self.y0, self.x1, self.y1, self.radius, self.alpha]
            .iter()
            .all(|v| v.abs() <= VALUE_LIMIT)
    }
}

/// `d value / d (x0, y0, x1, y1, radius, alpha)` at one pixel.
pub type StrokeGradient = [f64; 6];

/// A stroke prepared for evaluation at many pixels.
#[derive(Clone, Copy)]
pub struct SoftKernel<'t> {
    stroke: SoftStroke,
    table: &'t RampTable,
    sigma: f64,
    inv_sigma: f64,
    vx: f64,
    vy: f64,
    len2: f64,
    inv_len2: f64,
    body_ux: f64,
    body_uy: f64,
    inv_length: f64,
}

/// The blurred footprint distribution at `x` for widths with reciprocals `inv_a`, `inv_b`,
/// `inv_ab = 1 / (a b)`: `(F, dF/dx, dF/da, dF/db)` from the ramps `(R, R')` at `y + p`, `y + m`,
/// `y - m`, `y - p` (with `y = -|x|`; `mirrored` where `x > 0`).
#[inline(always)]
fn footprint<V: Lanes4>(ramps: [(V, V); 4], mirrored: V::Mask, inv_a: V, inv_b: V, inv_ab: V) -> [V; 4] {
    let [(r1, d1), (r2, d2), (r3, d3), (r4, d4)] = ramps;
    let n = r1 - r2 - r3 + r4;
    let tail = n * inv_ab;
    let one = V::splat(1.0);
    let cdf = V::select(mirrored, one - tail, tail);
    let dx = (d1 - d2 - d3 + d4) * inv_ab;
    let dn_dp = d1 - d4;
    let dn_dm = d3 - d2;
    let half = V::splat(0.5);
    let sign = V::select(mirrored, -one, one);
    let da = sign * ((half * (dn_dp + dn_dm) - n * inv_a) * inv_ab);
    let db = sign * ((half * (dn_dp - dn_dm) - n * inv_b) * inv_ab);
    [cdf, dx, da, db]
}

impl<'t> SoftKernel<'t> {
    pub fn new(stroke: SoftStroke, table: &'t RampTable, sigma: f64) -> Self {
        let sigma = sigma.max(SIGMA_FLOOR);
        let vx = stroke.x1 - stroke.x0;
        let vy = stroke.y1 - stroke.y0;
        let len2 = vx * vx + vy * vy;
        let length = (len2 + LENGTH_EPS * LENGTH_EPS).sqrt();
        SoftKernel {
            stroke,
            table,
            sigma,
            inv_sigma: 1.0 / sigma,
            vx,
            vy,
            len2,
            inv_len2: if len2 > 0.0 { 1.0 / len2 } else { 0.0 },
            body_ux: vx.abs() / length,
            body_uy: vy.abs() / length,
            inv_length: 1.0 / length,
        }
    }

    /// `(R(x), R'(x)) = (sigma^2 G(x / sigma), sigma G'(x / sigma))`; above `Z_HIGH sigma` the parabola
    /// `((x^2 + sigma^2) / 2, x)`, computed from `x` (so that no `sigma^2 z^2` can overflow).
    #[inline(always)]
    fn ramp<V: Lanes4>(&self, x: V) -> (V, V) {
        let sigma = V::splat(self.sigma);
        let (g, g1, beyond) = self.table.ramp(x * V::splat(self.inv_sigma));
        let parabola = V::splat(0.5) * (x * x + sigma * sigma);
        (
            V::select(beyond, parabola, sigma * sigma * g),
            V::select(beyond, x, sigma * g1),
        )
    }

    /// [`footprint`] at `x`. Where every lane's largest ramp argument `-|x| + p` lies below
    /// `Z_LOW sigma`, all four ramps are the table's first piece and the footprint is flat (`F` 0 or 1,
    /// no derivatives): that is returned without looking the ramps up, the same numbers either way.
    #[inline(always)]
    fn footprint_at<V: Lanes4>(&self, x: V, p: V, m: V, inv_a: V, inv_b: V, inv_ab: V) -> [V; 4] {
        let y = -x.abs();
        let mirrored = x.gt(V::splat(0.0));
        if V::all(((y + p) * V::splat(self.inv_sigma)).le(V::splat(Z_LOW))) {
            let zero = V::splat(0.0);
            return [V::select(mirrored, V::splat(1.0), zero), zero, zero, zero];
        }
        let ramps = [
            self.ramp(y + p),
            self.ramp(y + m),
            self.ramp(y - m),
            self.ramp(y - p),
        ];
        footprint(ramps, mirrored, inv_a, inv_b, inv_ab)
    }

    /// The stroke's value `alpha cov` at one pixel centre `(cx, cy)`, and its gradient (for the tests).
    #[cfg(test)]
    pub fn eval(&self, cx: f64, cy: f64) -> (f64, StrokeGradient) {
        use crate::lanes::Portable;
        let (value, grad) = self.eval4::<Portable, true>(Portable::splat(cx), cy);
        (value.0[0], grad.map(|g| g.0[0]))
    }

    /// The stroke's value `alpha cov` at four pixel centres `(cx[lane], cy)` of one row, and when `GRAD`
    /// its gradient with respect to `(x0, y0, x1, y1, radius, alpha)` (zeros otherwise).
    #[inline(always)]
    pub fn eval4<V: Lanes4, const GRAD: bool>(&self, cx: V, cy: f64) -> (V, [V; 6]) {
        let s = &self.stroke;
        let splat = V::splat;
        let (zero, one) = (splat(0.0), splat(1.0));
        let (vx, vy) = (splat(self.vx), splat(self.vy));
        let has_length = self.len2 > 0.0;
        let wx = cx - splat(s.x0);
        let wy = splat(cy - s.y0);
        let t_raw = if has_length {
            (wx * vx + wy * vy) * splat(self.inv_len2)
        } else {
            zero
        };
        let t = t_raw.clamp(0.0, 1.0);
        let (dx, dy) = (wx - t * vx, wy - t * vy);
        let d2 = dx * dx + dy * dy;
        let d = (d2 + splat(LENGTH_EPS * LENGTH_EPS)).sqrt();
        let inv_d = one / d;
        let beside_cap = (t_raw.le(zero) | t_raw.ge(one)) & d2.gt(zero);
        let ux = V::select(beside_cap, dy.abs() * inv_d, splat(self.body_ux));
        let uy = V::select(beside_cap, dx.abs() * inv_d, splat(self.body_uy));
        let a_is_x = ux.ge(uy);
        let big = V::select(a_is_x, ux, uy);
        let small = V::select(a_is_x, uy, ux);
        let (a, b) = (big.max(splat(0.5)), small.max(splat(B_MIN)));
        let half = splat(0.5);
        let (p, m) = (half * (a + b), half * (a - b));
        let inv_ab = one / (a * b);
        let (inv_a, inv_b) = (b * inv_ab, a * inv_ab);
        let radius = splat(s.radius);
        let near_x = radius - d;
        let far_x = -radius - d;
        let [near, near_dx, near_da, near_db] = self.footprint_at(near_x, p, m, inv_a, inv_b, inv_ab);
        let [far, far_dx, far_da, far_db] = self.footprint_at(far_x, p, m, inv_a, inv_b, inv_ab);
        let raw_cov = near - far;
        let cov = raw_cov.clamp(0.0, 1.0);
        let value = splat(s.alpha) * cov;
        if !GRAD {
            return (value, [zero; 6]);
        }
        let inside = raw_cov.ge(zero) & raw_cov.le(one);
        let alpha = V::select(inside, splat(s.alpha), zero);
        let g_r = alpha * (near_dx + far_dx);
        let g_d = alpha * (far_dx - near_dx);
        let g_a = V::select(big.ge(splat(0.5)), alpha * (near_da - far_da), zero);
        let g_b = V::select(small.ge(splat(B_MIN)), alpha * (near_db - far_db), zero);
        let g_ux = V::select(a_is_x, g_a, g_b);
        let g_uy = V::select(a_is_x, g_b, g_a);
        let cap_shared = (g_ux * dy.abs() + g_uy * dx.abs()) * inv_d * inv_d * inv_d;
        let cap_x = V::select(
            beside_cap,
            g_uy * dx.signum_or_zero() * inv_d - cap_shared * dx,
            zero,
        );
        let cap_y = V::select(
            beside_cap,
            g_ux * dy.signum_or_zero() * inv_d - cap_shared * dy,
            zero,
        );
        let g_delta_x = g_d * dx * inv_d + cap_x;
        let g_delta_y = g_d * dy * inv_d + cap_y;
        let inv_l = splat(self.inv_length);
        let body_shared = (g_ux * vx.abs() + g_uy * vy.abs()) * inv_l * inv_l * inv_l;
        let g_vx = V::select(
            beside_cap,
            zero,
            g_ux * vx.signum_or_zero() * inv_l - body_shared * vx,
        );
        let g_vy = V::select(
            beside_cap,
            zero,
            g_uy * vy.signum_or_zero() * inv_l - body_shared * vy,
        );
        let on_segment = t_raw.ge(zero) & t_raw.le(one);
        let g_t = if has_length {
            V::select(
                on_segment,
                -(g_delta_x * vx + g_delta_y * vy) * splat(self.inv_len2),
                zero,
            )
        } else {
            zero
        };
        let two_t = splat(2.0) * t;
        let rest = one - t;
        let grads = [
            -rest * g_delta_x - g_vx + g_t * (two_t * vx - vx - wx),
            -rest * g_delta_y - g_vy + g_t * (two_t * vy - vy - wy),
            -t * g_delta_x + g_vx + g_t * (wx - two_t * vx),
            -t * g_delta_y + g_vy + g_t * (wy - two_t * vy),
            g_r,
            cov,
        ];
        (value, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::Portable;

    #[test]
    fn table_matches_the_exact_ramp() {
        let table = RampTable::get();
        let mut worst = (0.0f64, 0.0f64);
        for i in 0..20_000 {
            let z = -9.0 + i as f64 * 0.0009 * 2.0;
            let (g, g1) = table.ramp_one(z);
            let (eg, eg1, _) = ramp_exact(z);
            worst.0 = worst.0.max((g - eg).abs());
            worst.1 = worst.1.max((g1 - eg1).abs());
        }
        assert!(worst.0 < 1e-12 && worst.1 < 1e-10, "{worst:?}");
    }

    #[test]
    fn ramp_identity_and_limits() {
        let (g, _, _) = ramp_exact(3.0);
        let (h, _, _) = ramp_exact(-3.0);
        assert!((g + h - 5.0).abs() < 1e-14);
        assert!(ramp_exact(Z_LOW).0 < 1e-12);
        assert!(ramp_exact(-Z_HIGH).0 < 1e-13);
        assert!((ramp_exact(0.0).0 - 0.25).abs() < 1e-15);
    }

    #[test]
    fn tail_quantile_inverts_the_normal_tail() {
        let k = tail_quantile(1e-6);
        assert!((normal_cdf(-k) - 1e-6).abs() < 1e-12, "{k}");
        assert!((k - 4.753424).abs() < 1e-5);
        assert_eq!(tail_quantile(0.0), f64::INFINITY);
    }

    fn numeric_gradient(stroke: SoftStroke, cx: f64, cy: f64, sigma: f64) -> [f64; 6] {
        let table = RampTable::get();
        let h = 1e-6;
        let mut out = [0.0; 6];
        for (k, slot) in out.iter_mut().enumerate() {
            let shifted = |delta: f64| {
                let mut v = [
                    stroke.x0,
                    stroke.y0,
                    stroke.x1,
                    stroke.y1,
                    stroke.radius,
                    stroke.alpha,
                ];
                v[k] += delta;
                let s = SoftStroke {
                    x0: v[0],
                    y0: v[1],
                    x1: v[2],
                    y1: v[3],
                    radius: v[4],
                    alpha: v[5],
                };
                SoftKernel::new(s, table, sigma).eval(cx, cy).0
            };
            *slot = (shifted(h) - shifted(-h)) / (2.0 * h);
        }
        out
    }

    /// (A zero-length stroke is a kink in its endpoints, so it is left to the comparison with torch's
    /// autograd, which follows the same convention, `t = 0`.)
    #[test]
    fn gradient_matches_finite_differences() {
        let table = RampTable::get();
        let strokes = [
            SoftStroke {
                x0: 3.2,
                y0: 4.1,
                x1: 17.3,
                y1: 9.6,
                radius: 1.3,
                alpha: 0.8,
            },
            SoftStroke {
                x0: 5.1,
                y0: 5.3,
                x1: 5.1,
                y1: 14.7,
                radius: 0.6,
                alpha: 1.0,
            },
            SoftStroke {
                x0: 8.3,
                y0: 8.2,
                x1: 9.1,
                y1: 7.7,
                radius: 2.1,
                alpha: 0.4,
            },
            SoftStroke {
                x0: 2.13,
                y0: 2.07,
                x1: 12.21,
                y1: 11.93,
                radius: 0.05,
                alpha: 0.7,
            },
        ];
        for stroke in strokes {
            for sigma in [0.1, 0.5, 2.0] {
                let kernel = SoftKernel::new(stroke, table, sigma);
                for row in 0..20 {
                    for col in 0..20 {
                        let (cx, cy) = (col as f64 + 0.5, row as f64 + 0.5);
                        let (value, grad) = kernel.eval(cx, cy);
                        let cxs = Portable::splat(cx);
                        assert_eq!(value, kernel.eval4::<Portable, false>(cxs, cy).0 .0[0]);
                        let numeric = numeric_gradient(stroke, cx, cy, sigma);
                        for k in 0..6 {
                            let tol = 1e-5 + 1e-4 * numeric[k].abs();
                            assert!(
                                (grad[k] - numeric[k]).abs() < tol,
                                "{stroke:?} sigma {sigma} pixel ({cx}, {cy}) param {k}: {} vs {}",
                                grad[k],
                                numeric[k]
                            );
                        }
                    }
                }
            }
        }
    }
}
