//! Conv + GroupNorm + activation, and the deconvolutions that turn ViT
//! tokens into a feature pyramid. GroupNorm (32 groups) stands in for the
//! BatchNorm of the original UperNet / FCOS heads: it does not depend on the
//! batch size (CPU fine-tuning uses small batches) and keeps no running
//! statistics.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu};

/// Groups for `c` channels: 32 when it divides, else the largest divisor <= 32.
pub fn groups(c: usize) -> usize {
    (1..=32.min(c))
        .rev()
        .find(|g| c.is_multiple_of(*g))
        .unwrap_or(1)
}

/// `k x k` convolution (same padding) + GroupNorm + ReLU.
#[derive(Module, Debug)]
pub struct ConvGn<B: Backend> {
    pub conv: Conv2d<B>,
    pub norm: GroupNorm<B>,
}

impl<B: Backend> ConvGn<B> {
    pub fn new(c_in: usize, c_out: usize, k: usize, device: &B::Device) -> Self {
        Self {
            conv: Conv2dConfig::new([c_in, c_out], [k, k])
                .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
                .with_bias(false)
                .with_initializer(Initializer::KaimingNormal {
                    gain: 2f64.sqrt(),
                    fan_out_only: true,
                })
                .init(device),
            norm: GroupNormConfig::new(groups(c_out), c_out).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// A plain `k x k` convolution with bias (prediction layers).
pub fn conv<B: Backend>(c_in: usize, c_out: usize, k: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: 0.01,
        })
        .init(device)
}

/// A 2x2 stride-2 transposed convolution: doubles the resolution.
pub fn deconv<B: Backend>(c: usize, device: &B::Device) -> ConvTranspose2d<B> {
    ConvTranspose2dConfig::new([c, c], [2, 2])
        .with_stride([2, 2])
        .init(device)
}

/// x4 upsampling: deconv, GroupNorm, GELU, deconv (ViTDet / BEiT's fpn1).
#[derive(Module, Debug)]
pub struct Up4<B: Backend> {
    pub deconv1: ConvTranspose2d<B>,
    pub norm: GroupNorm<B>,
    pub deconv2: ConvTranspose2d<B>,
}

impl<B: Backend> Up4<B> {
    pub fn new(c: usize, device: &B::Device) -> Self {
        Self {
            deconv1: deconv(c, device),
            norm: GroupNormConfig::new(groups(c), c).init(device),
            deconv2: deconv(c, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.deconv2
            .forward(gelu(self.norm.forward(self.deconv1.forward(x))))
    }
}

/// Patch tokens `[B, 1 + L, D]` (cls first) as a feature map `[B, D, gh, gw]`.
///
/// The patch rows are packed (`[B * L, D]`, a copy when a cls token is
/// dropped) before the map is formed as a channels-last view. A view that
/// skips the cls token leaves a one-token gap between images, and Burn
/// 0.21's CubeCL 1x1 convolution (`conv_im2col_1x1`, burn-cubecl
/// src/kernel/conv/im2col.rs, `is_spatial_contiguous` never checks the batch
/// stride) reads such an input as packed rows: every image after the first
/// was shifted by one token on CUDA and wgpu (UperNet's lateral 1x1 conv on
/// the identity-scale level; tests/tests/wgpu/lavapipe.rs holds it).
pub fn tokens_to_map<B: Backend>(tokens: Tensor<B, 3>, gh: usize, gw: usize) -> Tensor<B, 4> {
    let [b, n, d] = tokens.dims();
    tokens
        .narrow(1, n - gh * gw, gh * gw)
        .reshape([b * gh * gw, d])
        .reshape([b, gh, gw, d])
        .permute([0, 3, 1, 2])
}

/// 2x2 max pooling: halves the resolution.
pub fn max_pool2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    burn::tensor::module::max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false)
}

/// Bilinear resize (half-pixel centres, as mmseg's `resize(align_corners=False)`).
///
/// Computed as two matmuls with fixed interpolation matrices, `Wy · x · Wxᵀ`,
/// rather than Burn's `interpolate`: Burn 0.21's CubeCL backends (CUDA and
/// wgpu) have no backward for bilinear interpolation (they panic), so
/// segmentation could not fine-tune on a GPU. The matrices give the same
/// numbers, and matmul has a gradient everywhere.
pub fn resize<B: Backend>(x: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 4> {
    let [_, _, xh, xw] = x.dims();
    if (xh, xw) == (h, w) {
        return x;
    }
    let device = x.device();
    let matrix = |from: usize, to: usize| {
        Tensor::<B, 2>::from_data(
            TensorData::new(linear_weights(from, to), [to, from]),
            &device,
        )
        .unsqueeze::<4>()
    };
    let x = if xw == w {
        x
    } else {
        x.matmul(matrix(xw, w).transpose())
    };
    if xh == h {
        x
    } else {
        matrix(xh, h).matmul(x)
    }
}

/// `[to, from]` row-major weights of 1-D linear interpolation with
/// half-pixel centres (PyTorch's `align_corners=False`): output `i` samples
/// `(i + 0.5) * from / to - 0.5`, clamped at 0, between its two neighbours.
pub fn linear_weights(from: usize, to: usize) -> Vec<f32> {
    let scale = from as f64 / to as f64;
    let mut m = vec![0f32; to * from];
    for i in 0..to {
        let src = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(from - 1);
        let i1 = (i0 + 1).min(from - 1);
        let t = src - i0 as f64;
        m[i * from + i0] += (1.0 - t) as f32;
        m[i * from + i1] += t as f32;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_backend::{device, TB};
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

    fn values(t: Tensor<TB, 4>) -> Vec<f32> {
        t.into_data().to_vec().unwrap()
    }

    /// `F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4),
    /// mode="bilinear", align_corners=False)` in PyTorch.
    #[test]
    fn resize_matches_pytorch() {
        let x = Tensor::<TB, 1>::from_floats([1.0, 2.0, 3.0, 4.0], &device()).reshape([1, 1, 2, 2]);
        #[rustfmt::skip]
        let want = [
            1.0, 1.25, 1.75, 2.0,
            1.5, 1.75, 2.25, 2.5,
            2.5, 2.75, 3.25, 3.5,
            3.0, 3.25, 3.75, 4.0,
        ];
        for (a, b) in values(resize(x, 4, 4)).iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    /// Burn's own bilinear `interpolate` (forward only on CubeCL) agrees on
    /// up- and down-sampling by uneven factors.
    #[test]
    fn resize_matches_burn_interpolate() {
        let n = 2 * 3 * 7 * 5;
        let x = Tensor::<TB, 1>::from_floats(
            (0..n)
                .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                .collect::<Vec<_>>()
                .as_slice(),
            &device(),
        )
        .reshape([2, 3, 7, 5]);
        for (h, w) in [(28, 20), (3, 11), (7, 2)] {
            let ours = values(resize(x.clone(), h, w));
            let burn = values(interpolate(
                x.clone(),
                [h, w],
                InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
            ));
            let worst = ours
                .iter()
                .zip(&burn)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "{h}x{w}: {worst}");
        }
    }

    #[test]
    fn linear_weights_rows_sum_to_one() {
        for (from, to) in [(2, 4), (7, 3), (5, 5), (1, 6)] {
            let m = linear_weights(from, to);
            for row in m.chunks(from) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            }
        }
    }
}
