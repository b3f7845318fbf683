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
pub fn tokens_to_map<B: Backend>(tokens: Tensor<B, 3>, gh: usize, gw: usize) -> Tensor<B, 4> {
    let [b, n, d] = tokens.dims();
    tokens
        .narrow(1, n - gh * gw, gh * gw)
        .swap_dims(1, 2)
        .reshape([b, d, gh, gw])
}

/// 2x2 max pooling: halves the resolution.
pub fn max_pool2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    burn::tensor::module::max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false)
}

/// Bilinear resize (half-pixel centres, as mmseg's `resize(align_corners=False)`).
pub fn resize<B: Backend>(x: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 4> {
    let [_, _, xh, xw] = x.dims();
    if (xh, xw) == (h, w) {
        return x;
    }
    burn::tensor::module::interpolate(
        x,
        [h, w],
        burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Bilinear)
            .with_align_corners(false),
    )
}
