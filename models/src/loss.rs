//! MAE's normalised-pixel reconstruction loss.

use burn::prelude::*;

/// The reconstruction target: per-patch normalised pixels (`norm_pix`, the
/// paper's and MAE's setting) or, with `norm_pix = false`, the input pixels
/// themselves, so that the encoder must also carry each patch's colour and
/// brightness (which `norm_pix` removes from the target).
pub fn pixel_target<B: Backend>(target: Tensor<B, 3>, norm_pix: bool) -> Tensor<B, 3> {
    if norm_pix {
        self::norm_pix(target)
    } else {
        target
    }
}

/// Per-patch normalisation of targets: `(t - mean) / sqrt(var + 1e-6)` with
/// the unbiased variance, as `torch.var` computes it. `[B, T, P]` in and out.
pub fn norm_pix<B: Backend>(target: Tensor<B, 3>) -> Tensor<B, 3> {
    let (var, mean) = target.clone().var_mean(2);
    (target - mean) / var.add_scalar(1e-6).sqrt()
}

/// Mean squared error per patch: `[B, T, P]` x 2 -> `[B, T]`.
pub fn patch_mse<B: Backend>(pred: Tensor<B, 3>, target: Tensor<B, 3>) -> Tensor<B, 2> {
    (pred - target).square().mean_dim(2).squeeze_dim::<2>(2)
}

/// Per-sample loss: the mean of `per_patch` over the patches where `weight`
/// is 1 (all patches when `weight` is `None`). `[B, T]` -> `[B]`.
pub fn per_sample<B: Backend>(
    per_patch: Tensor<B, 2>,
    weight: Option<Tensor<B, 2>>,
) -> Tensor<B, 1> {
    match weight {
        None => per_patch.mean_dim(1).squeeze_dim::<1>(1),
        Some(w) => {
            let num = (per_patch * w.clone()).sum_dim(1).squeeze_dim::<1>(1);
            num / w.sum_dim(1).squeeze_dim::<1>(1).clamp_min(1.0)
        }
    }
}
