//! The `smae-train` command line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use smae_models::psts::DEFAULT_FRACTIONS;
use smae_models::{DecoderConfig, PstsSchedule, SelectionMode, VitConfig};

use crate::bench::{self, BenchLine, BenchRequest};
use crate::data::augment::Augment;
use crate::data::folder::ImageFolder;
use crate::device::DeviceList;
use crate::explain::{self, ExplainRequest, ExplainSource};
use crate::infobatch::InfoBatchConfig;
use crate::method::{Method, MethodSpec};
use crate::optim::OptimConfig;
use crate::pretrain::{self, data_summary, PretrainConfig, RunOptions};
use crate::schedule::{peak_lr, LrSchedule};

#[derive(Debug, Parser)]
#[command(
    name = "smae-train",
    version,
    about = "Pre-train SelectiveMAE (and the MAE baseline) on imagery, benchmark them, and explain the token selection",
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pre-train a ViT with SelectiveMAE or MAE on a folder of images.
    Pretrain(PretrainArgs),
    /// Compare MAE and SelectiveMAE training speed and memory (JSON lines).
    Bench(BenchArgs),
    /// Fine-tune an encoder with a classification, segmentation or detection head.
    Finetune(FinetuneArgs),
    /// Evaluate a fine-tuned run on a dataset (writes metrics.json).
    Eval(EvalArgs),
    /// Show which patches SelectiveMAE encodes and reconstructs for an image.
    Explain(ExplainArgs),
    /// Build a pre-training corpus: exclude non-RGB rasters, slice, filter sizes, deduplicate, shard.
    Curate(CurateArgs),
    /// Import official SelectiveMAE / MAE or timm ViT weights (.pth, .pt, .safetensors) as a run.
    Import(ImportArgs),
    /// Write a run's encoder as timm-compatible safetensors.
    ExportTimm(ExportTimmArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Selection {
    /// Highest HOG texture score first (the paper's rule).
    HogTopk,
    /// Sample in proportion to softmax(score / tau).
    HogSample,
    /// Uniform random (what the official code effectively does).
    Uniform,
}

impl Selection {
    fn mode(self, tau: f64) -> SelectionMode {
        match self {
            Selection::HogTopk => SelectionMode::HogTopk,
            Selection::HogSample => SelectionMode::HogSample { tau },
            Selection::Uniform => SelectionMode::Uniform,
        }
    }
}

/// Model size and geometry, shared by pretrain, bench and explain.
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

/// Which patches a step uses.
#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// Share of patches not encoded [default: 0.85 selective, 0.75 mae].
    #[arg(long)]
    pub mask_ratio: Option<f64>,
    /// Share of patches reconstructed (SelectiveMAE).
    #[arg(long, default_value_t = 0.25)]
    pub recon_ratio: f64,
    /// How the initial set and the targets are chosen.
    #[arg(long, value_enum, default_value_t = Selection::HogTopk)]
    pub selection: Selection,
    /// Temperature of hog-sample.
    #[arg(long, default_value_t = 0.1)]
    pub hog_tau: f64,
    /// PSTS stage boundaries as fractions of the run (near | near->far | far | far->random | random).
    #[arg(long, value_delimiter = ',', conflicts_with = "psts_epochs")]
    pub psts_fractions: Option<Vec<f64>>,
    /// PSTS stage boundaries in absolute epochs (the official code: 280,300,580,600).
    #[arg(long, value_delimiter = ',')]
    pub psts_epochs: Option<Vec<f64>>,
    /// Reconstruct the pixels themselves instead of per-patch normalised ones
    /// (MAE's norm_pix_loss, the default): the encoder then also has to keep
    /// each patch's colour and brightness.
    #[arg(long)]
    pub no_norm_pix: bool,
}

