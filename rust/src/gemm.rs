//! Dense products for the encoder: `C = A · B + bias`, with the weights `B` packed once into column panels.
//!
//! `A` is `[m, k]` row-major (row stride `lda`), `B` is `[k, n]` and `C` is `[m, n]` (row stride `ldc`).
//! `B` is stored as `ceil(n / NR)` panels of `NR` columns, each `k` rows of `NR` floats (columns past `n`
//! are zero), after the bias padded to the same `ceil(n / NR) * NR` columns ([`pack`]). The product runs in
//! tiles of `MR` rows by `NR` columns, over blocks of `KC` values of `k` (a block of a panel, `KC * NR`
//! floats, stays in the first-level cache while every row tile passes over it):
//!
//! ```text
//! C[i, j] = bias[j] + sum over k0 = 0, KC, 2 KC, ... of ( sum_{q in block} A[i, q] B[q, j] )
//! ```
//!
//! Each `C[i, j]` adds its terms in the same order whatever `m` is and wherever row `i` lies in `A`, so a
//! row's result depends on that row alone: not on the batch it came in, nor on the threads. Rows are
//! computed `MR` at a time: the caller's `A` and `C` hold `m` rounded up to a multiple of `MR` rows (the
//! extra rows are computed and meaningless). On x86-64 processors with AVX2 and FMA the tile kernel
//! uses them (fused multiply-adds); elsewhere a portable kernel multiplies and adds, so the two may differ
//! in the last bits.

/// Columns of a panel (two AVX registers of eight floats).
pub const NR: usize = 16;
/// Rows of a tile.
pub const MR: usize = 6;
/// Values of `k` per block.
pub const KC: usize = 256;

/// Floats of a packed `[k, n]` matrix with its bias.
pub fn packed_len(k: usize, n: usize) -> usize {
    let columns = n.div_ceil(NR) * NR;
    columns + k * columns
}

/// Packs `B[q, j] = get(q, j)` (`q < k`, `j < n`) and `bias` (`n` floats) into `out` (`packed_len(k, n)`).
pub fn pack(k: usize, n: usize, bias: &[f32], get: impl Fn(usize, usize) -> f32, out: &mut [f32]) {
    assert_eq!(bias.len(), n, "one bias per column");
    assert_eq!(out.len(), packed_len(k, n), "packed size");
    let columns = n.div_ceil(NR) * NR;
    let (head, panels) = out.split_at_mut(columns);
    head.fill(0.0);
    head[..n].copy_from_slice(bias);
    for (p, panel) in panels.chunks_exact_mut(k * NR).enumerate() {
        for (q, row) in panel.chunks_exact_mut(NR).enumerate() {
            for (jj, value) in row.iter_mut().enumerate() {
                let j = p * NR + jj;
                *value = if j < n { get(q, j) } else { 0.0 };
            }
        }
    }
}

/// A packed `[k, n]` matrix and its bias (see [`pack`]).
#[derive(Clone, Copy, Debug)]
pub struct Packed<'a> {
    pub k: usize,
    pub n: usize,
    pub data: &'a [f32],
}

impl Packed<'_> {
    fn columns(&self) -> usize {
        self.n.div_ceil(NR) * NR
    }
}

/// Rows a caller's `A` and `C` must hold for `m` rows of results.
pub fn padded_rows(m: usize) -> usize {
    m.div_ceil(MR) * MR
}

/// `c = a · b + bias` for the first `padded_rows(m)` rows (module docs); `c`'s first `b.n` columns of
/// each row are written (up to the panel width, when `ldc` leaves room). With `fused`, the AVX2 kernel
/// runs where the processor has it; without, the portable one everywhere.
pub fn gemm(m: usize, a: &[f32], lda: usize, b: Packed, c: &mut [f32], ldc: usize, fused: bool) {
    let columns = b.columns();
    let rows = padded_rows(m);
    assert_eq!(b.data.len(), packed_len(b.k, b.n), "packed size");
    assert!(lda >= b.k && ldc >= columns, "row strides hold a row");
    if rows == 0 {
        return;
    }
    assert!(a.len() >= (rows - 1) * lda + b.k, "A holds its padded rows");
    assert!(c.len() >= (rows - 1) * ldc + columns, "C holds its padded rows");
    let kernel = tile_kernel(fused);
    let (bias, panels) = b.data.split_at(columns);
    for k0 in (0..b.k.max(1)).step_by(KC) {
        let kc = KC.min(b.k - k0);
        for (p, panel) in panels.chunks_exact(b.k * NR).enumerate() {
            let block = &panel[k0 * NR..(k0 + kc) * NR];
            let start = (k0 == 0).then(|| &bias[p * NR..(p + 1) * NR]);
            for tile in 0..rows / MR {
                let a_tile = &a[tile * MR * lda + k0..];
                let c_tile = &mut c[tile * MR * ldc + p * NR..];
                kernel(kc, a_tile, lda, block, c_tile, ldc, start);
            }
        }
    }
}

