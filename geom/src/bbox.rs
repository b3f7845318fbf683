//! Axis-aligned boxes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    pub fn new(x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self { x0, y0, x1, y1 }
    }

    pub fn width(&self) -> f32 {
        (self.x1 - self.x0).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y1 - self.y0).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn intersection(&self, o: &BBox) -> f32 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0.0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0.0);
        w * h
    }

    /// Intersection over union (0 when both are empty).
    pub fn iou(&self, o: &BBox) -> f32 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u > 0.0 {
            i / u
        } else {
            0.0
        }
    }

    /// Intersection over the smaller box: 1 when one box contains the other.
    pub fn ios(&self, o: &BBox) -> f32 {
        let m = self.area().min(o.area());
        if m > 0.0 {
            self.intersection(o) / m
        } else {
            0.0
        }
    }

    /// Clipped to `[0, w] x [0, h]`.
    pub fn clip(&self, w: f32, h: f32) -> BBox {
        BBox::new(
            self.x0.clamp(0.0, w),
            self.y0.clamp(0.0, h),
            self.x1.clamp(0.0, w),
            self.y1.clamp(0.0, h),
        )
    }

    pub fn translate(&self, dx: f32, dy: f32) -> BBox {
        BBox::new(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)
    }

    pub fn scale(&self, s: f32) -> BBox {
        BBox::new(self.x0 * s, self.y0 * s, self.x1 * s, self.y1 * s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_hand_computed() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BBox::new(5.0, 5.0, 15.0, 15.0);
        // intersection 25, union 175
        assert!((a.iou(&b) - 25.0 / 175.0).abs() < 1e-7);
        assert_eq!(a.ios(&BBox::new(2.0, 2.0, 4.0, 4.0)), 1.0);
        assert_eq!(a.iou(&BBox::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        assert_eq!(a.clip(8.0, 20.0), BBox::new(0.0, 0.0, 8.0, 10.0));
    }
}
