//! Where a pixel row crosses a capsule: the x-interval of the row inside it.
//!
//! The region a stroke can touch is the union of the disks of radius `R_cap` at `A` and `B` and the
//! rectangle `{|(x - A).n| <= R_body, 0 <= (x - A).e <= L}` (with `e` the unit direction, `n` its normal,
//! `L = |B - A|`, and `R_body <= R_cap`). With equal reaches it is a capsule, which is convex, so its
//! crossing with the row `y = const` is one interval; with a narrower body it may be two, and the hull
//! of the three pieces' crossings (used here) contains them:
//!
//! * a disk of centre `(c_x, c_y)`: `c_x -+ sqrt(R^2 - (y - c_y)^2)` when `|y - c_y| <= R`;
//! * the rectangle: each slab `lo <= X k + s <= hi` in `X = x - A_x` gives `X` between `(lo - s) / k`
//!   and `(hi - s) / k` (every `X` or none when `k = 0`), and the rectangle's crossing is the intersection
//!   of its two slabs. A slope `|k|` below [`Real::SLOPE_FLOOR`] is raised to it (`X k` is then far below
//!   a pixel for any `X` the clipped geometry produces), which turns a slab of zero slope into "every `X`"
//!   or "no `X` in reach" without a branch.
//!
//! Rows are processed [`ROWS_AT_ONCE`] at a time in one branch-free loop, which the compiler vectorises.

use crate::clip::Segment;
use crate::real::Real;

/// Rows whose pixel ranges are found in one vectorised pass (a thin stroke spans about this many).
pub const ROWS_AT_ONCE: usize = 8;

/// The closed interval `[lo, hi]`; empty when `lo > hi` (or NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval<T> {
    pub lo: T,
    pub hi: T,
}

impl<T: Real> Interval<T> {
    /// The empty interval in the form that is the identity of [`Interval::hull`].
    pub fn empty() -> Interval<T> {
        Interval {
            lo: T::INFINITY,
            hi: -T::INFINITY,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lo.partial_cmp(&self.hi).is_none_or(|order| order.is_gt())
    }

    /// The same set, with an empty interval turned into [`Interval::empty`] (as selects).
    #[inline(always)]
    pub fn normalised(self) -> Interval<T> {
        let keep = self.lo <= self.hi;
        Interval {
            lo: if keep { self.lo } else { T::INFINITY },
            hi: if keep { self.hi } else { -T::INFINITY },
        }
    }

    /// The smallest interval containing both (the hull of the union); both must be normalised.
    #[inline(always)]
    pub fn hull(self, other: Interval<T>) -> Interval<T> {
        Interval {
            lo: self.lo.min_fast(other.lo),
            hi: self.hi.max_fast(other.hi),
        }
    }

    /// The intersection, normalised.
    #[inline(always)]
    pub fn intersect(self, other: Interval<T>) -> Interval<T> {
        Interval {
            lo: self.lo.max_fast(other.lo),
            hi: self.hi.min_fast(other.hi),
        }
        .normalised()
    }

    /// `{X : lo <= X slope + offset <= hi}` given `inv_slope = 1 / slope` (see [`inverse_slope`]).
    #[inline(always)]
    pub fn slab(inv_slope: T, offset: T, lo: T, hi: T) -> Interval<T> {
        let first = (lo - offset) * inv_slope;
        let second = (hi - offset) * inv_slope;
        Interval {
            lo: first.min_fast(second),
            hi: first.max_fast(second),
        }
    }

    /// Cell indices `j` in `0..count` whose centre `j + 1/2` lies in the interval, as `(first, len)` in
    /// `T` (integral values). `count` must be in the range of [`Real::floor_small`]. An empty or NaN
    /// interval gives `len = 0`: its clamped ends meet or cross (a NaN `lo` clamps to `count`, a NaN `hi`
    /// to `-1`).
    #[inline(always)]
    pub fn cell_centres(&self, count: T) -> (T, T) {
        let minus_one = -T::ONE;
        let lo = minus_one.max_fast(self.lo - T::HALF).min_fast(count);
        let hi = (self.hi - T::HALF).max_fast(minus_one).min_fast(count);
        let first = lo.ceil_small().max_fast(T::ZERO);
        let end = (hi.floor_small() + T::ONE).min_fast(count);
        (first, (end - first).max_fast(T::ZERO))
    }
}

/// `1 / slope`, with `|slope|` raised to at least [`Real::SLOPE_FLOOR`].
pub fn inverse_slope<T: Real>(slope: T) -> T {
    let floor = T::SLOPE_FLOOR;
    let raised = if slope.abs() >= floor { slope } else { floor };
    T::ONE / raised
}

/// A capsule (segment thickened by `body_reach`, with disks of radius `cap_reach` at its ends) prepared for
/// row crossings, in arithmetic `T`.
#[derive(Clone, Copy, Debug)]
pub struct Capsule<T> {
    x0: T,
    y0: T,
    x1: T,
    y1: T,
    body_reach: T,
    cap_reach: T,
    cap_reach_squared: T,
    /// Unit direction `e = (B - A) / L`, or `(0, 0)` when `L = 0` (no rectangle).
    ex: T,
    ey: T,
    length: T,
    /// `1 / (-e_y)`, the across slab's inverse slope in `X`.
    inv_across: T,
    /// `1 / e_x`, the along slab's inverse slope in `X`.
    inv_along: T,
}

impl<T: Real> Capsule<T> {
    /// The capsule around `segment`, set up in `f64` and then rounded to `T`; `cap_reach >= body_reach`.
    pub fn new(segment: Segment, body_reach: f64, cap_reach: f64) -> Capsule<T> {
        let vx = segment.x1 - segment.x0;
        let vy = segment.y1 - segment.y0;
        let length = (vx * vx + vy * vy).sqrt();
        let (ex, ey) = if length > 0.0 {
            (vx / length, vy / length)
        } else {
            (0.0, 0.0)
        };
        let t = T::from_f64;
        Capsule {
            x0: t(segment.x0),
            y0: t(segment.y0),
            x1: t(segment.x1),
            y1: t(segment.y1),
            body_reach: t(body_reach),
            cap_reach: t(cap_reach),
            cap_reach_squared: t(cap_reach * cap_reach),
            ex: t(ex),
            ey: t(ey),
            length: t(length),
            inv_across: inverse_slope(t(-ey)),
            inv_along: inverse_slope(t(ex)),
        }
    }

