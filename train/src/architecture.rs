//! Which model: an encoder preset (`vit-tiny` ... `vit-huge`) with optional
//! overrides, and the decoder of the pre-training method.

use anyhow::Result;
use clap::Args;
use smae_models::{DecoderConfig, VitConfig};
use smae_run::Method;

/// Model size and geometry, shared by pretrain, bench, explain, finetune and import.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Encoder size: vit-tiny, vit-small, vit-base, vit-large or vit-huge.
    #[arg(long, default_value = "vit-base")]
    pub model: String,
    /// Training image side in pixels [default: 224].
    #[arg(long)]
    pub img_size: Option<usize>,
    /// Patch side in pixels; must divide the image size (even for HOG selection) [default: 16].
    #[arg(long)]
    pub patch_size: Option<usize>,
    /// Override the encoder width.
    #[arg(long)]
    pub dim: Option<usize>,
    /// Override the encoder depth.
    #[arg(long)]
    pub depth: Option<usize>,
    /// Override the encoder heads.
    #[arg(long)]
    pub heads: Option<usize>,
    /// Decoder width [default: 512].
    #[arg(long)]
    pub decoder_dim: Option<usize>,
    /// Decoder depth [default: 12 for selective (published), 8 for mae].
    #[arg(long)]
    pub decoder_depth: Option<usize>,
    /// Decoder heads [default: 16].
    #[arg(long)]
    pub decoder_heads: Option<usize>,
}

impl ModelArgs {
    /// The encoder config and the name to record (`custom` when overridden).
    pub fn vit(&self) -> Result<(VitConfig, String)> {
        let mut vit = VitConfig::preset(&self.model)?;
        let custom = self.dim.is_some() || self.depth.is_some() || self.heads.is_some();
        vit.img_size = self.img_size.unwrap_or(vit.img_size);
        vit.patch_size = self.patch_size.unwrap_or(vit.patch_size);
        vit.dim = self.dim.unwrap_or(vit.dim);
        vit.depth = self.depth.unwrap_or(vit.depth);
        vit.heads = self.heads.unwrap_or(vit.heads);
        vit.validate()?;
        Ok((
            vit,
            if custom {
                "custom".into()
            } else {
                self.model.clone()
            },
        ))
    }

    pub fn decoder(&self, method: Method) -> Result<DecoderConfig> {
        let mut d = match method {
            Method::Selective => DecoderConfig::selective_default(),
            Method::Mae => DecoderConfig::mae_default(),
        };
        d.dim = self.decoder_dim.unwrap_or(d.dim);
        d.depth = self.decoder_depth.unwrap_or(d.depth);
        d.heads = self.decoder_heads.unwrap_or(d.heads);
        d.validate()?;
        Ok(d)
    }
}
