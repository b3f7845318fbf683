//! Per-sample token selection on the device.

use burn::prelude::*;

/// Picks, for every sample, the tokens listed in `ids`:
/// `x: [B, L, D]`, `ids: [B, K]` -> `[B, K, D]`.
///
/// Burn's `gather` wants an index of the output's full shape, hence the repeat.
pub fn gather_tokens<B: Backend>(x: Tensor<B, 3>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    let [_, _, d] = x.dims();
    let idx = ids.unsqueeze_dim::<3>(2).repeat_dim(2, d);
    x.gather(1, idx)
}

/// Uploads per-sample index lists (all of one length) as a `[B, K]` tensor.
pub fn index_tensor<B: Backend>(rows: &[Vec<usize>], device: &B::Device) -> Tensor<B, 2, Int> {
    let k = rows.first().map_or(0, Vec::len);
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.iter().map(|&i| i as i64))
        .collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), k]), device)
}