impl SelectionArgs {
    pub fn spec(
        &self,
        method: Method,
        epochs: f64,
        patch_size: usize,
        num_patches: usize,
    ) -> Result<MethodSpec> {
        let mask_ratio = self.mask_ratio.unwrap_or(match method {
            Method::Selective => 0.85,
            Method::Mae => 0.75,
        });
        if !(0.0..1.0).contains(&mask_ratio) {
            bail!("--mask-ratio must be in [0, 1), got {mask_ratio}");
        }
        let four = |v: &Vec<f64>, flag: &str| -> Result<[f64; 4]> {
            <[f64; 4]>::try_from(v.as_slice()).map_err(|_| {
                anyhow::anyhow!("{flag} takes four comma-separated values, got {}", v.len())
            })
        };
        let psts = match (&self.psts_epochs, &self.psts_fractions) {
            (Some(e), _) => PstsSchedule::from_epochs(four(e, "--psts-epochs")?),
            (None, Some(f)) => PstsSchedule::from_fractions(four(f, "--psts-fractions")?, epochs),
            (None, None) => PstsSchedule::from_fractions(DEFAULT_FRACTIONS, epochs),
        }
        .map_err(anyhow::Error::msg)?;
        if self.hog_tau.is_nan() || self.hog_tau <= 0.0 {
            bail!("--hog-tau must be positive");
        }
        let selection = self.selection.mode(self.hog_tau);
        let spec = MethodSpec {
            method,
            mask_ratio,
            recon_ratio: self.recon_ratio,
            selection,
            psts,
            norm_pix: !self.no_norm_pix,
        };
        if method == Method::Selective {
            if spec.counts(num_patches).is_none() {
                bail!(
                    "--mask-ratio {mask_ratio} and --recon-ratio {} leave no patch to encode or predict among {num_patches}",
                    self.recon_ratio
                );
            }
            if selection.uses_hog() && !patch_size.is_multiple_of(2) {
                bail!("HOG selection needs an even patch size (2 x 2 cells per patch); use --selection uniform for patch {patch_size}");
            }
        } else if smae_models::token_counts::mae_visible(num_patches, mask_ratio) == 0 {
            bail!("--mask-ratio {mask_ratio} leaves no visible patch among {num_patches}");
        }
        Ok(spec)
    }
}

