//! The floating-point type a stroke is rasterised in: `f32` for strokes near the image (fast, and as
//! precise as the `f32` inputs), `f64` for strokes whose clipped coordinates or radius are huge.
//!
//! Rounding helpers avoid libm calls (the baseline x86-64 target has no rounding instruction) and
//! `min`/`max` are single selects, so that loops over rows and pixels compile to SIMD code.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// The arithmetic the renderer needs, for `f32` and `f64`.
pub trait Real:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const HALF: Self;
    const INFINITY: Self;
    /// Smallest slope magnitude whose reciprocal is used as is; smaller slopes are raised to it. Its
    /// reciprocal times any coordinate difference of this type's strokes stays finite, and a coordinate
    /// times it stays far below a pixel.
    const SLOPE_FLOOR: Self;

    /// The nearest value of this type (`f64` to `f32` rounds).
    fn from_f64(value: f64) -> Self;

    /// The nearest value of this type.
    fn from_usize(value: usize) -> Self;

    /// The value as `f32`, for the transmittance buffer.
    fn to_f32(self) -> f32;

    /// The nearest value of this type.
    fn from_i32(value: i32) -> Self;

    /// The value truncated to `i32` (out-of-range values saturate; NaN gives 0).
    fn to_i32(self) -> i32;

    /// An integral value in `[0, 2^22]` as `i32`, without a conversion instruction: adding
    /// `2^(mantissa bits)` puts the integer in the low mantissa bits. Other values give some value in
    /// `[0, 2^(mantissa bits))` (callers clamp first).
    fn small_integral_to_i32(self) -> i32;

    fn sqrt(self) -> Self;

    fn abs(self) -> Self;

    /// `1.5 * 2^(mantissa bits)`: adding and subtracting it rounds a value to the nearest integer.
    const ROUNDING_SHIFT: Self;

    /// `floor(x)` for `|x| < 2^22` (`f32`) or `2^51` (`f64`), in float arithmetic only: `n = round(x)`
    /// by the shift, then `n - 1` where `n > x`.
    #[inline(always)]
    fn floor_small(self) -> Self {
        let nearest = (self + Self::ROUNDING_SHIFT) - Self::ROUNDING_SHIFT;
        if nearest > self {
            nearest - Self::ONE
        } else {
            nearest
        }
    }

    /// `ceil(x) = -floor(-x)`, for the same range as [`Real::floor_small`].
    #[inline(always)]
    fn ceil_small(self) -> Self {
        -(-self).floor_small()
    }

    /// `min(self, other)` as one select: `other` when either is NaN.
    #[inline(always)]
    fn min_fast(self, other: Self) -> Self {
        if self < other {
            self
        } else {
            other
        }
    }

    /// `max(self, other)` as one select: `other` when either is NaN.
    #[inline(always)]
    fn max_fast(self, other: Self) -> Self {
        if self > other {
            self
        } else {
            other
        }
    }

    /// `max(self, 0)`; NaN gives 0.
    #[inline(always)]
    fn positive_part(self) -> Self {
        self.max_fast(Self::ZERO)
    }

    /// `clamp(self, 0, 1)`; NaN gives 0.
    #[inline(always)]
    fn clamp_unit(self) -> Self {
        Self::ONE.min_fast(self.positive_part())
    }
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const HALF: f32 = 0.5;
    const INFINITY: f32 = f32::INFINITY;
    const SLOPE_FLOOR: f32 = 1e-30;
    const ROUNDING_SHIFT: f32 = 12_582_912.0;

    #[inline(always)]
    fn from_f64(value: f64) -> f32 {
        value as f32
    }

    #[inline(always)]
    fn from_usize(value: usize) -> f32 {
        value as f32
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[inline(always)]
    fn from_i32(value: i32) -> f32 {
        value as f32
    }

    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }

    #[inline(always)]
    fn small_integral_to_i32(self) -> i32 {
        const MANTISSA: u32 = (1 << 23) - 1;
        ((self + 8_388_608.0).to_bits() & MANTISSA) as i32
    }

    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }

    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const HALF: f64 = 0.5;
    const INFINITY: f64 = f64::INFINITY;
    const SLOPE_FLOOR: f64 = 1e-200;
    const ROUNDING_SHIFT: f64 = 6_755_399_441_055_744.0;

    #[inline(always)]
    fn from_f64(value: f64) -> f64 {
        value
    }

    #[inline(always)]
    fn from_usize(value: usize) -> f64 {
        value as f64
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }

    #[inline(always)]
    fn from_i32(value: i32) -> f64 {
        value as f64
    }

    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }

    #[inline(always)]
    fn small_integral_to_i32(self) -> i32 {
        const MANTISSA: u64 = (1 << 52) - 1;
        ((self + 4_503_599_627_370_496.0).to_bits() & MANTISSA) as i32
    }

    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }

    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_map_nan_to_zero() {
        assert_eq!(f32::NAN.positive_part(), 0.0);
        assert_eq!(f64::NAN.clamp_unit(), 0.0);
        assert_eq!((-2.0f32).clamp_unit(), 0.0);
        assert_eq!(0.25f64.clamp_unit(), 0.25);
        assert_eq!(7.0f32.clamp_unit(), 1.0);
        assert_eq!(3.0f64.positive_part(), 3.0);
    }

    #[test]
    fn rounding_matches_the_standard_library() {
        for k in -100..=100 {
            let x = k as f64 * 0.37;
            assert_eq!(x.floor_small(), x.floor());
            assert_eq!(x.ceil_small(), x.ceil());
            let y = x as f32;
            assert_eq!(y.floor_small(), y.floor());
            assert_eq!(y.ceil_small(), y.ceil());
        }
        assert_eq!((-0.5f32).ceil_small(), 0.0);
        assert_eq!(3.0f64.floor_small(), 3.0);
        assert_eq!(4096.5f32.floor_small(), 4096.0);
        assert_eq!(2.5f32.floor_small(), 2.0);
        assert_eq!(3.5f32.ceil_small(), 4.0);
        assert_eq!((-1.0f64).floor_small(), -1.0);
        assert_eq!(
            ((1u64 << 40) as f64 + 0.5).ceil_small(),
            (1u64 << 40) as f64 + 1.0
        );
    }

    #[test]
    fn conversions_to_i32_saturate() {
        assert_eq!((-3.0f32).to_i32(), -3);
        assert_eq!(f64::NAN.to_i32(), 0);
        assert_eq!(7.9f32.to_i32(), 7);
        assert_eq!(4096.0f32.to_i32(), 4096);
        assert_eq!(f64::INFINITY.to_i32(), i32::MAX);
        assert_eq!(f32::NEG_INFINITY.to_i32(), i32::MIN);
    }

    #[test]
    fn small_integral_values_convert_exactly() {
        for k in [0, 1, 2, 27, 4095, 4096, 1 << 22] {
            assert_eq!((k as f32).small_integral_to_i32(), k);
            assert_eq!((k as f64).small_integral_to_i32(), k);
        }
        assert_eq!(2_000_000_000f64.small_integral_to_i32(), 2_000_000_000);
    }
}
