//! `smae-train finetune` and `eval`: full fine-tuning of a pre-trained (or
//! imported, or fresh) encoder with a classification, UperNet segmentation or
//! FCOS detection head, as the paper evaluates SelectiveMAE.
//!
//! Optimisation follows MAE / BEiT fine-tuning: AdamW with layer-wise lr
//! decay, stochastic depth, warm-up then cosine; checkpoints, `log.jsonl`,
//! `--resume` and the progress bar work as in pre-training. The run ends
//! with `metrics.json` on the validation set.

pub mod data;
pub mod predict;
pub mod samples;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use image::GrayImage;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use smae_models::fcos::{assign, loss as fcos_loss, GtObject};
use smae_models::{Classifier, Detector, Segmenter, Vit, VitConfig};

use crate::annotations::ImageAnnotations;
use crate::checkpoint::{self, TrainerState};
use crate::data::loader::sample_seed;
use crate::device::{dispatch, BackendJob, DeviceList};
use crate::metrics::classification::classification;
use crate::metrics::detection::{voc_map, GroundTruth, Prediction, Shape};
use crate::metrics::segmentation::SegAccumulator;
use crate::optim::{stable_ids, GroupedAdamW, OptimConfig};
use crate::progress::Progress;
use crate::run_dir::{self, write_json_atomically, LogWriter};
use crate::schedule::LrSchedule;
use crate::weights;
use samples::{gt_boxes, pixels, ImageStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Classify,
    Segment,
    Detect,
    DetectObb,
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Task::Classify => "classify",
            Task::Segment => "segment",
            Task::Detect => "detect",
            Task::DetectObb => "detect-obb",
        }
    }
}

/// Where the encoder came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitSource {
    /// The run the encoder was loaded from; `None` for training from scratch.
    pub run: Option<PathBuf>,
    /// That run's kind and method, for the model card.
    pub kind: Option<String>,
    pub method: Option<String>,
}

/// `config.json` of a fine-tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub kind: String,
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
    pub tile_overlap: u32,
    pub ignore_index: u8,
    /// Detection: every annotated class renamed to this one.
    pub merge_classes: Option<String>,
    pub seed: u64,
    pub log_every: u64,
}

/// Run options that are not part of the run's identity.
#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    pub devices: DeviceList,
    pub workers: usize,
    pub quiet: bool,
    pub skip_bad: bool,
    pub stop_after_steps: Option<u64>,
}

/// The loaded datasets of a run.
pub enum TaskData {
    Classify {
        train: Vec<(PathBuf, usize)>,
        val: Vec<(PathBuf, usize)>,
    },
    Segment {
        train: Vec<(PathBuf, PathBuf)>,
        val: Vec<(PathBuf, PathBuf)>,
    },
    Detect {
        train: Vec<ImageAnnotations>,
        val: Vec<ImageAnnotations>,
    },
}

impl TaskData {
    pub fn sizes(&self) -> (usize, usize) {
        match self {
            TaskData::Classify { train, val } => (train.len(), val.len()),
            TaskData::Segment { train, val } => (train.len(), val.len()),
            TaskData::Detect { train, val } => (train.len(), val.len()),
        }
    }
}

