//! Rendering one image: composite every stroke's coverage over a black canvas.
//!
//! `pixel = 1 - prod_k (1 - alpha_k cov_k)`. The image buffer first holds the transmittance
//! `T = prod_k (1 - alpha_k cov_k)` (initially 1); each stroke multiplies `T` only on the pixels it can
//! touch (centres within `r + p` of its segment, found row by row from the capsule's crossings), and the
//! buffer finally becomes `1 - T`. Pixels are visited in the order rows are found; each pixel's product
//! runs over the strokes in their given order.

use crate::kernel::StrokeKernel;
use crate::pixel_batch::PixelBatch;
use crate::real::Real;
use crate::span::{Capsule, ROWS_AT_ONCE};
use crate::stroke::{CanvasStroke, PixelStroke};

/// Largest coordinate, radius or image side (pixels) rasterised in `f32`; beyond it `f64` is used.
/// At 4096 pixels an `f32` distance is within a few 1/4096 of a pixel, well inside the reach's margin.
pub const F32_EXTENT_LIMIT: f64 = 4096.0;

/// Multiplies the transmittance of the pixels `stroke` touches by `1 - alpha cov` (see [`StrokeKernel`]).
///
/// `transmittance` is the `height x width` image in row-major order. Only pixels whose centre is within
/// the stroke's reach `r + p` of the segment are visited: row by row, between the row's crossings of the
/// region of that reach (see [`Capsule`]).
///
/// Strokes within [`F32_EXTENT_LIMIT`] pixels are rasterised in `f32`, others in `f64`. `pending` is
/// scratch space for `f32` strokes, reused from stroke to stroke. `height` and `width` must be below
/// `2^31`.
pub fn apply_stroke(
    stroke: &PixelStroke,
    transmittance: &mut [f32],
    height: usize,
    width: usize,
    pending: &mut PixelBatch<f32>,
) {
    debug_assert_eq!(transmittance.len(), height * width);
    let s = stroke.segment;
    let extent = [s.x0, s.y0, s.x1, s.y1, stroke.radius, height as f64, width as f64]
        .iter()
        .fold(0.0f64, |acc, v| acc.max(v.abs()));
    if extent <= F32_EXTENT_LIMIT {
        apply_stroke_in(stroke, transmittance, height, width, pending);
    } else {
        apply_stroke_in(
            stroke,
            transmittance,
            height,
            width,
            &mut PixelBatch::<f64>::new(),
        );
    }
}

/// [`apply_stroke`] with the rows' crossings and the pixels' coverage computed in `T`.
fn apply_stroke_in<T: Real>(
    stroke: &PixelStroke,
    transmittance: &mut [f32],
    height: usize,
    width: usize,
    pending: &mut PixelBatch<T>,
) {
    let capsule = Capsule::<T>::new(stroke.segment, stroke.body_reach(), stroke.cap_reach());
    let (first_row, rows) = capsule.vertical_extent().cell_centres(T::from_usize(height));
    let (first_row, rows) = (first_row.to_i32(), rows.to_i32());
    let kernel = StrokeKernel::<T>::new(stroke);
    // Pixel centres relative to the segment's start, w = (column + 1/2 - A_x, row + 1/2 - A_y), found in
    // f64 and rounded once (so that w is as precise as T allows however far A lies from the origin).
    let centre_x_offset = 0.5 - stroke.segment.x0;
    let centre_y_offset = 0.5 - stroke.segment.y0;
    let mut first_columns = [0i32; ROWS_AT_ONCE];
    let mut counts = [0i32; ROWS_AT_ONCE];
    let rows = first_row..first_row + rows;
    for chunk_start in rows.clone().step_by(ROWS_AT_ONCE) {
        capsule.column_ranges(chunk_start, width as i32, &mut first_columns, &mut counts);
        let spans = first_columns.iter().zip(&counts);
        for (row, (&first_column, &count)) in (chunk_start..rows.end).zip(spans) {
            let wx = T::from_f64(f64::from(first_column) + centre_x_offset);
            let wy = T::from_f64(f64::from(row) + centre_y_offset);
            let first_index = row as usize * width + first_column as usize;
            pending.push_run(wx, wy, first_index, count as usize, &kernel, transmittance);
        }
    }
    pending.apply(&kernel, transmittance);
}

