//! SelectiveMAE: encode ~15% of patches (HOG initial set + PSTS), decode
//! ~25% as cross-attention queries, loss on those targets only.

use burn::prelude::*;
use rand::Rng;

use crate::config::{DecoderConfig, VitConfig};
use crate::cross_decoder::CrossDecoder;
use crate::gather::{gather_tokens, index_tensor};
use crate::hog::hog_scores;
use crate::loss::{patch_mse, per_sample, pixel_target};
use crate::patchify::patchify;
use crate::psts::Stage;
use crate::selection::{plan_from_device, rows, SamplePlan, SelectionMode};
use crate::token_counts::TokenCounts;
use crate::vit::Vit;

#[derive(Module, Debug)]
pub struct SelectiveMae<B: Backend> {
    pub encoder: Vit<B>,
    pub decoder: CrossDecoder<B>,
}

/// What one step needs besides the images.
#[derive(Debug, Clone, Copy)]
pub struct SelectiveStep {
    pub counts: TokenCounts,
    pub mode: SelectionMode,
    pub stage: Stage,
    /// Per-patch normalised targets (see [`crate::loss::pixel_target`]).
    pub norm_pix: bool,
}

impl<B: Backend> SelectiveMae<B> {
    pub fn new(vit: &VitConfig, dec: &DecoderConfig, device: &B::Device) -> Self {
        Self {
            encoder: Vit::new(vit, device),
            decoder: CrossDecoder::new(vit.dim, vit.grid(), vit.patch_dim(), dec, device),
        }
    }

    /// HOG scores of the (normalised) images as host rows `[B][L]`.
    pub fn scores(&self, imgs: Tensor<B, 4>) -> Vec<Vec<f32>> {
        rows(hog_scores(imgs, self.encoder.patch_size))
    }

    /// Chooses visible patches and targets for a batch (no gradient flows
    /// here), with one device-to-host read.
    pub fn plan<R: Rng + Send>(
        &self,
        imgs: Tensor<B, 4>,
        tokens: Tensor<B, 3>,
        step: &SelectiveStep,
        rngs: &mut [R],
    ) -> Vec<SamplePlan> {
        let scores = step
            .mode
            .uses_hog()
            .then(|| hog_scores(imgs, self.encoder.patch_size));
        plan_from_device(scores, tokens, &step.counts, step.mode, step.stage, rngs)
    }

    /// Per-sample loss `[B]` for already-embedded `tokens` (`[B, L, D]`, with
    /// gradient) and a plan.
    pub fn loss(
        &self,
        imgs: Tensor<B, 4>,
        tokens: Tensor<B, 3>,
        plans: &[SamplePlan],
        norm_pix: bool,
    ) -> Tensor<B, 1> {
        let device = imgs.device();
        let visible: Vec<Vec<usize>> = plans.iter().map(SamplePlan::visible).collect();
        let targets: Vec<Vec<usize>> = plans.iter().map(|p| p.targets.clone()).collect();
        let targets = index_tensor::<B>(&targets, &device);
        let latent = self
            .encoder
            .forward_tokens(gather_tokens(tokens, index_tensor::<B>(&visible, &device)));
        let pred = self.decoder.forward(latent, targets.clone());
        let target = pixel_target(
            gather_tokens(patchify(imgs, self.encoder.patch_size), targets),
            norm_pix,
        );
        per_sample(patch_mse(pred, target), None)
    }

    /// Plan and per-sample loss in one call (one generator per sample).
    pub fn forward_loss<R: Rng + Send>(
        &self,
        imgs: Tensor<B, 4>,
        step: &SelectiveStep,
        rngs: &mut [R],
    ) -> (Tensor<B, 1>, Vec<SamplePlan>) {
        let tokens = self.encoder.embed(imgs.clone());
        let plans = self.plan(imgs.clone(), tokens.clone(), step, rngs);
        (self.loss(imgs, tokens, &plans, step.norm_pix), plans)
    }
}
