//! Mixed precision (`--precision bf16`): the matmuls of the transformer
//! blocks (attention's q/k/v and output projections, the MLP) and the
//! attention itself take bf16 inputs, everything else (patch embedding,
//! LayerNorm, losses, HOG, selection) stays f32, and so do the weights and
//! the optimizer state: a cast is differentiable, so gradients arrive in f32
//! at the f32 master weights. Tensor cores run bf16 matmuls at several times
//! their f32 rate; on a CPU backend bf16 is emulated and slower.
//!
//! The setting is per thread (each replica drives its device from its own
//! thread) and scoped: [`with`] sets it for one forward pass. The backward
//! pass needs no setting: the casts are in the autodiff graph.

use std::cell::Cell;

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::module::{attention as sdpa, linear as affine};
use burn::tensor::FloatDType;
use serde::{Deserialize, Serialize};

/// The precision of the transformer matmuls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

impl Precision {
    pub fn name(&self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(Precision::F32),
            "bf16" => Some(Precision::Bf16),
            _ => None,
        }
    }
}

thread_local! {
    static CURRENT: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Runs `f` with matmuls in precision `p` on this thread.
pub fn with<T>(p: Precision, f: impl FnOnce() -> T) -> T {
    struct Restore(Precision);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(p)));
    f()
}

fn bf16() -> bool {
    CURRENT.with(Cell::get) == Precision::Bf16
}

fn down<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.cast(FloatDType::BF16)
}

fn up<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.cast(FloatDType::F32)
}

/// `layer.forward(x)`, with a bf16 matmul under bf16 (bias added in f32).
pub fn linear<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    if !bf16() {
        return layer.forward(x);
    }
    let y = up(affine(down(x), down(layer.weight.val()), None));
    match &layer.bias {
        Some(b) => y + b.val().unsqueeze(),
        None => y,
    }
}

/// Scaled dot-product attention, on bf16 inputs under bf16.
pub fn attention<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    if !bf16() {
        return sdpa(q, k, v, None, None, Default::default());
    }
    up(sdpa(
        down(q),
        down(k),
        down(v),
        None,
        None,
        Default::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::LinearConfig;

    type B = Autodiff<Flex>;

    #[test]
    fn bf16_linear_is_close_and_its_gradients_are_f32() {
        let device = Default::default();
        let layer: Linear<B> = LinearConfig::new(8, 4).init(&device);
        let x = Tensor::<B, 2>::from_data(
            TensorData::new((0..16).map(|i| (i as f32 - 7.5) / 4.0).collect(), [2, 8]),
            &device,
        )
        .require_grad();
        let full = linear(&layer, x.clone());
        let half = with(Precision::Bf16, || linear(&layer, x.clone()));
        assert_eq!(half.dtype(), burn::tensor::DType::F32);
        let (a, b): (Vec<f32>, Vec<f32>) = (
            full.clone().into_data().into_vec().unwrap(),
            half.clone().into_data().into_vec().unwrap(),
        );
        // bf16 keeps 8 bits of mantissa: relative error ~ 2^-8 per product.
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a
            .iter()
            .zip(&b)
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff > 0.0, "bf16 must actually round");
        assert!(diff < 2e-2 * scale, "{diff} vs scale {scale}");
        let grads = half.sum().backward();
        let gw = layer.weight.grad(&grads).unwrap();
        assert_eq!(gw.dtype(), burn::tensor::DType::F32);
        // The setting is scoped: back to f32 here.
        assert!(!bf16());
    }
}
