//! The ViT encoder with timm / MAE parameter names (`patch_embed.proj`,
//! `cls_token`, `pos_embed`, `blocks.{i}`, `norm`), so official checkpoints
//! and timm weights map onto it one to one.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm};
use burn::prelude::*;

use crate::block::Block;
use crate::config::VitConfig;
use crate::gather::gather_tokens;
use crate::{init, pos_embed};

/// Patch embedding: a `p x p` convolution with stride `p`.
#[derive(Module, Debug)]
pub struct PatchEmbed<B: Backend> {
    pub proj: Conv2d<B>,
}

#[derive(Module, Debug)]
pub struct Vit<B: Backend> {
    pub patch_embed: PatchEmbed<B>,
    pub cls_token: Param<Tensor<B, 3>>,
    /// Fixed sin-cos embedding `[1, 1 + L, D]` (cls row zero); saved, not trained.
    pub pos_embed: Param<Tensor<B, 3>>,
    pub blocks: Vec<Block<B>>,
    pub norm: LayerNorm<B>,
    pub patch_size: usize,
    pub grid_rows: usize,
    pub grid_cols: usize,
}

impl<B: Backend> Vit<B> {
    pub fn new(cfg: &VitConfig, device: &B::Device) -> Self {
        let (p, d, c) = (cfg.patch_size, cfg.dim, cfg.in_chans);
        let g = cfg.grid();
        // MAE: xavier-uniform on the conv weight viewed as (D, C*p*p).
        let bound = (6.0 / ((c * p * p) as f64 + d as f64)).sqrt();
        let mut proj = Conv2dConfig::new([c, d], [p, p])
            .with_stride([p, p])
            .with_initializer(Initializer::Uniform {
                min: -bound,
                max: bound,
            })
            .init(device);
        proj.bias = Some(Param::from_tensor(Tensor::zeros([d], device)));
        Self {
            patch_embed: PatchEmbed { proj },
            cls_token: init::token(d, device),
            pos_embed: init::frozen(pos_embed::sincos_2d(d, g, g), 1 + g * g, d, device),
            blocks: (0..cfg.depth)
                .map(|_| Block::new(d, cfg.heads, cfg.mlp_ratio, device))
                .collect(),
            norm: init::layer_norm(d, device),
            patch_size: p,
            grid_rows: g,
            grid_cols: g,
        }
    }

    pub fn dim(&self) -> usize {
        self.cls_token.dims()[2]
    }

    /// Patch tokens plus their position embedding: `[B, C, H, W]` -> `[B, L, D]`.
    ///
    /// Images whose grid differs from the stored one get the stored embedding
    /// resampled bicubically (MAE's rule for fine-tuning at another size).
    pub fn embed(&self, imgs: Tensor<B, 4>) -> Tensor<B, 3> {
        let x = self.patch_embed.proj.forward(imgs);
        let [b, d, gh, gw] = x.dims();
        let x = x.reshape([b, d, gh * gw]).swap_dims(1, 2);
        x + self.patch_pos_embed(gh, gw)
    }

    /// The grid part of the position embedding for a `gh x gw` grid: `[1, L, D]`.
    pub fn patch_pos_embed(&self, gh: usize, gw: usize) -> Tensor<B, 3> {
        let pe = self.pos_embed.val();
        let d = self.dim();
        if (gh, gw) == (self.grid_rows, self.grid_cols) {
            return pe.narrow(1, 1, gh * gw);
        }
        let device = pe.device();
        let values = crate::host::read_f32(pe);
        let out = pos_embed::resample(&values, d, (self.grid_rows, self.grid_cols), (gh, gw));
        Tensor::<B, 1>::from_data(TensorData::new(out, [(1 + gh * gw) * d]), &device)
            .reshape([1, 1 + gh * gw, d])
            .narrow(1, 1, gh * gw)
    }

