//! The MAE baseline: uniform random masking (r = 0.75), encoder on the
//! visible patches, self-attention decoder over all tokens, loss over every
//! masked patch. Speed-ups are measured against this, so it follows
//! facebookresearch/mae exactly.

use burn::prelude::*;
use rand::Rng;

use crate::config::{DecoderConfig, VitConfig};
use crate::gather::index_tensor;
use crate::loss::{patch_mse, per_sample, pixel_target};
use crate::mae_decoder::MaeDecoder;
use crate::patchify::patchify;
use crate::selection::MaskPlan;
use crate::vit::Vit;

#[derive(Module, Debug)]
pub struct Mae<B: Backend> {
    pub encoder: Vit<B>,
    pub decoder: MaeDecoder<B>,
}

impl<B: Backend> Mae<B> {
    pub fn new(vit: &VitConfig, dec: &DecoderConfig, device: &B::Device) -> Self {
        Self {
            encoder: Vit::new(vit, device),
            decoder: MaeDecoder::new(vit.dim, vit.grid(), vit.patch_dim(), dec, device),
        }
    }

    /// Per-sample loss `[B]` under the given masks.
    pub fn loss(&self, imgs: Tensor<B, 4>, masks: &[MaskPlan], norm_pix: bool) -> Tensor<B, 1> {
        let device = imgs.device();
        let visible: Vec<Vec<usize>> = masks.iter().map(|m| m.visible().to_vec()).collect();
        let restore: Vec<Vec<usize>> = masks.iter().map(MaskPlan::restore).collect();
        let weight: Vec<f32> = masks.iter().flat_map(MaskPlan::mask).collect();
        let [b, _, _, _] = imgs.dims();
        let l = restore.first().map_or(0, Vec::len);
        let weight =
            Tensor::<B, 1>::from_data(TensorData::new(weight, [b * l]), &device).reshape([b, l]);

        let latent = self
            .encoder
            .forward_visible(imgs.clone(), index_tensor::<B>(&visible, &device));
        let pred = self
            .decoder
            .forward(latent, index_tensor::<B>(&restore, &device));
        let target = pixel_target(patchify(imgs, self.encoder.patch_size), norm_pix);
        per_sample(patch_mse(pred, target), Some(weight))
    }

    /// Random masks (one generator per sample) and per-sample loss in one call.
    pub fn forward_loss<R: Rng>(
        &self,
        imgs: Tensor<B, 4>,
        mask_ratio: f64,
        norm_pix: bool,
        rngs: &mut [R],
    ) -> (Tensor<B, 1>, Vec<MaskPlan>) {
        let l = self.encoder.grid_rows * self.encoder.grid_cols;
        let keep = crate::token_counts::mae_visible(l, mask_ratio);
        let masks: Vec<MaskPlan> = rngs
            .iter_mut()
            .map(|r| MaskPlan::random(l, keep, r))
            .collect();
        (self.loss(imgs, &masks, norm_pix), masks)
    }
}
