//! Segmentation metrics from a pixel confusion matrix: per-class IoU and F1,
//! their means over the classes present (mIoU, mF1), pixel accuracy.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct SegAccumulator {
    classes: usize,
    ignore: u8,
    /// `conf[true * classes + predicted]`
    conf: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentationMetrics {
    pub miou: f64,
    pub mf1: f64,
    pub pixel_accuracy: f64,
    /// NaN for a class neither predicted nor present.
    pub per_class_iou: Vec<f64>,
    pub per_class_f1: Vec<f64>,
    pub pixels: u64,
}

impl SegAccumulator {
    pub fn new(classes: usize, ignore: u8) -> Self {
        Self {
            classes,
            ignore,
            conf: vec![0; classes * classes],
        }
    }

    /// Adds one image: predicted and true class per pixel (truth may hold
    /// the ignore value; values outside the classes are ignored too).
    pub fn add(&mut self, predicted: &[u8], truth: &[u8]) {
        for (&p, &t) in predicted.iter().zip(truth) {
            if t == self.ignore || t as usize >= self.classes || p as usize >= self.classes {
                continue;
            }
            self.conf[t as usize * self.classes + p as usize] += 1;
        }
    }

    pub fn finish(&self) -> SegmentationMetrics {
        let k = self.classes;
        let row = |c: usize| (0..k).map(|j| self.conf[c * k + j]).sum::<u64>();
        let col = |c: usize| (0..k).map(|i| self.conf[i * k + c]).sum::<u64>();
        let mut iou = Vec::with_capacity(k);
        let mut f1 = Vec::with_capacity(k);
        for c in 0..k {
            let tp = self.conf[c * k + c] as f64;
            let (fn_, fp) = (row(c) as f64 - tp, col(c) as f64 - tp);
            let denom = tp + fp + fn_;
            iou.push(if denom > 0.0 { tp / denom } else { f64::NAN });
            f1.push(if denom > 0.0 {
                2.0 * tp / (2.0 * tp + fp + fn_)
            } else {
                f64::NAN
            });
        }
        let total: u64 = self.conf.iter().sum();
        let correct: u64 = (0..k).map(|c| self.conf[c * k + c]).sum();
        SegmentationMetrics {
            miou: super::nanmean(&iou),
            mf1: super::nanmean(&f1),
            pixel_accuracy: if total == 0 {
                f64::NAN
            } else {
                correct as f64 / total as f64
            },
            per_class_iou: iou,
            per_class_f1: f1,
            pixels: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        // truth 0 0 1 1 255 2 ; predicted 0 1 1 1 0 0 (class 2 never predicted)
        let mut acc = SegAccumulator::new(3, 255);
        acc.add(&[0, 1, 1, 1, 0, 0], &[0, 0, 1, 1, 255, 2]);
        let m = acc.finish();
        // class 0: tp 1, fp 1 (the class-2 pixel), fn 1 -> IoU 1/3, F1 2/4
        // class 1: tp 2, fp 1, fn 0 -> IoU 2/3, F1 4/5 ; class 2: tp 0, fn 1 -> 0, 0
        let want_iou = [1.0 / 3.0, 2.0 / 3.0, 0.0];
        let want_f1 = [0.5, 0.8, 0.0];
        for c in 0..3 {
            assert!((m.per_class_iou[c] - want_iou[c]).abs() < 1e-12);
            assert!((m.per_class_f1[c] - want_f1[c]).abs() < 1e-12);
        }
        assert!((m.miou - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.pixel_accuracy - 3.0 / 5.0).abs() < 1e-12);
        assert_eq!(m.pixels, 5);
    }
}
