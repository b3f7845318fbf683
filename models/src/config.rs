//! Model sizes and the pre-training hyper-parameters that shape the graph.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A ViT encoder: image geometry plus transformer width, depth and heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Side of the (square) training image in pixels.
    pub img_size: usize,
    /// Side of a square patch in pixels; must divide `img_size`.
    pub patch_size: usize,
    /// Input channels (3 for RGB).
    pub in_chans: usize,
    /// Token width D.
    pub dim: usize,
    /// Number of transformer blocks.
    pub depth: usize,
    /// Attention heads; must divide `dim`.
    pub heads: usize,
    /// MLP hidden width = `mlp_ratio * dim`.
    pub mlp_ratio: f64,
}

impl VitConfig {
    /// The standard sizes (dim/depth/heads from ViT and timm) at 224 px, patch 16.
    pub fn preset(name: &str) -> Result<Self, ModelError> {
        let (dim, depth, heads) = match name {
            "vit-tiny" => (192, 12, 3),
            "vit-small" => (384, 12, 6),
            "vit-base" => (768, 12, 12),
            "vit-large" => (1024, 24, 16),
            "vit-huge" => (1280, 32, 16),
            other => {
                return Err(ModelError::Config(format!(
                    "unknown model '{other}': expected vit-tiny, vit-small, vit-base, vit-large or vit-huge"
                )))
            }
        };
        Ok(Self {
            img_size: 224,
            patch_size: 16,
            in_chans: 3,
            dim,
            depth,
            heads,
            mlp_ratio: 4.0,
        })
    }

    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.img_size / self.patch_size
    }

    /// Number of patches L.
    pub fn num_patches(&self) -> usize {
        self.grid() * self.grid()
    }

    /// Values per patch in `patchify` order: p * p * C.
    pub fn patch_dim(&self) -> usize {
        self.patch_size * self.patch_size * self.in_chans
    }

    /// Rejects geometry that would silently truncate or not split into heads.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.patch_size == 0
            || self.img_size == 0
            || !self.img_size.is_multiple_of(self.patch_size)
        {
            return bad(format!(
                "patch size {} must divide image size {}",
                self.patch_size, self.img_size
            ));
        }
        if self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            return bad(format!("heads {} must divide dim {}", self.heads, self.dim));
        }
        if !self.dim.is_multiple_of(4) {
            return bad(format!(
                "dim {} must be a multiple of 4 for the 2-D sin-cos position embedding",
                self.dim
            ));
        }
        if self.depth == 0 || self.in_chans == 0 {
            return bad("depth and in_chans must be positive".into());
        }
        Ok(())
    }
}

/// The decoder that sits on the encoder during pre-training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoderConfig {
    pub dim: usize,
    pub depth: usize,
    pub heads: usize,
    pub mlp_ratio: f64,
}

impl DecoderConfig {
    /// The published SelectiveMAE / CrossMAE decoder: 512 wide, 12 deep, 16 heads.
    pub fn selective_default() -> Self {
        Self {
            dim: 512,
            depth: 12,
            heads: 16,
            mlp_ratio: 4.0,
        }
    }

    /// The MAE baseline decoder: 512 wide, 8 deep, 16 heads.
    pub fn mae_default() -> Self {
        Self {
            dim: 512,
            depth: 8,
            heads: 16,
            mlp_ratio: 4.0,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.heads == 0
            || !self.dim.is_multiple_of(self.heads)
            || !self.dim.is_multiple_of(4)
            || self.depth == 0
        {
            return Err(ModelError::Config(format!(
                "decoder dim {} must be a multiple of 4 and of heads {}, depth {} positive",
                self.dim, self.heads, self.depth
            )));
        }
        Ok(())
    }
}