    /// Runs the blocks on `[cls] + tokens` (tokens already carry their position
    /// embedding) and the final LayerNorm: `[B, K, D]` -> `[B, 1 + K, D]`.
    pub fn forward_tokens(&self, tokens: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, _, d] = tokens.dims();
        let cls = self.cls_token.val() + self.pos_embed.val().narrow(1, 0, 1);
        let mut x = Tensor::cat(vec![cls.expand([b, 1, d]), tokens], 1);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.norm.forward(x)
    }

    /// Encodes only the patches in `visible` (`[B, K]` patch indices).
    pub fn forward_visible(&self, imgs: Tensor<B, 4>, visible: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.forward_tokens(gather_tokens(self.embed(imgs), visible))
    }

    /// Encodes every patch: `[B, C, H, W]` -> `[B, 1 + L, D]`.
    pub fn forward(&self, imgs: Tensor<B, 4>) -> Tensor<B, 3> {
        self.forward_tokens(self.embed(imgs))
    }

    /// The outputs of the blocks listed in `ids` (0-based, before the final
    /// norm), for dense heads that read several depths: `[B, 1 + L, D]` each.
    pub fn forward_blocks(&self, imgs: Tensor<B, 4>, ids: &[usize]) -> Vec<Tensor<B, 3>> {
        let tokens = self.embed(imgs);
        let [b, _, d] = tokens.dims();
        let cls = self.cls_token.val() + self.pos_embed.val().narrow(1, 0, 1);
        let mut x = Tensor::cat(vec![cls.expand([b, 1, d]), tokens], 1);
        let mut out = Vec::with_capacity(ids.len());
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x);
            for _ in ids.iter().filter(|&&k| k == i) {
                out.push(x.clone());
            }
        }
        out
    }

    /// Stochastic depth rising linearly from 0 at the first block to `rate`
    /// at the last (timm's rule); 0 disables it.
    pub fn set_drop_path(&mut self, rate: f64) {
        let n = self.blocks.len();
        for (i, b) in self.blocks.iter_mut().enumerate() {
            b.drop_path = if n > 1 {
                rate * i as f64 / (n - 1) as f64
            } else {
                rate
            };
        }
    }

    pub fn depth(&self) -> usize {
        self.blocks.len()
    }
}

/// The encoder's parameters as timm names them, with their shapes in
/// PyTorch layout (Linear weights `[out, in]`), in timm's state-dict order.
pub fn timm_state_shapes(cfg: &VitConfig) -> Vec<(String, Vec<usize>)> {
    let (d, p, c) = (cfg.dim, cfg.patch_size, cfg.in_chans);
    let hidden = (d as f64 * cfg.mlp_ratio) as usize;
    let g = cfg.grid();
    let mut out: Vec<(String, Vec<usize>)> = vec![
        ("cls_token".into(), vec![1, 1, d]),
        ("pos_embed".into(), vec![1, 1 + g * g, d]),
        ("patch_embed.proj.weight".into(), vec![d, c, p, p]),
        ("patch_embed.proj.bias".into(), vec![d]),
    ];
    for i in 0..cfg.depth {
        for (name, shape) in [
            ("norm1.weight", vec![d]),
            ("norm1.bias", vec![d]),
            ("attn.qkv.weight", vec![3 * d, d]),
            ("attn.qkv.bias", vec![3 * d]),
            ("attn.proj.weight", vec![d, d]),
            ("attn.proj.bias", vec![d]),
            ("norm2.weight", vec![d]),
            ("norm2.bias", vec![d]),
            ("mlp.fc1.weight", vec![hidden, d]),
            ("mlp.fc1.bias", vec![hidden]),
            ("mlp.fc2.weight", vec![d, hidden]),
            ("mlp.fc2.bias", vec![d]),
        ] {
            out.push((format!("blocks.{i}.{name}"), shape));
        }
    }
    out.push(("norm.weight".into(), vec![d]));
    out.push(("norm.bias".into(), vec![d]));
    out
}
