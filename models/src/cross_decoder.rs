//! CrossMAE's decoder as SelectiveMAE uses it: only the reconstruction
//! targets are decoded, as queries that cross-attend to the encoder output;
//! no self-attention among queries. Cost grows with the 49 targets instead
//! of MAE's 196 tokens.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use crate::attention::CrossAttention;
use crate::config::DecoderConfig;
use crate::drop_path::drop_path;
use crate::gather::gather_tokens;
use crate::mlp::Mlp;
use crate::{init, pos_embed};

/// `q += CrossAttn(LN1(q), memory); q += MLP(LN2(q))`.
#[derive(Module, Debug)]
pub struct CrossBlock<B: Backend> {
    pub norm1: LayerNorm<B>,
    pub cross_attn: CrossAttention<B>,
    pub norm2: LayerNorm<B>,
    pub mlp: Mlp<B>,
    pub drop_path: f64,
}

impl<B: Backend> CrossBlock<B> {
    pub fn new(enc_dim: usize, cfg: &DecoderConfig, device: &B::Device) -> Self {
        Self {
            norm1: init::layer_norm(cfg.dim, device),
            cross_attn: CrossAttention::new(enc_dim, cfg.dim, cfg.heads, device),
            norm2: init::layer_norm(cfg.dim, device),
            mlp: Mlp::new(cfg.dim, (cfg.dim as f64 * cfg.mlp_ratio) as usize, device),
            drop_path: 0.0,
        }
    }

    pub fn forward(&self, q: Tensor<B, 3>, memory: Tensor<B, 3>) -> Tensor<B, 3> {
        let q = q.clone()
            + drop_path(
                self.cross_attn.forward(self.norm1.forward(q), memory),
                self.drop_path,
            );
        q.clone() + drop_path(self.mlp.forward(self.norm2.forward(q)), self.drop_path)
    }
}

#[derive(Module, Debug)]
pub struct CrossDecoder<B: Backend> {
    pub mask_token: Param<Tensor<B, 3>>,
    /// Fixed sin-cos embedding `[1, 1 + L, Ddec]` (cls row zero, unused).
    pub decoder_pos_embed: Param<Tensor<B, 3>>,
    pub decoder_blocks: Vec<CrossBlock<B>>,
    pub decoder_norm: LayerNorm<B>,
    pub decoder_pred: Linear<B>,
}

impl<B: Backend> CrossDecoder<B> {
    pub fn new(
        enc_dim: usize,
        grid: usize,
        patch_dim: usize,
        cfg: &DecoderConfig,
        device: &B::Device,
    ) -> Self {
        let l = grid * grid;
        Self {
            mask_token: init::token(cfg.dim, device),
            decoder_pos_embed: init::frozen(
                pos_embed::sincos_2d(cfg.dim, grid, grid),
                1 + l,
                cfg.dim,
                device,
            ),
            decoder_blocks: (0..cfg.depth)
                .map(|_| CrossBlock::new(enc_dim, cfg, device))
                .collect(),
            decoder_norm: init::layer_norm(cfg.dim, device),
            decoder_pred: init::linear(cfg.dim, patch_dim, true, device),
        }
    }

    /// Predicts the pixels of the `targets` (`[B, T]` patch indices) from the
    /// encoder output `memory` (`[B, 1 + K, D]`): `[B, T, p*p*C]`.
    pub fn forward(&self, memory: Tensor<B, 3>, targets: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [b, t] = targets.dims();
        let [_, _, d] = self.mask_token.dims();
        let pos = self.decoder_pos_embed.val().repeat_dim(0, b);
        let mut q =
            self.mask_token.val().expand([b, t, d]) + gather_tokens(pos, targets.add_scalar(1));
        for block in &self.decoder_blocks {
            q = block.forward(q, memory.clone());
        }
        self.decoder_pred.forward(self.decoder_norm.forward(q))
    }
}
