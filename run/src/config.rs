//! `config.json`: the resolved configuration of a run, tagged by the kind of
//! run that wrote it. Runs written before the tag existed (pre-training)
//! read as `pretrain`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use smae_models::{DecoderConfig, PstsSchedule, SelectionMode, Stage, TokenCounts, VitConfig};

use crate::kinds::{Method, RunKind, Task};
use crate::norm::{IMAGENET_MEAN, IMAGENET_STD};
use crate::schedule::LrSchedule;

/// The file name inside a run directory.
pub const CONFIG: &str = "config.json";

/// Any run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant)]
pub enum RunConfig {
    Pretrain(PretrainConfig),
    Import(ImportConfig),
    Finetune(FinetuneConfig),
}

impl<'de> Deserialize<'de> for RunConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        #[allow(clippy::large_enum_variant)]
        enum Tagged {
            Pretrain(PretrainConfig),
            Import(ImportConfig),
            Finetune(FinetuneConfig),
        }
        let mut v = serde_json::Value::deserialize(d)?;
        if let serde_json::Value::Object(m) = &mut v {
            m.entry("kind").or_insert_with(|| "pretrain".into());
        }
        Ok(
            match serde_json::from_value(v).map_err(serde::de::Error::custom)? {
                Tagged::Pretrain(c) => RunConfig::Pretrain(c),
                Tagged::Import(c) => RunConfig::Import(c),
                Tagged::Finetune(c) => RunConfig::Finetune(c),
            },
        )
    }
}

impl RunConfig {
    /// Reads `run/config.json`.
    pub fn read(run: &Path) -> Result<Self> {
        if !run.is_dir() {
            bail!("run directory {} does not exist", run.display());
        }
        let path = run.join(CONFIG);
        let text = std::fs::read(&path).with_context(|| {
            format!("{} is not a run directory (no config.json)", run.display())
        })?;
        serde_json::from_slice(&text).with_context(|| {
            format!(
                "{} is half-written or not a run configuration",
                path.display()
            )
        })
    }

    /// Writes `run/config.json` atomically.
    pub fn write(&self, run: &Path) -> Result<()> {
        crate::atomic::write_json(&run.join(CONFIG), self)
    }

    pub fn kind(&self) -> RunKind {
        match self {
            RunConfig::Pretrain(_) => RunKind::Pretrain,
            RunConfig::Import(_) => RunKind::Import,
            RunConfig::Finetune(_) => RunKind::Finetune,
        }
    }

    /// The encoder every kind of run holds.
    pub fn vit(&self) -> &VitConfig {
        match self {
            RunConfig::Pretrain(c) => &c.vit,
            RunConfig::Import(c) => &c.vit,
            RunConfig::Finetune(c) => &c.vit,
        }
    }

    /// Preset name (`vit-base`, ...) or `custom`.
    pub fn model_name(&self) -> &str {
        match self {
            RunConfig::Pretrain(c) => &c.model,
            RunConfig::Import(c) => &c.model,
            RunConfig::Finetune(c) => &c.model,
        }
    }

    /// The pre-training method, where the run has one.
    pub fn method(&self) -> Option<Method> {
        match self {
            RunConfig::Pretrain(c) => Some(c.method.method),
            _ => None,
        }
    }
}

/// Reads a run's configuration and requires a kind.
macro_rules! read_kind {
    ($name:ident, $variant:ident, $t:ty, $what:literal) => {
        impl $t {
            #[doc = concat!("Reads `run/config.json` of a ", $what, " run.")]
            pub fn $name(run: &Path) -> Result<Self> {
                match RunConfig::read(run)? {
                    RunConfig::$variant(c) => Ok(c),
                    other => bail!(
                        concat!("{} is a {} run, not a ", $what, " run"),
                        run.display(),
                        other.kind().name()
                    ),
                }
            }
        }
    };
}
read_kind!(read, Pretrain, PretrainConfig, "pre-training");
read_kind!(read, Finetune, FinetuneConfig, "fine-tuning");

