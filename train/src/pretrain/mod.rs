//! `smae-train pretrain`: the training loop for SelectiveMAE and MAE.
//!
//! Everything random is a function of (seed, epoch, step, sample), not of a
//! generator's history, so a run stopped after N steps and resumed ends with
//! the same weights as a run that never stopped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub mod bench;
pub mod config;
pub mod explain;
pub mod infobatch;
pub mod method;
pub mod replica;
pub mod selection;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use smae_models::{DecoderConfig, Mae, SelectiveMae, VitConfig};
use smae_run::checkpoint::{self, TrainerState, MODEL};
use smae_run::config::{DataSummary, PretrainConfig, RunConfig};
use smae_run::log::LogWriter;
use smae_run::params::stable_ids;
use smae_run::seed::sample_seed;
use smae_run::{weights, Method};

use crate::data::cache::ImageCache;
use crate::data::folder::{ImageFolder, ScanReport};
use crate::data::loader::{Loader, Sample, Source};
use crate::device::{dispatch, BackendJob, DeviceList};
use crate::distributed::share;
use crate::progress::Progress;
pub use config::PretrainOptions;
use infobatch::InfoBatch;
use method::TrainModel;
use replica::{Group, Pixels, ReplicaSpec, StepInput};

/// How to run (not part of the run's identity).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub devices: DeviceList,
    pub workers: usize,
    pub cache_mb: usize,
    /// Overrides the run's `log_every`.
    pub log_every: Option<u64>,
    pub save_every_steps: Option<u64>,
    /// Stop (with a checkpoint) after this many optimizer steps in total.
    pub stop_after_steps: Option<u64>,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run: PathBuf,
    pub steps: u64,
    pub epochs_done: f64,
    pub final_loss: Option<f64>,
    pub decode_failures: u64,
    pub finished: bool,
}

/// One logged step in `log.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogRecord {
    pub step: u64,
    pub epoch: f64,
    pub lr: f64,
    pub loss: f64,
    pub stage: String,
    pub images_per_s: f64,
    pub grad_norm: f64,
    pub images: usize,
    pub decode_failures: u64,
}

/// `smae-train pretrain`: scans the data (warning about skipped files),
/// resolves the configuration and starts the run, or resumes it.
pub fn run(opts: &PretrainOptions) -> Result<Summary> {
    let run_opts = opts.run_options()?;
    if opts.resume {
        return resume(&opts.output, opts.data.as_deref(), &run_opts);
    }
    let root = opts.data.as_ref().context("--data is required")?;
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
    let cfg = opts.config(&data)?;
    start(cfg, &opts.output, &data, &run_opts)
}

/// Starts a new run in `run` (which must not hold one already).
pub fn start(
    cfg: PretrainConfig,
    run: &Path,
    data: &ImageFolder,
    opts: &RunOptions,
) -> Result<Summary> {
    let world = crate::distributed::world();
    agree_on_config(&cfg)?;
    if world.is_none_or(|w| w.is_root()) {
        if run.join(smae_run::config::CONFIG).exists() {
            bail!(
                "{} already holds a run; pass --resume to continue it or choose another --output",
                run.display()
            );
        }
        crate::device::ensure_usable(&opts.devices)?;
        std::fs::create_dir_all(run)
            .with_context(|| format!("creating run directory {}", run.display()))?;
        RunConfig::Pretrain(cfg.clone()).write(run)?;
    } else {
        crate::device::ensure_usable(&opts.devices)?;
    }
    if let Some(w) = world {
        w.barrier()?;
    }
    train(cfg, run, data, opts, None)
}

/// Continues the run in `run` from its latest checkpoint.
pub fn resume(run: &Path, data_override: Option<&Path>, opts: &RunOptions) -> Result<Summary> {
    let cfg = PretrainConfig::read(run)?;
    let ckpt = checkpoint::latest(run)?
        .with_context(|| format!("{} has no checkpoint to resume from", run.display()))?;
    let state = checkpoint::load_state(&ckpt)?;
    let root = data_override.unwrap_or(&cfg.data.path);
    let data = ImageFolder::scan(root)?;
    if data.len() != cfg.data.images {
        bail!(
            "the data folder now holds {} usable images but the run started with {}; resuming would change the schedule",
            data.len(),
            cfg.data.images
        );
    }
    agree_on_config(&cfg)?;
    train(cfg, run, &data, opts, Some((ckpt, state)))
}

