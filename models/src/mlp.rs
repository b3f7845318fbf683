//! The transformer MLP: Linear -> exact (erf) GELU -> Linear, timm names `fc1`/`fc2`.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::gelu;

use crate::init;
use crate::precision::linear;

#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    pub fc1: Linear<B>,
    pub fc2: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    pub fn new(dim: usize, hidden: usize, device: &B::Device) -> Self {
        Self {
            fc1: init::linear(dim, hidden, true, device),
            fc2: init::linear(hidden, dim, true, device),
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        linear(&self.fc2, gelu(linear(&self.fc1, x)))
    }
}