/// Loads the training and validation data of a task. Detection and
/// segmentation split whole images by `train_ratio` unless a separate
/// `val` folder is given; classification splits per class.
#[allow(clippy::too_many_arguments)]
pub fn load_task_data(
    task: Task,
    data: &Path,
    val: Option<&Path>,
    train_ratio: f64,
    classes: Option<&[String]>,
    merge: Option<&str>,
    seed: u64,
    skip_bad: bool,
) -> Result<(TaskData, Vec<String>)> {
    let split_images = |n: usize| -> (Vec<usize>, Vec<usize>) {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let k = ((train_ratio * n as f64).round() as usize).clamp(1, n.saturating_sub(1).max(1));
        let val = idx.split_off(k);
        (idx, val)
    };
    Ok(match task {
        Task::Classify => {
            let (items, names) = data::load_classification(data)?;
            let (train, val) = match val {
                Some(v) => {
                    let (vi, vn) = data::load_classification(v)?;
                    if vn != names {
                        bail!("the validation folder's classes ({}) differ from the training folder's ({})", vn.join(", "), names.join(", "));
                    }
                    (items, vi)
                }
                None => data::stratified_split(&items, train_ratio, seed),
            };
            (TaskData::Classify { train, val }, names)
        }
        Task::Segment => {
            let items = data::load_segmentation(data)?;
            let (train, val) = match val {
                Some(v) => (items, data::load_segmentation(v)?),
                None => {
                    let (t, v) = split_images(items.len());
                    (
                        t.iter().map(|&i| items[i].clone()).collect(),
                        v.iter().map(|&i| items[i].clone()).collect(),
                    )
                }
            };
            let n = classes.map_or(0, |c| c.len());
            (
                TaskData::Segment { train, val },
                (0..n)
                    .map(|i| classes.map_or(i.to_string(), |c| c[i].clone()))
                    .collect(),
            )
        }
        Task::Detect | Task::DetectObb => {
            let (items, names, skipped) = data::load_detection(data, classes, merge, skip_bad)?;
            if skipped.objects + skipped.files > 0 {
                eprintln!(
                    "warning: skipped {} bad objects and {} bad files, e.g. {}",
                    skipped.objects,
                    skipped.files,
                    skipped.first.first().cloned().unwrap_or_default()
                );
            }
            let (train, val) = match val {
                Some(v) => (
                    items,
                    data::load_detection(v, Some(&names), merge, skip_bad)?.0,
                ),
                None => {
                    let (t, v) = split_images(items.len());
                    (
                        t.iter().map(|&i| items[i].clone()).collect(),
                        v.iter().map(|&i| items[i].clone()).collect(),
                    )
                }
            };
            (TaskData::Detect { train, val }, names)
        }
    })
}

/// The encoder of `init` (a pre-training or import run) for `vit`, with the
/// position embedding resampled when the grid differs.
pub fn load_init_encoder<B: Backend>(vit: &mut Vit<B>, init: &Path, cfg: &VitConfig) -> Result<()> {
    let (init_cfg, file) = run_dir::read_encoder(init)?;
    if (init_cfg.dim, init_cfg.depth, init_cfg.patch_size) != (cfg.dim, cfg.depth, cfg.patch_size) {
        bail!(
            "--init {} has a ViT of dim {}, depth {}, patch {}, but this fine-tuning uses dim {}, depth {}, patch {}",
            init.display(),
            init_cfg.dim,
            init_cfg.depth,
            init_cfg.patch_size,
            cfg.dim,
            cfg.depth,
            cfg.patch_size
        );
    }
    if init_cfg.grid() == cfg.grid() {
        weights::load_encoder(vit, &file)?;
        return Ok(());
    }
    // Different input size: select and resample with the import machinery.
    let (raw, source) = crate::import::read_checkpoint(&file)?;
    let (state, _) = crate::import::encoder_state(raw, source, cfg, "the fine-tuning encoder")?;
    let tmp = std::env::temp_dir().join(format!(
        "smae-init-{}-{}.safetensors",
        std::process::id(),
        cfg.img_size
    ));
    crate::import::write_state(&state, &tmp, Default::default())?;
    let r = weights::load_encoder(vit, &tmp);
    let _ = std::fs::remove_file(&tmp);
    r.map(|_| ())
}

/// Starts (or with `resume`, continues) a fine-tuning run.
pub fn run(
    cfg: FinetuneConfig,
    run_dir_path: &Path,
    task_data: TaskData,
    opts: &FinetuneOptions,
    resume: bool,
) -> Result<Value> {
    let state = if resume {
        let ckpt = checkpoint::latest(run_dir_path)?.with_context(|| {
            format!(
                "{} has no checkpoint to resume from",
                run_dir_path.display()
            )
        })?;
        Some((ckpt.clone(), checkpoint::load_state(&ckpt, None)?))
    } else {
        if run_dir_path.join(run_dir::CONFIG).exists() {
            bail!(
                "{} already holds a run; pass --resume to continue it or choose another --output",
                run_dir_path.display()
            );
        }
        crate::device::ensure_usable(&opts.devices)?;
        std::fs::create_dir_all(run_dir_path)
            .with_context(|| format!("creating {}", run_dir_path.display()))?;
        write_json_atomically(&run_dir_path.join(run_dir::CONFIG), &cfg)?;
        None
    };
    let job = Job {
        cfg,
        run: run_dir_path.to_path_buf(),
        data: task_data,
        opts: opts.clone(),
        resume: state,
    };
    dispatch(&opts.devices, job)
}

