//! `smae-train pretrain`'s options and their resolution into a run
//! configuration: presets, per-method defaults (mask ratio, decoder depth,
//! clipping), MAE's learning-rate rule on the global batch.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use smae_models::precision::Precision;
use smae_run::config::{Augment, InfoBatchConfig, OptimConfig, PretrainConfig};
use smae_run::schedule::{peak_lr, LrSchedule};
use smae_run::Method;

use super::selection::SelectionArgs;
use super::{data_summary, RunOptions};
use crate::architecture::ModelArgs;
use crate::data::folder::ImageFolder;
use crate::device::DeviceList;

#[derive(Debug, Args)]
pub struct PretrainOptions {
    /// Folder of images (jpg, png, tif, webp, bmp), searched recursively.
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Run directory (config.json, log.jsonl, checkpoint/).
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = Method::Selective)]
    pub method: Method,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[arg(long, default_value_t = 800)]
    pub epochs: u64,
    /// Images per device and step; the global batch is this times the number
    /// of devices (and of MPI ranks when launched by mpirun or srun).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Base learning rate: lr = blr * global_batch / 256 (times recon/mask ratio for selective).
    #[arg(long, default_value_t = 1.5e-4)]
    pub blr: f64,
    /// Absolute peak learning rate (overrides --blr).
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = 0.0)]
    pub min_lr: f64,
    /// Linear warm-up, in epochs (fractional allowed) [default: 5% of --epochs].
    #[arg(long)]
    pub warmup_epochs: Option<f64>,
    #[arg(long, default_value_t = 0.05)]
    pub weight_decay: f64,
    /// Clip the global gradient norm [default: 1.0 for selective, off for mae; 0 = off].
    #[arg(long)]
    pub clip_grad: Option<f64>,
    /// Wrap the data in InfoBatch (as the official code does); off by default.
    #[arg(long)]
    pub infobatch: bool,
    #[arg(long, default_value_t = 0.5)]
    pub infobatch_ratio: f64,
    #[arg(long, default_value_t = 0.875)]
    pub infobatch_delta: f64,
    /// Smallest crop area fraction of RandomResizedCrop.
    #[arg(long, default_value_t = 0.2)]
    pub crop_min_scale: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Precision of the transformer matmuls and attention: f32, or bf16
    /// (mixed precision: f32 weights, optimizer state, norms and losses;
    /// bf16 inputs to the matmuls and attention, for GPU tensor cores).
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
    /// cpu, cuda, cuda:N, or cuda:N,M,... for data parallelism over several
    /// GPUs; wgpu (default adapter) or wgpu:N,M,... (discrete GPUs) on AMD,
    /// Intel and Apple GPUs. Under MPI each rank drives one device; `cuda` is
    /// the local rank's GPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Image decoding threads [default: number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Keep up to this many MiB of decoded images in memory.
    #[arg(long, default_value_t = 1024)]
    pub cache_mb: usize,
    /// Write a log.jsonl line every N steps [default: 20, or the run's value on --resume].
    #[arg(long)]
    pub log_every: Option<u64>,
    /// Also checkpoint every N steps (always at each epoch end).
    #[arg(long)]
    pub save_every_steps: Option<u64>,
    /// Stop with a checkpoint after N steps in total, keeping the full run's schedule (continue with --resume).
    #[arg(long)]
    pub stop_after_steps: Option<u64>,
    /// Continue the run in --output from its latest checkpoint with its saved configuration.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

impl PretrainOptions {
    /// How to run: devices, threads, logging (not part of the run's identity).
    pub fn run_options(&self) -> Result<RunOptions> {
        Ok(RunOptions {
            devices: DeviceList::parse_for_rank(&self.device)?,
            workers: self
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            cache_mb: self.cache_mb,
            log_every: self.log_every,
            save_every_steps: self.save_every_steps,
            stop_after_steps: self.stop_after_steps,
            quiet: self.quiet,
        })
    }

    /// Resolves the arguments into a run configuration.
    pub fn config(&self, data: &ImageFolder) -> Result<PretrainConfig> {
        let devices = DeviceList::parse(&self.device)?;
        let (vit, model) = self.model.vit()?;
        let decoder = self.model.decoder(self.method)?;
        if self.epochs == 0 || self.batch_size == 0 {
            bail!("--epochs and --batch-size must be positive");
        }
        let method = self.selection.spec(
            self.method,
            self.epochs as f64,
            vit.patch_size,
            vit.num_patches(),
        )?;
        // Under MPI every rank drives `devices`: the global batch spans them all.
        let ranks = crate::distributed::world().map_or(1, |w| w.size);
        let global_batch = self.batch_size * devices.count() * ranks;
        let steps_per_epoch = (data.len() / global_batch) as u64;
        if steps_per_epoch == 0 {
            bail!(
                "{} usable images are fewer than one global batch of {global_batch}; lower --batch-size",
                data.len()
            );
        }
        let selective =
            (self.method == Method::Selective).then_some((method.mask_ratio, method.recon_ratio));
        let lr = self
            .lr
            .unwrap_or_else(|| peak_lr(self.blr, global_batch, selective));
        let clip = match self.clip_grad {
            Some(c) if c > 0.0 => Some(c),
            Some(_) => None,
            None => (self.method == Method::Selective).then_some(1.0),
        };
        if !(0.0 < self.crop_min_scale && self.crop_min_scale <= 1.0) {
            bail!("--crop-min-scale must be in (0, 1]");
        }
        let mut augment = Augment::pretrain(vit.img_size as u32);
        augment.scale.0 = self.crop_min_scale;
        Ok(PretrainConfig {
            smae_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: "0.21.0".to_string(),
            model,
            vit,
            decoder,
            method,
            epochs: self.epochs,
            batch_size: self.batch_size,
            devices: devices.to_string(),
            global_batch,
            blr: self.lr.is_none().then_some(self.blr),
            schedule: LrSchedule {
                lr,
                min_lr: self.min_lr,
                warmup_epochs: self.warmup_epochs.unwrap_or(self.epochs as f64 * 0.05),
                epochs: self.epochs as f64,
            },
            optim: OptimConfig {
                weight_decay: self.weight_decay,
                ..OptimConfig::mae(clip)
            },
            infobatch: self.infobatch.then_some(InfoBatchConfig {
                prune_ratio: self.infobatch_ratio,
                delta: self.infobatch_delta,
            }),
            augment,
            data: data_summary(data),
            steps_per_epoch,
            seed: self.seed,
            log_every: self.log_every.unwrap_or(20).max(1),
            precision: self.precision,
        })
    }
}

/// `--precision f32 | bf16`.
pub fn parse_precision(s: &str) -> std::result::Result<Precision, String> {
    Precision::parse(s).ok_or_else(|| format!("invalid precision '{s}': expected f32 or bf16"))
}
