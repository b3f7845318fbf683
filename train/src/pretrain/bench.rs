//! `smae-train bench`: MAE vs SelectiveMAE training throughput at the same
//! model, image size, batch and device. Only training steps (forward,
//! backward, optimizer, and for SelectiveMAE the HOG + selection inside the
//! step) on one prepared batch are timed, after warm-up steps.

use std::time::Instant;

use anyhow::{bail, Result};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};
use smae_models::hog::hog_scores;
use smae_models::precision::Precision;
use smae_models::selection::plan_from_device;
use smae_models::{DecoderConfig, Mae, SelectiveMae, VitConfig};

use smae_run::config::{MethodSpec, OptimConfig};
use smae_run::Method;

use super::build_model;
use super::method::{sample_rngs, TrainModel};
use super::replica::{Replica, ReplicaSpec, StepInput};
use crate::device::{dispatch, peak_memory, BackendJob, DeviceList};
use crate::optim::PretrainOptimizer;

#[derive(Debug, Clone)]
pub struct BenchRequest {
    pub model_name: String,
    pub vit: VitConfig,
    pub decoder: DecoderConfig,
    pub method: MethodSpec,
    pub devices: DeviceList,
    pub batch_size: usize,
    pub steps: usize,
    pub warmup: usize,
    pub seed: u64,
    pub precision: Precision,
}

/// One JSON line of the benchmark's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchLine {
    pub method: String,
    pub model: String,
    pub img_size: usize,
    pub patch_size: usize,
    pub batch_size: usize,
    pub device: String,
    pub steps: usize,
    pub warmup: usize,
    pub encoded_tokens: usize,
    pub decoded_queries: usize,
    pub step_ms: f64,
    pub images_per_s: f64,
    pub peak_bytes: u64,
    /// `process_rss` on CPU, `device_reserved` on CUDA.
    pub peak_kind: String,
    /// SelectiveMAE: HOG scoring + token selection per step, timed alone.
    pub selection_ms: Option<f64>,
    pub selection_share: Option<f64>,
    /// `f32` or `bf16` (lines written before the option are f32).
    #[serde(default = "f32_name")]
    pub precision: String,
}

fn f32_name() -> String {
    Precision::F32.name().to_string()
}

/// The comparison line printed after both methods.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRatio {
    pub ratio: RatioFigures,
}

#[derive(Debug, Clone, Serialize)]
pub struct RatioFigures {
    /// SelectiveMAE images/s divided by MAE images/s.
    pub images_per_s: f64,
    /// SelectiveMAE peak memory divided by MAE peak memory.
    pub peak_bytes: f64,
}

pub fn ratio(mae: &BenchLine, selective: &BenchLine) -> BenchRatio {
    BenchRatio {
        ratio: RatioFigures {
            images_per_s: selective.images_per_s / mae.images_per_s,
            peak_bytes: selective.peak_bytes as f64 / mae.peak_bytes.max(1) as f64,
        },
    }
}

/// Benchmarks one method in this process.
pub fn run(req: &BenchRequest) -> Result<BenchLine> {
    if req.devices.count() != 1 {
        bail!("bench measures one device at a time; pass a single --device");
    }
    if req.steps == 0 {
        bail!("--steps must be at least 1");
    }
    dispatch(&req.devices, BenchJob { req })
}

struct BenchJob<'a> {
    req: &'a BenchRequest,
}

impl BackendJob for BenchJob<'_> {
    type Output = BenchLine;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<BenchLine> {
        match self.req.method.method {
            Method::Selective => measure::<B, SelectiveMae<B>>(self.req, &devices[0]),
            Method::Mae => measure::<B, Mae<B>>(self.req, &devices[0]),
        }
    }
}