pub fn read_config(run: &Path) -> Result<FinetuneConfig> {
    let path = run.join(run_dir::CONFIG);
    let text = std::fs::read(&path)
        .with_context(|| format!("{} is not a run directory (no config.json)", run.display()))?;
    let v: Value =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    if v["kind"] != "finetune" {
        bail!("{} is not a fine-tuning run", run.display());
    }
    serde_json::from_value(v).with_context(|| format!("parsing {}", path.display()))
}

struct Job {
    cfg: FinetuneConfig,
    run: PathBuf,
    data: TaskData,
    opts: FinetuneOptions,
    resume: Option<(PathBuf, TrainerState)>,
}

impl BackendJob for Job {
    type Output = Value;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Value> {
        if devices.len() != 1 {
            bail!("fine-tuning runs on one device; pass a single --device");
        }
        let device = devices[0].clone();
        match self.cfg.task {
            Task::Classify => self.train::<B, Classifier<B>>(&device),
            Task::Segment => self.train::<B, Segmenter<B>>(&device),
            Task::Detect | Task::DetectObb => self.train::<B, Detector<B>>(&device),
        }
    }
}

/// The three task models seen by the training loop.
pub trait TaskModel<B: AutodiffBackend>:
    AutodiffModule<B> + burn_store::ModuleSnapshot<B> + Send + 'static
where
    Self::InnerModule: Evaluate<B::InnerBackend>,
{
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self;
    fn encoder_mut(&mut self) -> &mut Vit<B>;
    /// Loss of a batch of normalised images `[n, 3, s, s]`, with named parts to log.
    fn batch_loss(
        &self,
        imgs: Tensor<B, 4>,
        batch: Batch,
        cfg: &FinetuneConfig,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f64)>);
}

/// Validation metrics of a trained model (no gradients).
pub trait Evaluate<B: Backend> {
    fn evaluate(
        &self,
        cfg: &FinetuneConfig,
        data: &TaskData,
        store: &ImageStore,
        device: &B::Device,
    ) -> Result<Value>;
}

impl<B: AutodiffBackend> TaskModel<B> for Classifier<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self {
        Classifier::new(&cfg.vit, cfg.classes.len(), cfg.global_pool, device)
    }
    fn encoder_mut(&mut self) -> &mut Vit<B> {
        &mut self.encoder
    }
    fn batch_loss(
        &self,
        imgs: Tensor<B, 4>,
        batch: Batch,
        _: &FinetuneConfig,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f64)>) {
        let Batch::Classify { labels, .. } = batch else {
            unreachable!("classification batch")
        };
        let device = imgs.device();
        (
            label_smoothed_ce(self.forward(imgs), &labels, 0.1, &device),
            Vec::new(),
        )
    }
}

impl<B: AutodiffBackend> TaskModel<B> for Segmenter<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self {
        Segmenter::new(&cfg.vit, cfg.classes.len(), cfg.channels, device)
    }
    fn encoder_mut(&mut self) -> &mut Vit<B> {
        &mut self.encoder
    }
    fn batch_loss(
        &self,
        imgs: Tensor<B, 4>,
        batch: Batch,
        cfg: &FinetuneConfig,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f64)>) {
        let Batch::Segment { masks, .. } = batch else {
            unreachable!("segmentation batch")
        };
        let device = imgs.device();
        (
            masked_ce(self.forward(imgs), &masks, cfg.ignore_index, &device),
            Vec::new(),
        )
    }
}

