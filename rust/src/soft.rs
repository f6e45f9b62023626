//! The soft pixel formula and its hand-derived gradient: one stroke at one pixel.
//!
//! This is the formula of `mnistvec/render/soft.py`, term for term, in `f64`. Units are pixels; a stroke
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
//! `G'` and `G'' = Phi` at every knot (error below 1e-13), its knots for `z > 0` from the identity
//! `G(z) + G(-z) = (z^2 + 1) / 2`; constant below `Z_LOW` (where `G < 1e-17`) and the parabola
//! `(z^2 + 1) / 2` above `Z_HIGH`. The derivative used below is the derivative of the tabulated function
//! itself, so forward and backward agree exactly.
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

/// Smoothing of `|B - A|` and `d` near zero, in pixels (`LENGTH_EPS` of `soft.py`).
pub const LENGTH_EPS: f64 = 1e-3;

/// Below `z = Z_LOW`, `G(z) < 1e-17` is taken as `G(Z_LOW)`.
pub const Z_LOW: f64 = -8.0;

/// Above `z = Z_HIGH`, `G(z)` is taken as `(z^2 + 1) / 2` (they differ by `G(-z) < 1e-17`).
pub const Z_HIGH: f64 = 8.0;

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

/// `G` on `[Z_LOW, Z_HIGH]` as quintic polynomials in the local coordinate `u` in `[0, 1]` of each piece.
pub struct RampTable {
    pieces: Vec<[f64; 6]>,
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
                [
                    c0,
                    c1,
                    c2,
                    10.0 * rest_value - 4.0 * rest_slope + 0.5 * rest_curve,
                    -15.0 * rest_value + 7.0 * rest_slope - rest_curve,
                    6.0 * rest_value - 3.0 * rest_slope + 0.5 * rest_curve,
                ]
            })
            .collect();
        RampTable { pieces }
    }

    /// The shared table (built on first use, 512 pieces).
    pub fn get() -> &'static RampTable {
        static TABLE: OnceLock<RampTable> = OnceLock::new();
        TABLE.get_or_init(RampTable::build)
    }

    /// `(G(z), G'(z))` for any `z`, without branches: below `Z_LOW` the table's first value
    /// (`G(Z_LOW) < 1e-17`), above `Z_HIGH` the parabola `(z^2 + 1) / 2` that `G` meets to within 1e-17.
    #[inline(always)]
    pub fn ramp(&self, z: f64) -> (f64, f64) {
        let last = self.pieces.len() - 1;
        let position = ((z - Z_LOW) * KNOTS_PER_UNIT).clamp(0.0, last as f64 + 1.0);
        let index = (position as usize).min(last);
        let u = position - index as f64;
        let c = &self.pieces[index];
        let value = c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))));
        let slope = c[1] + u * (2.0 * c[2] + u * (3.0 * c[3] + u * (4.0 * c[4] + u * 5.0 * c[5])));
        let beyond = z > Z_HIGH;
        (
            if beyond { 0.5 * (z * z + 1.0) } else { value },
            if beyond { z } else { slope * KNOTS_PER_UNIT },
        )
    }

    /// [`RampTable::ramp`] of four arguments at once, written lane by lane so that it vectorises.
    #[inline(always)]
    pub fn ramp4(&self, z: [f64; 4]) -> ([f64; 4], [f64; 4]) {
        let last = self.pieces.len() - 1;
        let mut u = [0.0; 4];
        let mut c = [[0.0; 6]; 4];
        for lane in 0..4 {
            let position = ((z[lane] - Z_LOW) * KNOTS_PER_UNIT).clamp(0.0, last as f64 + 1.0);
            let index = (position as usize).min(last);
            u[lane] = position - index as f64;
            c[lane] = self.pieces[index];
        }
        let mut value = [0.0; 4];
        let mut slope = [0.0; 4];
        for lane in 0..4 {
            let (u, c, z) = (u[lane], &c[lane], z[lane]);
            let v = c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))));
            let s = c[1] + u * (2.0 * c[2] + u * (3.0 * c[3] + u * (4.0 * c[4] + u * 5.0 * c[5])));
            let beyond = z > Z_HIGH;
            value[lane] = if beyond { 0.5 * (z * z + 1.0) } else { v };
            slope[lane] = if beyond { z } else { s * KNOTS_PER_UNIT };
        }
        (value, slope)
    }
}

