//! MAE's decoder (facebookresearch/mae): project the encoded tokens, append
//! mask tokens, restore patch order, add position embedding, run
//! self-attention blocks over all L + 1 tokens and predict every patch.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use crate::block::Block;
use crate::config::DecoderConfig;
use crate::gather::gather_tokens;
use crate::{init, pos_embed};

#[derive(Module, Debug)]
pub struct MaeDecoder<B: Backend> {
    pub decoder_embed: Linear<B>,
    pub mask_token: Param<Tensor<B, 3>>,
    pub decoder_pos_embed: Param<Tensor<B, 3>>,
    pub decoder_blocks: Vec<Block<B>>,
    pub decoder_norm: LayerNorm<B>,
    pub decoder_pred: Linear<B>,
}

impl<B: Backend> MaeDecoder<B> {
    pub fn new(
        enc_dim: usize,
        grid: usize,
        patch_dim: usize,
        cfg: &DecoderConfig,
        device: &B::Device,
    ) -> Self {
        let l = grid * grid;
        Self {
            decoder_embed: init::linear(enc_dim, cfg.dim, true, device),
            mask_token: init::token(cfg.dim, device),
            decoder_pos_embed: init::frozen(
                pos_embed::sincos_2d(cfg.dim, grid, grid),
                1 + l,
                cfg.dim,
                device,
            ),
            decoder_blocks: (0..cfg.depth)
                .map(|_| Block::new(cfg.dim, cfg.heads, cfg.mlp_ratio, device))
                .collect(),
            decoder_norm: init::layer_norm(cfg.dim, device),
            decoder_pred: init::linear(cfg.dim, patch_dim, true, device),
        }
    }

    /// `latent: [B, 1 + K, D]` (cls first, visible tokens in shuffled order),
    /// `restore: [B, L]` (position of each patch in the shuffled sequence)
    /// -> predictions for every patch `[B, L, p*p*C]`.
    pub fn forward(&self, latent: Tensor<B, 3>, restore: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let x = self.decoder_embed.forward(latent);
        let [b, n, d] = x.dims();
        let [_, l] = restore.dims();
        let masked = self.mask_token.val().expand([b, l + 1 - n, d]);
        let patches = Tensor::cat(vec![x.clone().narrow(1, 1, n - 1), masked], 1);
        let patches = gather_tokens(patches, restore);
        let mut x = Tensor::cat(vec![x.narrow(1, 0, 1), patches], 1) + self.decoder_pos_embed.val();
        for block in &self.decoder_blocks {
            x = block.forward(x);
        }
        let pred = self.decoder_pred.forward(self.decoder_norm.forward(x));
        pred.narrow(1, 1, l)
    }
}