impl<B: AutodiffBackend> TaskModel<B> for Detector<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self {
        Detector::new(
            &cfg.vit,
            cfg.classes.len(),
            cfg.channels,
            cfg.task == Task::DetectObb,
            device,
        )
    }
    fn encoder_mut(&mut self) -> &mut Vit<B> {
        &mut self.encoder
    }
    fn batch_loss(
        &self,
        imgs: Tensor<B, 4>,
        batch: Batch,
        cfg: &FinetuneConfig,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f64)>) {
        let Batch::Detect { gts, .. } = batch else {
            unreachable!("detection batch")
        };
        let s = cfg.vit.img_size;
        let out = self.forward(imgs);
        let locs = smae_models::detector::locations(s, s, cfg.vit.patch_size);
        let t = assign(&locs, &gts, cfg.classes.len(), cfg.vit.patch_size);
        let l = fcos_loss(&out, &t);
        let scalar = |t: &Tensor<B, 1>| -> f64 { t.clone().into_scalar().elem() };
        let mut parts = vec![
            ("loss_cls", scalar(&l.cls)),
            ("loss_reg", scalar(&l.reg)),
            ("loss_ctr", scalar(&l.ctr)),
        ];
        if let Some(a) = &l.angle {
            parts.push(("loss_angle", scalar(a)));
        }
        (l.total, parts)
    }
}

/// A host-side training batch.
pub enum Batch {
    Classify {
        pixels: Vec<f32>,
        labels: Vec<i64>,
    },
    Segment {
        pixels: Vec<f32>,
        masks: Vec<u8>,
    },
    Detect {
        pixels: Vec<f32>,
        gts: Vec<Vec<GtObject>>,
    },
}

/// Builds a model for `cfg`: seeded init, the init encoder, stable ids.
pub fn build_model<B: AutodiffBackend, M: TaskModel<B>>(
    cfg: &FinetuneConfig,
    device: &B::Device,
    checkpoint: Option<&Path>,
) -> Result<M>
where
    M::InnerModule: Evaluate<B::InnerBackend>,
{
    let mut model = {
        let _g = crate::burn_rng::lock();
        B::seed(device, cfg.seed);
        stable_ids(M::build(cfg, device))
    };
    match checkpoint {
        Some(dir) => weights::load_official(&mut model, &dir.join("model.safetensors"))
            .map(|_| ())
            .or_else(|_| load_task_weights(&mut model, &dir.join("model.safetensors")))?,
        None => {
            if let Some(init) = &cfg.init.run {
                load_init_encoder(model.encoder_mut(), init, &cfg.vit)?;
            }
        }
    }
    model.encoder_mut().set_drop_path(cfg.drop_path);
    Ok(stable_ids(model))
}

/// Loads a fine-tuned model's own checkpoint (encoder keys are timm names,
/// head keys are the module paths).
pub fn load_task_weights<B: Backend, M: burn_store::ModuleSnapshot<B>>(
    model: &mut M,
    file: &Path,
) -> Result<()> {
    use burn_store::{PyTorchToBurnAdapter, SafetensorsStore};
    let mut store = SafetensorsStore::from_file(file)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(
            r"^(patch_embed\.|cls_token$|pos_embed$|blocks\.|norm\.)",
            "encoder.${1}",
        );
    let r = model
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading {}", file.display()))?;
    if !r.errors.is_empty() || !r.missing.is_empty() {
        bail!(
            "{} does not fit the model ({} errors, {} missing)",
            file.display(),
            r.errors.len(),
            r.missing.len()
        );
    }
    Ok(())
}

