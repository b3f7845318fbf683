//! `smae-train explain`: what SelectiveMAE encodes and reconstructs for one
//! image, at a chosen point of the curriculum, as JSON and as a picture.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use burn::prelude::*;
use serde::Serialize;
use smae_models::selection::plan_selective;
use smae_models::{DecoderConfig, SelectiveMae, TokenCounts, VitConfig};

use smae_run::checkpoint;
use smae_run::config::{MethodSpec, PretrainConfig, RunConfig};
use smae_run::norm::{center_view, imagenet_pixels};
use smae_run::Method;

use super::build_model;
use super::method::sample_rngs;
use crate::data::decode::decode_rgb;
use crate::render::{save_png, selection_png, Role};

/// Where the model, ratios and curriculum come from.
pub enum ExplainSource {
    /// A SelectiveMAE run: its config and latest weights.
    Run(PathBuf),
    /// A freshly initialised model (seeded): shows the selection mechanics.
    Fresh {
        vit: VitConfig,
        decoder: DecoderConfig,
        method: MethodSpec,
    },
}

pub struct ExplainRequest {
    pub image: PathBuf,
    pub output: PathBuf,
    pub source: ExplainSource,
    /// Point of the run, as a fraction of its epochs (0 = start).
    pub epoch_fraction: Option<f64>,
    /// Or an absolute epoch.
    pub epoch: Option<f64>,
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct PsTsAddition {
    pub patch: usize,
    pub substep: usize,
    pub stage: String,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub image: PathBuf,
    pub run: Option<PathBuf>,
    pub img_size: usize,
    pub patch_size: usize,
    pub grid: usize,
    pub epoch: f64,
    pub epochs: Option<u64>,
    pub stage: String,
    pub selection: String,
    pub counts: TokenCounts,
    /// Per-patch HOG scores in raster order.
    pub hog_scores: Vec<f32>,
    pub initial: Vec<usize>,
    pub psts: Vec<PsTsAddition>,
    pub targets: Vec<usize>,
    pub visible: Vec<usize>,
    pub ignored: Vec<usize>,
}

pub fn explain(req: &ExplainRequest) -> Result<Explanation> {
    let device = FlexDevice;
    let (vit, decoder, method, weights, run, epochs) = match &req.source {
        ExplainSource::Run(run) => match RunConfig::read(run)? {
            RunConfig::Pretrain(cfg) => explained_run(run, cfg)?,
            // Any other run's encoder drives the PSTS similarities; ratios and
            // curriculum are SelectiveMAE's defaults over one epoch.
            _ => {
                let (vit, file) = smae_run::dir::encoder(run)?;
                let method = default_method()?;
                let decoder = DecoderConfig::selective_default();
                (vit, decoder, method, Some(file), Some(run.clone()), None)
            }
        },
        ExplainSource::Fresh {
            vit,
            decoder,
            method,
        } => (
            vit.clone(),
            decoder.clone(),
            method.clone(),
            None,
            None,
            None,
        ),
    };
    let epoch = match (req.epoch, req.epoch_fraction) {
        (Some(e), _) => e,
        (None, f) => f.unwrap_or(0.0) * epochs.unwrap_or(1) as f64,
    };
    if !(epoch.is_finite() && epoch >= 0.0) {
        bail!("the epoch must be a non-negative number, got {epoch}");
    }
    let counts = method
        .counts(vit.num_patches())
        .context("the mask and reconstruction ratios leave no patch to encode or predict")?;

    let img = decode_rgb(&req.image)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", req.image.display()))?;
    let view = center_view(&img, vit.img_size as u32);
    let s = vit.img_size;
    let px = imagenet_pixels(&view);
    let imgs = Tensor::<Flex, 1>::from_data(TensorData::new(px, [3 * s * s]), &device)
        .reshape([1, 3, s, s]);

    let mut model: SelectiveMae<Flex> = build_model(&vit, &decoder, req.seed, &device, None)?;
    if let Some(file) = &weights {
        // Only the encoder matters here: HOG is weight-free, PSTS uses the patch embedding.
        smae_run::weights::load_encoder(&mut model.encoder, file)?;
    }
    let tokens = model.encoder.embed(imgs.clone());
    let scores = model.scores(imgs);
    let stage = method.stage(epoch);
    let mut rngs = sample_rngs(req.seed, 0, 0, 1);
    let used_scores = if method.selection.uses_hog() {
        scores.clone()
    } else {
        Vec::new()
    };
    let plan = plan_selective(
        &used_scores,
        tokens,
        &counts,
        method.selection,
        stage,
        &mut rngs,
    )
    .pop()
    .context("no plan")?;

    let l = vit.num_patches();
    let mut roles = vec![Role::Ignored; l];
    plan.targets.iter().for_each(|&i| roles[i] = Role::Target);
    plan.added
        .iter()
        .flatten()
        .for_each(|&i| roles[i] = Role::Psts);
    plan.initial.iter().for_each(|&i| roles[i] = Role::Initial);

    let explanation = Explanation {
        image: req.image.clone(),
        run,
        img_size: s,
        patch_size: vit.patch_size,
        grid: vit.grid(),
        epoch,
        epochs,
        stage: stage.name().to_string(),
        selection: method.selection.name().to_string(),
        counts,
        hog_scores: scores[0].clone(),
        initial: plan.initial.clone(),
        psts: plan
            .added
            .iter()
            .enumerate()
            .flat_map(|(sub, ids)| {
                ids.iter().map(move |&patch| PsTsAddition {
                    patch,
                    substep: sub + 1,
                    stage: stage.name().to_string(),
                })
            })
            .collect(),
        targets: plan.targets.clone(),
        visible: plan.visible(),
        ignored: (0..l).filter(|&i| roles[i] == Role::Ignored).collect(),
    };

    std::fs::create_dir_all(&req.output)
        .with_context(|| format!("creating {}", req.output.display()))?;
    smae_run::atomic::write_json(&req.output.join("selection.json"), &explanation)?;
    let caption = format!(
        "EPOCH {epoch:.1} STAGE {} SELECTION {} ENCODED {} TARGETS {}",
        stage.name(),
        method.selection.name(),
        counts.visible,
        counts.targets
    );
    let png = selection_png(&view, vit.grid(), &roles, &scores[0], &caption);
    save_png(&png, &req.output.join("selection.png"))?;
    Ok(explanation)
}

/// The model, method and weights of a pre-training run (SelectiveMAE only).
type Explained = (
    VitConfig,
    DecoderConfig,
    MethodSpec,
    Option<PathBuf>,
    Option<PathBuf>,
    Option<u64>,
);

fn explained_run(run: &Path, cfg: PretrainConfig) -> Result<Explained> {
    if cfg.method.method != Method::Selective {
        bail!(
            "{} is an MAE run; explain shows SelectiveMAE's selection",
            run.display()
        );
    }
    let ckpt = checkpoint::latest(run)?
        .with_context(|| format!("{} has no checkpoint yet", run.display()))?;
    Ok((
        cfg.vit,
        cfg.decoder,
        cfg.method,
        Some(ckpt.join(checkpoint::MODEL)),
        Some(run.to_path_buf()),
        Some(cfg.epochs),
    ))
}

fn default_method() -> Result<MethodSpec> {
    Ok(MethodSpec {
        method: Method::Selective,
        mask_ratio: 0.85,
        recon_ratio: 0.25,
        selection: smae_models::SelectionMode::HogTopk,
        psts: smae_models::PstsSchedule::from_fractions(smae_models::psts::DEFAULT_FRACTIONS, 1.0)
            .map_err(anyhow::Error::msg)?,
        norm_pix: true,
    })
}
