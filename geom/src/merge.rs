//! Detection over tiles: each tile's dense outputs are decoded and
//! suppressed (NMS) in the tile, moved to scene pixels, and finally merged
//! across tiles, where a tile border may have cut an object into pieces
//! that overlap the whole one: intersection-over-smaller merges those, IoU
//! keeps touching neighbours apart.

use crate::decode::{decode_boxes, decode_rboxes};
use crate::{nms, rotated_nms, BBox, Detection, Overlap, RBox, RDetection};

/// A detection in scene pixels, horizontal or oriented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SceneDetection {
    Box(Detection),
    Rotated(RDetection),
}

impl SceneDetection {
    pub fn score(&self) -> f32 {
        match self {
            Self::Box(d) => d.score,
            Self::Rotated(d) => d.score,
        }
    }

    pub fn class(&self) -> usize {
        match self {
            Self::Box(d) => d.class,
            Self::Rotated(d) => d.class,
        }
    }

    /// Corners in scene pixels, clockwise on screen from the top-left.
    pub fn corners(&self) -> Vec<(f64, f64)> {
        match self {
            Self::Box(d) => {
                let b = d.bbox;
                [(b.x0, b.y0), (b.x1, b.y0), (b.x1, b.y1), (b.x0, b.y1)]
                    .iter()
                    .map(|&(x, y)| (x as f64, y as f64))
                    .collect()
            }
            Self::Rotated(d) => d
                .rbox
                .corners()
                .iter()
                .map(|&(x, y)| (x as f64, y as f64))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct DetectOptions {
    pub score: f32,
    pub nms_iou: f32,
    pub max_per_tile: usize,
    pub merge: Overlap,
    pub merge_threshold: f32,
    pub per_class: bool,
}

/// Collects detections tile by tile and merges them over the scene.
pub struct DetectionSink {
    opts: DetectOptions,
    classes: usize,
    oriented: bool,
    width: f32,
    height: f32,
    boxes: Vec<Detection>,
    rboxes: Vec<RDetection>,
}

impl DetectionSink {
    pub fn new(
        opts: DetectOptions,
        classes: usize,
        oriented: bool,
        width: usize,
        height: usize,
    ) -> Self {
        Self {
            opts,
            classes,
            oriented,
            width: width as f32,
            height: height as f32,
            boxes: Vec::new(),
            rboxes: Vec::new(),
        }
    }

    /// One tile's outputs: `geometry` `[A, 4]` (x0 y0 x1 y1) or `[A, 5]`
    /// (cx cy w h angle) in model-input pixels, `scores` `[A, classes]`.
    /// The tile's top-left scene pixel is `(x, y)`; one model pixel is
    /// `factor` scene pixels. `valid(x, y)` says whether a scene pixel
    /// holds data: detections centred on nodata are dropped.
    pub fn add_tile(
        &mut self,
        geometry: &[f32],
        scores: &[f32],
        (x, y): (i64, i64),
        factor: f32,
        valid: impl Fn(f32, f32) -> bool,
    ) {
        let o = self.opts;
        let (dx, dy) = (x as f32, y as f32);
        let inside = |cx: f32, cy: f32| {
            cx >= 0.0 && cy >= 0.0 && cx < self.width && cy < self.height && valid(cx - dx, cy - dy)
        };
        if self.oriented {
            let dets = decode_rboxes(geometry, scores, self.classes, o.score, o.max_per_tile);
            for mut d in rotated_nms(dets, o.nms_iou, Overlap::Iou, true) {
                let r = d.rbox;
                d.rbox = RBox::new(
                    r.cx * factor + dx,
                    r.cy * factor + dy,
                    r.w * factor,
                    r.h * factor,
                    r.angle,
                );
                if inside(d.rbox.cx, d.rbox.cy) {
                    self.rboxes.push(d);
                }
            }
        } else {
            let dets = decode_boxes(geometry, scores, self.classes, o.score, o.max_per_tile);
            for mut d in nms(dets, o.nms_iou, Overlap::Iou, true) {
                let b = d.bbox.scale(factor).translate(dx, dy);
                let (cx, cy) = ((b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0);
                d.bbox = b.clip(self.width, self.height);
                if inside(cx, cy) && d.bbox.area() > 0.0 {
                    self.boxes.push(d);
                }
            }
        }
    }

    pub fn candidates(&self) -> usize {
        self.boxes.len() + self.rboxes.len()
    }

    /// The scene's detections after merging across tiles, best first.
    pub fn finish(self) -> Vec<SceneDetection> {
        let o = self.opts;
        if self.oriented {
            rotated_nms(self.rboxes, o.merge_threshold, o.merge, o.per_class)
                .into_iter()
                .map(SceneDetection::Rotated)
                .collect()
        } else {
            nms(self.boxes, o.merge_threshold, o.merge, o.per_class)
                .into_iter()
                .map(SceneDetection::Box)
                .collect()
        }
    }
}

/// A box's corners in order, for tests and writers that need a `BBox`.
pub fn bbox_of(d: &SceneDetection) -> BBox {
    match d {
        SceneDetection::Box(d) => d.bbox,
        SceneDetection::Rotated(d) => d.rbox.bounds(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(merge: Overlap) -> DetectOptions {
        DetectOptions {
            score: 0.5,
            nms_iou: 0.5,
            max_per_tile: 100,
            merge,
            merge_threshold: 0.5,
            per_class: true,
        }
    }

    /// One object seen whole by one tile and cut by the border of the next:
    /// IoS merges the two, and coordinates move to scene pixels.
    #[test]
    fn merges_across_tiles() {
        let mut s = DetectionSink::new(opts(Overlap::Ios), 1, false, 100, 100);
        // tile A at (0, 0): object at 40..60 (score .9) and a weak box (.2)
        s.add_tile(
            &[40.0, 10.0, 60.0, 20.0, 0.0, 0.0, 5.0, 5.0],
            &[0.9, 0.2],
            (0, 0),
            1.0,
            |_, _| true,
        );
        // tile B at (50, 0): the object's right part, 50..60 scene = 0..10 tile
        s.add_tile(&[0.0, 10.0, 10.0, 20.0], &[0.7], (50, 0), 1.0, |_, _| true);
        assert_eq!(s.candidates(), 2);
        let out = s.finish();
        assert_eq!(out.len(), 1);
        assert_eq!(bbox_of(&out[0]), BBox::new(40.0, 10.0, 60.0, 20.0));

        let mut s = DetectionSink::new(opts(Overlap::Iou), 1, false, 100, 100);
        s.add_tile(&[40.0, 10.0, 60.0, 20.0], &[0.9], (0, 0), 1.0, |_, _| true);
        s.add_tile(&[0.0, 10.0, 10.0, 20.0], &[0.7], (50, 0), 1.0, |_, _| true);
        assert_eq!(s.finish().len(), 2, "IoU 0.5 keeps the half box");
    }

    /// A resampled tile (factor 2), a box leaving the scene (clipped), and a
    /// box centred on nodata (dropped).
    #[test]
    fn scaling_clipping_nodata() {
        let mut s = DetectionSink::new(opts(Overlap::Iou), 1, false, 100, 100);
        s.add_tile(
            &[
                10.0, 10.0, 20.0, 20.0, 40.0, 40.0, 55.0, 55.0, 0.0, 0.0, 4.0, 4.0,
            ],
            &[0.9, 0.8, 0.95],
            (0, 0),
            2.0,
            |x, _| x > 5.0,
        );
        let out = s.finish();
        let boxes: Vec<BBox> = out.iter().map(bbox_of).collect();
        assert_eq!(
            boxes,
            vec![
                BBox::new(20.0, 20.0, 40.0, 40.0),
                BBox::new(80.0, 80.0, 100.0, 100.0)
            ]
        );
    }

    #[test]
    fn oriented_boxes_move_and_merge() {
        let mut s = DetectionSink::new(opts(Overlap::Iou), 2, true, 200, 200);
        s.add_tile(
            &[30.0, 30.0, 40.0, 10.0, 0.3],
            &[0.1, 0.9],
            (10, 20),
            1.0,
            |_, _| true,
        );
        s.add_tile(
            &[31.0, 30.0, 40.0, 10.0, 0.31],
            &[0.1, 0.8],
            (9, 20),
            1.0,
            |_, _| true,
        );
        let out = s.finish();
        assert_eq!(out.len(), 1);
        match out[0] {
            SceneDetection::Rotated(d) => {
                assert_eq!((d.rbox.cx, d.rbox.cy, d.class), (40.0, 50.0, 1));
                assert!((d.score - 0.9).abs() < 1e-6);
            }
            _ => panic!("expected a rotated box"),
        }
    }
}
