//! Scene classification: the encoder's cls token (or the mean of its patch
//! tokens, MAE's `global_pool`) -> LayerNorm (`fc_norm`) -> Linear (`head`).

use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use crate::config::VitConfig;
use crate::init;
use crate::vit::Vit;

#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    pub encoder: Vit<B>,
    pub fc_norm: LayerNorm<B>,
    pub head: Linear<B>,
    /// Mean-pool the patch tokens instead of taking the cls token.
    pub global_pool: bool,
}

impl<B: Backend> Classifier<B> {
    pub fn new(vit: &VitConfig, classes: usize, global_pool: bool, device: &B::Device) -> Self {
        let mut head = init::linear(vit.dim, classes, true, device);
        // MAE's fine-tuning starts the head near zero (trunc_normal std 2e-5).
        head.weight = burn::module::Param::from_tensor(Tensor::random(
            [vit.dim, classes],
            burn::tensor::Distribution::Normal(0.0, 2e-5),
            device,
        ));
        Self {
            encoder: Vit::new(vit, device),
            fc_norm: init::layer_norm(vit.dim, device),
            head,
            global_pool,
        }
    }

    /// The pooled, normalised feature `[B, D]`.
    pub fn features(&self, imgs: Tensor<B, 4>) -> Tensor<B, 2> {
        let tokens = self.encoder.forward(imgs);
        let [b, n, d] = tokens.dims();
        let pooled = if self.global_pool {
            tokens.narrow(1, 1, n - 1).mean_dim(1)
        } else {
            tokens.narrow(1, 0, 1)
        };
        self.fc_norm.forward(pooled.reshape([b, d]))
    }

    /// Class logits `[B, classes]`.
    pub fn forward(&self, imgs: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head.forward(self.features(imgs))
    }
}
