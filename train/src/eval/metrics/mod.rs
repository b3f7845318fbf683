//! Evaluation metrics of the paper's downstream tasks: overall accuracy
//! (scene classification), mIoU and mF1 (segmentation), VOC mAP50 for
//! horizontal and rotated boxes (detection).

pub mod classification;
pub mod detection;
pub mod segmentation;

/// Mean over the finite values (NaN marks a class with nothing to score).
pub fn nanmean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        f64::NAN
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}