fn agree_on_config(cfg: &PretrainConfig) -> Result<()> {
    crate::distributed::agree_on_config(&RunConfig::Pretrain(cfg.clone()))
}

fn train(
    cfg: PretrainConfig,
    run: &Path,
    data: &ImageFolder,
    opts: &RunOptions,
    resume: Option<(PathBuf, TrainerState)>,
) -> Result<Summary> {
    // The global batch is the run's; any number of devices (and ranks) that
    // divides it keeps the schedule, so a run resumes on another count.
    let ranks = crate::distributed::world().map_or(1, |w| w.size);
    let replicas = opts.devices.count() * ranks;
    if !cfg.global_batch.is_multiple_of(replicas) {
        bail!(
            "the run uses a global batch of {}; {replicas} devices cannot split it evenly",
            cfg.global_batch
        );
    }
    let job = TrainJob {
        cfg,
        run: run.to_path_buf(),
        data,
        opts: opts.clone(),
        resume,
    };
    dispatch(&opts.devices, job)
}

struct TrainJob<'a> {
    cfg: PretrainConfig,
    run: PathBuf,
    data: &'a ImageFolder,
    opts: RunOptions,
    resume: Option<(PathBuf, TrainerState)>,
}

impl BackendJob for TrainJob<'_> {
    type Output = Summary;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Summary> {
        match self.cfg.method.method {
            Method::Selective => self.run_with::<B, SelectiveMae<B>>(devices),
            Method::Mae => self.run_with::<B, Mae<B>>(devices),
        }
    }
}

/// Builds a model from the config on `device`: seeded init, or the weights of
/// `checkpoint`, with parameter ids derived from paths.
pub fn build_model<B: Backend, M: method::Pretrainer<B> + burn_store::ModuleSnapshot<B>>(
    vit: &VitConfig,
    dec: &DecoderConfig,
    seed: u64,
    device: &B::Device,
    checkpoint: Option<&Path>,
) -> Result<M> {
    // Burn's generator is per process: hold a lock while seeding and drawing
    // every initial value (stable_ids materialises the lazy parameters), so
    // two models built at once in one process get their own seeded init.
    let mut model = {
        let _guard = smae_run::seed::lock();
        B::seed(device, seed);
        stable_ids(M::build(vit, dec, device))
    };
    if let Some(dir) = checkpoint {
        weights::load_official(&mut model, &dir.join(MODEL))?;
        model = stable_ids(model);
    }
    Ok(model)
}

