//! Liang–Barsky clipping of a segment to an axis-aligned rectangle.
//!
//! The segment `P(t) = A + t (B - A)`, `t in [0, 1]`, lies inside `[x_min, x_max] x [y_min, y_max]` for
//! `t in [t_0, t_1]`, where each of the four half-planes `p_k t <= q_k` narrows the interval:
//! `p = (-v_x, v_x, -v_y, v_y)`, `q = (A_x - x_min, x_max - A_x, A_y - y_min, y_max - A_y)`.

/// An axis-aligned rectangle `[x_min, x_max] x [y_min, y_max]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
}

impl Rect {
    /// The rectangle `[-margin, width + margin] x [-margin, height + margin]`.
    pub fn grown_image(height: f64, width: f64, margin: f64) -> Rect {
        Rect {
            x_min: -margin,
            x_max: width + margin,
            y_min: -margin,
            y_max: height + margin,
        }
    }
}

/// A segment from `(x0, y0)` to `(x1, y1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// The part of `segment` inside `rect`, or `None` when they do not meet (or an input is NaN).
///
/// A zero-length segment is kept exactly when its point lies inside the rectangle. A cut point is put
/// exactly on the rectangle side that cuts it, its other coordinate interpolated along the segment (for
/// a cut at `x = x_b`: `y = A_y + (x_b - A_x) v_y / v_x`); with far-away endpoints that interpolation is
/// rounded in the endpoints' magnitude, so the result is clamped into the rectangle.
pub fn clip_segment(segment: Segment, rect: Rect) -> Option<Segment> {
    let vx = segment.x1 - segment.x0;
    let vy = segment.y1 - segment.y0;
    let constraints = [
        (-vx, segment.x0 - rect.x_min, Side::X(rect.x_min)),
        (vx, rect.x_max - segment.x0, Side::X(rect.x_max)),
        (-vy, segment.y0 - rect.y_min, Side::Y(rect.y_min)),
        (vy, rect.y_max - segment.y0, Side::Y(rect.y_max)),
    ];
    let mut entry: (f64, Option<Side>) = (0.0, None);
    let mut exit: (f64, Option<Side>) = (1.0, None);
    for (p, q, side) in constraints {
        if q.is_nan() || p.is_nan() {
            return None;
        }
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 && t > entry.0 {
                entry = (t, Some(side));
            } else if p > 0.0 && t < exit.0 {
                exit = (t, Some(side));
            }
        }
    }
    if entry.0 > exit.0 {
        return None;
    }
    let cut = |side: Option<Side>, endpoint: (f64, f64)| match side {
        None => endpoint,
        Some(Side::X(x)) => (x, segment.y0 + (x - segment.x0) * (vy / vx)),
        Some(Side::Y(y)) => (segment.x0 + (y - segment.y0) * (vx / vy), y),
    };
    let start = cut(entry.1, (segment.x0, segment.y0));
    let end = cut(exit.1, (segment.x1, segment.y1));
    let clamp_x = |x: f64| x.max(rect.x_min).min(rect.x_max);
    let clamp_y = |y: f64| y.max(rect.y_min).min(rect.y_max);
    Some(Segment {
        x0: clamp_x(start.0),
        y0: clamp_y(start.1),
        x1: clamp_x(end.0),
        y1: clamp_y(end.1),
    })
}

/// The rectangle side a cut lies on: a vertical line `x = const` or a horizontal line `y = const`.
#[derive(Clone, Copy, Debug)]
enum Side {
    X(f64),
    Y(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Rect = Rect {
        x_min: 0.0,
        x_max: 1.0,
        y_min: 0.0,
        y_max: 1.0,
    };

    fn close(a: Segment, b: Segment) -> bool {
        let tol = 1e-12;
        (a.x0 - b.x0).abs() < tol
            && (a.y0 - b.y0).abs() < tol
            && (a.x1 - b.x1).abs() < tol
            && (a.y1 - b.y1).abs() < tol
    }

    #[test]
    fn segment_inside_is_unchanged() {
        let s = Segment {
            x0: 0.2,
            y0: 0.3,
            x1: 0.8,
            y1: 0.9,
        };
        assert_eq!(clip_segment(s, UNIT), Some(s));
    }

    #[test]
    fn crossing_segment_is_cut_at_the_edges() {
        let s = Segment {
            x0: -1.0,
            y0: 0.5,
            x1: 2.0,
            y1: 0.5,
        };
        let clipped = clip_segment(s, UNIT).unwrap();
        assert!(close(
            clipped,
            Segment {
                x0: 0.0,
                y0: 0.5,
                x1: 1.0,
                y1: 0.5
            }
        ));
        let diagonal = Segment {
            x0: -1.0,
            y0: -1.0,
            x1: 3.0,
            y1: 3.0,
        };
        let clipped = clip_segment(diagonal, UNIT).unwrap();
        assert!(close(
            clipped,
            Segment {
                x0: 0.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0
            }
        ));
    }

    #[test]
    fn segment_outside_is_rejected() {
        let beside = Segment {
            x0: 2.0,
            y0: 0.0,
            x1: 3.0,
            y1: 1.0,
        };
        assert_eq!(clip_segment(beside, UNIT), None);
        let past_corner = Segment {
            x0: 1.5,
            y0: -0.5,
            x1: 2.5,
            y1: 0.5,
        };
        assert_eq!(clip_segment(past_corner, UNIT), None);
    }

    #[test]
    fn zero_length_segment_is_kept_only_inside() {
        let inside = Segment {
            x0: 0.5,
            y0: 0.5,
            x1: 0.5,
            y1: 0.5,
        };
        assert_eq!(clip_segment(inside, UNIT), Some(inside));
        let outside = Segment {
            x0: 1.5,
            y0: 0.5,
            x1: 1.5,
            y1: 0.5,
        };
        assert_eq!(clip_segment(outside, UNIT), None);
    }

    #[test]
    fn huge_coordinates_clip_to_finite_points() {
        let rect = Rect::grown_image(28.0, 28.0, 3.0);
        let s = Segment {
            x0: -1e30,
            y0: 10.0,
            x1: 1e30,
            y1: 10.0,
        };
        let clipped = clip_segment(s, rect).unwrap();
        assert!(close(
            clipped,
            Segment {
                x0: -3.0,
                y0: 10.0,
                x1: 31.0,
                y1: 10.0
            }
        ));
        let steep = Segment {
            x0: -1e30,
            y0: -3e38,
            x1: 1e30,
            y1: 3e38,
        };
        let clipped = clip_segment(steep, rect).unwrap();
        for v in [clipped.x0, clipped.y0, clipped.x1, clipped.y1] {
            assert!(v.is_finite() && (-3.0..=31.0).contains(&v), "{clipped:?}");
        }
    }

    #[test]
    fn nan_is_rejected() {
        let s = Segment {
            x0: f64::NAN,
            y0: 0.5,
            x1: 0.5,
            y1: 0.5,
        };
        assert_eq!(clip_segment(s, UNIT), None);
    }
}