#[derive(Debug, Args)]
pub struct PretrainArgs {
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
    /// Images per device and step; the global batch is this times the number of devices.
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
    /// cpu, cuda, cuda:N, or cuda:N,M,... for data parallelism over several GPUs.
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

impl PretrainArgs {
    fn options(&self) -> Result<RunOptions> {
        Ok(RunOptions {
            devices: DeviceList::parse(&self.device)?,
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
        let global_batch = self.batch_size * devices.count();
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
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchMethod {
    Selective,
    Mae,
    Both,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[arg(long, value_enum, default_value_t = BenchMethod::Both)]
    pub method: BenchMethod,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl BenchArgs {
    pub fn request(&self, method: Method) -> Result<BenchRequest> {
        let (vit, name) = self.model.vit()?;
        Ok(BenchRequest {
            model_name: name,
            method: self
                .selection
                .spec(method, 800.0, vit.patch_size, vit.num_patches())?,
            decoder: self.model.decoder(method)?,
            vit,
            devices: DeviceList::parse(&self.device)?,
            batch_size: self.batch_size,
            steps: self.steps,
            warmup: self.warmup,
            seed: self.seed,
        })
    }
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The image to explain.
    #[arg(long)]
    pub image: PathBuf,
    /// Output folder for selection.json and selection.png.
    #[arg(long)]
    pub output: PathBuf,
    /// A SelectiveMAE run: use its model, ratios and curriculum.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Point of the run as a fraction of its epochs (picks the PSTS stage).
    #[arg(long, conflicts_with = "epoch")]
    pub epoch_fraction: Option<f64>,
    /// Point of the run in epochs.
    #[arg(long)]
    pub epoch: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Print the JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    #[arg(long, value_enum)]
    pub task: crate::finetune::Task,
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

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A fine-tuning run.
    #[arg(long)]
    pub run: PathBuf,
    /// Data to evaluate on, in the task's layout (all of it is used).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the metrics [default: RUN/metrics.json].
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long)]
    pub skip_bad_annotations: bool,
}

fn run_finetune(args: FinetuneArgs) -> Result<()> {
    use crate::finetune::{self, FinetuneOptions, Task};
    let opts = FinetuneOptions {
        devices: DeviceList::parse(&args.device)?,
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        quiet: args.quiet,
        skip_bad: args.skip_bad_annotations,
        stop_after_steps: args.stop_after_steps,
    };
    let (cfg, data) = if args.resume {
        let cfg = finetune::read_config(&args.output)?;
        let (data, _) = finetune::load_task_data(
            cfg.task,
            &cfg.data,
            cfg.val_data.as_deref(),
            cfg.train_ratio.unwrap_or(0.8),
            Some(&cfg.classes),
            cfg.merge_classes.as_deref(),
            cfg.seed,
            opts.skip_bad,
        )?;
        (cfg, data)
    } else {
        finetune_config(&args, opts.skip_bad)?
    };
    let out = finetune::run(cfg, &args.output, data, &opts, args.resume)?;
    if !args.quiet {
        println!("{}", serde_json::to_string_pretty(&summary(&out))?);
        let _ = Task::Classify;
    }
    Ok(())
}

/// The headline numbers of a metrics object.
fn summary(v: &serde_json::Value) -> serde_json::Value {
    let m = &v["metrics"];
    let mut out = serde_json::json!({});
    for k in [
        "overall_accuracy",
        "miou",
        "mf1",
        "map50",
        "stopped_at_step",
    ] {
        if !m[k].is_null() {
            out[k] = m[k].clone();
        }
        if !v[k].is_null() {
            out[k] = v[k].clone();
        }
    }
    out
}

fn finetune_config(
    args: &FinetuneArgs,
    skip_bad: bool,
) -> Result<(crate::finetune::FinetuneConfig, crate::finetune::TaskData)> {
    use crate::finetune::{load_task_data, FinetuneConfig, InitSource, Task};
    let data_dir = args.data.as_ref().context("--data is required")?;
    let init = args
        .init
        .as_deref()
        .context("--init is required (a run, or `none`)")?;
    let (mut vit, mut model_name, init_src) = if init == "none" {
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
        let (v, _) = crate::run_dir::read_encoder(&run)?;
        let cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join(crate::run_dir::CONFIG))?)?;
        let kind = cfg["kind"].as_str().unwrap_or("pretrain").to_string();
        let method = cfg["method"]["method"].as_str().map(str::to_string);
        let name = cfg["model"].as_str().unwrap_or("custom").to_string();
        (
            v,
            name,
            InitSource {
                run: Some(run),
                kind: Some(kind),
                method,
            },
        )
    };
    if let Some(s) = args.model.img_size {
        vit.img_size = s;
        vit.validate()?;
    }
    if init == "none" {
        model_name = model_name.clone();
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
    let steps_per_epoch = match &data {
        crate::finetune::TaskData::Detect { train, .. } => {
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
            tiles.div_ceil(args.batch_size as u64).max(1)
        }
        _ => (train_items / args.batch_size).max(1) as u64,
    };
    let epochs = args
        .epochs
        .unwrap_or(if args.task == Task::Classify { 100 } else { 50 });
    let blr = args.blr.unwrap_or(if args.task == Task::Classify {
        1e-3
    } else {
        1.6e-3
    });
    let lr = args.lr.unwrap_or(blr * args.batch_size as f64 / 256.0);
    Ok((
        FinetuneConfig {
            kind: "finetune".into(),
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
            batch_size: args.batch_size,
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

fn run_eval(args: EvalArgs) -> Result<()> {
    let out = crate::finetune::eval(
        &args.run,
        &args.data,
        &DeviceList::parse(&args.device)?,
        args.skip_bad_annotations,
    )?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| args.run.join("metrics.json"));
    crate::run_dir::write_json_atomically(&path, &out)?;
    println!("{}", serde_json::to_string_pretty(&summary(&out))?);
    Ok(())
}

#[derive(Debug, Args)]
pub struct CurateArgs {
    /// Source folder, optionally named: `--input NAME=DIR` (default name: the folder's name). Repeatable.
    #[arg(long, required = true)]
    pub input: Vec<String>,
    /// License of a source: `--license NAME=TEXT`. Repeatable.
    #[arg(long)]
    pub license: Vec<String>,
    /// Output folder: shard-NNNNNN.tar, manifest.jsonl, report.json, review.csv.
    #[arg(long)]
    pub output: PathBuf,
    /// Side of the crops cut from images larger than --max-side.
    #[arg(long, default_value_t = 512)]
    pub crop: usize,
    /// Drop images and crops with a side under this.
    #[arg(long, default_value_t = 64)]
    pub min_side: usize,
    /// Slice images with a side over this.
    #[arg(long, default_value_t = 1024)]
    pub max_side: usize,
    /// Hamming distance (of 64 pHash bits) at or under which two images are near duplicates.
    #[arg(long, default_value_t = 8)]
    pub phash_distance: u32,
    /// Drop anything near-duplicate to the images in these downstream test sets. Repeatable.
    #[arg(long)]
    pub exclude_near: Vec<PathBuf>,
    /// A review.csv whose rows marked `keep` are not treated as duplicates.
    #[arg(long)]
    pub apply_review: Option<PathBuf>,
    /// Images per shard.
    #[arg(long, default_value_t = 1000)]
    pub shard_size: usize,
    /// Encoding of the crops in the shards.
    #[arg(long, value_enum, default_value_t = ShardFormat::Jpeg)]
    pub format: ShardFormat,
    #[arg(long, default_value_t = 95)]
    pub jpeg_quality: u8,
    /// Seed of the slicing offsets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShardFormat {
    Jpeg,
    Png,
}

impl CurateArgs {
    pub fn options(&self) -> Result<crate::curate::CurateOptions> {
        use crate::curate::{CurateOptions, Encoding, Source};
        let mut sources: Vec<Source> = self
            .input
            .iter()
            .map(|spec| {
                let (name, dir) = match spec.split_once('=') {
                    Some((n, d)) if !n.is_empty() && !n.contains('/') => {
                        (n.to_string(), PathBuf::from(d))
                    }
                    _ => {
                        let dir = PathBuf::from(spec);
                        let name = dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| spec.clone());
                        (name, dir)
                    }
                };
                Source {
                    name,
                    dir,
                    license: None,
                }
            })
            .collect();
        for l in &self.license {
            let (name, text) = l
                .split_once('=')
                .with_context(|| format!("--license '{l}' is not NAME=TEXT"))?;
            let s = sources
                .iter_mut()
                .find(|s| s.name == name)
                .with_context(|| format!("--license names '{name}', which is not an --input"))?;
            s.license = Some(text.to_string());
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            bail!("--jpeg-quality must be in 1..=100");
        }
        Ok(CurateOptions {
            sources,
            output: self.output.clone(),
            crop: self.crop,
            min_side: self.min_side,
            max_side: self.max_side,
            phash_distance: self.phash_distance,
            exclude_near: self.exclude_near.clone(),
            apply_review: self.apply_review.clone(),
            shard_size: self.shard_size,
            encoding: match self.format {
                ShardFormat::Jpeg => Encoding::Jpeg(self.jpeg_quality),
                ShardFormat::Png => Encoding::Png,
            },
            seed: self.seed,
            quiet: self.quiet,
        })
    }
}

fn run_curate(args: CurateArgs) -> Result<()> {
    let opts = args.options()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let report = pool.install(|| crate::curate::curate(&opts))?;
    if !args.quiet {
        let t = &report.total;
        let unreadable: usize = t.unreadable.values().sum();
        let excluded: usize = t.excluded.values().sum();
        println!(
            "{} files: {unreadable} unreadable, {excluded} excluded, {} images ({} sliced) -> {} crops; \
             {} too small, {} exact and {} near duplicates, {} near a test set; wrote {} in {} shards to {}",
            t.files,
            t.images,
            t.sliced_images,
            t.crops,
            t.too_small,
            t.exact_duplicates,
            t.near_duplicates,
            t.near_test_set,
            t.written,
            report.shards,
            args.output.display()
        );
        for (reason, n) in t.excluded.iter().chain(&t.unreadable) {
            println!("  {n} x {reason}");
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A PyTorch checkpoint (zip format: .pth, .pt, .bin) or a .safetensors file.
    #[arg(long)]
    pub weights: PathBuf,
    /// Run directory to create.
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportTimmArgs {
    /// A pre-training or import run.
    #[arg(long)]
    pub run: PathBuf,
    /// The .safetensors file to write.
    #[arg(long)]
    pub output: PathBuf,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Pretrain(args) => run_pretrain(args),
        Command::Bench(args) => run_bench(args),
        Command::Explain(args) => run_explain(args),
        Command::Curate(args) => run_curate(args),
        Command::Finetune(args) => run_finetune(args),
        Command::Eval(args) => run_eval(args),
        Command::Import(args) => run_import(args),
        Command::ExportTimm(args) => {
            let n = crate::import::export_timm(&args.run, &args.output)?;
            println!(
                "wrote {} tensors with timm names to {}",
                n,
                args.output.display()
            );
            Ok(())
        }
    }
}

fn run_import(args: ImportArgs) -> Result<()> {
    let (mut vit, name) = args.model.vit()?;
    let (raw, source) = crate::import::read_checkpoint(&args.weights)?;
    // The patch size is the checkpoint's unless given.
    if args.model.patch_size.is_none() {
        if let Some(p) = crate::import::patch_size_of(&raw) {
            vit.patch_size = p;
            if args.model.img_size.is_none() && 224 % p != 0 {
                vit.img_size = 224 / p * p;
            }
            vit.validate()?;
        }
    }
    let report = crate::import::import(raw, source, &vit, &name, &args.output)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        println!(
            "imported {} tensors from {} ({}{}) into {}",
            report.loaded.len(),
            args.weights.display(),
            report.source.format,
            report
                .source
                .nested_key
                .as_ref()
                .map_or(String::new(), |k| format!(", under '{k}'")),
            args.output.display()
        );
        let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
        for i in &report.ignored {
            *reasons.entry(i.reason.as_str()).or_default() += 1;
        }
        for (reason, n) in reasons {
            println!("ignored {n}: {reason}");
        }
        for note in &report.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

fn run_pretrain(args: PretrainArgs) -> Result<()> {
    let opts = args.options()?;
    let summary = if args.resume {
        pretrain::resume(&args.output, args.data.as_deref(), &opts)?
    } else {
        let root = args.data.as_ref().context("--data is required")?;
        let data = ImageFolder::scan(root)?;
        for (reason, n) in &data.report.skipped {
            let example = data
                .report
                .examples
                .get(reason)
                .and_then(|e| e.first())
                .cloned()
                .unwrap_or_default();
            eprintln!(
                "warning: skipped {n} file(s) under {}: {reason} (e.g. {example})",
                root.display()
            );
        }
        let cfg = args.config(&data)?;
        pretrain::start(cfg, &args.output, &data, &opts)?
    };
    if !args.quiet {
        let loss = summary
            .final_loss
            .map_or("n/a".to_string(), |l| format!("{l:.4}"));
        let state = if summary.finished {
            "finished"
        } else {
            "stopped (continue with --resume)"
        };
        println!(
            "{state}: {} steps, {:.2} epochs, final loss {loss}, {} decode failures; run in {}",
            summary.steps,
            summary.epochs_done,
            summary.decode_failures,
            summary.run.display()
        );
    }
    Ok(())
}

fn run_bench(args: BenchArgs) -> Result<()> {
    match args.method {
        BenchMethod::Selective | BenchMethod::Mae => {
            let method = if args.method == BenchMethod::Mae {
                Method::Mae
            } else {
                Method::Selective
            };
            let line = bench::run(&args.request(method)?)?;
            println!("{}", serde_json::to_string(&line)?);
        }
        BenchMethod::Both => {
            // Validate once here, then measure each method in its own process
            // so peak memory is not shared between them.
            args.request(Method::Mae)?;
            args.request(Method::Selective)?;
            let mae = bench_child("mae")?;
            println!("{}", serde_json::to_string(&mae)?);
            let sel = bench_child("selective")?;
            println!("{}", serde_json::to_string(&sel)?);
            println!("{}", serde_json::to_string(&bench::ratio(&mae, &sel))?);
        }
    }
    Ok(())
}

/// Re-runs this command with `--method <method>` and parses its JSON line.
fn bench_child(method: &str) -> Result<BenchLine> {
    let exe = std::env::current_exe().context("locating smae-train")?;
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    args.push("--method".into());
    args.push(method.into());
    let out = std::process::Command::new(exe)
        .args(&args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running the benchmark")?;
    if !out.status.success() {
        bail!("the {method} benchmark failed");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .last()
        .context("the benchmark printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("parsing benchmark output: {line}"))
}

fn run_explain(args: ExplainArgs) -> Result<()> {
    let source = match &args.run {
        Some(run) => ExplainSource::Run(run.clone()),
        None => {
            let (vit, _) = args.model.vit()?;
            let method =
                args.selection
                    .spec(Method::Selective, 1.0, vit.patch_size, vit.num_patches())?;
            ExplainSource::Fresh {
                decoder: args.model.decoder(Method::Selective)?,
                vit,
                method,
            }
        }
    };
    let req = ExplainRequest {
        image: args.image.clone(),
        output: args.output.clone(),
        source,
        epoch_fraction: args.epoch_fraction,
        epoch: args.epoch,
        seed: args.seed,
    };
    let e = explain::explain(&req)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        println!(
            "stage {} at epoch {:.2}: encoded {} ({} by HOG, {} by PSTS), {} targets; wrote {} and {}",
            e.stage,
            e.epoch,
            e.visible.len(),
            e.initial.len(),
            e.psts.len(),
            e.targets.len(),
            args.output.join("selection.json").display(),
            args.output.join("selection.png").display()
        );
    }
    Ok(())
}