    /// The rows' y-range the capsule can touch: `[min(A_y, B_y) - R_cap, max(A_y, B_y) + R_cap]`.
    pub fn vertical_extent(&self) -> Interval<T> {
        let reach = self.cap_reach.max_fast(self.body_reach);
        Interval {
            lo: self.y0.min_fast(self.y1) - reach,
            hi: self.y0.max_fast(self.y1) + reach,
        }
    }

    /// `c_x -+ sqrt(R_cap^2 - (y - c_y)^2)`, or [`Interval::empty`] (a half-width of `-inf`) past the disk.
    #[inline(always)]
    fn disk_crossing(&self, cx: T, cy: T, y: T) -> Interval<T> {
        let dy = y - cy;
        let remaining = self.cap_reach_squared - dy * dy;
        let half = if remaining >= T::ZERO {
            remaining.positive_part().sqrt()
        } else {
            -T::INFINITY
        };
        Interval {
            lo: cx - half,
            hi: cx + half,
        }
    }

    #[inline(always)]
    fn rectangle_crossing(&self, y: T) -> Interval<T> {
        let dy = y - self.y0;
        // Normal n = (-e_y, e_x): |X (-e_y) + dy e_x| <= R_body; along e: 0 <= X e_x + dy e_y <= L.
        let across = Interval::slab(self.inv_across, dy * self.ex, -self.body_reach, self.body_reach);
        let along = Interval::slab(self.inv_along, dy * self.ey, T::ZERO, self.length);
        let local = across.intersect(along);
        Interval {
            lo: self.x0 + local.lo,
            hi: self.x0 + local.hi,
        }
    }

    /// The x-interval of the row at height `y` covering the capsule's crossing (normalised).
    #[inline(always)]
    pub fn row_crossing(&self, y: T) -> Interval<T> {
        let caps = self
            .disk_crossing(self.x0, self.y0, y)
            .hull(self.disk_crossing(self.x1, self.y1, y));
        if self.length > T::ZERO {
            caps.hull(self.rectangle_crossing(y))
        } else {
            caps
        }
    }

    /// For the rows `first_row + k`, `k < ROWS_AT_ONCE`, the pixel columns whose centres lie in the
    /// capsule: `first[k]` and `count[k]` (both `>= 0`) as in [`Interval::cell_centres`] for an image
    /// `width` wide, at most `2^22` for `f32` and below `2^31` for `f64`.
    #[inline(always)]
    pub fn column_ranges(
        &self,
        first_row: i32,
        width: i32,
        first: &mut [i32; ROWS_AT_ONCE],
        count: &mut [i32; ROWS_AT_ONCE],
    ) {
        if self.length > T::ZERO {
            self.column_ranges_with::<true>(first_row, width, first, count);
        } else {
            self.column_ranges_with::<false>(first_row, width, first, count);
        }
    }

