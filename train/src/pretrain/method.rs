//! The two pre-training methods behind one interface, so the training loop,
//! the benchmark and data parallelism are written once.

use burn::module::{AutodiffModule, Module};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smae_models::selection::MaskPlan;
use smae_models::{DecoderConfig, Mae, SelectiveMae, SelectiveStep, VitConfig};
use smae_run::config::MethodSpec;
use smae_run::seed::sample_seed;

/// One generator per sample, seeded by (run seed, global step, global
/// sample position): selection does not depend on how the batch is split
/// across devices.
pub fn sample_rngs(seed: u64, step: u64, first: usize, n: usize) -> Vec<ChaCha8Rng> {
    (0..n)
        .map(|i| {
            ChaCha8Rng::seed_from_u64(sample_seed(seed ^ 0x005E_1EC7, step, (first + i) as u64))
        })
        .collect()
}

/// A pre-training model: builds itself and returns per-sample losses.
pub trait Pretrainer<B: Backend>: Module<B> + Sized {
    fn build(vit: &VitConfig, dec: &DecoderConfig, device: &B::Device) -> Self;
    fn encoder(&self) -> &smae_models::Vit<B>;
    /// Per-sample losses `[n]` for normalised images `[n, C, H, W]`.
    fn losses(
        &self,
        imgs: Tensor<B, 4>,
        spec: &MethodSpec,
        epoch: f64,
        rngs: &mut [ChaCha8Rng],
    ) -> Tensor<B, 1>;
}

impl<B: Backend> Pretrainer<B> for SelectiveMae<B> {
    fn build(vit: &VitConfig, dec: &DecoderConfig, device: &B::Device) -> Self {
        SelectiveMae::new(vit, dec, device)
    }

    fn encoder(&self) -> &smae_models::Vit<B> {
        &self.encoder
    }

    fn losses(
        &self,
        imgs: Tensor<B, 4>,
        spec: &MethodSpec,
        epoch: f64,
        rngs: &mut [ChaCha8Rng],
    ) -> Tensor<B, 1> {
        let l = self.encoder.grid_rows * self.encoder.grid_cols;
        let step = SelectiveStep {
            counts: spec
                .counts(l)
                .expect("token counts validated with the config"),
            mode: spec.selection,
            stage: spec.stage(epoch),
            norm_pix: spec.norm_pix,
        };
        self.forward_loss(imgs, &step, rngs).0
    }
}

impl<B: Backend> Pretrainer<B> for Mae<B> {
    fn build(vit: &VitConfig, dec: &DecoderConfig, device: &B::Device) -> Self {
        Mae::new(vit, dec, device)
    }

    fn encoder(&self) -> &smae_models::Vit<B> {
        &self.encoder
    }

    fn losses(
        &self,
        imgs: Tensor<B, 4>,
        spec: &MethodSpec,
        _epoch: f64,
        rngs: &mut [ChaCha8Rng],
    ) -> Tensor<B, 1> {
        let l = self.encoder.grid_rows * self.encoder.grid_cols;
        let keep = smae_models::token_counts::mae_visible(l, spec.mask_ratio);
        let masks: Vec<MaskPlan> = rngs
            .iter_mut()
            .map(|r| MaskPlan::random(l, keep, r))
            .collect();
        self.loss(imgs, &masks, spec.norm_pix)
    }
}

/// A model the training loop can optimise.
pub trait TrainModel<B: AutodiffBackend>:
    Pretrainer<B> + AutodiffModule<B> + Send + 'static
{
}
impl<B: AutodiffBackend, M: Pretrainer<B> + AutodiffModule<B> + Send + 'static> TrainModel<B>
    for M
{
}
