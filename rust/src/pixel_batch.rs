//! Pixels gathered from a stroke's rows so that their transmission factors are computed in fixed-size
//! groups (which the compiler turns into SIMD arithmetic) rather than one short row at a time.

use crate::kernel::StrokeKernel;
use crate::real::Real;

/// Pixels evaluated together in one group.
pub const LANES: usize = 8;

/// Pixels held before they are evaluated and applied.
pub const CAPACITY: usize = 16 * LANES;

/// Pending pixels: their centres relative to the stroke's start, and their indices in the image.
pub struct PixelBatch<T> {
    wx: [T; CAPACITY],
    wy: [T; CAPACITY],
    index: [usize; CAPACITY],
    factors: [T; CAPACITY],
    len: usize,
}

impl<T: Real> PixelBatch<T> {
    pub fn new() -> PixelBatch<T> {
        PixelBatch {
            wx: [T::ZERO; CAPACITY],
            wy: [T::ZERO; CAPACITY],
            index: [0; CAPACITY],
            factors: [T::ONE; CAPACITY],
            len: 0,
        }
    }

    /// Queues the `count` pixels `first_index..first_index + count` of one row, whose first centre is at
    /// `(wx, wy)` relative to the stroke's start; full batches are applied to `transmittance` on the way.
    ///
    /// Pixels are written a whole group at a time (the lanes past `count` are overwritten later or never
    /// applied), so the usual row of a few pixels costs one pass without a data-dependent loop exit.
    #[inline(always)]
    pub fn push_run(
        &mut self,
        mut wx: T,
        wy: T,
        mut first_index: usize,
        mut count: usize,
        kernel: &StrokeKernel<T>,
        transmittance: &mut [f32],
    ) {
        while count > 0 {
            if self.len + LANES > CAPACITY {
                self.apply(kernel, transmittance);
            }
            let group = self.len..self.len + LANES;
            let group_wx = &mut self.wx[group.clone()];
            let group_wy = &mut self.wy[group.clone()];
            let group_index = &mut self.index[group];
            for lane in 0..LANES {
                group_wx[lane] = wx + T::from_usize(lane);
                group_wy[lane] = wy;
                group_index[lane] = first_index + lane;
            }
            let taken = count.min(LANES);
            self.len += taken;
            count -= taken;
            first_index += taken;
            wx = wx + T::from_usize(LANES);
        }
    }

    /// Multiplies the transmittance of every pending pixel by the stroke's `1 - alpha cov`, and empties
    /// the batch. The last group is evaluated whole; its unused lanes hold stale, finite positions.
    pub fn apply(&mut self, kernel: &StrokeKernel<T>, transmittance: &mut [f32]) {
        if kernel.is_thick() {
            self.evaluate::<true>(kernel);
        } else {
            self.evaluate::<false>(kernel);
        }
        for (&index, factor) in self.index[..self.len].iter().zip(&self.factors) {
            transmittance[index] *= factor.to_f32();
        }
        self.len = 0;
    }

    /// The transmission factors of the pending pixels, a whole group at a time.
    #[inline(always)]
    fn evaluate<const THICK: bool>(&mut self, kernel: &StrokeKernel<T>) {
        let lanes = self.len.div_ceil(LANES) * LANES;
        for ((factor, wx), wy) in self.factors[..lanes]
            .chunks_exact_mut(LANES)
            .zip(self.wx[..lanes].chunks_exact(LANES))
            .zip(self.wy[..lanes].chunks_exact(LANES))
        {
            for lane in 0..LANES {
                factor[lane] = kernel.transmission::<THICK>(wx[lane], wy[lane]);
            }
        }
    }
}

impl<T: Real> Default for PixelBatch<T> {
    fn default() -> Self {
        PixelBatch::new()
    }
}