    #[inline(always)]
    fn column_ranges_with<const HAS_RECTANGLE: bool>(
        &self,
        first_row: i32,
        width: i32,
        first: &mut [i32; ROWS_AT_ONCE],
        count: &mut [i32; ROWS_AT_ONCE],
    ) {
        let width = T::from_i32(width);
        let first_centre = T::from_i32(first_row) + T::HALF;
        let rows = first.iter_mut().zip(count.iter_mut()).enumerate();
        for (k, (first, count)) in rows {
            let y = first_centre + T::from_usize(k);
            let caps = self
                .disk_crossing(self.x0, self.y0, y)
                .hull(self.disk_crossing(self.x1, self.y1, y));
            let crossing = if HAS_RECTANGLE {
                caps.hull(self.rectangle_crossing(y))
            } else {
                caps
            };
            let (first_column, columns) = crossing.cell_centres(width);
            (*first, *count) = (
                first_column.small_integral_to_i32(),
                columns.small_integral_to_i32(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance_to_segment(px: f64, py: f64, s: Segment) -> f64 {
        let (vx, vy) = (s.x1 - s.x0, s.y1 - s.y0);
        let len2 = vx * vx + vy * vy;
        let t = if len2 > 0.0 {
            (((px - s.x0) * vx + (py - s.y0) * vy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (px - s.x0 - t * vx).hypot(py - s.y0 - t * vy)
    }

    #[test]
    fn crossing_matches_brute_force_distance() {
        let segments = [
            Segment {
                x0: 3.0,
                y0: 4.0,
                x1: 17.0,
                y1: 9.0,
            },
            Segment {
                x0: 10.0,
                y0: 2.0,
                x1: 10.0,
                y1: 15.0,
            },
            Segment {
                x0: 2.0,
                y0: 7.5,
                x1: 19.0,
                y1: 7.5,
            },
            Segment {
                x0: 5.0,
                y0: 5.0,
                x1: 15.0,
                y1: 15.0,
            },
            Segment {
                x0: 15.0,
                y0: 3.0,
                x1: 4.0,
                y1: 16.0,
            },
            Segment {
                x0: 9.0,
                y0: 9.0,
                x1: 9.0,
                y1: 9.0,
            },
        ];
        for segment in segments {
            for reach in [0.4, 1.3, 3.7] {
                let capsule = Capsule::<f64>::new(segment, reach, reach);
                let narrow = Capsule::<f32>::new(segment, reach + 1e-4, reach + 1e-4);
                for row in 0..200 {
                    let y = row as f64 * 0.1 + 0.05;
                    let crossing = capsule.row_crossing(y);
                    let narrow_crossing = narrow.row_crossing(y as f32);
                    for col in 0..2000 {
                        let x = col as f64 * 0.01 + 0.005;
                        let inside = distance_to_segment(x, y, segment) <= reach - 1e-9;
                        let in_interval = !crossing.is_empty() && crossing.lo <= x && x <= crossing.hi;
                        if inside {
                            assert!(in_interval, "({x}, {y}) missed for {segment:?}, R = {reach}");
                            let x = x as f32;
                            assert!(
                                narrow_crossing.lo <= x && x <= narrow_crossing.hi,
                                "f32: ({x}, {y}) missed"
                            );
                        }
                        let outside = distance_to_segment(x, y, segment) >= reach + 1e-9;
                        if outside {
                            assert!(
                                !in_interval,
                                "({x}, {y}) wrongly inside for {segment:?}, R = {reach}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn crossing_with_a_narrow_body_contains_the_band_and_both_disks() {
        let segment = Segment {
            x0: 2.0,
            y0: 3.0,
            x1: 14.0,
            y1: 11.0,
        };
        let (body, cap) = (0.8, 1.5);
        let capsule = Capsule::<f64>::new(segment, body, cap);
        let (vx, vy) = (12.0, 8.0);
        let len2: f64 = vx * vx + vy * vy;
        for row in 0..160 {
            let y = row as f64 * 0.1 + 0.05;
            let crossing = capsule.row_crossing(y);
            for col in 0..2000 {
                let x = col as f64 * 0.01 + 0.005;
                let t = ((x - 2.0) * vx + (y - 3.0) * vy) / len2;
                let d = distance_to_segment(x, y, segment);
                let needed = if (0.0..=1.0).contains(&t) {
                    d < body
                } else {
                    d < cap
                };
                if needed {
                    assert!(crossing.lo <= x && x <= crossing.hi, "({x}, {y}) missed");
                }
            }
        }
    }

    #[test]
    fn column_ranges_agree_with_row_crossings() {
        let segments = [
            Segment {
                x0: 3.0,
                y0: 4.0,
                x1: 17.0,
                y1: 9.0,
            },
            Segment {
                x0: -5.0,
                y0: 12.25,
                x1: 40.0,
                y1: 12.25,
            },
            Segment {
                x0: 9.0,
                y0: 9.0,
                x1: 9.0,
                y1: 9.0,
            },
        ];
        for segment in segments {
            let capsule = Capsule::<f32>::new(segment, 1.4, 1.7);
            let mut first = [0; ROWS_AT_ONCE];
            let mut count = [0; ROWS_AT_ONCE];
            capsule.column_ranges(7, 20, &mut first, &mut count);
            for k in 0..ROWS_AT_ONCE {
                let (lo, len) = capsule.row_crossing((7 + k) as f32 + 0.5).cell_centres(20.0);
                assert_eq!((first[k], count[k]), (lo as i32, len as i32), "row {}", 7 + k);
            }
            assert!(count.iter().any(|&c| c > 0));
        }
    }

    fn cells(lo: f64, hi: f64, count: f64) -> (f64, f64) {
        Interval { lo, hi }.cell_centres(count)
    }

    #[test]
    fn cell_centres_are_clamped_to_the_image() {
        assert_eq!(cells(-5.0, 100.0, 28.0), (0.0, 28.0));
        assert_eq!(cells(3.4, 5.6, 28.0), (3.0, 3.0));
        assert_eq!(cells(3.5, 5.5, 28.0), (3.0, 3.0));
        assert_eq!(cells(3.6, 4.4, 28.0).1, 0.0);
        assert_eq!(cells(f64::INFINITY, f64::NEG_INFINITY, 28.0).1, 0.0);
        assert_eq!(cells(f64::NEG_INFINITY, f64::INFINITY, 28.0), (0.0, 28.0));
        assert_eq!(cells(f64::NAN, 3.0, 28.0).1, 0.0);
        assert_eq!(cells(1.0, f64::NAN, 28.0).1, 0.0);
        assert_eq!(cells(40.0, 50.0, 28.0).1, 0.0);
        assert_eq!(cells(-50.0, -40.0, 28.0).1, 0.0);
        assert_eq!(cells(-5.0, 100.0, 0.0).1, 0.0);
        let single = Interval {
            lo: 0.2f32,
            hi: 0.9f32,
        }
        .cell_centres(1.0);
        assert_eq!(single, (0.0, 1.0));
    }

    #[test]
    fn hull_and_intersection_treat_empty_intervals_as_empty() {
        let a = Interval { lo: 1.0, hi: 2.0 };
        let b = Interval { lo: 5.0, hi: 7.0 };
        assert_eq!(a.hull(Interval::empty()), a);
        assert_eq!(Interval::empty().hull(b), b);
        assert_eq!(a.hull(b), Interval { lo: 1.0, hi: 7.0 });
        assert_eq!(a.intersect(b), Interval::empty());
        assert_eq!(
            Interval { lo: 1.0, hi: 6.0 }.intersect(b),
            Interval { lo: 5.0, hi: 6.0 }
        );
        assert_eq!(Interval { lo: 3.0, hi: 1.0 }.normalised(), Interval::empty());
    }

    #[test]
    fn slab_of_zero_slope_is_everything_or_nothing_in_reach() {
        assert_eq!(inverse_slope(0.0f64), 1e200);
        assert_eq!(inverse_slope(-1e-250f64), 1e200);
        assert_eq!(inverse_slope(0.0f32), 1e30);
        let all = Interval::slab(inverse_slope(0.0f32), 0.5, 0.0, 1.0);
        assert!(all.lo < -1e20 && all.hi > 1e20);
        let none = Interval::slab(inverse_slope(0.0f32), 1.5, 0.0, 1.0);
        assert!(none.hi < -1e20);
        assert_eq!(
            Interval::slab(inverse_slope(-2.0), 0.0, -1.0, 1.0),
            Interval { lo: -0.5, hi: 0.5 }
        );
        assert_eq!(
            Interval::slab(inverse_slope(4.0), 1.0, 0.0, 2.0),
            Interval { lo: -0.25, hi: 0.25 }
        );
    }
}
