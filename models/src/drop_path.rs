//! Stochastic depth: drop a residual branch for whole samples while training.

use burn::prelude::*;
use burn::tensor::Distribution;

/// Scales the branch by `keep_mask / (1 - rate)` per sample when gradients
/// are tracked (training); the identity otherwise or when `rate` is 0.
pub fn drop_path<B: Backend>(x: Tensor<B, 3>, rate: f64) -> Tensor<B, 3> {
    if rate <= 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    let [b, _, _] = x.dims();
    let keep = 1.0 - rate;
    let mask = Tensor::<B, 3>::random([b, 1, 1], Distribution::Bernoulli(keep), &x.device());
    x * mask.div_scalar(keep)
}
