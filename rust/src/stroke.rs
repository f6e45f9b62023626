//! Per-stroke set-up: canvas units to pixel units, rejection of invisible strokes, clipping.
//!
//! Pixel units: `endpoint_px = endpoint * scale`, `r = max(width, 0) * scale / 2`,
//! `alpha = clamp(opacity, 0, 1)`, all rounded to `f32` as given, then carried in `f64`.
//! A stroke with a non-finite value before or after scaling is skipped, as is one with `r = 0` or
//! `alpha = 0` (it changes no pixel). The body's footprint widths come from the unclipped direction; the
//! segment is then clipped to the image grown by `r + 2` pixels, which changes no pixel: a pixel centre
//! `c` lies in the image, so a nearest point `q` with `|c - q| < r + p <= r + 1` lies in the grown
//! rectangle (and a clipped end lies at least `r + 2` from every centre, so no pixel sees it as a cap).

use crate::clip::{clip_segment, Rect, Segment};
use crate::coverage::{direction_widths, Footprint, MAX_HALF_SUPPORT};

/// Extra clipping margin beyond the radius, in pixels (more than any footprint half-support).
pub const CLIP_MARGIN_PX: f64 = 2.0;

/// Absolute widening of a stroke's reach, in pixels: the pixels it adds are evaluated and get `cov = 0`.
pub const REACH_MARGIN_PX: f64 = 1.0 / 256.0;

/// One stroke as given to the renderer: endpoints `(x0, y0, x1, y1)`, full width and opacity,
/// all in canvas units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanvasStroke {
    pub endpoints: [f32; 4],
    pub width: f32,
    pub opacity: f32,
}

impl CanvasStroke {
    /// A stroke from its endpoints `(x0, y0, x1, y1)`, full width and opacity, all in canvas units.
    pub fn new(endpoints: [f32; 4], width: f32, opacity: f32) -> Self {
        CanvasStroke {
            endpoints,
            width,
            opacity,
        }
    }
}

/// A visible stroke in pixel units, clipped to the neighbourhood of the image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelStroke {
    /// The clipped segment `A'-B'` in pixels.
    pub segment: Segment,
    /// Stroke radius `r = width * scale / 2` in pixels, `r > 0`.
    pub radius: f64,
    /// Opacity `alpha` in `(0, 1]`.
    pub alpha: f64,
    /// Footprint widths `(a, b)` of the stroke's (unclipped) direction, used beside its body.
    pub body_widths: (f64, f64),
}

impl PixelStroke {
    /// Converts a canvas stroke to pixels for an image of `height x width` pixels, or `None` when it
    /// cannot change any pixel (non-finite, zero radius, zero opacity, or too far from the image).
    pub fn from_canvas(stroke: CanvasStroke, scale: f32, height: usize, width: usize) -> Option<PixelStroke> {
        let [x0, y0, x1, y1] = stroke.endpoints.map(|v| v * scale);
        let radius = stroke.width.max(0.0) * scale / 2.0;
        let opacity = stroke.opacity;
        let all_finite = [x0, y0, x1, y1, radius, opacity, stroke.width]
            .iter()
            .chain(stroke.endpoints.iter())
            .all(|v| v.is_finite());
        if !all_finite {
            return None;
        }
        let alpha = opacity.clamp(0.0, 1.0);
        if !(radius > 0.0 && alpha > 0.0) {
            return None;
        }
        let segment = Segment {
            x0: x0 as f64,
            y0: y0 as f64,
            x1: x1 as f64,
            y1: y1 as f64,
        };
        let body_widths = direction_widths(segment.x1 - segment.x0, segment.y1 - segment.y0);
        let radius = radius as f64;
        let bounds = Rect::grown_image(height as f64, width as f64, radius + CLIP_MARGIN_PX);
        let segment = clip_segment(segment, bounds)?;
        Some(PixelStroke {
            segment,
            radius,
            alpha: alpha as f64,
            body_widths,
        })
    }

    /// Distance from the segment beyond which pixels beside its body are not covered: `r + p` for the
    /// body's footprint, widened (see [`widen`]).
    pub fn body_reach(&self) -> f64 {
        let (a, b) = self.body_widths;
        widen(self.radius + Footprint::from_widths(a, b).half_support)
    }

    /// Distance from an end beyond which pixels beside its cap are not covered: `r + MAX_HALF_SUPPORT`
    /// (a cap's tangent takes every direction), widened (see [`widen`]).
    pub fn cap_reach(&self) -> f64 {
        widen(self.radius + MAX_HALF_SUPPORT)
    }
}

/// A reach widened by a relative `1e-6` and [`REACH_MARGIN_PX`], so that pixels are found even where row
/// crossings are rounded (in `f32`).
fn widen(reach: f64) -> f64 {
    reach * (1.0 + 1e-6) + REACH_MARGIN_PX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_canvas_units_to_pixels() {
        let s = PixelStroke::from_canvas(CanvasStroke::new([0.1, 0.2, 0.5, 0.2], 0.1, 0.5), 28.0, 28, 28)
            .unwrap();
        assert!((s.segment.x0 - 2.8).abs() < 1e-5);
        assert!((s.segment.x1 - 14.0).abs() < 1e-5);
        assert!((s.radius - 1.4).abs() < 1e-5);
        assert_eq!(s.alpha, 0.5);
        assert_eq!(s.body_widths, direction_widths(1.0, 0.0));
        assert!((s.body_reach() - (1.4 + 0.5 * (1.0 + 1.0 / 64.0))).abs() < 1e-2);
        assert!((s.cap_reach() - (1.4 + std::f64::consts::FRAC_1_SQRT_2)).abs() < 1e-2);
    }

    #[test]
    fn invisible_strokes_are_skipped() {
        let ok = [0.1, 0.1, 0.9, 0.9];
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, 0.05, 1.0), 28.0, 28, 28).is_some());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, 0.0, 1.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, -1.0, 1.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, 0.05, 0.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, 0.05, -3.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, 0.05, f32::NAN), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new(ok, f32::INFINITY, 1.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(
            CanvasStroke::new([0.1, f32::NAN, 0.9, 0.9], 0.05, 1.0),
            28.0,
            28,
            28
        )
        .is_none());
        let far = [5.0, 5.0, 6.0, 6.0];
        assert!(PixelStroke::from_canvas(CanvasStroke::new(far, 0.05, 1.0), 28.0, 28, 28).is_none());
    }

    #[test]
    fn overflow_after_scaling_is_skipped() {
        let huge = [3e38, 0.5, 0.5, 0.5];
        assert!(PixelStroke::from_canvas(CanvasStroke::new(huge, 0.05, 1.0), 28.0, 28, 28).is_none());
        assert!(PixelStroke::from_canvas(CanvasStroke::new([0.5; 4], 3e38, 1.0), 28.0, 28, 28).is_none());
    }

    #[test]
    fn opacity_above_one_is_clamped() {
        let s = PixelStroke::from_canvas(CanvasStroke::new([0.5; 4], 0.1, 7.0), 28.0, 28, 28).unwrap();
        assert_eq!(s.alpha, 1.0);
    }

    #[test]
    fn far_endpoints_are_clipped_near_the_image() {
        let s = PixelStroke::from_canvas(
            CanvasStroke::new([-1e30, 0.5, 1e30, 0.5], 0.05, 1.0),
            28.0,
            28,
            28,
        )
        .unwrap();
        let margin = s.radius + CLIP_MARGIN_PX;
        assert!((s.segment.x0 + margin).abs() < 1e-9);
        assert!((s.segment.x1 - 28.0 - margin).abs() < 1e-9);
    }
}
