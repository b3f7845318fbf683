//! Multi-head attention with timm's parameter layout: a fused `qkv` Linear
//! for self-attention, and CrossMAE's `q` + `kv` Linears for cross-attention.
//! Burn's `MultiHeadAttention` keeps separate q/k/v layers, which official
//! checkpoints cannot load into by renaming alone.

use burn::nn::Linear;
use burn::prelude::*;

use crate::init;
use crate::precision::{attention, linear};

/// Self-attention: `proj(softmax(q k^T / sqrt(dh)) v)` with q, k, v from one Linear(D, 3D).
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    pub qkv: Linear<B>,
    pub proj: Linear<B>,
    pub heads: usize,
}

impl<B: Backend> Attention<B> {
    pub fn new(dim: usize, heads: usize, device: &B::Device) -> Self {
        Self {
            qkv: init::linear(dim, 3 * dim, true, device),
            proj: init::linear(dim, dim, true, device),
            heads,
        }
    }

    /// `[B, N, D]` -> `[B, N, D]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, d] = x.dims();
        let qkv = linear(&self.qkv, x)
            .reshape([b, n, 3, self.heads, d / self.heads])
            .permute([2, 0, 3, 1, 4]);
        let [q, k, v] = split3(qkv);
        let out = attention(q, k, v);
        linear(&self.proj, merge_heads(out))
    }
}

/// Cross-attention: queries from the decoder stream, keys and values from the
/// encoder output (width `enc_dim`) through one Linear(enc_dim, 2 * dim).
#[derive(Module, Debug)]
pub struct CrossAttention<B: Backend> {
    pub q: Linear<B>,
    pub kv: Linear<B>,
    pub proj: Linear<B>,
    pub heads: usize,
}

impl<B: Backend> CrossAttention<B> {
    pub fn new(enc_dim: usize, dim: usize, heads: usize, device: &B::Device) -> Self {
        Self {
            q: init::linear(dim, dim, true, device),
            kv: init::linear(enc_dim, 2 * dim, true, device),
            proj: init::linear(dim, dim, true, device),
            heads,
        }
    }

    /// `x: [B, Nq, dim]`, `memory: [B, Nk, enc_dim]` -> `[B, Nq, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>, memory: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, nq, d] = x.dims();
        let [_, nk, _] = memory.dims();
        let dh = d / self.heads;
        let q = linear(&self.q, x)
            .reshape([b, nq, self.heads, dh])
            .swap_dims(1, 2);
        let kv = linear(&self.kv, memory)
            .reshape([b, nk, 2, self.heads, dh])
            .permute([2, 0, 3, 1, 4]);
        let k = kv.clone().narrow(0, 0, 1).squeeze_dim::<4>(0);
        let v = kv.narrow(0, 1, 1).squeeze_dim::<4>(0);
        let out = attention(q, k, v);
        linear(&self.proj, merge_heads(out))
    }
}

/// `[3, B, H, N, dh]` -> q, k, v as `[B, H, N, dh]`.
fn split3<B: Backend>(qkv: Tensor<B, 5>) -> [Tensor<B, 4>; 3] {
    std::array::from_fn(|i| qkv.clone().narrow(0, i, 1).squeeze_dim::<4>(0))
}

/// `[B, H, N, dh]` -> `[B, N, H*dh]`.
fn merge_heads<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, h, n, dh] = x.dims();
    x.swap_dims(1, 2).reshape([b, n, h * dh])
}
