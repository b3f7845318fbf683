//! Histogram of oriented gradients per patch (MaskFeat's HOG layer, as
//! SelectiveMAE uses it), computed as batched tensor ops on the training
//! device so that scoring never leaves the GPU except as one `[B, L]` score.
//!
//! Per channel of the normalised image: reflect-pad 1, Sobel
//! `Kx = [[1,0,-1],[2,0,-2],[1,0,-1]]`, `Ky = Kx^T` (cross-correlation, as
//! `F.conv2d`; see [`sobel`] for why not as a convolution), magnitude weighted by a `p x p` Gaussian (sigma p/2, sum 1)
//! tiled per patch, orientation `atan2(gx, gy)` into 9 unsigned 20-degree
//! bins (`floor(phase / pi * 9) mod 9`), histograms over `p/2 x p/2` cells,
//! each L2-normalised (eps 1e-12), regrouped per patch as
//! (channel, bin, cell row, cell col): 3 x 9 x 2 x 2 = 108 features.

use std::f32::consts::PI;

use burn::prelude::*;
use burn::tensor::ops::PadMode;

/// Orientation bins.
pub const BINS: usize = 9;

/// HOG descriptor: `[B, C, H, W]` -> `[B, L, C * 9 * 4]` for patch size `p`
/// (`p` even and dividing H and W).
pub fn hog_descriptor<B: Backend>(imgs: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [b, c, h, w] = imgs.dims();
    let device = imgs.device();
    let cell = p / 2;
    let (gh, gw) = (h / p, w / p);

    let x = imgs
        .reshape([b * c, h, w])
        .pad((1, 1, 1, 1), PadMode::Reflect);
    let (gx, gy) = sobel(x, h, w);
    let (gx, gy) = (gx.reshape([b * c, 1, h, w]), gy.reshape([b * c, 1, h, w]));

    let window = Tensor::<B, 2>::from_data(TensorData::new(gaussian_window(p), [p, p]), &device)
        .repeat_dim(0, gh)
        .repeat_dim(1, gw)
        .reshape([1, 1, h, w]);
    let magnitude = (gx.clone().square() + gy.clone().square()).sqrt() * window;

    // floor(phase / pi * 9) mod 9, with Python's non-negative modulo.
    let t = gx.atan2(gy).div_scalar(PI).mul_scalar(BINS as f32).floor();
    let bin = t.clone() - t.div_scalar(BINS as f32).floor().mul_scalar(BINS as f32);

    let per_bin: Vec<Tensor<B, 4>> = (0..BINS)
        .map(|k| bin.clone().equal_elem(k as f32).float() * magnitude.clone())
        .collect();
    // [B*C, 9, H, W] -> sums over cells -> [B*C, 9, H/cell, W/cell]
    let (ch, cw) = (h / cell, w / cell);
    let hist = Tensor::cat(per_bin, 1)
        .reshape([b * c, BINS, ch, cell, cw, cell])
        .sum_dim(5)
        .sum_dim(3)
        .reshape([b * c, BINS, ch, cw]);
    let norm = hist.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    let hist = hist / norm;

    // (b, c, bin, gy, cy, gx, cx) -> (b, gy, gx, c, bin, cy, cx)
    hist.reshape([b, c, BINS, gh, 2, gw, 2])
        .permute([0, 3, 5, 1, 2, 4, 6])
        .reshape([b, gh * gw, c * BINS * 4])
}

/// Sobel responses of a reflect-padded `[N, H+2, W+2]` stack: `(gx, gy)`,
/// each `[N, H, W]`, equal to cross-correlation with `Kx` and `Ky`.
///
/// Computed as a central difference followed by `[1, 2, 1]` smoothing rather
/// than as a 3x3 convolution: the same numbers in exact arithmetic, but a flat
/// region gives exactly 0 in any summation order. A direct convolution leaves
/// ~1e-7 of rounding residue there, which the per-cell L2 normalisation then
/// blows up into a full unit histogram, so flat sky would score as texture.
fn sobel<B: Backend>(x: Tensor<B, 3>, h: usize, w: usize) -> (Tensor<B, 3>, Tensor<B, 3>) {
    let smooth = |d: Tensor<B, 3>, dim: usize, n: usize| {
        d.clone().narrow(dim, 0, n) + d.clone().narrow(dim, 1, n).mul_scalar(2.0) + d.narrow(dim, 2, n)
    };
    let dx = x.clone().narrow(2, 0, w) - x.clone().narrow(2, 2, w);
    let dy = x.clone().narrow(1, 0, h) - x.narrow(1, 2, h);
    (smooth(dx, 1, h), smooth(dy, 2, w))
}

/// Per-patch texture score: the mean of the L2-normalised descriptor,
/// about 0 on flat patches and about 0.3 on textured ones (REFERENCE step 4).
pub fn hog_scores<B: Backend>(imgs: Tensor<B, 4>, p: usize) -> Tensor<B, 2> {
    hog_descriptor(imgs, p).mean_dim(2).squeeze_dim::<2>(2)
}

/// `p x p` Gaussian with sigma `p/2` centred on the patch, normalised to sum 1
/// (MaskFeat's `get_gkern(p, p // 2)`).
pub fn gaussian_window(p: usize) -> Vec<f32> {
    let std = (p / 2) as f64;
    let mean = (p as f64 - 1.0) / 2.0;
    let g1: Vec<f64> = (0..p)
        .map(|i| (-0.5 * ((i as f64 - mean) / std).powi(2)).exp())
        .collect();
    let total: f64 = g1.iter().sum::<f64>().powi(2);
    let mut out = Vec::with_capacity(p * p);
    for a in &g1 {
        for b in &g1 {
            out.push((a * b / total) as f32);
        }
    }
    out
}
