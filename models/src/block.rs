//! Pre-norm transformer block: `x += Attn(LN1(x)); x += MLP(LN2(x))`.

use burn::nn::LayerNorm;
use burn::prelude::*;

use crate::attention::Attention;
use crate::drop_path::drop_path;
use crate::init;
use crate::mlp::Mlp;

#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    pub norm1: LayerNorm<B>,
    pub attn: Attention<B>,
    pub norm2: LayerNorm<B>,
    pub mlp: Mlp<B>,
    /// Stochastic-depth rate of this block (0 in pre-training).
    pub drop_path: f64,
}

impl<B: Backend> Block<B> {
    pub fn new(dim: usize, heads: usize, mlp_ratio: f64, device: &B::Device) -> Self {
        Self {
            norm1: init::layer_norm(dim, device),
            attn: Attention::new(dim, heads, device),
            norm2: init::layer_norm(dim, device),
            mlp: Mlp::new(dim, (dim as f64 * mlp_ratio) as usize, device),
            drop_path: 0.0,
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x.clone() + drop_path(self.attn.forward(self.norm1.forward(x)), self.drop_path);
        x.clone() + drop_path(self.mlp.forward(self.norm2.forward(x)), self.drop_path)
    }
}
