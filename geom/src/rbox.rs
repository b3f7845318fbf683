//! Rotated boxes in the le90 convention (see the crate docs), conversion from
//! the 4-point polygons of DOTA and DIOR-R, and polygon IoU via `geo`.

use std::f32::consts::{FRAC_PI_2, PI};

use geo::{Area, BooleanOps, Coord, LineString, MinimumRotatedRect, Polygon};
use serde::{Deserialize, Serialize};

use crate::BBox;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RBox {
    pub cx: f32,
    pub cy: f32,
    /// The long side.
    pub w: f32,
    pub h: f32,
    /// Direction of the long side, radians in `[-pi/2, pi/2)`.
    pub angle: f32,
}

impl RBox {
    /// A rotated box from any side lengths and angle, normalised to le90.
    pub fn new(cx: f32, cy: f32, w: f32, h: f32, angle: f32) -> Self {
        let (w, h, angle) = if w < h {
            (h, w, angle + FRAC_PI_2)
        } else {
            (w, h, angle)
        };
        Self {
            cx,
            cy,
            w,
            h,
            angle: wrap_half_pi(angle),
        }
    }

    pub fn area(&self) -> f32 {
        self.w * self.h
    }

    /// Corners: (-w/2, -h/2), (w/2, -h/2), (w/2, h/2), (-w/2, h/2) in the box frame.
    pub fn corners(&self) -> [(f32, f32); 4] {
        let (s, c) = self.angle.sin_cos();
        let (hw, hh) = (self.w / 2.0, self.h / 2.0);
        [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)].map(|(a, b)| {
            let (u, v) = (a * hw, b * hh);
            (self.cx + u * c - v * s, self.cy + u * s + v * c)
        })
    }

    /// The minimum-area rectangle around a 4-point polygon (any order or
    /// orientation), as DOTA / DIOR-R annotations give boxes: geo's
    /// rotating-calipers rectangle, read as centre, long side and its angle.
    pub fn from_polygon(pts: &[(f32, f32); 4]) -> Self {
        let ring: Vec<Coord<f64>> = pts
            .iter()
            .map(|&(x, y)| Coord {
                x: x as f64,
                y: y as f64,
            })
            .collect();
        let degenerate = RBox::new(pts[0].0, pts[0].1, 0.0, 0.0, 0.0);
        let Some(rect) = LineString::from(ring).minimum_rotated_rect() else {
            return degenerate;
        };
        let c: Vec<Coord<f64>> = rect.exterior().0.iter().take(4).copied().collect();
        if c.len() < 4 {
            return degenerate;
        }
        let (cx, cy) = (
            c.iter().map(|p| p.x).sum::<f64>() / 4.0,
            c.iter().map(|p| p.y).sum::<f64>() / 4.0,
        );
        let (e1, e2) = (c[1] - c[0], c[2] - c[1]);
        let (l1, l2) = (e1.x.hypot(e1.y), e2.x.hypot(e2.y));
        let (long, w, h) = if l1 >= l2 { (e1, l1, l2) } else { (e2, l2, l1) };
        // A side and its reverse are the same box; take the one pointing
        // right so that axis-aligned boxes get exactly 0, not a rounded pi.
        let long = if long.x < 0.0 || (long.x == 0.0 && long.y < 0.0) {
            -long
        } else {
            long
        };
        RBox::new(
            cx as f32,
            cy as f32,
            w as f32,
            h as f32,
            long.y.atan2(long.x) as f32,
        )
    }

    /// The axis-aligned box around the rotated one.
    pub fn bounds(&self) -> BBox {
        let c = self.corners();
        let xs = c.map(|p| p.0);
        let ys = c.map(|p| p.1);
        BBox::new(
            xs.iter().copied().fold(f32::MAX, f32::min),
            ys.iter().copied().fold(f32::MAX, f32::min),
            xs.iter().copied().fold(f32::MIN, f32::max),
            ys.iter().copied().fold(f32::MIN, f32::max),
        )
    }

    fn polygon(&self) -> Polygon<f64> {
        let mut ring: Vec<Coord<f64>> = self
            .corners()
            .iter()
            .map(|&(x, y)| Coord {
                x: x as f64,
                y: y as f64,
            })
            .collect();
        ring.push(ring[0]);
        Polygon::new(LineString::new(ring), vec![])
    }

    /// Intersection area (exact polygon clipping).
    pub fn intersection(&self, o: &RBox) -> f32 {
        if self.area() <= 0.0 || o.area() <= 0.0 || self.bounds().intersection(&o.bounds()) <= 0.0 {
            return 0.0;
        }
        self.polygon().intersection(&o.polygon()).unsigned_area() as f32
    }

    pub fn iou(&self, o: &RBox) -> f32 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u > 0.0 {
            i / u
        } else {
            0.0
        }
    }

    pub fn ios(&self, o: &RBox) -> f32 {
        let m = self.area().min(o.area());
        if m > 0.0 {
            self.intersection(o) / m
        } else {
            0.0
        }
    }

    pub fn translate(&self, dx: f32, dy: f32) -> RBox {
        RBox {
            cx: self.cx + dx,
            cy: self.cy + dy,
            ..*self
        }
    }
}

