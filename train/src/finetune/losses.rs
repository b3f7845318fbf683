//! The fine-tuning losses that are not the detector's own (FCOS lives in
//! smae-models): label-smoothed cross-entropy for classification and
//! per-pixel cross-entropy with an ignore label for segmentation.

use burn::prelude::*;

/// Cross-entropy with label smoothing (MAE fine-tuning uses 0.1).
pub fn label_smoothed_ce<B: Backend>(
    logits: Tensor<B, 2>,
    labels: &[i64],
    smoothing: f64,
    device: &B::Device,
) -> Tensor<B, 1> {
    let [n, k] = logits.dims();
    let mut target = vec![(smoothing / k as f64) as f32; n * k];
    for (i, &l) in labels.iter().enumerate() {
        target[i * k + l as usize] += (1.0 - smoothing) as f32;
    }
    let target =
        Tensor::<B, 1>::from_data(TensorData::new(target, [n * k]), device).reshape([n, k]);
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    (logp * target).sum().neg().div_scalar(n as f32)
}

/// Per-pixel cross-entropy over pixels whose label is not `ignore`.
pub fn masked_ce<B: Backend>(
    logits: Tensor<B, 4>,
    masks: &[u8],
    ignore: u8,
    device: &B::Device,
) -> Tensor<B, 1> {
    let [n, k, h, w] = logits.dims();
    let valid: Vec<f32> = masks
        .iter()
        .map(|&m| f32::from(m != ignore && (m as usize) < k))
        .collect();
    let count = valid.iter().sum::<f32>().max(1.0);
    let idx: Vec<i64> = masks
        .iter()
        .map(|&m| {
            if m != ignore && (m as usize) < k {
                m as i64
            } else {
                0
            }
        })
        .collect();
    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n * h * w]), device)
        .reshape([n, 1, h, w]);
    let valid = Tensor::<B, 1>::from_data(TensorData::new(valid, [n * h * w]), device)
        .reshape([n, 1, h, w]);
    let logp = burn::tensor::activation::log_softmax(logits, 1).gather(1, idx);
    (logp * valid).sum().neg().div_scalar(count)
}
