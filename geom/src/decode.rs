//! Dense detector outputs to detections. The detection graphs emit, for
//! every location of every pyramid level, already-decoded boxes in input
//! pixels and per-class scores; decoding keeps the confident ones.

use serde::{Deserialize, Serialize};

use crate::{BBox, RBox};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
    pub class: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RDetection {
    pub rbox: RBox,
    pub score: f32,
    pub class: usize,
}

/// For `A` locations: `boxes` `[A, 4]` (x0, y0, x1, y1), `scores` `[A, C]`.
/// Keeps every (location, class) scoring at least `threshold`, the best
/// `max_candidates` of them.
pub fn decode_boxes(
    boxes: &[f32],
    scores: &[f32],
    classes: usize,
    threshold: f32,
    max_candidates: usize,
) -> Vec<Detection> {
    let mut out: Vec<Detection> = candidates(scores, classes, threshold)
        .map(|(a, class, score)| Detection {
            bbox: BBox::new(
                boxes[4 * a],
                boxes[4 * a + 1],
                boxes[4 * a + 2],
                boxes[4 * a + 3],
            ),
            score,
            class,
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(max_candidates);
    out
}

/// For `A` locations: `rboxes` `[A, 5]` (cx, cy, w, h, angle), `scores` `[A, C]`.
pub fn decode_rboxes(
    rboxes: &[f32],
    scores: &[f32],
    classes: usize,
    threshold: f32,
    max_candidates: usize,
) -> Vec<RDetection> {
    let mut out: Vec<RDetection> = candidates(scores, classes, threshold)
        .map(|(a, class, score)| {
            let r = &rboxes[5 * a..5 * a + 5];
            RDetection {
                rbox: RBox::new(r[0], r[1], r[2], r[3], r[4]),
                score,
                class,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(max_candidates);
    out
}

fn candidates(
    scores: &[f32],
    classes: usize,
    threshold: f32,
) -> impl Iterator<Item = (usize, usize, f32)> + '_ {
    scores
        .iter()
        .enumerate()
        .filter(move |(_, s)| **s >= threshold)
        .map(move |(i, s)| (i / classes, i % classes, *s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_confident_locations() {
        let boxes = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
        let scores = [0.1, 0.9, 0.6, 0.2];
        let d = decode_boxes(&boxes, &scores, 2, 0.5, 10);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].class, d[0].bbox.x0), (1, 0.0));
        assert_eq!((d[1].class, d[1].bbox.x0), (0, 2.0));
        assert_eq!(decode_boxes(&boxes, &scores, 2, 0.5, 1).len(), 1);
    }
}
