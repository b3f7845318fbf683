//! PASCAL VOC mean average precision at IoU 0.5 (all-point interpolation,
//! the VOC 2010+ and mmdet / mmrotate definition), for horizontal boxes and,
//! with polygon IoU, for rotated ones. Difficult ground truth neither counts
//! as a miss nor turns a match into a false positive. Classes without ground
//! truth are left out of the mean.

use serde::{Deserialize, Serialize};
use smae_geom::{BBox, RBox};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Axis(BBox),
    Rotated(RBox),
}

impl Shape {
    fn iou(&self, o: &Shape) -> f32 {
        match (self, o) {
            (Shape::Axis(a), Shape::Axis(b)) => a.iou(b),
            (Shape::Rotated(a), Shape::Rotated(b)) => a.iou(b),
            (Shape::Axis(a), Shape::Rotated(b)) | (Shape::Rotated(b), Shape::Axis(a)) => {
                let ra = RBox::new(
                    (a.x0 + a.x1) / 2.0,
                    (a.y0 + a.y1) / 2.0,
                    a.width(),
                    a.height(),
                    0.0,
                );
                ra.iou(b)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    pub image: usize,
    pub class: usize,
    pub shape: Shape,
    pub difficult: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub image: usize,
    pub class: usize,
    pub score: f32,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAp {
    pub ap: f64,
    /// Non-difficult ground-truth boxes.
    pub ground_truth: usize,
    pub detections: usize,
    pub true_positives: usize,
    /// Recall at the lowest score kept.
    pub recall: f64,
    /// The score threshold with the best F1 on this data: what a deployed
    /// model should keep (smae-export puts it in the model card).
    #[serde(default)]
    pub best_f1: Option<BestF1>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestF1 {
    /// Keep detections scoring at least this.
    pub score: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionMetrics {
    pub map50: f64,
    pub iou_threshold: f64,
    pub per_class: Vec<ClassAp>,
}

/// VOC mAP at `iou_threshold` over `classes` classes.
pub fn voc_map(
    preds: &[Prediction],
    gts: &[GroundTruth],
    classes: usize,
    iou_threshold: f32,
) -> DetectionMetrics {
    let per_class: Vec<ClassAp> = (0..classes)
        .map(|c| class_ap(preds, gts, c, iou_threshold))
        .collect();
    let aps: Vec<f64> = per_class
        .iter()
        .filter(|c| c.ground_truth > 0)
        .map(|c| c.ap)
        .collect();
    DetectionMetrics {
        map50: if aps.is_empty() {
            f64::NAN
        } else {
            aps.iter().sum::<f64>() / aps.len() as f64
        },
        iou_threshold: iou_threshold as f64,
        per_class,
    }
}

fn class_ap(preds: &[Prediction], gts: &[GroundTruth], class: usize, thr: f32) -> ClassAp {
    let gts: Vec<&GroundTruth> = gts.iter().filter(|g| g.class == class).collect();
    let npos = gts.iter().filter(|g| !g.difficult).count();
    let mut dets: Vec<&Prediction> = preds.iter().filter(|p| p.class == class).collect();
    // Stable sort by descending score: equal scores keep their input order.
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut matched = vec![false; gts.len()];
    let (mut tp, mut fp) = (
        Vec::with_capacity(dets.len()),
        Vec::with_capacity(dets.len()),
    );
    for d in &dets {
        let mut best = (-1.0f32, None);
        for (j, g) in gts.iter().enumerate() {
            if g.image == d.image {
                let o = d.shape.iou(&g.shape);
                if o > best.0 {
                    best = (o, Some(j));
                }
            }
        }
        let (t, f) = match best {
            (o, Some(j)) if o >= thr => {
                if gts[j].difficult {
                    (0.0, 0.0)
                } else if !matched[j] {
                    matched[j] = true;
                    (1.0, 0.0)
                } else {
                    (0.0, 1.0)
                }
            }
            _ => (0.0, 1.0),
        };
        tp.push(t);
        fp.push(f);
    }
    let mut ctp = 0.0f64;
    let mut cfp = 0.0f64;
    let mut rec = Vec::with_capacity(tp.len());
    let mut prec = Vec::with_capacity(tp.len());
    for (t, f) in tp.iter().zip(&fp) {
        ctp += t;
        cfp += f;
        rec.push(if npos > 0 { ctp / npos as f64 } else { 0.0 });
        prec.push(ctp / (ctp + cfp).max(f64::EPSILON));
    }
    // F1 at every cutoff between distinct scores
    let mut best_f1: Option<BestF1> = None;
    for i in 0..dets.len() {
        if i + 1 < dets.len() && dets[i + 1].score == dets[i].score {
            continue;
        }
        let (p, r) = (prec[i], rec[i]);
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        if npos > 0 && best_f1.is_none_or(|b| f1 > b.f1) {
            best_f1 = Some(BestF1 {
                score: dets[i].score as f64,
                precision: p,
                recall: r,
                f1,
            });
        }
    }
    ClassAp {
        ap: if npos == 0 {
            f64::NAN
        } else {
            all_point_ap(&rec, &prec)
        },
        ground_truth: npos,
        detections: dets.len(),
        true_positives: ctp as usize,
        recall: rec.last().copied().unwrap_or(0.0),
        best_f1,
    }
}

/// Area under the precision envelope (VOC 2010+).
pub fn all_point_ap(rec: &[f64], prec: &[f64]) -> f64 {
    let mut mrec = vec![0.0];
    mrec.extend_from_slice(rec);
    mrec.push(1.0);
    let mut mpre = vec![0.0];
    mpre.extend_from_slice(prec);
    mpre.push(0.0);
    for i in (0..mpre.len() - 1).rev() {
        mpre[i] = mpre[i].max(mpre[i + 1]);
    }
    (0..mrec.len() - 1)
        .filter(|&i| mrec[i + 1] != mrec[i])
        .map(|i| (mrec[i + 1] - mrec[i]) * mpre[i + 1])
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x: f32) -> Shape {
        Shape::Axis(BBox::new(x, 0.0, x + 10.0, 10.0))
    }

    /// Hand-computed: 3 ground-truth boxes, predictions TP (0.9), FP (0.8),
    /// TP (0.7), duplicate FP (0.6): recall .33 .33 .67 .67, precision
    /// 1 .5 .67 .5 -> AP = 1/3 * 1 + 1/3 * 2/3 = 5/9.
    #[test]
    fn hand_computed_ap() {
        let gts: Vec<GroundTruth> = [0.0, 20.0, 40.0]
            .iter()
            .map(|&x| GroundTruth {
                image: 0,
                class: 0,
                shape: bx(x),
                difficult: false,
            })
            .collect();
        let p = |x: f32, s: f32| Prediction {
            image: 0,
            class: 0,
            score: s,
            shape: bx(x),
        };
        let preds = [p(0.0, 0.9), p(100.0, 0.8), p(21.0, 0.7), p(1.0, 0.6)];
        let m = voc_map(&preds, &gts, 1, 0.5);
        assert!((m.map50 - 5.0 / 9.0).abs() < 1e-12, "{m:?}");
        assert_eq!(m.per_class[0].true_positives, 2);
        // F1 after each prediction: .5, .4, 2/3, .571 -> keep scores >= .7
        let b = m.per_class[0].best_f1.unwrap();
        assert!(
            (b.score - 0.7).abs() < 1e-6 && (b.f1 - 2.0 / 3.0).abs() < 1e-12,
            "{b:?}"
        );
        assert!((b.precision - 2.0 / 3.0).abs() < 1e-12 && (b.recall - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn difficult_and_empty_classes() {
        let gts = [
            GroundTruth {
                image: 0,
                class: 0,
                shape: bx(0.0),
                difficult: true,
            },
            GroundTruth {
                image: 0,
                class: 0,
                shape: bx(50.0),
                difficult: false,
            },
        ];
        let preds = [
            Prediction {
                image: 0,
                class: 0,
                score: 0.9,
                shape: bx(0.0),
            },
            Prediction {
                image: 0,
                class: 0,
                score: 0.8,
                shape: bx(50.0),
            },
            Prediction {
                image: 1,
                class: 1,
                score: 0.5,
                shape: bx(0.0),
            },
        ];
        let m = voc_map(&preds, &gts, 2, 0.5);
        // The difficult match is ignored; class 1 has no ground truth and is left out.
        assert_eq!(m.map50, 1.0);
        assert!(m.per_class[1].ap.is_nan());
    }
}