/// A tile kernel: `C[r, 0..NR] = start (or C's own values) + sum_{q < kc} A[r, q] B[q, 0..NR]`, `r < MR`.
type Kernel = fn(usize, &[f32], usize, &[f32], &mut [f32], usize, Option<&[f32]>);

/// Whether the processor has AVX2 and FMA (asked once): the tile kernel then fuses its multiply-adds.
pub fn fused_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static FUSED: OnceLock<bool> = OnceLock::new();
        *FUSED.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The AVX2 tile kernel when `fused` is asked for and the processor has it, else the portable one.
fn tile_kernel(fused: bool) -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if fused && fused_kernel() {
        return avx2::tile;
    }
    portable_tile
}

/// Checks a tile's slices hold what a kernel reads and writes.
fn check_tile(kc: usize, a: &[f32], lda: usize, b: &[f32], c: &[f32], ldc: usize, start: Option<&[f32]>) {
    assert!(a.len() >= (MR - 1) * lda + kc, "A tile");
    assert!(b.len() >= kc * NR, "B block");
    assert!(c.len() >= (MR - 1) * ldc + NR, "C tile");
    assert!(start.is_none_or(|s| s.len() >= NR), "bias");
}

/// The tile kernel in plain Rust (multiply, then add).
pub fn portable_tile(
    kc: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
    start: Option<&[f32]>,
) {
    check_tile(kc, a, lda, b, c, ldc, start);
    let mut acc = [[0.0f32; NR]; MR];
    for (r, row) in acc.iter_mut().enumerate() {
        row.copy_from_slice(match start {
            Some(bias) => &bias[..NR],
            None => &c[r * ldc..r * ldc + NR],
        });
    }
    for (q, b_row) in b[..kc * NR].chunks_exact(NR).enumerate() {
        for (r, row) in acc.iter_mut().enumerate() {
            let value = a[r * lda + q];
            for (sum, &weight) in row.iter_mut().zip(b_row) {
                *sum += value * weight;
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        c[r * ldc..r * ldc + NR].copy_from_slice(row);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{check_tile, MR, NR};
    use std::arch::x86_64::*;

    /// The tile kernel with AVX2 fused multiply-adds: twelve registers of eight sums.
    pub fn tile(
        kc: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        start: Option<&[f32]>,
    ) {
        check_tile(kc, a, lda, b, c, ldc, start);
        // SAFETY: `tile_kernel` hands out this kernel only where the processor has AVX2 and FMA, and
        // `check_tile` checked that every offset `fused` reads or writes lies inside its slice.
        unsafe {
            fused(
                kc,
                a.as_ptr(),
                lda,
                b.as_ptr(),
                c.as_mut_ptr(),
                ldc,
                start.map(<[f32]>::as_ptr),
            )
        }
    }

    /// # Safety
    /// AVX2 and FMA present; `a` readable at `r * lda + q`, `b` at `q * NR + j`, `c` read and written at
    /// `r * ldc + j` and `start` readable at `j`, for `r < MR`, `q < kc`, `j < NR`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fused(
        kc: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        start: Option<*const f32>,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        for (r, sums) in acc.iter_mut().enumerate() {
            let from = start.unwrap_or(c.add(r * ldc) as *const f32);
            *sums = [_mm256_loadu_ps(from), _mm256_loadu_ps(from.add(8))];
        }
        for q in 0..kc {
            let b0 = _mm256_loadu_ps(b.add(q * NR));
            let b1 = _mm256_loadu_ps(b.add(q * NR + 8));
            for (r, sums) in acc.iter_mut().enumerate() {
                let value = _mm256_broadcast_ss(&*a.add(r * lda + q));
                sums[0] = _mm256_fmadd_ps(value, b0, sums[0]);
                sums[1] = _mm256_fmadd_ps(value, b1, sums[1]);
            }
        }
        for (r, sums) in acc.iter().enumerate() {
            _mm256_storeu_ps(c.add(r * ldc), sums[0]);
            _mm256_storeu_ps(c.add(r * ldc + 8), sums[1]);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic value in [-1, 1) for index `i` of stream `seed` (the encoder's tests use it too).
    pub(crate) fn noise(seed: u64, i: usize) -> f32 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 29;
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn reference(m: usize, k: usize, n: usize, a: &[f32], lda: usize, w: &[f32], bias: &[f32]) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let sum: f64 = (0..k).map(|q| a[i * lda + q] as f64 * w[q * n + j] as f64).sum();
                out[i * n + j] = sum + bias[j] as f64;
            }
        }
        out
    }

    fn check(m: usize, k: usize, n: usize) {
        let lda = k + 3;
        let ldc = n.div_ceil(NR) * NR + NR;
        let rows = padded_rows(m);
        let a: Vec<f32> = (0..rows * lda).map(|i| noise(1, i)).collect();
        let w: Vec<f32> = (0..k * n).map(|i| noise(2, i)).collect();
        let bias: Vec<f32> = (0..n).map(|i| noise(3, i)).collect();
        let mut packed = vec![0.0; packed_len(k, n)];
        pack(k, n, &bias, |q, j| w[q * n + j], &mut packed);
        let b = Packed { k, n, data: &packed };
        let mut c = vec![f32::NAN; rows * ldc];
        gemm(m, &a, lda, b, &mut c, ldc, true);
        let want = reference(m, k, n, &a, lda, &w, &bias);
        for i in 0..m {
            for j in 0..n {
                let got = c[i * ldc + j] as f64;
                let tolerance = 1e-5 * (k as f64).sqrt() + 1e-6;
                assert!(
                    (got - want[i * n + j]).abs() < tolerance,
                    "m {m} k {k} n {n} at {i},{j}"
                );
            }
        }
    }

    #[test]
    fn matches_a_plain_product() {
        for (m, k, n) in [
            (1, 1, 1),
            (7, 9, 16),
            (13, 144, 32),
            (49, 288, 64),
            (5, 600, 40),
            (12, 3136, 20),
        ] {
            check(m, k, n);
        }
    }

    #[test]
    fn rows_do_not_depend_on_their_batch() {
        let (k, n) = (300, 24);
        let a: Vec<f32> = (0..12 * k).map(|i| noise(4, i)).collect();
        let bias = vec![0.5; n];
        let mut packed = vec![0.0; packed_len(k, n)];
        pack(k, n, &bias, |q, j| noise(5, q * n + j), &mut packed);
        let b = Packed { k, n, data: &packed };
        let ldc = 32;
        let mut all = vec![0.0; 12 * ldc];
        gemm(12, &a, k, b, &mut all, ldc, true);
        let mut alone = vec![9.0; MR * k]; // row 11 alone, as the first row of a tile of other values
        alone[..k].copy_from_slice(&a[11 * k..12 * k]);
        let mut last = vec![0.0; MR * ldc];
        gemm(1, &alone, k, b, &mut last, ldc, true);
        assert_eq!(&all[11 * ldc..11 * ldc + n], &last[..n]);
    }

    #[test]
    fn kernels_agree() {
        let (kc, lda, ldc) = (37, 40, 20);
        let a: Vec<f32> = (0..MR * lda).map(|i| noise(6, i)).collect();
        let b: Vec<f32> = (0..kc * NR).map(|i| noise(7, i)).collect();
        let start: Vec<f32> = (0..NR).map(|i| noise(8, i)).collect();
        let mut plain = vec![0.0; MR * ldc];
        portable_tile(kc, &a, lda, &b, &mut plain, ldc, Some(&start));
        let mut fast = vec![0.0; MR * ldc];
        tile_kernel(true)(kc, &a, lda, &b, &mut fast, ldc, Some(&start));
        for (x, y) in plain.iter().zip(&fast) {
            assert!((x - y).abs() < 1e-5);
        }
    }

    #[test]
    #[should_panic(expected = "A holds its padded rows")]
    fn refuses_a_short_a() {
        let packed = vec![0.0; packed_len(4, 16)];
        let b = Packed {
            k: 4,
            n: 16,
            data: &packed,
        };
        gemm(2, &[0.0; 8], 4, b, &mut [0.0; 96], 16, true);
    }
}