impl Job {
    fn train<B: AutodiffBackend, M: TaskModel<B>>(self, device: &B::Device) -> Result<Value>
    where
        M::InnerModule: Evaluate<B::InnerBackend>,
    {
        let cfg = &self.cfg;
        let (ckpt, mut state) = match &self.resume {
            Some((d, s)) => (Some(d.clone()), s.clone()),
            None => (None, TrainerState::default()),
        };
        let mut model: M = build_model(cfg, device, ckpt.as_deref())?;
        let mut optim = GroupedAdamW::with_layer_decay(
            &model,
            &cfg.optim,
            Some((cfg.layer_decay, cfg.vit.depth)),
        );
        if let Some(dir) = &ckpt {
            optim = optim.load(dir, device)?;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.workers.max(1))
            .build()?;
        let store = Arc::new(ImageStore::new(2 << 30));
        let mut log = LogWriter::open(&self.run, Some(state.step))?;
        let progress = Progress::steps(
            cfg.steps_per_epoch * cfg.epochs,
            state.step,
            self.opts.quiet,
            cfg.task.name(),
        );
        let mut window = (Instant::now(), 0usize);
        let mut last_loss = f64::NAN;
        while state.epoch < cfg.epochs {
            let order = self.epoch_order(state.epoch);
            while state.step_in_epoch < cfg.steps_per_epoch {
                let t =
                    state.epoch as f64 + state.step_in_epoch as f64 / cfg.steps_per_epoch as f64;
                let lr = cfg.schedule.at(t);
                let start = (state.step_in_epoch as usize * cfg.batch_size) % order.len().max(1);
                let idx: Vec<usize> = (0..cfg.batch_size)
                    .map(|k| order[(start + k) % order.len()])
                    .collect();
                let step_seed = sample_seed(cfg.seed, state.epoch, state.step);
                let batch = pool.install(|| self.batch(&idx, step_seed, &store))?;
                let imgs = batch_images::<B>(&batch, cfg.vit.img_size, device);
                // Stochastic depth draws from Burn's generator: seed it per
                // step (under a process-wide lock) so a resumed run draws the
                // same masks as an uninterrupted one.
                let (loss, parts) = {
                    let _rng = crate::burn_rng::lock();
                    B::seed(device, step_seed);
                    model.batch_loss(imgs, batch, cfg)
                };
                let value: f64 = loss.clone().into_scalar().elem();
                if !value.is_finite() {
                    bail!(
                        "the loss became {value} at step {}; lower the learning rate",
                        state.step
                    );
                }
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                let (m, norm) = optim.step(lr, model, grads);
                model = m;
                last_loss = value;
                state.step += 1;
                state.step_in_epoch += 1;
                state.images_seen += cfg.batch_size as u64;
                window.1 += cfg.batch_size;
                if state.step == 1 || state.step % cfg.log_every.max(1) == 0 {
                    let secs = window.0.elapsed().as_secs_f64().max(1e-9);
                    let mut rec = serde_json::json!({
                        "step": state.step, "epoch": t, "lr": lr, "loss": value,
                        "images_per_s": window.1 as f64 / secs, "grad_norm": norm,
                    });
                    for (k, v) in parts {
                        rec[k] = serde_json::json!(v);
                    }
                    log.write(&rec)?;
                    progress.message(&format!("loss {value:.4} lr {lr:.2e}"));
                    window = (Instant::now(), 0);
                }
                progress.inc();
                let stop = self.opts.stop_after_steps.is_some_and(|s| state.step >= s);
                if state.step_in_epoch == cfg.steps_per_epoch {
                    state.epoch += 1;
                    state.step_in_epoch = 0;
                }
                if stop || state.step_in_epoch == 0 {
                    let meta = vec![("smae.task", cfg.task.name().to_string())];
                    checkpoint::write_atomically(&self.run, |dir| {
                        weights::save_official(&model, &dir.join("model.safetensors"), &meta)?;
                        optim.save(dir)?;
                        checkpoint::save_state(dir, &state)
                    })?;
                }
                if stop {
                    progress.finish();
                    return Ok(
                        serde_json::json!({ "stopped_at_step": state.step, "loss": last_loss }),
                    );
                }
                if state.step_in_epoch == 0 {
                    break;
                }
            }
        }
        progress.finish();
        let metrics = model.valid().evaluate(cfg, &self.data, &store, device)?;
        let out = serde_json::json!({ "task": cfg.task.name(), "split": "validation", "final_loss": last_loss, "metrics": metrics });
        write_json_atomically(&self.run.join("metrics.json"), &out)?;
        Ok(out)
    }

