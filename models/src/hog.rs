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
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};

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

    let window = Tensor::<B, 2>::from_data(TensorData::new(gaussian_window(p), [p, p]), &device)
        .repeat_dim(0, gh)
        .repeat_dim(1, gw)
        .reshape([1, h, w]);
    let magnitude = (gx.clone().square() + gy.clone().square()).sqrt() * window;

    // floor(phase / pi * 9) mod 9, with Python's non-negative modulo: the
    // floor lies in [-9, 9], so shift by 18 before taking the remainder.
    let bin = gx
        .atan2(gy)
        .div_scalar(PI)
        .mul_scalar(BINS as f32)
        .floor()
        .int()
        .add_scalar(2 * BINS as i64)
        .remainder_scalar(BINS as i64);

    let hist = cell_histograms(magnitude, bin, cell);
    let norm = hist.clone().square().sum_dim(3).sqrt().clamp_min(1e-12);
    let hist = hist / norm;

    // (b, c, gy, cy, gx, cx, bin) -> (b, gy, gx, c, bin, cy, cx)
    hist.reshape([b, c, gh, 2, gw, 2, BINS])
        .permute([0, 2, 4, 1, 6, 3, 5])
        .reshape([b, gh * gw, c * BINS * 4])
}

/// Orientation histograms of `cell x cell` cells: magnitudes `[N, H, W]`
/// summed per (cell, bin) into `[N, H / cell, W / cell, 9]`.
///
/// One masked sum-pool per bin: each is a reduction over every cell at
/// once, so a GPU runs it with a thread per cell. A scatter-add into
/// (cell, bin) slots would do less arithmetic, but CubeCL's scatter runs one
/// thread per image channel looping over all its pixels (768 threads for 256
/// RGB images), which leaves the GPU idle.
fn cell_histograms<B: Backend>(
    magnitude: Tensor<B, 3>,
    bin: Tensor<B, 3, Int>,
    cell: usize,
) -> Tensor<B, 4> {
    let [n, h, w] = magnitude.dims();
    let (ch, cw) = (h / cell, w / cell);
    let per_bin = (0..BINS)
        .map(|k| {
            magnitude
                .clone()
                .mask_fill(bin.clone().not_equal_elem(k as i64), 0.0)
                .reshape([n, ch, cell, cw, cell])
                .sum_dim(4)
                .sum_dim(2)
                .reshape([n, ch, cw])
        })
        .collect();
    Tensor::stack(per_bin, 3)
}

/// Sobel responses of a reflect-padded `[N, H+2, W+2]` stack: `(gx, gy)`,
/// each `[N, H, W]`, equal to cross-correlation with `Kx` and `Ky`.
///
/// Computed separably, a central difference `[1, 0, -1]` followed by
/// `[1, 2, 1]` smoothing, rather than as one 3x3 convolution: the same
/// numbers in exact arithmetic, but a flat region gives exactly 0 in any
/// summation order (the difference of equal values is exact). A direct 3x3
/// convolution leaves ~1e-7 of rounding residue there, which the per-cell L2
/// normalisation blows up into a full unit histogram: flat sky would score
/// as texture.
fn sobel<B: Backend>(x: Tensor<B, 3>, h: usize, w: usize) -> (Tensor<B, 3>, Tensor<B, 3>) {
    let [n, _, _] = x.dims();
    let device = x.device();
    let x = x.unsqueeze_dim::<4>(1);
    let conv = |x: Tensor<B, 4>, k: [f32; 3], horizontal: bool| {
        let shape = if horizontal {
            [1, 1, 1, 3]
        } else {
            [1, 1, 3, 1]
        };
        let kernel = Tensor::<B, 1>::from_floats(k, &device).reshape(shape);
        conv2d(x, kernel, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
    };
    let gx = conv(
        conv(x.clone(), [1.0, 0.0, -1.0], true),
        [1.0, 2.0, 1.0],
        false,
    );
    let gy = conv(conv(x, [1.0, 0.0, -1.0], false), [1.0, 2.0, 1.0], true);
    (gx.reshape([n, h, w]), gy.reshape([n, h, w]))
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