impl TrainJob<'_> {
    fn run_with<B: AutodiffBackend, M: TrainModel<B> + burn_store::ModuleSnapshot<B>>(
        self,
        devices: Vec<B::Device>,
    ) -> Result<Summary> {
        let cfg = &self.cfg;
        let (ckpt, mut state) = match self.resume {
            Some((dir, state)) => (Some(dir), state),
            None => (None, TrainerState::default()),
        };
        let model: M = build_model(
            &cfg.vit,
            &cfg.decoder,
            cfg.seed,
            &devices[0],
            ckpt.as_deref(),
        )?;
        let spec = ReplicaSpec {
            method: cfg.method.clone(),
            optim: cfg.optim,
            seed: cfg.seed,
            img_size: cfg.vit.img_size,
            in_chans: cfg.vit.in_chans,
            mean: cfg.augment.mean,
            std: cfg.augment.std,
            precision: cfg.precision,
        };
        let world = crate::distributed::world();
        let (rank, ranks) = world.map_or((0, 1), |w| (w.rank, w.size));
        let root = rank == 0;
        let mut group = Group::<B, M>::new(model, &devices, spec, ckpt.as_deref(), world)?;
        let n = self.data.len();
        let mut infobatch = match (cfg.infobatch, &ckpt) {
            (Some(c), Some(dir)) => {
                Some(InfoBatch::load(c, dir, n).context("reading InfoBatch scores")?)
            }
            (Some(c), None) => Some(InfoBatch::new(c, n)),
            (None, _) => None,
        };

        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.opts.workers.max(1))
                .thread_name(|i| format!("loader-{i}"))
                .build()
                .context("starting loader threads")?,
        );
        let source = Arc::new(Source {
            items: self.data.items.clone(),
            augment: cfg.augment.clone(),
            seed: cfg.seed,
            cache: ImageCache::new(self.opts.cache_mb * 1024 * 1024),
        });
        // Rank 0 alone writes the log, checkpoints and progress.
        let mut log = if root {
            Some(LogWriter::open(&self.run, Some(state.step))?)
        } else {
            None
        };
        let total_estimate = cfg.steps_per_epoch * cfg.epochs;
        let quiet = self.opts.quiet || !root;
        let progress = Progress::steps(total_estimate, state.step, quiet, "pretrain");
        let mut pending = Pending::default();

        let log_every = self.opts.log_every.unwrap_or(cfg.log_every).max(1);
        let mut last_loss = None;
        let mut window = (Instant::now(), 0usize);
        let mut stopped = false;
        'epochs: while state.epoch < cfg.epochs {
            let epoch = state.epoch;
            if state.step_in_epoch == 0 {
                if let Some(ib) = infobatch.as_mut() {
                    ib.begin_epoch();
                }
            }
            let samples = epoch_samples(cfg, epoch, infobatch.as_ref(), self.data.len());
            let batches: Vec<Vec<Sample>> = samples
                .chunks_exact(cfg.global_batch)
                .map(<[Sample]>::to_vec)
                .collect();
            let steps = batches.len() as u64;
            if steps == 0 {
                bail!(
                    "epoch {epoch} has fewer images ({}) than one global batch ({})",
                    samples.len(),
                    cfg.global_batch
                );
            }
            // Under MPI each rank loads and trains on its share of every global
            // batch (contiguous, by position), so the random choices depend on
            // global positions only, not on the number of ranks.
            let mine = share(cfg.global_batch, ranks, rank);
            let remaining: Vec<Vec<Sample>> = batches
                .into_iter()
                .skip(state.step_in_epoch as usize)
                .collect();
            let todo = remaining.iter().map(|b| b[mine.clone()].to_vec()).collect();
            let mut loader = Loader::spawn(source.clone(), pool.clone(), epoch, todo, 2);
            let mut remaining = remaining.into_iter();
            while state.step_in_epoch < steps {
                let full = remaining.next().context("the epoch ran out of batches")?;
                let t = epoch as f64 + state.step_in_epoch as f64 / steps as f64;
                let mut batch = loader
                    .next_batch()
                    .context("the data loader stopped early")?;
                pending.failures += batch.failed.len();
                for (idx, err) in &batch.failed {
                    progress.warn(&format!(
                        "skipped {}: {err}",
                        self.data.items[*idx].describe()
                    ));
                }
                let lr = cfg.schedule.at(t);
                let next = state.step + 1;
                let log_now = next == 1
                    || next % log_every == 0
                    || (state.step_in_epoch + 1 == steps && epoch + 1 == cfg.epochs);
                // Losses come back (and are checked) on logging steps, before
                // every checkpoint (so a diverged model is never saved), and
                // every step when InfoBatch needs them; other steps never
                // wait for the device after selection.
                let saves = self.opts.stop_after_steps.is_some_and(|s| next >= s)
                    || self
                        .opts
                        .save_every_steps
                        .is_some_and(|s| s > 0 && next % s == 0)
                    || state.step_in_epoch + 1 == steps;
                let read = log_now || saves || infobatch.is_some();
                if world.is_some() && batch.is_empty() {
                    bail!("every image of this rank's share of step {next} failed to decode");
                }
                if batch.len() >= group.devices() {
                    let images = std::mem::take(&mut batch.images);
                    let shards = shard(
                        images,
                        &batch.samples,
                        group.devices(),
                        mine.start,
                        lr,
                        t,
                        state.step,
                        read,
                    );
                    let results = group.step(shards)?;
                    pending.images += batch.len();
                    state.step += 1;
                    state.step_in_epoch += 1;
                    if read {
                        let local: Vec<f32> = results
                            .iter()
                            .flat_map(|r| r.losses.iter().copied())
                            .collect();
                        let gathered = gather(world, &full, mine.start, &batch, &local, &pending)?;
                        pending = Pending::default();
                        state.decode_failures += gathered.failures;
                        state.images_seen += gathered.images;
                        window.1 += gathered.images as usize;
                        if let Some(ib) = infobatch.as_mut() {
                            ib.update(&gathered.indices, &gathered.losses);
                        }
                        let loss = gathered.losses.iter().map(|&l| l as f64).sum::<f64>()
                            / gathered.losses.len().max(1) as f64;
                        if !loss.is_finite() {
                            bail!("the loss became {loss} by step {next}; lower the learning rate");
                        }
                        last_loss = Some(loss);
                        if let (true, Some(log)) = (log_now, log.as_mut()) {
                            let secs = window.0.elapsed().as_secs_f64().max(1e-9);
                            let record = LogRecord {
                                step: state.step,
                                epoch: epoch as f64 + state.step_in_epoch as f64 / steps as f64,
                                lr,
                                loss,
                                stage: stage_name(cfg, t),
                                images_per_s: window.1 as f64 / secs,
                                grad_norm: results
                                    .iter()
                                    .filter_map(|r| r.grad_norm)
                                    .fold(0.0, f64::max),
                                images: gathered.losses.len(),
                                decode_failures: state.decode_failures,
                            };
                            log.write(&record)?;
                            progress.message(&format!(
                                "loss {loss:.4} lr {lr:.2e} {} {:.1} img/s",
                                record.stage, record.images_per_s
                            ));
                            window = (Instant::now(), 0);
                        }
                    }
                } else {
                    state.step_in_epoch += 1;
                }
                progress.inc();
                if state.step_in_epoch == steps {
                    state.epoch += 1;
                    state.step_in_epoch = 0;
                }
                let stop = self.opts.stop_after_steps.is_some_and(|s| state.step >= s);
                let periodic = self
                    .opts
                    .save_every_steps
                    .is_some_and(|s| s > 0 && state.step % s == 0);
                let epoch_end = state.step_in_epoch == 0;
                if root && (stop || periodic || epoch_end) {
                    save(&mut group, &self.run, &state, infobatch.as_ref(), cfg)?;
                }
                if stop && state.epoch < cfg.epochs {
                    stopped = true;
                    break 'epochs;
                }
                if epoch_end {
                    break;
                }
            }
        }
        progress.finish();
        Ok(Summary {
            run: self.run.clone(),
            steps: state.step,
            epochs_done: state.epoch as f64
                + state.step_in_epoch as f64 / cfg.steps_per_epoch.max(1) as f64,
            final_loss: last_loss,
            decode_failures: state.decode_failures,
            finished: !stopped,
        })
    }
}