fn measure<B: AutodiffBackend, M: TrainModel<B> + burn_store::ModuleSnapshot<B>>(
    req: &BenchRequest,
    device: &B::Device,
) -> Result<BenchLine> {
    let model: M = build_model(&req.vit, &req.decoder, req.seed, device, None)?;
    let spec = ReplicaSpec {
        method: req.method.clone(),
        optim: OptimConfig::mae(match req.method.method {
            Method::Selective => Some(1.0),
            Method::Mae => None,
        }),
        seed: req.seed,
        img_size: req.vit.img_size,
        in_chans: req.vit.in_chans,
        mean: smae_run::norm::IMAGENET_MEAN,
        std: smae_run::norm::IMAGENET_STD,
        precision: req.precision,
    };
    let optim = PretrainOptimizer::new(&model, &spec.optim);
    let mut replica = Replica::new(model, optim, device.clone(), spec);
    let (b, c, s) = (req.batch_size, req.vit.in_chans, req.vit.img_size);
    let imgs = Tensor::<B, 4>::random([b, c, s, s], Distribution::Normal(0.0, 1.0), device);
    // Steps read nothing back (as in training between logging steps) except
    // the last of each phase, which waits for everything queued before it.
    let input = |step: u64, read: bool| StepInput {
        images: Default::default(),
        weights: vec![1.0; b],
        first: 0,
        lr: 1e-4,
        epoch: 0.0,
        step,
        read,
    };
    for step in 0..req.warmup as u64 {
        replica.step_on(imgs.clone(), input(step, step + 1 == req.warmup as u64))?;
    }
    let start = Instant::now();
    for step in 0..req.steps as u64 {
        let last = step + 1 == req.steps as u64;
        replica.step_on(imgs.clone(), input(req.warmup as u64 + step, last))?;
    }
    let step_ms = start.elapsed().as_secs_f64() * 1000.0 / req.steps as f64;
    let (peak_bytes, peak_kind) = peak_memory::<B>(device);

    let l = req.vit.num_patches();
    let (encoded, decoded) = match req.method.method {
        Method::Selective => {
            let c = req
                .method
                .counts(l)
                .ok_or_else(|| anyhow::anyhow!("ratios leave no tokens"))?;
            (c.visible, c.targets)
        }
        Method::Mae => (
            smae_models::token_counts::mae_visible(l, req.method.mask_ratio),
            l,
        ),
    };
    let selection_ms = match req.method.method {
        Method::Selective => Some(time_selection::<B, M>(req, replica.model(), imgs.clone())?),
        Method::Mae => None,
    };
    Ok(BenchLine {
        method: req.method.method.name().to_string(),
        model: req.model_name.clone(),
        img_size: s,
        patch_size: req.vit.patch_size,
        batch_size: b,
        device: req.devices.to_string(),
        steps: req.steps,
        warmup: req.warmup,
        encoded_tokens: encoded,
        decoded_queries: decoded,
        step_ms,
        images_per_s: b as f64 / (step_ms / 1000.0),
        peak_bytes,
        peak_kind: peak_kind.to_string(),
        selection_ms,
        selection_share: selection_ms.map(|m| m / step_ms),
        precision: req.precision.name().to_string(),
    })
}

/// HOG scoring and PSTS / target selection alone, on the same batch and
/// with the trained encoder, so similarities are realistic.
fn time_selection<B: AutodiffBackend, M: TrainModel<B>>(
    req: &BenchRequest,
    model: &M,
    imgs: Tensor<B, 4>,
) -> Result<f64> {
    let encoder = model.encoder().valid();
    let imgs = imgs.inner();
    let tokens = encoder.embed(imgs.clone());
    let counts = req
        .method
        .counts(req.vit.num_patches())
        .ok_or_else(|| anyhow::anyhow!("ratios leave no tokens"))?;
    let stage = req.method.stage(0.0);
    let runs = req.steps.max(3);
    let start = Instant::now();
    for i in 0..runs {
        let mut rngs = sample_rngs(req.seed, i as u64, 0, req.batch_size);
        // Reading scores and similarities back synchronises the device.
        let scores = req
            .method
            .selection
            .uses_hog()
            .then(|| hog_scores(imgs.clone(), req.vit.patch_size));
        let _ = plan_from_device(
            scores,
            tokens.clone(),
            &counts,
            req.method.selection,
            stage,
            &mut rngs,
        );
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0 / runs as f64)
}