/// Renders images, keeping its scratch space from one image to the next.
pub struct Rasteriser {
    pending: Box<PixelBatch<f32>>,
}

impl Rasteriser {
    pub fn new() -> Rasteriser {
        Rasteriser {
            pending: Box::new(PixelBatch::new()),
        }
    }

    /// Renders `strokes` into `image` (`height x width`, row-major), overwriting every pixel with
    /// `1 - prod_k (1 - alpha_k cov_k)`. Canvas units are scaled by `scale` pixels per unit.
    pub fn render_image<I>(&mut self, strokes: I, scale: f32, height: usize, width: usize, image: &mut [f32])
    where
        I: IntoIterator<Item = CanvasStroke>,
    {
        image.fill(1.0);
        for stroke in strokes {
            if let Some(pixel_stroke) = PixelStroke::from_canvas(stroke, scale, height, width) {
                apply_stroke(&pixel_stroke, image, height, width, &mut self.pending);
            }
        }
        for pixel in image.iter_mut() {
            *pixel = 1.0 - *pixel;
        }
    }
}

impl Default for Rasteriser {
    fn default() -> Self {
        Rasteriser::new()
    }
}

/// [`Rasteriser::render_image`] with fresh scratch space.
pub fn render_image<I>(strokes: I, scale: f32, height: usize, width: usize, image: &mut [f32])
where
    I: IntoIterator<Item = CanvasStroke>,
{
    Rasteriser::new().render_image(strokes, scale, height, width, image);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{direction_widths, edge_widths, Footprint};

    /// Every pixel against every stroke, straight from the formula, in `f64`.
    fn brute_force(strokes: &[CanvasStroke], scale: f32, height: usize, width: usize) -> Vec<f32> {
        let mut image = vec![1.0f32; height * width];
        for stroke in strokes {
            let [x0, y0, x1, y1] = stroke.endpoints.map(|v| (v * scale) as f64);
            let radius = (stroke.width.max(0.0) * scale / 2.0) as f64;
            let alpha = stroke.opacity.clamp(0.0, 1.0) as f64;
            let (vx, vy) = (x1 - x0, y1 - y0);
            let len2 = vx * vx + vy * vy;
            for row in 0..height {
                for col in 0..width {
                    let (cx, cy) = (col as f64 + 0.5, row as f64 + 0.5);
                    let t_raw = if len2 > 0.0 {
                        ((cx - x0) * vx + (cy - y0) * vy) / len2
                    } else {
                        0.0
                    };
                    let t = t_raw.clamp(0.0, 1.0);
                    let (dx, dy) = (cx - x0 - t * vx, cy - y0 - t * vy);
                    let d = dx.hypot(dy);
                    let (a, b) = if (t_raw <= 0.0 || t_raw >= 1.0) && d > 0.0 {
                        edge_widths(dy.abs() / d, dx.abs() / d)
                    } else {
                        direction_widths(vx, vy)
                    };
                    let cov = Footprint::from_widths(a, b).coverage(radius, d);
                    image[row * width + col] *= (1.0 - alpha * cov) as f32;
                }
            }
        }
        image.iter().map(|t| 1.0 - t).collect()
    }

    #[test]
    fn matches_every_pixel_every_stroke() {
        let strokes = [
            CanvasStroke::new([0.1, 0.2, 0.9, 0.7], 0.05, 1.0),
            CanvasStroke::new([0.5, 0.1, 0.5, 0.9], 0.03, 0.7),
            CanvasStroke::new([0.2, 0.2, 0.8, 0.8], 0.08, 0.5),
            CanvasStroke::new([0.4, 0.4, 0.4, 0.4], 0.1, 1.0),
            CanvasStroke::new([-0.3, 0.6, 1.4, 0.65], 0.02, 0.9),
            CanvasStroke::new([0.9, 0.05, 0.05, 0.95], 0.3, 0.25),
        ];
        for size in [1usize, 7, 28, 33] {
            let mut image = vec![f32::NAN; size * size];
            render_image(strokes, size as f32, size, size, &mut image);
            let expected = brute_force(&strokes, size as f32, size, size);
            for (got, want) in image.iter().zip(&expected) {
                assert!((got - want).abs() < 1e-5, "{got} vs {want} at size {size}");
            }
        }
    }

    #[test]
    fn single_and_double_precision_agree() {
        let strokes = [
            CanvasStroke::new([0.1, 0.2, 0.9, 0.7], 0.05, 1.0),
            CanvasStroke::new([0.4, 0.4, 0.4, 0.4], 0.1, 0.6),
            CanvasStroke::new([0.9, 0.05, 0.05, 0.95], 0.3, 0.25),
            CanvasStroke::new([-0.5, 0.5, 1.5, 0.52], 0.04, 0.8),
        ];
        let size = 40;
        let mut single = vec![1.0f32; size * size];
        let mut double = vec![1.0f32; size * size];
        let mut pending_f32 = PixelBatch::<f32>::new();
        let mut pending_f64 = PixelBatch::<f64>::new();
        for s in strokes {
            let pixel_stroke = PixelStroke::from_canvas(s, size as f32, size, size).unwrap();
            apply_stroke_in(&pixel_stroke, &mut single, size, size, &mut pending_f32);
            apply_stroke_in(&pixel_stroke, &mut double, size, size, &mut pending_f64);
        }
        assert!(single.iter().any(|&t| t < 0.1));
        for (a, b) in single.iter().zip(&double) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn horizontal_two_pixel_stroke_fills_two_rows() {
        let mut image = vec![0.0f32; 8 * 8];
        // y = 4 px is the boundary between rows 3 and 4; width 2 px covers exactly those rows.
        render_image(
            [CanvasStroke::new([-1.0, 4.0, 9.0, 4.0], 2.0, 1.0)],
            1.0,
            8,
            8,
            &mut image,
        );
        for row in 0..8 {
            for col in 0..8 {
                let value = image[row * 8 + col];
                if row == 3 || row == 4 {
                    assert!((value - 1.0).abs() < 1.0 / 256.0, "row {row} col {col}: {value}");
                } else {
                    assert!(value < 1.0 / 256.0, "row {row} col {col}: {value}");
                }
            }
        }
    }

    #[test]
    fn invisible_strokes_leave_a_black_image() {
        let mut image = vec![0.5f32; 16 * 16];
        let strokes = [
            CanvasStroke::new([0.1, 0.1, 0.9, 0.9], 0.0, 1.0),
            CanvasStroke::new([0.1, 0.1, 0.9, 0.9], 0.1, 0.0),
            CanvasStroke::new([2.0, 2.0, 3.0, 3.0], 0.1, 1.0),
        ];
        render_image(strokes, 16.0, 16, 16, &mut image);
        assert!(image.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn huge_radius_covers_the_whole_image() {
        let mut image = vec![0.0f32; 12 * 9];
        render_image(
            [CanvasStroke::new([0.5, 0.5, 0.6, 0.5], 1e30, 1.0)],
            9.0,
            12,
            9,
            &mut image,
        );
        assert!(image.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn hostile_coordinates_stay_in_unit_interval() {
        let values = [0.0, 0.5, -1e30, 1e30, 3e38, -3e38, f32::NAN, f32::INFINITY, 1e-40];
        let mut image = vec![0.0f32; 10 * 13];
        for &a in &values {
            for &b in &values {
                let strokes = [
                    CanvasStroke::new([a, 0.5, b, 0.25], 0.1, 1.0),
                    CanvasStroke::new([0.3, a, 0.7, b], b.abs(), 0.8),
                ];
                render_image(strokes, 10.0, 10, 13, &mut image);
                assert!(image.iter().all(|v| (0.0..=1.0).contains(v)), "{a} {b}");
            }
        }
    }
}
