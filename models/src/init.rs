//! Parameter initialisation as MAE does it: xavier-uniform Linear weights with
//! zero bias, LayerNorm 1/0 (eps 1e-6), tokens N(0, 0.02).

use burn::module::{Param, ParamId};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

/// LayerNorm epsilon of timm / MAE ViTs (Burn's default is 1e-5).
pub const LN_EPS: f64 = 1e-6;

/// Linear layer with xavier-uniform weight and zero bias.
pub fn linear<B: Backend>(d_in: usize, d_out: usize, bias: bool, device: &B::Device) -> Linear<B> {
    let mut l = LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(Initializer::XavierUniform { gain: 1.0 })
        .init(device);
    if bias {
        l.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
    }
    l
}

pub fn layer_norm<B: Backend>(d: usize, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(d).with_epsilon(LN_EPS).init(device)
}

/// A learnable token (cls or mask) of shape `[1, 1, d]`, N(0, 0.02).
pub fn token<B: Backend>(d: usize, device: &B::Device) -> Param<Tensor<B, 3>> {
    Param::from_tensor(Tensor::random(
        [1, 1, d],
        Distribution::Normal(0.0, 0.02),
        device,
    ))
}

/// A fixed (never trained, but saved) embedding of shape `[1, n, d]`.
pub fn frozen<B: Backend>(
    values: Vec<f32>,
    n: usize,
    d: usize,
    device: &B::Device,
) -> Param<Tensor<B, 3>> {
    let t = Tensor::<B, 1>::from_data(TensorData::new(values, [n * d]), device).reshape([1, n, d]);
    Param::initialized(ParamId::new(), t).set_require_grad(false)
}