/// `a` wrapped into `[-pi/2, pi/2)` (a box is unchanged by a half turn).
pub fn wrap_half_pi(a: f32) -> f32 {
    let mut a = (a + FRAC_PI_2).rem_euclid(PI) - FRAC_PI_2;
    if a >= FRAC_PI_2 {
        a -= PI;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &RBox, b: &RBox) -> bool {
        (a.cx - b.cx).abs() < 1e-3
            && (a.cy - b.cy).abs() < 1e-3
            && (a.w - b.w).abs() < 1e-3
            && (a.h - b.h).abs() < 1e-3
            && (a.angle - b.angle).abs() < 1e-4
    }

    /// The DIOR-R sample (golf field): an axis-aligned rectangle 551 wide and
    /// 435 tall: le90 gives w = 551, h = 435, angle 0.
    #[test]
    fn dior_r_sample() {
        let r = RBox::from_polygon(&[
            (133.0, 237.0),
            (684.0, 237.0),
            (684.0, 672.0),
            (133.0, 672.0),
        ]);
        assert!(
            close(&r, &RBox::new(408.5, 454.5, 551.0, 435.0, 0.0)),
            "{r:?}"
        );
    }

    /// A tall rectangle: the long side is vertical, angle -pi/2 (pi/2 is
    /// outside [-pi/2, pi/2)).
    #[test]
    fn long_side_vertical_is_minus_half_pi() {
        let r = RBox::from_polygon(&[(0.0, 0.0), (10.0, 0.0), (10.0, 30.0), (0.0, 30.0)]);
        assert_eq!((r.w, r.h), (30.0, 10.0));
        assert!((r.angle + FRAC_PI_2).abs() < 1e-6, "{r:?}");
        assert_eq!(RBox::new(5.0, 15.0, 10.0, 30.0, 0.0).angle, -FRAC_PI_2);
    }

    /// Any corner order and orientation gives the same box; positive angles
    /// turn +x towards +y (y down).
    #[test]
    fn polygon_round_trip() {
        let want = RBox::new(50.0, 40.0, 40.0, 10.0, 30f32.to_radians());
        let c = want.corners();
        // the long side's end (w/2, 0) lies below-right of the centre for 30 degrees
        let tip = ((c[1].0 + c[2].0) / 2.0, (c[1].1 + c[2].1) / 2.0);
        assert!(tip.0 > 50.0 && tip.1 > 40.0);
        for start in 0..4 {
            let mut pts = [(0.0f32, 0.0f32); 4];
            for k in 0..4 {
                pts[k] = c[(start + k) % 4];
            }
            assert!(close(&RBox::from_polygon(&pts), &want));
            pts.reverse();
            assert!(close(&RBox::from_polygon(&pts), &want));
        }
    }

    #[test]
    fn rotated_iou() {
        let a = RBox::new(0.0, 0.0, 10.0, 10.0, 0.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        // A square turned a quarter turn is the same square.
        assert!((a.iou(&RBox::new(0.0, 0.0, 10.0, 10.0, FRAC_PI_2)) - 1.0).abs() < 1e-5);
        // Axis-aligned boxes agree with BBox IoU.
        let b = RBox::new(5.0, 2.0, 12.0, 6.0, 0.0);
        let want = a.bounds().iou(&b.bounds());
        assert!((a.iou(&b) - want).abs() < 1e-5);
        // Two 10 x 2 bars crossing at right angles: intersection 4, union 36.
        let h = RBox::new(0.0, 0.0, 10.0, 2.0, 0.0);
        let v = RBox::new(0.0, 0.0, 10.0, 2.0, FRAC_PI_2);
        assert!((h.iou(&v) - 4.0 / 36.0).abs() < 1e-5);
        // Diagonal bar: the 45-degree square 2 x 2 overlap of a square's
        // diagonal band is computed exactly: a 2x2 square inside a turned one.
        let s = RBox::new(0.0, 0.0, 2.0, 2.0, 0.0);
        let d = RBox::new(0.0, 0.0, 4.0 * 2f32.sqrt(), 4.0 * 2f32.sqrt(), PI / 4.0);
        assert!((s.ios(&d) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap_half_pi(0.0), 0.0);
        assert!((wrap_half_pi(PI) - 0.0).abs() < 1e-6);
        assert!((wrap_half_pi(FRAC_PI_2) + FRAC_PI_2).abs() < 1e-6);
        assert!((wrap_half_pi(-FRAC_PI_2) + FRAC_PI_2).abs() < 1e-6);
        assert!((wrap_half_pi(3.0 * PI / 4.0) + PI / 4.0).abs() < 1e-6);
    }
}
