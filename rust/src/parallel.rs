//! Rendering a batch: contiguous runs of images, one run per thread, with `std::thread::scope`.
//!
//! Images are independent, so the result does not depend on the number of threads. Small batches use
//! fewer threads (each thread gets at least `MIN_WORK_PER_THREAD` units of estimated work), and a batch
//! that needs only one thread is rendered on the calling thread.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::OnceLock;
use std::thread;

use crate::raster::Rasteriser;
use crate::stroke::CanvasStroke;

/// Estimated work per thread below which another thread is not worth starting (about 50 microseconds).
pub const MIN_WORK_PER_THREAD: u64 = 1 << 16;

/// Upper bound on the threads started for one call, whatever is requested.
pub const MAX_THREADS: usize = 256;

/// A batch of images' strokes in canvas units, as flat row-major arrays.
#[derive(Clone, Copy, Debug)]
pub struct StrokeBatch<'a> {
    /// `[images, lines_per_image, 4]` endpoints `(x0, y0, x1, y1)`.
    pub lines: &'a [f32],
    /// `[images, lines_per_image]` full stroke widths.
    pub widths: &'a [f32],
    /// `[images, lines_per_image]` opacities.
    pub opacity: &'a [f32],
    pub images: usize,
    pub lines_per_image: usize,
    /// Pixels per canvas unit.
    pub scale: f32,
}

impl<'a> StrokeBatch<'a> {
    /// The strokes of image `image`.
    pub fn strokes(&self, image: usize) -> impl Iterator<Item = CanvasStroke> + 'a {
        let n = self.lines_per_image;
        let lines = &self.lines[image * n * 4..(image + 1) * n * 4];
        let widths = &self.widths[image * n..(image + 1) * n];
        let opacity = &self.opacity[image * n..(image + 1) * n];
        lines
            .chunks_exact(4)
            .zip(widths)
            .zip(opacity)
            .map(|((l, &width), &opacity)| CanvasStroke {
                endpoints: [l[0], l[1], l[2], l[3]],
                width,
                opacity,
            })
    }

    /// Renders images `first_image..` into `out`, one `height x width` image after another.
    fn render_run(&self, first_image: usize, height: usize, width: usize, out: &mut [f32]) {
        let mut rasteriser = Rasteriser::new();
        for (offset, image) in out.chunks_exact_mut(height * width).enumerate() {
            rasteriser.render_image(
                self.strokes(first_image + offset),
                self.scale,
                height,
                width,
                image,
            );
        }
    }
}

/// The machine's available parallelism, asked once (the answer can take a system call or two).
pub(crate) fn available_threads() -> usize {
    static AVAILABLE: OnceLock<usize> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        thread::available_parallelism()
            .map(NonZeroUsize::get)
            .unwrap_or(1)
    })
}

/// How many threads to use: `requested` (0 means the machine's available parallelism), at most one per
/// image, at most `MAX_THREADS`, and no more than the estimated work
/// `images * (height * width + 64 * lines_per_image)` divided by `MIN_WORK_PER_THREAD`.
pub fn thread_count(
    requested: u32,
    images: usize,
    lines_per_image: usize,
    height: usize,
    width: usize,
) -> usize {
    thread_count_for(
        requested,
        images,
        lines_per_image,
        height,
        width,
        MIN_WORK_PER_THREAD,
    )
}

/// [`thread_count`] for work whose units are worth a thread from `min_work_per_thread` of them on.
pub fn thread_count_for(
    requested: u32,
    images: usize,
    lines_per_image: usize,
    height: usize,
    width: usize,
    min_work_per_thread: u64,
) -> usize {
    let per_image = (height as u64)
        .saturating_mul(width as u64)
        .saturating_add((lines_per_image as u64).saturating_mul(64));
    let work = per_image.saturating_mul(images as u64);
    let worth_it = usize::try_from(work / min_work_per_thread).unwrap_or(usize::MAX);
    let useful = worth_it.min(images).clamp(1, MAX_THREADS);
    if useful == 1 {
        return 1;
    }
    let requested = if requested == 0 {
        available_threads()
    } else {
        requested as usize
    };
    requested.clamp(1, useful)
}

