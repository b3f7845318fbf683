//! `smae-train finetune`'s options and their resolution into a run
//! configuration: the init run's encoder, per-task defaults (epochs, base
//! learning rate), the data split, steps per epoch.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use smae_run::config::{InitSource, OptimConfig};
use smae_run::schedule::LrSchedule;
use smae_run::{FinetuneConfig, RunConfig, Task};

use super::data::{load_task_data, TaskData};
use super::RunOptions;
use crate::architecture::ModelArgs;
use crate::device::DeviceList;

#[derive(Debug, Args)]
pub struct FinetuneOptions {
    #[arg(long, value_enum)]
    pub task: Task,
    /// Training data: class folders (classify), images/ + masks/ (segment),
    /// annotated images (detect: VOC / DIOR-R XML, DOTA txt, DeepForest CSV).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Separate validation data (else a seeded split of --data).
    #[arg(long)]
    pub val_data: Option<PathBuf>,
    /// Share of --data used for training when no --val-data is given
    /// (per class for classification, by image otherwise).
    #[arg(long, default_value_t = 0.8)]
    pub train_ratio: f64,
    /// A pre-training or import run whose encoder starts the model, or `none` (from scratch).
    #[arg(long, required_unless_present = "resume")]
    pub init: Option<String>,
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Class names in order (detection: else every class in the annotations,
    /// sorted; segmentation: required, mask value = index).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// [default: 100 for classify, 50 otherwise]
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Samples per step on each process (under MPI the run's batch is this
    /// times the number of ranks).
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Base learning rate, lr = blr * batch / 256 [default: 1e-3 classify, 1.6e-3 otherwise].
    #[arg(long)]
    pub blr: Option<f64>,
    /// Absolute peak learning rate (overrides --blr).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Layer-wise learning-rate decay.
    #[arg(long, default_value_t = 0.75)]
    pub layer_decay: f64,
    /// Stochastic depth of the last block.
    #[arg(long, default_value_t = 0.1)]
    pub drop_path: f64,
    #[arg(long, default_value_t = 0.05)]
    pub weight_decay: f64,
    /// [default: 5% of the epochs]
    #[arg(long)]
    pub warmup_epochs: Option<f64>,
    /// Width of the segmentation / detection head.
    #[arg(long, default_value_t = 256)]
    pub channels: usize,
    /// Classification: average the patch tokens instead of the cls token.
    #[arg(long)]
    pub global_pool: bool,
    /// Detection: side of the training tiles cut from the images (then
    /// resized to --img-size) [default: --img-size].
    #[arg(long)]
    pub tile: Option<u32>,
    /// Detection: overlap of the evaluation tiles, in model pixels.
    #[arg(long)]
    pub tile_overlap: Option<u32>,
    /// Segmentation: mask value that is not scored.
    #[arg(long, default_value_t = 255)]
    pub ignore_index: u8,
    /// Detection: rename every annotated class to this one (class-agnostic).
    #[arg(long)]
    pub merge_classes: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// cpu, cuda, cuda:N,M,..., wgpu or wgpu:N,M,... (as pretrain).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long)]
    pub workers: Option<usize>,
    #[arg(long, default_value_t = 10)]
    pub log_every: u64,
    /// Skip (and count) bad annotations instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_annotations: bool,
    /// Stop with a checkpoint after N steps (continue with --resume).
    #[arg(long)]
    pub stop_after_steps: Option<u64>,
    #[arg(long)]
    pub resume: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

impl FinetuneOptions {
    /// How to run (not part of the run's identity).
    pub fn run_options(&self) -> Result<RunOptions> {
        Ok(RunOptions {
            devices: DeviceList::parse_for_rank(&self.device)?,
            workers: self
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            quiet: self.quiet,
            skip_bad: self.skip_bad_annotations,
            stop_after_steps: self.stop_after_steps,
        })
    }

    /// Resolves the options into a run configuration and loads the data.
    pub fn config(&self) -> Result<(FinetuneConfig, TaskData)> {
        resolve(self, self.skip_bad_annotations)
    }
}

fn resolve(args: &FinetuneOptions, skip_bad: bool) -> Result<(FinetuneConfig, TaskData)> {
    let data_dir = args.data.as_ref().context("--data is required")?;
    let init = args
        .init
        .as_deref()
        .context("--init is required (a run, or `none`)")?;
    let (mut vit, model_name, init_src) = if init == "none" {
        let (v, n) = args.model.vit()?;
        (
            v,
            n,
            InitSource {
                run: None,
                kind: None,
                method: None,
            },
        )
    } else {
        let run = PathBuf::from(init);
        let (v, _) = smae_run::dir::encoder(&run)?;
        let cfg = RunConfig::read(&run)?;
        (
            v,
            cfg.model_name().to_string(),
            InitSource {
                run: Some(run),
                kind: Some(cfg.kind()),
                method: cfg.method(),
            },
        )
    };
    if let Some(s) = args.model.img_size {
        vit.img_size = s;
        vit.validate()?;
    }
    if !(0.0 < args.train_ratio && args.train_ratio < 1.0) {
        bail!("--train-ratio must be in (0, 1)");
    }
    if args.task == Task::Segment && args.classes.is_none() {
        bail!("segmentation needs --classes (names in mask-value order)");
    }
    let (data, classes) = load_task_data(
        args.task,
        data_dir,
        args.val_data.as_deref(),
        args.train_ratio,
        args.classes.as_deref(),
        args.merge_classes.as_deref(),
        args.seed,
        skip_bad,
    )?;
    let (train_items, val_items) = data.sizes();
    if train_items == 0 || val_items == 0 {
        bail!("the split leaves {train_items} training and {val_items} validation items; add data or change --train-ratio");
    }
    let size = vit.img_size as u32;
    let tile = args.tile.unwrap_or(size);
    // Under MPI every rank trains on its share of one global batch.
    let batch = args.batch_size * crate::distributed::world().map_or(1, |w| w.size);
    let steps_per_epoch = match &data {
        TaskData::Detect { train, .. } => {
            // One tile per tile-sized area of every training image.
            let tiles: u64 = train
                .iter()
                .map(|a| {
                    let (w, h) = a
                        .size
                        .map(|s| (s.0, s.1))
                        .or_else(|| image::image_dimensions(&a.image).ok())
                        .unwrap_or((tile, tile));
                    (w.div_ceil(tile) * h.div_ceil(tile)) as u64
                })
                .sum();
            tiles.div_ceil(batch as u64).max(1)
        }
        _ => (train_items / batch).max(1) as u64,
    };
    let epochs = args
        .epochs
        .unwrap_or(if args.task == Task::Classify { 100 } else { 50 });
    let blr = args.blr.unwrap_or(if args.task == Task::Classify {
        1e-3
    } else {
        1.6e-3
    });
    let lr = args.lr.unwrap_or(blr * batch as f64 / 256.0);
    Ok((
        FinetuneConfig {
            smae_version: env!("CARGO_PKG_VERSION").into(),
            task: args.task,
            model: model_name,
            vit,
            classes,
            channels: args.channels,
            global_pool: args.global_pool,
            init: init_src,
            data: data_dir.clone(),
            val_data: args.val_data.clone(),
            train_ratio: args.val_data.is_none().then_some(args.train_ratio),
            train_items,
            val_items,
            epochs,
            batch_size: batch,
            steps_per_epoch,
            schedule: LrSchedule {
                lr,
                min_lr: lr * 1e-3,
                warmup_epochs: args.warmup_epochs.unwrap_or(epochs as f64 * 0.05),
                epochs: epochs as f64,
            },
            blr: args.lr.is_none().then_some(blr),
            layer_decay: args.layer_decay,
            drop_path: args.drop_path,
            optim: OptimConfig {
                weight_decay: args.weight_decay,
                betas: (0.9, 0.999),
                eps: 1e-8,
                clip_grad: None,
            },
            tile,
            tile_overlap: args.tile_overlap.unwrap_or(size / 4),
            ignore_index: args.ignore_index,
            merge_classes: args.merge_classes.clone(),
            seed: args.seed,
            log_every: args.log_every,
        },
        data,
    ))
}