/// The resolved configuration of a pre-training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    pub smae_version: String,
    pub burn_version: String,
    /// Preset name (`vit-base`, ...) or `custom`.
    pub model: String,
    pub vit: VitConfig,
    pub decoder: DecoderConfig,
    pub method: MethodSpec,
    pub epochs: u64,
    /// Per device (per rank under MPI).
    pub batch_size: usize,
    pub devices: String,
    pub global_batch: usize,
    /// Base learning rate (`None` when `lr` was given directly).
    pub blr: Option<f64>,
    pub schedule: LrSchedule,
    pub optim: OptimConfig,
    pub infobatch: Option<InfoBatchConfig>,
    pub augment: Augment,
    pub data: DataSummary,
    /// Steps per epoch without InfoBatch pruning (the last partial batch is dropped).
    pub steps_per_epoch: u64,
    pub seed: u64,
    /// Write a `log.jsonl` line every this many steps.
    pub log_every: u64,
    /// Precision of the transformer matmuls (runs written before this
    /// option existed are f32).
    #[serde(default)]
    pub precision: smae_models::precision::Precision,
}

/// Everything that decides which patches a step sees and predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSpec {
    pub method: Method,
    pub mask_ratio: f64,
    /// SelectiveMAE only.
    pub recon_ratio: f64,
    pub selection: SelectionMode,
    pub psts: PstsSchedule,
    /// Per-patch normalised reconstruction targets (MAE's `norm_pix_loss`);
    /// runs written before this option existed used them.
    #[serde(default = "yes")]
    pub norm_pix: bool,
}

fn yes() -> bool {
    true
}

impl MethodSpec {
    pub fn counts(&self, num_patches: usize) -> Option<TokenCounts> {
        TokenCounts::new(num_patches, self.mask_ratio, self.recon_ratio)
    }

    pub fn stage(&self, epoch: f64) -> Stage {
        self.psts.stage(epoch)
    }
}

/// AdamW's settings (the optimizer itself lives in smae-train).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// Clip the global gradient norm to this value.
    pub clip_grad: Option<f64>,
}

impl OptimConfig {
    /// MAE's pre-training settings: betas (0.9, 0.95), weight decay 0.05.
    pub fn mae(clip_grad: Option<f64>) -> Self {
        Self {
            weight_decay: 0.05,
            betas: (0.9, 0.95),
            eps: 1e-8,
            clip_grad,
        }
    }
}

/// InfoBatch's settings (see smae-train's `infobatch`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InfoBatchConfig {
    pub prune_ratio: f64,
    pub delta: f64,
}

impl Default for InfoBatchConfig {
    fn default() -> Self {
        Self {
            prune_ratio: 0.5,
            delta: 0.875,
        }
    }
}

/// MAE's pre-training augmentation: RandomResizedCrop + horizontal flip +
/// normalisation (applied by smae-train's `data::augment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    pub size: u32,
    pub scale: (f64, f64),
    pub ratio: (f64, f64),
    pub hflip: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Augment {
    pub fn pretrain(size: u32) -> Self {
        Self {
            size,
            scale: (0.2, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            hflip: true,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    pub path: PathBuf,
    pub images: usize,
    pub skipped: BTreeMap<String, usize>,
}

/// The configuration of an imported run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportConfig {
    pub smae_version: String,
    pub model: String,
    pub vit: VitConfig,
    pub import: ImportReport,
}

/// How the imported file was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportSource {
    pub path: PathBuf,
    /// `pytorch-zip` or `safetensors`.
    pub format: String,
    /// The top-level key the weights were under (`model`, `state_dict`, ...), if any.
    pub nested_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ignored {
    pub key: String,
    pub reason: String,
}

/// What an import did with each key of the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub source: ImportSource,
    pub loaded: Vec<String>,
    pub ignored: Vec<Ignored>,
    pub notes: Vec<String>,
    /// `[rows, cols]` of the checkpoint's position-embedding grid when it was resampled.
    pub pos_embed_resampled_from: Option<[usize; 2]>,
}

/// Where a fine-tuned encoder came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitSource {
    /// The run the encoder was loaded from; `None` for training from scratch.
    pub run: Option<PathBuf>,
    /// That run's kind and method, for the model card.
    pub kind: Option<RunKind>,
    pub method: Option<Method>,
}