/// Contiguous runs of images, one per thread.
pub(crate) fn runs(images: usize, threads: usize) -> Vec<Range<usize>> {
    let per_run = images.div_ceil(threads.clamp(1, images.max(1)));
    (0..images)
        .step_by(per_run.max(1))
        .map(|first| first..(first + per_run).min(images))
        .collect()
}

/// Runs `work` on each of `parts` in its own thread (the first on the calling thread).
pub(crate) fn in_parallel<P: Send>(parts: Vec<P>, work: impl Fn(P) + Sync) {
    thread::scope(|scope| {
        let mut parts = parts.into_iter();
        let first = parts.next();
        for part in parts {
            let work = &work;
            scope.spawn(move || work(part));
        }
        if let Some(part) = first {
            work(part);
        }
    });
}

/// Splits `out` (`per_image` elements for each image) into [`runs`] of images, one per thread, and calls
/// `work(first_image, run)` on each run, the first on the calling thread.
pub(crate) fn for_each_run<T: Send>(
    out: &mut [T],
    per_image: usize,
    threads: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    if per_image == 0 {
        return;
    }
    let mut rest = out;
    let mut parts = Vec::new();
    for run in runs(rest.len() / per_image, threads) {
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(run.len() * per_image);
        rest = tail;
        parts.push((run.start, part));
    }
    in_parallel(parts, |(first, part)| work(first, part));
}

/// Renders every image of `batch` into `out` (`[images, height, width]`) using up to `threads` threads.
pub fn render_batch(batch: &StrokeBatch, height: usize, width: usize, threads: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), batch.images * height * width);
    for_each_run(out, height * width, threads, |first, run| {
        batch.render_run(first, height, width, run)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::render_image;

    #[test]
    fn thread_count_respects_requests_and_batch_size() {
        assert_eq!(thread_count(4, 1, 16, 28, 28), 1);
        assert_eq!(thread_count(4, 3, 1000, 64, 64), 3);
        assert_eq!(thread_count(4, 10_000, 16, 28, 28), 4);
        assert_eq!(thread_count(1, 10_000, 16, 28, 28), 1);
        assert_eq!(thread_count(8, 20, 16, 28, 28), 1);
        assert_eq!(
            thread_count(u32::MAX, usize::MAX, usize::MAX, usize::MAX, usize::MAX),
            MAX_THREADS
        );
        assert!(thread_count(0, 10_000, 16, 28, 28) >= 1);
    }

    fn sample_batch(images: usize, lines_per_image: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32
        };
        let count = images * lines_per_image;
        let lines = (0..count * 4).map(|_| 0.1 + 0.8 * next()).collect();
        let widths = (0..count).map(|_| 0.02 + 0.06 * next()).collect();
        let opacity = (0..count).map(|_| 0.5 + 0.5 * next()).collect();
        (lines, widths, opacity)
    }

    #[test]
    fn result_does_not_depend_on_thread_count() {
        let (images, lines_per_image, size) = (37, 9, 20);
        let (lines, widths, opacity) = sample_batch(images, lines_per_image);
        let batch = StrokeBatch {
            lines: &lines,
            widths: &widths,
            opacity: &opacity,
            images,
            lines_per_image,
            scale: 20.0,
        };
        let render = |threads| {
            let mut out = vec![f32::NAN; images * size * size];
            render_batch(&batch, size, size, threads, &mut out);
            out
        };
        let single = render(1);
        assert!(single.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(single.iter().any(|&v| v > 0.5));
        for threads in [2, 3, 4, 36, 37, 100] {
            assert_eq!(render(threads), single, "threads = {threads}");
        }
    }

    #[test]
    fn each_image_uses_its_own_strokes() {
        let (lines, widths, opacity) = sample_batch(2, 3);
        let batch = StrokeBatch {
            lines: &lines,
            widths: &widths,
            opacity: &opacity,
            images: 2,
            lines_per_image: 3,
            scale: 16.0,
        };
        let mut out = vec![0.0f32; 2 * 16 * 16];
        render_batch(&batch, 16, 16, 2, &mut out);
        let mut second = vec![0.0f32; 16 * 16];
        render_image(batch.strokes(1), 16.0, 16, 16, &mut second);
        assert_eq!(&out[16 * 16..], &second[..]);
        assert_ne!(&out[..16 * 16], &second[..]);
    }
}
