//! Greedy non-maximum suppression for axis-aligned and rotated detections,
//! by IoU or by intersection over the smaller box (which also merges a box
//! cut by a tile border into the whole one), per class or across classes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::decode::{Detection, RDetection};
use crate::BBox;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Intersection over union.
    Iou,
    /// Intersection over the smaller box.
    Ios,
}

/// Greedy suppression in score order. Kept boxes are bucketed on a uniform
/// grid so each candidate is only compared with kept boxes near it: a
/// scene-wide merge of many thousands of detections stays fast, with the
/// same result as comparing all pairs (suppression needs a positive
/// intersection, so the two boxes share a cell).
fn greedy<T>(
    mut dets: Vec<T>,
    score: impl Fn(&T) -> f32,
    bounds: impl Fn(&T) -> BBox,
    suppresses: impl Fn(&T, &T) -> bool,
) -> Vec<T> {
    dets.sort_by(|a, b| score(b).total_cmp(&score(a)));
    let Some(grid) = Grid::fit(dets.iter().map(&bounds)) else {
        return dets;
    };
    let mut cells: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    let mut kept: Vec<T> = Vec::new();
    for d in dets {
        let b = bounds(&d);
        let range = grid.range(&b);
        let hit = range.clone().any(|c| {
            cells
                .get(&c)
                .is_some_and(|ks| ks.iter().any(|&k| suppresses(&kept[k], &d)))
        });
        if !hit {
            for c in range {
                cells.entry(c).or_default().push(kept.len());
            }
            kept.push(d);
        }
    }
    kept
}

/// Square cells about twice the median box side, and never so small that
/// the whole extent needs more than about 10^6 cells.
struct Grid {
    x0: f32,
    y0: f32,
    cell: f32,
}

impl Grid {
    fn fit(boxes: impl Iterator<Item = BBox>) -> Option<Self> {
        let boxes: Vec<BBox> = boxes.collect();
        if boxes.is_empty() {
            return None;
        }
        let mut sides: Vec<f32> = boxes.iter().map(|b| b.width().max(b.height())).collect();
        let mid = sides.len() / 2;
        let median = *sides.select_nth_unstable_by(mid, f32::total_cmp).1;
        let fold = |f: fn(f32, f32) -> f32, init: f32, g: fn(&BBox) -> f32| {
            boxes.iter().map(g).fold(init, f)
        };
        let (x0, y0) = (
            fold(f32::min, f32::MAX, |b| b.x0),
            fold(f32::min, f32::MAX, |b| b.y0),
        );
        let (x1, y1) = (
            fold(f32::max, f32::MIN, |b| b.x1),
            fold(f32::max, f32::MIN, |b| b.y1),
        );
        let extent = (x1 - x0).max(y1 - y0).max(1.0);
        let cell = (2.0 * median).max(extent / 1000.0).max(1e-3);
        Some(Self { x0, y0, cell })
    }

    fn range(&self, b: &BBox) -> impl Iterator<Item = (i64, i64)> + Clone {
        let c = |v: f32, o: f32| ((v - o) / self.cell).floor() as i64;
        let (cx0, cx1) = (c(b.x0, self.x0), c(b.x1, self.x0));
        let (cy0, cy1) = (c(b.y0, self.y0), c(b.y1, self.y0));
        (cy0..=cy1).flat_map(move |y| (cx0..=cx1).map(move |x| (x, y)))
    }
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
        |d| d.bbox,
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
        |d| d.rbox.bounds(),
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
    use crate::RBox;

    /// All-pairs greedy NMS, the textbook definition.
    fn brute_force(mut dets: Vec<Detection>, threshold: f32, per_class: bool) -> Vec<Detection> {
        dets.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<Detection> = Vec::new();
        for d in dets {
            if !kept
                .iter()
                .any(|k| (!per_class || k.class == d.class) && k.bbox.iou(&d.bbox) > threshold)
            {
                kept.push(d);
            }
        }
        kept
    }

    /// The grid-indexed NMS keeps exactly what all-pairs NMS keeps, on
    /// boxes of mixed sizes (a few huge ones among many small ones).
    #[test]
    fn indexed_equals_all_pairs() {
        let mut state = 12345u64;
        let mut rnd = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        for trial in 0..20 {
            let dets: Vec<Detection> = (0..400)
                .map(|i| {
                    let side = if i % 50 == 0 {
                        300.0
                    } else {
                        5.0 + 30.0 * rnd()
                    };
                    let (x, y) = (1000.0 * rnd(), 800.0 * rnd());
                    Detection {
                        bbox: BBox::new(x, y, x + side * (0.5 + rnd()), y + side),
                        score: rnd(),
                        class: (rnd() * 3.0) as usize,
                    }
                })
                .collect();
            for (t, pc) in [(0.5, true), (0.3, false), (0.0, true)] {
                let a = nms(dets.clone(), t, Overlap::Iou, pc);
                let b = brute_force(dets.clone(), t, pc);
                assert_eq!(a, b, "trial {trial} threshold {t}");
            }
        }
    }

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