/// The configuration of a fine-tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub smae_version: String,
    pub task: Task,
    pub model: String,
    pub vit: VitConfig,
    pub classes: Vec<String>,
    /// Head width (segmentation and detection).
    pub channels: usize,
    pub global_pool: bool,
    pub init: InitSource,
    pub data: PathBuf,
    pub val_data: Option<PathBuf>,
    pub train_ratio: Option<f64>,
    pub train_items: usize,
    pub val_items: usize,
    pub epochs: u64,
    /// Samples per optimizer step, over all MPI ranks.
    pub batch_size: usize,
    pub steps_per_epoch: u64,
    pub schedule: LrSchedule,
    pub blr: Option<f64>,
    pub layer_decay: f64,
    pub drop_path: f64,
    pub optim: OptimConfig,
    /// Detection: training tiles are cut at this size from the images, then
    /// resized to the model input; evaluation tiles overlap by `tile_overlap`.
    pub tile: u32,
    /// In model-input pixels.
    pub tile_overlap: u32,
    pub ignore_index: u8,
    /// Detection: every annotated class renamed to this one.
    pub merge_classes: Option<String>,
    pub seed: u64,
    pub log_every: u64,
}

impl FinetuneConfig {
    /// The tiling a scene is run with, in scene pixels: `tile` scene pixels
    /// per model input (the training scale) and the evaluation overlap
    /// scaled to scene pixels. The model card ships it and evaluation uses
    /// it, so the metrics are measured on the tiles users get.
    pub fn scene_tile(&self) -> (usize, usize) {
        let size = self.vit.img_size;
        let tile = self.tile as usize;
        (tile, self.tile_overlap as usize * tile / size.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pre-training config.json written before runs carried `kind`.
    const LEGACY_PRETRAIN: &str = r#"{
      "smae_version": "0.1.0", "burn_version": "0.21.0", "model": "vit-tiny",
      "vit": {"img_size": 64, "patch_size": 8, "in_chans": 3, "dim": 192, "depth": 12, "heads": 3, "mlp_ratio": 4.0},
      "decoder": {"dim": 256, "depth": 4, "heads": 8, "mlp_ratio": 4.0},
      "method": {"method": "selective", "mask_ratio": 0.85, "recon_ratio": 0.25,
                 "selection": {"mode": "hog-topk"}, "psts": {"boundaries": [14.0, 15.0, 29.0, 30.0]}},
      "epochs": 40, "batch_size": 16, "devices": "cpu", "global_batch": 16, "blr": null,
      "schedule": {"lr": 0.001, "min_lr": 0.0, "warmup_epochs": 3.0, "epochs": 40.0},
      "optim": {"weight_decay": 0.05, "betas": [0.9, 0.95], "eps": 1e-8, "clip_grad": 1.0},
      "infobatch": null,
      "augment": {"size": 64, "scale": [0.2, 1.0], "ratio": [0.75, 1.3333333333333333], "hflip": true,
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
      "data": {"path": "data/neon-chips", "images": 137, "skipped": {}},
      "steps_per_epoch": 8, "seed": 0, "log_every": 40
    }"#;

    #[test]
    fn untagged_configs_are_pretraining_runs() {
        let c: RunConfig = serde_json::from_str(LEGACY_PRETRAIN).unwrap();
        let RunConfig::Pretrain(p) = &c else {
            panic!("expected a pre-training run")
        };
        assert!(p.method.norm_pix, "runs before --no-norm-pix used norm_pix");
        assert_eq!(p.method.method, Method::Selective);
        // Written back, the kind is explicit and reads the same.
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "pretrain");
        assert_eq!(serde_json::from_value::<RunConfig>(v).unwrap(), c);
    }

    #[test]
    fn unknown_kinds_are_errors() {
        let e = serde_json::from_str::<RunConfig>(r#"{"kind": "distill"}"#).unwrap_err();
        assert!(e.to_string().contains("distill"), "{e}");
    }
}