    /// Training samples of an epoch in order; detection samples are random
    /// tiles of images drawn by area.
    fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let (n, _) = self.data.sizes();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(sample_seed(
            self.cfg.seed,
            epoch,
            u64::MAX,
        )));
        order
    }

    fn batch(&self, idx: &[usize], seed: u64, store: &ImageStore) -> Result<Batch> {
        let cfg = &self.cfg;
        let size = cfg.vit.img_size as u32;
        let rng = |k: usize| ChaCha8Rng::seed_from_u64(sample_seed(seed, 0, k as u64));
        Ok(match &self.data {
            TaskData::Classify { train, .. } => {
                let views: Vec<Result<(Vec<f32>, i64), String>> = idx
                    .par_iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let img = store.get(&train[i].0)?;
                        Ok((
                            pixels(&samples::classification_view(&img, size, &mut rng(k))),
                            train[i].1 as i64,
                        ))
                    })
                    .collect();
                let mut pixels_all = Vec::new();
                let mut labels = Vec::new();
                for v in views {
                    let (p, l) = v.map_err(anyhow::Error::msg)?;
                    pixels_all.extend(p);
                    labels.push(l);
                }
                Batch::Classify {
                    pixels: pixels_all,
                    labels,
                }
            }
            TaskData::Segment { train, .. } => {
                let views: Vec<View<Vec<u8>>> = idx
                    .par_iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let img = store.get(&train[i].0)?;
                        let mask = read_mask(&train[i].1)?;
                        let (v, m) = samples::segmentation_view(
                            &img,
                            &mask,
                            size,
                            cfg.ignore_index,
                            &mut rng(k),
                        );
                        Ok((pixels(&v), m.into_raw()))
                    })
                    .collect();
                let (mut p, mut m) = (Vec::new(), Vec::new());
                for v in views {
                    let (a, b) = v.map_err(anyhow::Error::msg)?;
                    p.extend(a);
                    m.extend(b);
                }
                Batch::Segment {
                    pixels: p,
                    masks: m,
                }
            }
            TaskData::Detect { train, .. } => {
                let oriented = cfg.task == Task::DetectObb;
                let views: Vec<View<Vec<GtObject>>> = idx
                    .par_iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let img = store.get(&train[i].image)?;
                        let boxes = gt_boxes(&train[i].objects, &cfg.classes);
                        let (v, b) =
                            samples::detection_view(&img, &boxes, cfg.tile, size, &mut rng(k));
                        Ok((pixels(&v), b.iter().map(|g| g.gt(oriented)).collect()))
                    })
                    .collect();
                let (mut p, mut gts) = (Vec::new(), Vec::new());
                for v in views {
                    let (a, b) = v.map_err(anyhow::Error::msg)?;
                    p.extend(a);
                    gts.push(b);
                }
                Batch::Detect { pixels: p, gts }
            }
        })
    }
}

/// The batch's images on the device: `[n, 3, s, s]`.
/// One augmented view of a sample: its pixels and its labels, or why it
/// could not be read.
type View<L> = Result<(Vec<f32>, L), String>;

fn batch_images<B: Backend>(batch: &Batch, s: usize, device: &B::Device) -> Tensor<B, 4> {
    let p = match batch {
        Batch::Classify { pixels, .. }
        | Batch::Segment { pixels, .. }
        | Batch::Detect { pixels, .. } => pixels.clone(),
    };
    let n = p.len() / (3 * s * s);
    Tensor::<B, 1>::from_data(TensorData::new(p, [n * 3 * s * s]), device).reshape([n, 3, s, s])
}

fn read_mask(path: &Path) -> Result<GrayImage, String> {
    image::open(path)
        .map_err(|e| format!("mask {}: {e}", path.display()))
        .map(|m| m.to_luma8())
}

/// Cross-entropy with label smoothing (MAE fine-tuning uses 0.1).
fn label_smoothed_ce<B: Backend>(
    logits: Tensor<B, 2>,
    labels: &[i64],
    smoothing: f64,
    device: &B::Device,
) -> Tensor<B, 1> {
    let [n, k] = logits.dims();
    let mut target = vec![(smoothing / k as f64) as f32; n * k];
    for (i, &l) in labels.iter().enumerate() {
        target[i * k + l as usize] += (1.0 - smoothing) as f32;
    }
    let target =
        Tensor::<B, 1>::from_data(TensorData::new(target, [n * k]), device).reshape([n, k]);
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    (logp * target).sum().neg().div_scalar(n as f32)
}