/// The blurred footprint distribution at one pixel: `(F, dF/dx, dF/da, dF/db)` at `x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FootprintValue {
    pub cdf: f64,
    pub dx: f64,
    pub da: f64,
    pub db: f64,
}

/// The blurred footprint of widths `a`, `b` for blur `sigma` (`a b > 0`).
#[derive(Clone, Copy)]
pub struct SoftFootprint<'t> {
    table: &'t RampTable,
    sigma: f64,
    inv_sigma: f64,
    a: f64,
    b: f64,
    p: f64,
    m: f64,
    inv_ab: f64,
}

impl<'t> SoftFootprint<'t> {
    #[inline(always)]
    pub fn new(table: &'t RampTable, sigma: f64, inv_sigma: f64, a: f64, b: f64) -> Self {
        SoftFootprint {
            table,
            sigma,
            inv_sigma,
            a,
            b,
            p: 0.5 * (a + b),
            m: 0.5 * (a - b),
            inv_ab: 1.0 / (a * b),
        }
    }

    /// `F(x)` and, when `GRAD`, its partial derivatives (zero otherwise).
    #[inline(always)]
    pub fn eval<const GRAD: bool>(&self, x: f64) -> FootprintValue {
        let y = -x.abs();
        let mirrored = x > 0.0;
        if (y + self.p) * self.inv_sigma <= Z_LOW {
            // Every R term is (within 1e-17) 0: F is 0 or 1 and flat.
            let cdf = if mirrored { 1.0 } else { 0.0 };
            return FootprintValue {
                cdf,
                ..FootprintValue::default()
            };
        }
        let args = [y + self.p, y + self.m, y - self.m, y - self.p];
        let (g, g1) = self.table.ramp4(args.map(|x| x * self.inv_sigma));
        let (s2, s) = (self.sigma * self.sigma, self.sigma);
        let (r1, r2, r3, r4) = (s2 * g[0], s2 * g[1], s2 * g[2], s2 * g[3]);
        let (d1, d2, d3, d4) = (s * g1[0], s * g1[1], s * g1[2], s * g1[3]);
        let n = r1 - r2 - r3 + r4;
        let tail = n * self.inv_ab;
        let cdf = if mirrored { 1.0 - tail } else { tail };
        if !GRAD {
            return FootprintValue {
                cdf,
                ..FootprintValue::default()
            };
        }
        let dy = (d1 - d2 - d3 + d4) * self.inv_ab;
        let dn_dp = d1 - d4;
        let dn_dm = d3 - d2;
        let dt_da = (0.5 * (dn_dp + dn_dm) - n / self.a) * self.inv_ab;
        let dt_db = (0.5 * (dn_dp - dn_dm) - n / self.b) * self.inv_ab;
        let sign = if mirrored { -1.0 } else { 1.0 };
        FootprintValue {
            cdf,
            dx: dy,
            da: sign * dt_da,
            db: sign * dt_db,
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

fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `(a, b, which)` from `(ux, uy)`, with `which` telling whether `a` came from `ux`, and whether each
/// clamp lets the gradient through.
#[inline(always)]
fn widths(ux: f64, uy: f64) -> (f64, f64, bool, bool, bool) {
    let a_is_x = ux >= uy;
    let (big, small) = if a_is_x { (ux, uy) } else { (uy, ux) };
    (big.max(0.5), small.max(B_MIN), a_is_x, big >= 0.5, small >= B_MIN)
}

impl<'t> SoftKernel<'t> {
    pub fn new(stroke: SoftStroke, table: &'t RampTable, sigma: f64) -> Self {
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

    /// The stroke's value `alpha cov` at the pixel centre `(cx, cy)`, and when `GRAD` its gradient.
    #[inline(always)]
    pub fn eval<const GRAD: bool>(&self, cx: f64, cy: f64) -> (f64, StrokeGradient) {
        let s = &self.stroke;
        let (wx, wy) = (cx - s.x0, cy - s.y0);
        let t_raw = if self.len2 > 0.0 {
            (wx * self.vx + wy * self.vy) * self.inv_len2
        } else {
            0.0
        };
        let t = t_raw.clamp(0.0, 1.0);
        let (dx, dy) = (wx - t * self.vx, wy - t * self.vy);
        let d2 = dx * dx + dy * dy;
        let d = (d2 + LENGTH_EPS * LENGTH_EPS).sqrt();
        let beside_cap = (t_raw <= 0.0 || t_raw >= 1.0) && d2 > 0.0;
        let (ux, uy) = if beside_cap {
            (dy.abs() / d, dx.abs() / d)
        } else {
            (self.body_ux, self.body_uy)
        };
        let (a, b, a_is_x, a_free, b_free) = widths(ux, uy);
        let footprint = SoftFootprint::new(self.table, self.sigma, self.inv_sigma, a, b);
        let near = footprint.eval::<GRAD>(s.radius - d);
        let far = footprint.eval::<GRAD>(-s.radius - d);
        let raw_cov = near.cdf - far.cdf;
        let cov = raw_cov.clamp(0.0, 1.0);
        let value = s.alpha * cov;
        if !GRAD {
            return (value, [0.0; 6]);
        }
        let mut grad = [0.0; 6];
        grad[5] = cov;
        if !(0.0..=1.0).contains(&raw_cov) {
            return (value, grad);
        }
        let alpha = s.alpha;
        grad[4] = alpha * (near.dx + far.dx);
        let g_d = alpha * (far.dx - near.dx);
        let g_a = if a_free { alpha * (near.da - far.da) } else { 0.0 };
        let g_b = if b_free { alpha * (near.db - far.db) } else { 0.0 };
        let (g_ux, g_uy) = if a_is_x { (g_a, g_b) } else { (g_b, g_a) };

        let mut g_delta_x = g_d * dx / d;
        let mut g_delta_y = g_d * dy / d;
        let (mut g_vx, mut g_vy) = (0.0, 0.0);
        if beside_cap {
            let inv_d = 1.0 / d;
            let shared = (g_ux * dy.abs() + g_uy * dx.abs()) * inv_d * inv_d * inv_d;
            g_delta_x += g_uy * sgn(dx) * inv_d - shared * dx;
            g_delta_y += g_ux * sgn(dy) * inv_d - shared * dy;
        } else {
            let inv_l = self.inv_length;
            let shared = (g_ux * self.vx.abs() + g_uy * self.vy.abs()) * inv_l * inv_l * inv_l;
            g_vx = g_ux * sgn(self.vx) * inv_l - shared * self.vx;
            g_vy = g_uy * sgn(self.vy) * inv_l - shared * self.vy;
        }
        let mut ga_x = -(1.0 - t) * g_delta_x - g_vx;
        let mut ga_y = -(1.0 - t) * g_delta_y - g_vy;
        let mut gb_x = -t * g_delta_x + g_vx;
        let mut gb_y = -t * g_delta_y + g_vy;
        if self.len2 > 0.0 && (0.0..=1.0).contains(&t_raw) {
            let g_t = -(g_delta_x * self.vx + g_delta_y * self.vy);
            let scale = g_t * self.inv_len2;
            ga_x += scale * (2.0 * t * self.vx - self.vx - wx);
            ga_y += scale * (2.0 * t * self.vy - self.vy - wy);
            gb_x += scale * (wx - 2.0 * t * self.vx);
            gb_y += scale * (wy - 2.0 * t * self.vy);
        }
        grad[0] = ga_x;
        grad[1] = ga_y;
        grad[2] = gb_x;
        grad[3] = gb_y;
        (value, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_exact_ramp() {
        let table = RampTable::get();
        let mut worst = (0.0f64, 0.0f64);
        for i in 0..20_000 {
            let z = -9.0 + i as f64 * 0.0009 * 2.0;
            let (g, g1) = table.ramp(z);
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
        assert!(ramp_exact(Z_LOW).0 < 1e-17);
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
                SoftKernel::new(s, table, sigma).eval::<false>(cx, cy).0
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
                        let (value, grad) = kernel.eval::<true>(cx, cy);
                        assert_eq!(value, kernel.eval::<false>(cx, cy).0);
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