fn stage_name(cfg: &PretrainConfig, t: f64) -> String {
    match cfg.method.method {
        Method::Selective => cfg.method.stage(t).name().to_string(),
        Method::Mae => "mae".to_string(),
    }
}

fn save<B: AutodiffBackend, M: TrainModel<B>>(
    group: &mut Group<B, M>,
    run: &Path,
    state: &TrainerState,
    infobatch: Option<&InfoBatch>,
    cfg: &PretrainConfig,
) -> Result<()> {
    let meta = vec![
        ("smae.method", cfg.method.method.name().to_string()),
        ("smae.step", state.step.to_string()),
    ];
    checkpoint::write_atomically(run, |dir| {
        group.save(dir, meta)?;
        if let Some(ib) = infobatch {
            ib.save(dir).context("writing InfoBatch scores")?;
        }
        checkpoint::save_state(dir, state)
    })
}

/// The samples of an epoch in training order.
pub fn epoch_samples(
    cfg: &PretrainConfig,
    epoch: u64,
    infobatch: Option<&InfoBatch>,
    n: usize,
) -> Vec<Sample> {
    match infobatch {
        Some(ib) => ib.epoch_samples(cfg.seed, epoch, cfg.epochs),
        None => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(sample_seed(
                cfg.seed,
                epoch,
                u64::MAX,
            )));
            order
                .into_iter()
                .map(|index| Sample { index, weight: 1.0 })
                .collect()
        }
    }
}