/// Per-pixel cross-entropy over pixels whose label is not `ignore`.
fn masked_ce<B: Backend>(
    logits: Tensor<B, 4>,
    masks: &[u8],
    ignore: u8,
    device: &B::Device,
) -> Tensor<B, 1> {
    let [n, k, h, w] = logits.dims();
    let valid: Vec<f32> = masks
        .iter()
        .map(|&m| f32::from(m != ignore && (m as usize) < k))
        .collect();
    let count = valid.iter().sum::<f32>().max(1.0);
    let idx: Vec<i64> = masks
        .iter()
        .map(|&m| {
            if m != ignore && (m as usize) < k {
                m as i64
            } else {
                0
            }
        })
        .collect();
    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n * h * w]), device)
        .reshape([n, 1, h, w]);
    let valid = Tensor::<B, 1>::from_data(TensorData::new(valid, [n * h * w]), device)
        .reshape([n, 1, h, w]);
    let logp = burn::tensor::activation::log_softmax(logits, 1).gather(1, idx);
    (logp * valid).sum().neg().div_scalar(count)
}

impl<B: Backend> Evaluate<B> for Classifier<B> {
    fn evaluate(
        &self,
        cfg: &FinetuneConfig,
        data: &TaskData,
        store: &ImageStore,
        device: &B::Device,
    ) -> Result<Value> {
        let TaskData::Classify { val, .. } = data else {
            bail!("classification data expected")
        };
        let imgs: Vec<image::RgbImage> = val
            .iter()
            .map(|(p, _)| store.get(p).map(|i| (*i).clone()))
            .collect::<Result<_, String>>()
            .map_err(anyhow::Error::msg)?;
        let pred = predict::classify(self, &imgs, cfg.vit.img_size as u32, device);
        let truth: Vec<usize> = val.iter().map(|v| v.1).collect();
        let mut v = serde_json::to_value(classification(&pred, &truth, cfg.classes.len()))?;
        v["classes"] = serde_json::json!(cfg.classes);
        Ok(v)
    }
}

impl<B: Backend> Evaluate<B> for Segmenter<B> {
    fn evaluate(
        &self,
        cfg: &FinetuneConfig,
        data: &TaskData,
        store: &ImageStore,
        device: &B::Device,
    ) -> Result<Value> {
        let TaskData::Segment { val, .. } = data else {
            bail!("segmentation data expected")
        };
        let mut acc = SegAccumulator::new(cfg.classes.len(), cfg.ignore_index);
        for (img, mask) in val {
            let img = store.get(img).map_err(anyhow::Error::msg)?;
            let mask = read_mask(mask).map_err(anyhow::Error::msg)?;
            if mask.dimensions() != img.dimensions() {
                bail!(
                    "mask {:?} does not match its image's size {:?}",
                    mask.dimensions(),
                    img.dimensions()
                );
            }
            acc.add(
                &predict::segment(self, &img, cfg.vit.img_size as u32, device),
                mask.as_raw(),
            );
        }
        let mut v = serde_json::to_value(acc.finish())?;
        v["classes"] = serde_json::json!(cfg.classes);
        Ok(v)
    }
}

