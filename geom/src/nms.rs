//! Greedy non-maximum suppression for axis-aligned and rotated detections,
//! by IoU or by intersection over the smaller box (which also merges a box
//! cut by a tile border into the whole one), per class or across classes.

use serde::{Deserialize, Serialize};

use crate::decode::{Detection, RDetection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Intersection over union.
    Iou,
    /// Intersection over the smaller box.
    Ios,
}

fn greedy<T>(
    mut dets: Vec<T>,
    score: impl Fn(&T) -> f32,
    suppresses: impl Fn(&T, &T) -> bool,
) -> Vec<T> {
    dets.sort_by(|a, b| score(b).total_cmp(&score(a)));
    let mut kept: Vec<T> = Vec::new();
    for d in dets {
        if !kept.iter().any(|k| suppresses(k, &d)) {
            kept.push(d);
        }
    }
    kept
}

/// Keeps the best-scoring box of every group overlapping above `threshold`.
pub fn nms(
    dets: Vec<Detection>,
    threshold: f32,
    overlap: Overlap,
    per_class: bool,
) -> Vec<Detection> {
    greedy(
        dets,
        |d| d.score,
        |k, d| {
            if per_class && k.class != d.class {
                return false;
            }
            let o = match overlap {
                Overlap::Iou => k.bbox.iou(&d.bbox),
                Overlap::Ios => k.bbox.ios(&d.bbox),
            };
            o > threshold
        },
    )
}

/// [`nms`] for rotated boxes (exact polygon overlap).
pub fn rotated_nms(
    dets: Vec<RDetection>,
    threshold: f32,
    overlap: Overlap,
    per_class: bool,
) -> Vec<RDetection> {
    greedy(
        dets,
        |d| d.score,
        |k, d| {
            if per_class && k.class != d.class {
                return false;
            }
            if k.rbox.bounds().intersection(&d.rbox.bounds()) <= 0.0 {
                return false;
            }
            let o = match overlap {
                Overlap::Iou => k.rbox.iou(&d.rbox),
                Overlap::Ios => k.rbox.ios(&d.rbox),
            };
            o > threshold
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BBox, RBox};

    fn det(x0: f32, score: f32, class: usize) -> Detection {
        Detection {
            bbox: BBox::new(x0, 0.0, x0 + 10.0, 10.0),
            score,
            class,
        }
    }

    #[test]
    fn suppresses_overlaps_by_score() {
        let out = nms(
            vec![
                det(0.0, 0.5, 0),
                det(1.0, 0.9, 0),
                det(30.0, 0.4, 0),
                det(2.0, 0.8, 1),
            ],
            0.5,
            Overlap::Iou,
            true,
        );
        let xs: Vec<f32> = out.iter().map(|d| d.bbox.x0).collect();
        assert_eq!(xs, vec![1.0, 2.0, 30.0]);
        let agnostic = nms(
            vec![det(0.0, 0.5, 0), det(1.0, 0.9, 0), det(2.0, 0.8, 1)],
            0.5,
            Overlap::Iou,
            false,
        );
        assert_eq!(agnostic.len(), 1);
    }

    /// A box cut by a tile border: low IoU with the whole box, but fully
    /// inside it, so intersection-over-smaller merges them.
    #[test]
    fn ios_merges_a_cut_box() {
        let whole = Detection {
            bbox: BBox::new(0.0, 0.0, 20.0, 10.0),
            score: 0.9,
            class: 0,
        };
        let part = Detection {
            bbox: BBox::new(12.0, 0.0, 20.0, 10.0),
            score: 0.6,
            class: 0,
        };
        assert_eq!(nms(vec![whole, part], 0.5, Overlap::Iou, true).len(), 2);
        assert_eq!(nms(vec![whole, part], 0.5, Overlap::Ios, true).len(), 1);
    }

    #[test]
    fn rotated() {
        let a = RDetection {
            rbox: RBox::new(0.0, 0.0, 20.0, 4.0, 0.3),
            score: 0.9,
            class: 0,
        };
        let b = RDetection {
            rbox: RBox::new(0.5, 0.2, 20.0, 4.0, 0.32),
            score: 0.7,
            class: 0,
        };
        let c = RDetection {
            rbox: RBox::new(0.0, 0.0, 20.0, 4.0, 0.3 + std::f32::consts::FRAC_PI_2),
            score: 0.8,
            class: 0,
        };
        let out = rotated_nms(vec![a, b, c], 0.5, Overlap::Iou, true);
        assert_eq!(out.len(), 2, "b is suppressed by a; c crosses a and stays");
    }
}
