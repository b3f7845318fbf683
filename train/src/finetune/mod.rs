//! `smae-train finetune`: full fine-tuning of a pre-trained (or imported,
//! or fresh) encoder with a classification, UperNet segmentation or FCOS
//! detection head, as the paper evaluates SelectiveMAE.
//!
//! Optimisation follows MAE / BEiT fine-tuning: AdamW with layer-wise lr
//! decay, stochastic depth, warm-up then cosine; checkpoints, `log.jsonl`,
//! `--resume` and the progress bar work as in pre-training. The run ends
//! with `metrics.json` on the validation set, measured by `eval` on the
//! tiles `smae-infer` runs.

pub mod config;
pub mod data;
pub mod losses;
pub mod samples;
pub mod tasks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::Value;
use smae_models::fcos::GtObject;
use smae_models::{Classifier, Detector, Segmenter};
use smae_run::checkpoint::{self, TrainerState, MODEL};
use smae_run::log::LogWriter;
use smae_run::seed::sample_seed;
use smae_run::{weights, FinetuneConfig, RunConfig, Task};

use crate::device::{dispatch, BackendJob, DeviceList};
use crate::eval;
use crate::optim::GroupedAdamW;
use crate::progress::Progress;
pub use config::FinetuneOptions;
use data::{read_mask, TaskData};
use samples::{gt_boxes, ImageStore};
use smae_run::norm::imagenet_pixels;
use tasks::{batch_images, build_model, Batch, TaskModel};

/// Decoded training images kept in memory (datasets of a few large scenes
/// decode once).
const IMAGE_CACHE_BYTES: usize = 2 << 30;

/// Run options that are not part of the run's identity.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub devices: DeviceList,
    pub workers: usize,
    pub quiet: bool,
    pub skip_bad: bool,
    pub stop_after_steps: Option<u64>,
}

/// `smae-train finetune`: resolves the options (or, with `--resume`, reads
/// the run's configuration) and trains.
pub fn run(opts: &FinetuneOptions) -> Result<Value> {
    let run_opts = opts.run_options()?;
    let (cfg, data) = if opts.resume {
        let cfg = FinetuneConfig::read(&opts.output)?;
        let (data, _) = data::load_task_data(
            cfg.task,
            &cfg.data,
            cfg.val_data.as_deref(),
            cfg.train_ratio.unwrap_or(0.8),
            Some(&cfg.classes),
            cfg.merge_classes.as_deref(),
            cfg.seed,
            run_opts.skip_bad,
        )?;
        (cfg, data)
    } else {
        opts.config()?
    };
    train(cfg, &opts.output, data, &run_opts, opts.resume)
}

/// Starts (or with `resume`, continues) a fine-tuning run.
pub fn train(
    cfg: FinetuneConfig,
    run_dir_path: &Path,
    task_data: TaskData,
    opts: &RunOptions,
    resume: bool,
) -> Result<Value> {
    // Under MPI rank 0 creates the run; every rank checks it resolved the
    // same configuration and can split the run's batch evenly.
    let world = crate::distributed::world();
    let root = world.is_none_or(|w| w.is_root());
    crate::distributed::agree_on_config(&RunConfig::Finetune(cfg.clone()))?;
    let ranks = world.map_or(1, |w| w.size);
    if !cfg.batch_size.is_multiple_of(ranks) {
        bail!(
            "the run uses a batch of {}; {ranks} ranks cannot split it evenly",
            cfg.batch_size
        );
    }
    let state = if resume {
        let ckpt = checkpoint::latest(run_dir_path)?.with_context(|| {
            format!(
                "{} has no checkpoint to resume from",
                run_dir_path.display()
            )
        })?;
        Some((ckpt.clone(), checkpoint::load_state(&ckpt)?))
    } else {
        if root && run_dir_path.join(smae_run::config::CONFIG).exists() {
            bail!(
                "{} already holds a run; pass --resume to continue it or choose another --output",
                run_dir_path.display()
            );
        }
        crate::device::ensure_usable(&opts.devices)?;
        if root {
            std::fs::create_dir_all(run_dir_path)
                .with_context(|| format!("creating {}", run_dir_path.display()))?;
            RunConfig::Finetune(cfg.clone()).write(run_dir_path)?;
        }
        None
    };
    if let Some(w) = world {
        w.barrier()?;
    }
    let job = Job {
        cfg,
        run: run_dir_path.to_path_buf(),
        data: task_data,
        opts: opts.clone(),
        resume: state,
    };
    dispatch(&opts.devices, job)
}