impl<B: Backend> Evaluate<B> for Detector<B> {
    fn evaluate(
        &self,
        cfg: &FinetuneConfig,
        data: &TaskData,
        store: &ImageStore,
        device: &B::Device,
    ) -> Result<Value> {
        let TaskData::Detect { val, .. } = data else {
            bail!("detection data expected")
        };
        let size = cfg.vit.img_size as u32;
        let (mut preds, mut gts) = (Vec::new(), Vec::new());
        // Evaluate at the training scale: `tile` image pixels per model input.
        let scale = cfg.tile as f32 / size as f32;
        for (i, a) in val.iter().enumerate() {
            let img = store.get(&a.image).map_err(anyhow::Error::msg)?;
            let view = if (scale - 1.0).abs() > 1e-6 {
                let (w, h) = img.dimensions();
                let (nw, nh) = (
                    ((w as f32 / scale).round() as u32).max(1),
                    ((h as f32 / scale).round() as u32).max(1),
                );
                image::imageops::resize(&*img, nw, nh, image::imageops::FilterType::Triangle)
            } else {
                (*img).clone()
            };
            let (d, rd) = predict::detect(self, &view, size, cfg.tile_overlap, device);
            preds.extend(d.into_iter().map(|d| Prediction {
                image: i,
                class: d.class,
                score: d.score,
                shape: Shape::Axis(d.bbox.scale(scale)),
            }));
            preds.extend(rd.into_iter().map(|d| {
                let r = d.rbox;
                let r = smae_geom::RBox::new(
                    r.cx * scale,
                    r.cy * scale,
                    r.w * scale,
                    r.h * scale,
                    r.angle,
                );
                Prediction {
                    image: i,
                    class: d.class,
                    score: d.score,
                    shape: Shape::Rotated(r),
                }
            }));
            for o in &a.objects {
                let class = cfg.classes.iter().position(|c| *c == o.class).unwrap_or(0);
                let shape = match (cfg.task, o.rbox) {
                    (Task::DetectObb, Some(r)) => Shape::Rotated(r),
                    (Task::DetectObb, None) => {
                        let b = o.bbox;
                        Shape::Rotated(smae_geom::RBox::new(
                            (b.x0 + b.x1) / 2.0,
                            (b.y0 + b.y1) / 2.0,
                            b.width(),
                            b.height(),
                            0.0,
                        ))
                    }
                    _ => Shape::Axis(o.bbox),
                };
                gts.push(GroundTruth {
                    image: i,
                    class,
                    shape,
                    difficult: o.difficult,
                });
            }
        }
        let mut v = serde_json::to_value(voc_map(&preds, &gts, cfg.classes.len(), 0.5))?;
        v["classes"] = serde_json::json!(cfg.classes);
        v["predictions"] = serde_json::json!(preds.len());
        Ok(v)
    }
}

/// `smae-train eval`: the metrics of a fine-tuned run on all of `data`.
pub fn eval(run: &Path, data: &Path, devices: &DeviceList, skip_bad: bool) -> Result<Value> {
    let cfg = read_config(run)?;
    let ckpt =
        checkpoint::latest(run)?.with_context(|| format!("{} has no checkpoint", run.display()))?;
    let task_data = match cfg.task {
        Task::Classify => {
            let (items, names) = data::load_classification(data)?;
            if names != cfg.classes {
                bail!(
                    "{} has classes {} but the run was trained on {}",
                    data.display(),
                    names.join(", "),
                    cfg.classes.join(", ")
                );
            }
            TaskData::Classify {
                train: Vec::new(),
                val: items,
            }
        }
        Task::Segment => TaskData::Segment {
            train: Vec::new(),
            val: data::load_segmentation(data)?,
        },
        Task::Detect | Task::DetectObb => TaskData::Detect {
            train: Vec::new(),
            val: data::load_detection(
                data,
                Some(&cfg.classes),
                cfg.merge_classes.as_deref(),
                skip_bad,
            )?
            .0,
        },
    };
    struct EvalJob {
        cfg: FinetuneConfig,
        ckpt: PathBuf,
        data: TaskData,
        source: PathBuf,
    }
    impl BackendJob for EvalJob {
        type Output = Value;
        fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Value> {
            let d = &devices[0];
            let store = ImageStore::new(2 << 30);
            let metrics = match self.cfg.task {
                Task::Classify => build_model::<B, Classifier<B>>(&self.cfg, d, Some(&self.ckpt))?
                    .valid()
                    .evaluate(&self.cfg, &self.data, &store, d)?,
                Task::Segment => build_model::<B, Segmenter<B>>(&self.cfg, d, Some(&self.ckpt))?
                    .valid()
                    .evaluate(&self.cfg, &self.data, &store, d)?,
                Task::Detect | Task::DetectObb => {
                    build_model::<B, Detector<B>>(&self.cfg, d, Some(&self.ckpt))?
                        .valid()
                        .evaluate(&self.cfg, &self.data, &store, d)?
                }
            };
            Ok(
                serde_json::json!({ "task": self.cfg.task.name(), "split": "eval", "data": self.source, "metrics": metrics }),
            )
        }
    }
    dispatch(
        devices,
        EvalJob {
            cfg,
            ckpt,
            data: task_data,
            source: data.to_path_buf(),
        },
    )
}
