//! The Gaussian error linear unit of torch's `nn.GELU()`, in `f32`, branch-free so loops over it vectorise.
//!
//! ```text
//! GELU(x) = x Φ(x) = (x / 2) (1 + erf(x / √2))
//! ```
//!
//! `erf` by Abramowitz & Stegun 7.1.26: for `z ≥ 0`, with `t = 1 / (1 + p z)`,
//!
//! ```text
//! erfc(z) ≈ t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-z²),    |error| ≤ 1.5e-7,
//! ```
//!
//! and `1 + erf(z) = 2 - erfc(z)` for `z ≥ 0`, `erfc(-z)` for `z < 0`. The exponential is
//! `e^y = 2^n e^r` with `n = round(y / ln 2)`, `r = y - n ln 2` in `[-ln 2 / 2, ln 2 / 2]` and `e^r` by its
//! Taylor polynomial to degree 7 (relative error below 1e-8); `y` is clamped at -87, where `e^y` is below
//! every float that matters here. So `|GELU(x) - x Φ(x)| ≤ |x| 1e-7`, a few float roundings from torch's.

const P: f32 = 0.327_591_1;
const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152_1, 1.061_405_4];
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// `1.5 * 2^23`: adding it rounds a float of magnitude below `2^22` to a whole number.
const ROUNDER: f32 = 12_582_912.0;

/// `e^y` for `y ≤ 0` (module docs); `y` below -87 is taken as -87.
#[inline(always)]
pub fn exp_nonpositive(y: f32) -> f32 {
    let y = y.max(-87.0);
    let shifted = y * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let whole = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let mut poly = 1.0 / 5040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        poly = poly * r + c;
    }
    poly * f32::from_bits(((whole + 127) as u32) << 23)
}

/// `1 + erf(z)` (module docs).
#[inline(always)]
pub fn one_plus_erf(z: f32) -> f32 {
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let tail = poly * exp_nonpositive(-a * a);
    if z >= 0.0 {
        2.0 - tail
    } else {
        tail
    }
}

/// GELU(x) (module docs).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * one_plus_erf(x * std::f32::consts::FRAC_1_SQRT_2)
}

/// GELU of every value, in place.
#[inline(always)]
pub fn gelu_in_place(values: &mut [f32]) {
    for value in values {
        *value = gelu(*value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series (|z| ≤ 3) or continued fraction for erfc, in f64: a reference.
    fn erf_reference(z: f64) -> f64 {
        if z.abs() <= 3.0 {
            let mut term = z;
            let mut sum = z;
            for n in 1..200 {
                term *= -z * z / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let a = z.abs();
            let mut fraction = 0.0;
            for n in (1..100).rev() {
                fraction = (n as f64 / 2.0) / (a + fraction);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + fraction);
            (1.0 - erfc) * z.signum()
        }
    }

    #[test]
    fn exponential_matches_std() {
        for i in 0..=2000 {
            let y = -90.0 * i as f32 / 2000.0;
            let want = (y.max(-87.0) as f64).exp();
            let got = exp_nonpositive(y) as f64;
            assert!((got - want).abs() <= 3e-7 * want, "e^{y}: {got} against {want}");
        }
    }

    #[test]
    fn gelu_matches_the_exact_formula() {
        for i in -4000..=4000 {
            let x = i as f32 / 400.0;
            let want = 0.5 * x as f64 * (1.0 + erf_reference(x as f64 / std::f64::consts::SQRT_2));
            let got = gelu(x) as f64;
            assert!(
                (got - want).abs() <= 2e-7 * (x.abs() as f64).max(1.0),
                "GELU({x}): {got} against {want}"
            );
        }
    }

    #[test]
    fn gelu_limits() {
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu(30.0), 30.0);
        assert!(gelu(-30.0).abs() < 1e-30);
        assert!(gelu(f32::NAN).is_nan());
        let mut values = [1.0, -1.0];
        gelu_in_place(&mut values);
        assert!((values[0] - 0.841_344_7).abs() < 1e-6 && (values[1] + 0.158_655_3).abs() < 1e-6);
    }
}