/// Counts since the last read of the losses.
#[derive(Debug, Default)]
struct Pending {
    images: usize,
    failures: usize,
}

/// What a read step learns about the whole global batch.
struct Gathered {
    /// Dataset index and loss of every sample that trained, in batch order.
    indices: Vec<usize>,
    losses: Vec<f32>,
    /// Images trained and decode failures since the last read, all ranks.
    images: u64,
    failures: u64,
}

/// The losses of the global batch `full`: this process's own, or, under
/// MPI, every rank's share summed into place with one all-reduce (with the
/// counts riding along), so that every rank sees the same losses (InfoBatch
/// stays identical everywhere) in the order one process would have them.
fn gather(
    world: Option<&crate::distributed::World>,
    full: &[Sample],
    first: usize,
    batch: &crate::data::loader::Batch,
    local: &[f32],
    pending: &Pending,
) -> Result<Gathered> {
    let Some(world) = world else {
        return Ok(Gathered {
            indices: batch.samples.iter().map(|s| s.index).collect(),
            losses: local.to_vec(),
            images: pending.images as u64,
            failures: pending.failures as u64,
        });
    };
    // [loss per position][1 where the position trained][images, failures]
    let g = full.len();
    let mut buf = vec![0f32; 2 * g + 2];
    for (&pos, &loss) in batch.positions.iter().zip(local) {
        buf[first + pos] = loss;
        buf[g + first + pos] = 1.0;
    }
    buf[2 * g] = pending.images as f32;
    buf[2 * g + 1] = pending.failures as f32;
    world.sum_f32(&mut buf)?;
    let trained: Vec<usize> = (0..g).filter(|&p| buf[g + p] > 0.5).collect();
    Ok(Gathered {
        indices: trained.iter().map(|&p| full[p].index).collect(),
        losses: trained.iter().map(|&p| buf[p]).collect(),
        images: buf[2 * g] as u64,
        failures: buf[2 * g + 1] as u64,
    })
}

/// Splits a batch into `k` contiguous shards (sizes differ by at most one)
/// that share its pixels; `base` is the batch's first position in the
/// global batch (its MPI share).
#[allow(clippy::too_many_arguments)]
fn shard(
    images: Vec<u8>,
    samples: &[Sample],
    k: usize,
    base: usize,
    lr: f64,
    epoch: f64,
    step: u64,
    read: bool,
) -> Vec<StepInput> {
    let n = samples.len();
    let plane = images.len() / n.max(1);
    let input = |images: Pixels, r: std::ops::Range<usize>| StepInput {
        images,
        weights: samples[r.clone()].iter().map(|s| s.weight).collect(),
        first: base + r.start,
        lr,
        epoch,
        step,
        read,
    };
    // A single shard holds the only reference by the time its replica
    // takes the pixels, so it gets the buffer without a copy.
    let images = Arc::new(images);
    (0..k)
        .map(|i| {
            let r = share(n, k, i);
            input(Pixels::part(&images, r.start * plane..r.end * plane), r)
        })
        .collect()
}

/// Reads the skip report of a scan for the config.
pub fn data_summary(data: &ImageFolder) -> DataSummary {
    let ScanReport { skipped, .. } = &data.report;
    DataSummary {
        path: data.root.clone(),
        images: data.len(),
        skipped: skipped.clone(),
    }
}