struct Job {
    cfg: FinetuneConfig,
    run: PathBuf,
    data: TaskData,
    opts: RunOptions,
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

impl Job {
    fn train<B: AutodiffBackend, M: TaskModel<B>>(self, device: &B::Device) -> Result<Value> {
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
        let store = Arc::new(ImageStore::new(IMAGE_CACHE_BYTES));
        // Under MPI each rank trains on its contiguous share of every batch
        // (by global position, so the augmentations are those one process
        // would draw), gradients are averaged over ranks, rank 0 writes.
        let world = crate::distributed::world();
        let (rank, ranks) = world.map_or((0, 1), |w| (w.rank, w.size));
        let root = rank == 0;
        let mine = crate::distributed::share(cfg.batch_size, ranks, rank);
        let mut log = if root {
            Some(LogWriter::open(&self.run, Some(state.step))?)
        } else {
            None
        };
        let progress = Progress::steps(
            cfg.steps_per_epoch * cfg.epochs,
            state.step,
            self.opts.quiet || !root,
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
                let idx: Vec<usize> = mine
                    .clone()
                    .map(|k| order[(start + k) % order.len()])
                    .collect();
                let step_seed = sample_seed(cfg.seed, state.epoch, state.step);
                let batch = pool.install(|| self.batch(&idx, mine.start, step_seed, &store))?;
                let imgs = batch_images::<B>(&batch, cfg.vit.img_size, device);
                // Stochastic depth draws from Burn's generator: seed it per
                // step (under a process-wide lock) so a resumed run draws the
                // same masks as an uninterrupted one; each rank its own.
                let (loss, mut parts) = {
                    let _rng = smae_run::seed::lock();
                    B::seed(device, sample_seed(step_seed, rank as u64, 0));
                    model.batch_loss(imgs, batch, cfg)
                };
                let mut value: f64 = loss.clone().into_scalar().elem();
                if !value.is_finite() {
                    bail!(
                        "the loss became {value} at step {}; lower the learning rate",
                        state.step
                    );
                }
                let mut grads = GradientsParams::from_grads(loss.backward(), &model);
                if let Some(w) = world {
                    grads = crate::distributed::average_gradients(
                        &model,
                        grads,
                        mine.len(),
                        crate::distributed::Peers::Ranks(w),
                    )?;
                }
                let (m, norm) = optim.step(lr, model, grads);
                model = m;
                last_loss = value;
                state.step += 1;
                state.step_in_epoch += 1;
                state.images_seen += cfg.batch_size as u64;
                window.1 += cfg.batch_size;
                if state.step == 1 || state.step % cfg.log_every.max(1) == 0 {
                    let norm = f64::from(smae_models::host::read_f32(norm)[0]);
                    if let Some(w) = world {
                        (value, parts) = mean_over_ranks(w, value, parts)?;
                        last_loss = value;
                    }
                    let secs = window.0.elapsed().as_secs_f64().max(1e-9);
                    let mut rec = serde_json::json!({
                        "step": state.step, "epoch": t, "lr": lr, "loss": value,
                        "images_per_s": window.1 as f64 / secs, "grad_norm": norm,
                    });
                    for (k, v) in parts {
                        rec[k] = serde_json::json!(v);
                    }
                    if let Some(log) = log.as_mut() {
                        log.write(&rec)?;
                    }
                    progress.message(&format!("loss {value:.4} lr {lr:.2e}"));
                    window = (Instant::now(), 0);
                }
                progress.inc();
                let stop = self.opts.stop_after_steps.is_some_and(|s| state.step >= s);
                if state.step_in_epoch == cfg.steps_per_epoch {
                    state.epoch += 1;
                    state.step_in_epoch = 0;
                }
                if root && (stop || state.step_in_epoch == 0) {
                    let meta = vec![("smae.task", cfg.task.name().to_string())];
                    checkpoint::write_atomically(&self.run, |dir| {
                        weights::save_official(&model, &dir.join(MODEL), &meta)?;
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
        if !root {
            return Ok(serde_json::json!({ "rank": rank, "final_loss": last_loss }));
        }
        let metrics = eval::evaluate(M::inference(model.valid()), cfg, &self.data, device)?;
        let out = serde_json::json!({ "task": cfg.task.name(), "split": "validation", "final_loss": last_loss, "metrics": metrics });
        smae_run::atomic::write_json(&self.run.join(eval::METRICS), &out)?;
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

    /// The samples `idx`, the first at position `first` of the global batch
    /// (each sample's augmentation is drawn from its global position).
    fn batch(&self, idx: &[usize], first: usize, seed: u64, store: &ImageStore) -> Result<Batch> {
        let cfg = &self.cfg;
        let size = cfg.vit.img_size as u32;
        let rng = |k: usize| ChaCha8Rng::seed_from_u64(sample_seed(seed, 0, (first + k) as u64));
        Ok(match &self.data {
            TaskData::Classify { train, .. } => {
                let views: Vec<Result<(Vec<f32>, i64), String>> = idx
                    .par_iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let img = store.get(&train[i].0)?;
                        Ok((
                            imagenet_pixels(&samples::classification_view(&img, size, &mut rng(k))),
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
                        Ok((imagenet_pixels(&v), m.into_raw()))
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
                        Ok((
                            imagenet_pixels(&v),
                            b.iter().map(|g| g.gt(oriented)).collect(),
                        ))
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

/// One augmented view of a sample: its pixels and its labels, or why it
/// could not be read.
type View<L> = Result<(Vec<f32>, L), String>;

/// The mean over ranks of a loss and its named parts (every rank trains on
/// an equal share, so the plain mean is the batch's).
fn mean_over_ranks(
    world: &crate::distributed::World,
    loss: f64,
    parts: Vec<(&'static str, f64)>,
) -> Result<(f64, Vec<(&'static str, f64)>)> {
    let mut buf: Vec<f32> = std::iter::once(loss)
        .chain(parts.iter().map(|p| p.1))
        .map(|v| v as f32)
        .collect();
    world.sum_f32(&mut buf)?;
    let n = world.size as f64;
    let parts = parts
        .iter()
        .zip(&buf[1..])
        .map(|(p, v)| (p.0, f64::from(*v) / n))
        .collect();
    Ok((f64::from(buf[0]) / n, parts))
}
