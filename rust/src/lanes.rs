//! Four `f64` lanes: the arithmetic the soft renderer is written in, portable or with AVX2.
//!
//! [`Lanes4`] is the interface; [`Portable`] implements it lane by lane in plain Rust, and on x86-64
//! [`Avx2`] with AVX2 instructions. Every operation is an IEEE operation (add, subtract, multiply,
//! divide, square root, comparisons, selects, min/max of non-NaN values), applied in the same order by
//! both, so both give bit-identical results: the instruction set changes the speed, not the numbers.
//! `Avx2` values exist only inside code that checked the processor has AVX2 (see `soft_batch.rs`).

use std::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Sub};

/// Table rows of six coefficients (and two unused), 64-byte aligned: one cache line (see `soft.rs`).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
pub struct Piece(pub [f64; 8]);

/// Four `f64` lanes and their comparison masks.
pub trait Lanes4:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self>
{
    type Mask: Copy + BitAnd<Output = Self::Mask> + BitOr<Output = Self::Mask>;

    fn splat(value: f64) -> Self;
    fn from_array(values: [f64; 4]) -> Self;
    fn to_array(self) -> [f64; 4];
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    /// Lane-wise minimum and maximum (of values that are not NaN).
    fn min(self, other: Self) -> Self;
    fn max(self, other: Self) -> Self;
    fn floor(self) -> Self;
    fn lt(self, other: Self) -> Self::Mask;
    fn le(self, other: Self) -> Self::Mask;
    fn gt(self, other: Self) -> Self::Mask;
    fn ge(self, other: Self) -> Self::Mask;
    /// `if mask { yes } else { no }`, lane by lane.
    fn select(mask: Self::Mask, yes: Self, no: Self) -> Self;
    /// Whether the mask is true in every lane.
    fn all(mask: Self::Mask) -> bool;
    /// The columns `c0..c5` of `pieces[index[lane]]`.
    ///
    /// # Safety
    /// Every lane of `index` must be an integral value in `0..pieces.len()`.
    unsafe fn gather(pieces: &[Piece], index: Self) -> [Self; 6];

    /// `-1`, `0` or `1` by the sign of each lane (`0` for `0` and `-0`).
    #[inline(always)]
    fn signum_or_zero(self) -> Self {
        let zero = Self::splat(0.0);
        let negative = Self::select(self.lt(zero), Self::splat(-1.0), zero);
        Self::select(self.gt(zero), Self::splat(1.0), negative)
    }

    #[inline(always)]
    fn clamp(self, lo: f64, hi: f64) -> Self {
        self.max(Self::splat(lo)).min(Self::splat(hi))
    }
}

/// Four lanes in plain Rust.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Portable(pub [f64; 4]);

/// A mask of [`Portable`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PortableMask(pub [bool; 4]);

macro_rules! portable_binary {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for Portable {
            type Output = Portable;
            #[inline(always)]
            fn $method(self, other: Portable) -> Portable {
                Portable([
                    self.0[0] $op other.0[0],
                    self.0[1] $op other.0[1],
                    self.0[2] $op other.0[2],
                    self.0[3] $op other.0[3],
                ])
            }
        }
    };
}
portable_binary!(Add, add, +);
portable_binary!(Sub, sub, -);
portable_binary!(Mul, mul, *);
portable_binary!(Div, div, /);

impl Neg for Portable {
    type Output = Portable;
    #[inline(always)]
    fn neg(self) -> Portable {
        Portable(self.0.map(|v| -v))
    }
}

impl BitAnd for PortableMask {
    type Output = PortableMask;
    #[inline(always)]
    fn bitand(self, other: PortableMask) -> PortableMask {
        PortableMask(std::array::from_fn(|l| self.0[l] & other.0[l]))
    }
}

impl BitOr for PortableMask {
    type Output = PortableMask;
    #[inline(always)]
    fn bitor(self, other: PortableMask) -> PortableMask {
        PortableMask(std::array::from_fn(|l| self.0[l] | other.0[l]))
    }
}

impl Portable {
    #[inline(always)]
    fn compare(self, other: Portable, test: impl Fn(f64, f64) -> bool) -> PortableMask {
        PortableMask(std::array::from_fn(|l| test(self.0[l], other.0[l])))
    }
}

impl Lanes4 for Portable {
    type Mask = PortableMask;

    #[inline(always)]
    fn splat(value: f64) -> Portable {
        Portable([value; 4])
    }
    #[inline(always)]
    fn from_array(values: [f64; 4]) -> Portable {
        Portable(values)
    }
    #[inline(always)]
    fn to_array(self) -> [f64; 4] {
        self.0
    }
    #[inline(always)]
    fn sqrt(self) -> Portable {
        Portable(self.0.map(f64::sqrt))
    }
    #[inline(always)]
    fn abs(self) -> Portable {
        Portable(self.0.map(f64::abs))
    }
    #[inline(always)]
    fn min(self, other: Portable) -> Portable {
        Portable(std::array::from_fn(|l| {
            if self.0[l] < other.0[l] {
                self.0[l]
            } else {
                other.0[l]
            }
        }))
    }
    #[inline(always)]
    fn max(self, other: Portable) -> Portable {
        Portable(std::array::from_fn(|l| {
            if self.0[l] > other.0[l] {
                self.0[l]
            } else {
                other.0[l]
            }
        }))
    }
    #[inline(always)]
    fn floor(self) -> Portable {
        Portable(self.0.map(f64::floor))
    }
    #[inline(always)]
    fn lt(self, other: Portable) -> PortableMask {
        self.compare(other, |a, b| a < b)
    }
    #[inline(always)]
    fn le(self, other: Portable) -> PortableMask {
        self.compare(other, |a, b| a <= b)
    }
    #[inline(always)]
    fn gt(self, other: Portable) -> PortableMask {
        self.compare(other, |a, b| a > b)
    }
    #[inline(always)]
    fn ge(self, other: Portable) -> PortableMask {
        self.compare(other, |a, b| a >= b)
    }
    #[inline(always)]
    fn select(mask: PortableMask, yes: Portable, no: Portable) -> Portable {
        Portable(std::array::from_fn(
            |l| if mask.0[l] { yes.0[l] } else { no.0[l] },
        ))
    }
    #[inline(always)]
    fn all(mask: PortableMask) -> bool {
        mask.0 == [true; 4]
    }
    #[inline(always)]
    unsafe fn gather(pieces: &[Piece], index: Portable) -> [Portable; 6] {
        let rows = index.0.map(|i| pieces[i as usize].0);
        std::array::from_fn(|j| Portable(std::array::from_fn(|l| rows[l][j])))
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx2Mask};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Sub};

    use super::{Lanes4, Piece};

    /// Four lanes in one AVX2 register. Only made in code running on a processor with AVX2.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2(__m256d);

    /// A mask of [`Avx2`] (all bits of a lane set where true).
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2Mask(__m256d);

    // SAFETY (every `unsafe` block below): these are AVX/AVX2 register operations, executed only where
    // `Avx2` values exist, which is only on processors with AVX2; loads and stores are of local arrays
    // or of `pieces[i]` with `i` in range (`gather`'s contract), `Piece` being 64-byte aligned.

    macro_rules! avx_binary {
        ($trait:ident, $method:ident, $intrinsic:ident) => {
            impl $trait for Avx2 {
                type Output = Avx2;
                #[inline(always)]
                fn $method(self, other: Avx2) -> Avx2 {
                    Avx2(unsafe { $intrinsic(self.0, other.0) })
                }
            }
        };
    }
    avx_binary!(Add, add, _mm256_add_pd);
    avx_binary!(Sub, sub, _mm256_sub_pd);
    avx_binary!(Mul, mul, _mm256_mul_pd);
    avx_binary!(Div, div, _mm256_div_pd);

    impl Neg for Avx2 {
        type Output = Avx2;
        #[inline(always)]
        fn neg(self) -> Avx2 {
            Avx2(unsafe { _mm256_xor_pd(self.0, _mm256_set1_pd(-0.0)) })
        }
    }

    impl BitAnd for Avx2Mask {
        type Output = Avx2Mask;
        #[inline(always)]
        fn bitand(self, other: Avx2Mask) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_and_pd(self.0, other.0) })
        }
    }

    impl BitOr for Avx2Mask {
        type Output = Avx2Mask;
        #[inline(always)]
        fn bitor(self, other: Avx2Mask) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_or_pd(self.0, other.0) })
        }
    }

    impl Lanes4 for Avx2 {
        type Mask = Avx2Mask;

        #[inline(always)]
        fn splat(value: f64) -> Avx2 {
            Avx2(unsafe { _mm256_set1_pd(value) })
        }
        #[inline(always)]
        fn from_array(values: [f64; 4]) -> Avx2 {
            Avx2(unsafe { _mm256_loadu_pd(values.as_ptr()) })
        }
        #[inline(always)]
        fn to_array(self) -> [f64; 4] {
            let mut out = [0.0; 4];
            unsafe { _mm256_storeu_pd(out.as_mut_ptr(), self.0) };
            out
        }
        #[inline(always)]
        fn sqrt(self) -> Avx2 {
            Avx2(unsafe { _mm256_sqrt_pd(self.0) })
        }
        #[inline(always)]
        fn abs(self) -> Avx2 {
            Avx2(unsafe { _mm256_andnot_pd(_mm256_set1_pd(-0.0), self.0) })
        }
        #[inline(always)]
        fn min(self, other: Avx2) -> Avx2 {
            // `a < b ? a : b`, as the portable code.
            Avx2(unsafe { _mm256_min_pd(self.0, other.0) })
        }
        #[inline(always)]
        fn max(self, other: Avx2) -> Avx2 {
            Avx2(unsafe { _mm256_max_pd(self.0, other.0) })
        }
        #[inline(always)]
        fn floor(self) -> Avx2 {
            Avx2(unsafe { _mm256_floor_pd(self.0) })
        }
        #[inline(always)]
        fn lt(self, other: Avx2) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_cmp_pd::<_CMP_LT_OQ>(self.0, other.0) })
        }
        #[inline(always)]
        fn le(self, other: Avx2) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_cmp_pd::<_CMP_LE_OQ>(self.0, other.0) })
        }
        #[inline(always)]
        fn gt(self, other: Avx2) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_cmp_pd::<_CMP_GT_OQ>(self.0, other.0) })
        }
        #[inline(always)]
        fn ge(self, other: Avx2) -> Avx2Mask {
            Avx2Mask(unsafe { _mm256_cmp_pd::<_CMP_GE_OQ>(self.0, other.0) })
        }
        #[inline(always)]
        fn select(mask: Avx2Mask, yes: Avx2, no: Avx2) -> Avx2 {
            Avx2(unsafe { _mm256_blendv_pd(no.0, yes.0, mask.0) })
        }
        #[inline(always)]
        fn all(mask: Avx2Mask) -> bool {
            unsafe { _mm256_movemask_pd(mask.0) == 0b1111 }
        }
        #[inline(always)]
        unsafe fn gather(pieces: &[Piece], index: Avx2) -> [Avx2; 6] {
            // Integral values in range (the caller's contract): the truncating conversion is exact and the
            // pieces exist.
            let lanes = unsafe { _mm256_cvttpd_epi32(index.0) };
            let piece = |i: i32| unsafe { pieces.get_unchecked(i as u32 as usize) };
            let (p0, p1, p2, p3): (&Piece, &Piece, &Piece, &Piece) = unsafe {
                (
                    piece(_mm_extract_epi32::<0>(lanes)),
                    piece(_mm_extract_epi32::<1>(lanes)),
                    piece(_mm_extract_epi32::<2>(lanes)),
                    piece(_mm_extract_epi32::<3>(lanes)),
                )
            };
            unsafe {
                let low = [
                    _mm256_load_pd(p0.0.as_ptr()),
                    _mm256_load_pd(p1.0.as_ptr()),
                    _mm256_load_pd(p2.0.as_ptr()),
                    _mm256_load_pd(p3.0.as_ptr()),
                ];
                let high = [
                    _mm256_load_pd(p0.0.as_ptr().add(4)),
                    _mm256_load_pd(p1.0.as_ptr().add(4)),
                    _mm256_load_pd(p2.0.as_ptr().add(4)),
                    _mm256_load_pd(p3.0.as_ptr().add(4)),
                ];
                let t0 = _mm256_unpacklo_pd(low[0], low[1]);
                let t1 = _mm256_unpackhi_pd(low[0], low[1]);
                let t2 = _mm256_unpacklo_pd(low[2], low[3]);
                let t3 = _mm256_unpackhi_pd(low[2], low[3]);
                let h0 = _mm256_unpacklo_pd(high[0], high[1]);
                let h1 = _mm256_unpackhi_pd(high[0], high[1]);
                let h2 = _mm256_unpacklo_pd(high[2], high[3]);
                let h3 = _mm256_unpackhi_pd(high[2], high[3]);
                [
                    Avx2(_mm256_permute2f128_pd::<0x20>(t0, t2)),
                    Avx2(_mm256_permute2f128_pd::<0x20>(t1, t3)),
                    Avx2(_mm256_permute2f128_pd::<0x31>(t0, t2)),
                    Avx2(_mm256_permute2f128_pd::<0x31>(t1, t3)),
                    Avx2(_mm256_permute2f128_pd::<0x20>(h0, h2)),
                    Avx2(_mm256_permute2f128_pd::<0x20>(h1, h3)),
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_select_and_sign() {
        let v = Portable([-2.0, 0.0, -0.0, 3.0]);
        assert_eq!(v.signum_or_zero().0, [-1.0, 0.0, 0.0, 1.0]);
        assert_eq!(v.clamp(-1.0, 1.0).0, [-1.0, 0.0, -0.0, 1.0]);
        let mask = v.gt(Portable::splat(-1.0)) & v.lt(Portable::splat(1.0));
        assert_eq!(mask.0, [false, true, true, false]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_match_portable_lanes_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let pieces: Vec<Piece> = (0..8)
            .map(|i| {
                Piece([
                    i as f64,
                    0.5 * i as f64,
                    -1.0,
                    2.0 + i as f64,
                    -3.0 * i as f64,
                    7.0,
                    0.0,
                    0.0,
                ])
            })
            .collect();
        let values = [
            [-2.5, 0.0, -0.0, 3.25],
            [1e-300, 7.0, -1e300, 0.1],
            [0.3, 0.7, 1.1, 2.9],
        ];
        for a in values {
            for b in values {
                let (pa, pb) = (Portable(a), Portable(b));
                let (xa, xb) = (Avx2::from_array(a), Avx2::from_array(b));
                let pairs = [
                    ((pa + pb).0, (xa + xb).to_array()),
                    ((pa - pb).0, (xa - xb).to_array()),
                    ((pa * pb).0, (xa * xb).to_array()),
                    ((pa / pb).0, (xa / xb).to_array()),
                    ((-pa).0, (-xa).to_array()),
                    (pa.abs().sqrt().0, xa.abs().sqrt().to_array()),
                    (pa.min(pb).0, xa.min(xb).to_array()),
                    (pa.max(pb).0, xa.max(xb).to_array()),
                    (pa.floor().0, xa.floor().to_array()),
                    (pa.signum_or_zero().0, xa.signum_or_zero().to_array()),
                    (
                        Portable::select(pa.le(pb) | pa.ge(pb), pa, pb).0,
                        Avx2::select(xa.le(xb) | xa.ge(xb), xa, xb).to_array(),
                    ),
                ];
                assert_eq!(Portable::all(pa.le(pb)), Avx2::all(xa.le(xb)));
                assert_eq!(Portable::all(pa.le(pa)), Avx2::all(xa.le(xa)));
                for (p, x) in pairs {
                    assert_eq!(p.map(f64::to_bits), x.map(f64::to_bits), "{a:?} {b:?}");
                }
            }
        }
        let index = [3.0, 0.0, 7.0, 3.0];
        // SAFETY: the indices are integral and below pieces.len() = 8.
        let p = unsafe { Portable::gather(&pieces, Portable(index)) }.map(|v| v.0);
        let x = unsafe { Avx2::gather(&pieces, Avx2::from_array(index)) }.map(|v| v.to_array());
        assert_eq!(p, x);
    }
}
