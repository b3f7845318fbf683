//! One model + optimizer per device, and data parallelism across devices
//! with Burn's collective all-reduce (`burn::collective`): each replica runs
//! forward and backward on its shard of the global batch, gradients are
//! averaged in one flattened all-reduce per step
//! (`distributed::average_gradients`), and every replica takes the same
//! optimizer step, so the replicas stay identical.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context, Result};
use burn::collective::{self, CollectiveConfig, PeerId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::DType;

use smae_models::host::read_f32;
use smae_models::precision::{self, Precision};
use smae_run::checkpoint::MODEL;
use smae_run::config::{MethodSpec, OptimConfig};
use smae_run::weights;

use super::method::{sample_rngs, TrainModel};
use crate::distributed::{average_gradients, Peers, World};
use crate::optim::PretrainOptimizer;

/// A shard's 8-bit pixels, `[n, 3, size, size]` channel-major: a range of
/// the loader's batch, shared by every shard of it, so each replica copies
/// out only its own part, on its own thread (a single shard takes the
/// batch's buffer without a copy).
#[derive(Debug, Clone, Default)]
pub struct Pixels {
    batch: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl Pixels {
    /// The whole of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        let range = 0..bytes.len();
        Self {
            batch: Arc::new(bytes),
            range,
        }
    }

    /// Bytes `range` of a shared batch.
    pub fn part(batch: &Arc<Vec<u8>>, range: Range<usize>) -> Self {
        Self {
            batch: batch.clone(),
            range,
        }
    }

    pub fn into_vec(self) -> Vec<u8> {
        if self.range == (0..self.batch.len()) {
            return Arc::try_unwrap(self.batch).unwrap_or_else(|b| b.to_vec());
        }
        self.batch[self.range].to_vec()
    }
}

/// A shard of one optimizer step.
#[derive(Debug, Clone)]
pub struct StepInput {
    /// `[n, 3, size, size]` 8-bit pixels, normalised on the device.
    pub images: Pixels,
    pub weights: Vec<f32>,
    /// Position of the shard's first sample in the global batch.
    pub first: usize,
    pub lr: f64,
    /// Fractional epoch, for the PSTS stage.
    pub epoch: f64,
    pub step: u64,
    /// Read the losses and the gradient norm back (one read, which waits
    /// for the step to finish); without it the step never waits for the
    /// device after selection, and the next step queues behind it.
    pub read: bool,
}

impl StepInput {
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

/// What a step read back: empty unless its input asked (`read`).
#[derive(Debug, Clone, Default)]
pub struct StepResult {
    /// Per-sample losses of the shard.
    pub losses: Vec<f32>,
    /// Global gradient norm before clipping (after the all-reduce).
    pub grad_norm: Option<f64>,
}

/// What every replica shares.
#[derive(Debug, Clone)]
pub struct ReplicaSpec {
    pub method: MethodSpec,
    pub optim: OptimConfig,
    pub seed: u64,
    pub img_size: usize,
    pub in_chans: usize,
    /// Per-channel normalisation applied on the device after the upload.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub precision: Precision,
}

pub struct Replica<B: AutodiffBackend, M: TrainModel<B>> {
    model: Option<M>,
    optim: PretrainOptimizer<B, M>,
    device: B::Device,
    peer: Option<PeerId>,
    /// Other processes (MPI ranks) whose gradients are summed with ours.
    world: Option<&'static World>,
    spec: ReplicaSpec,
}

impl<B: AutodiffBackend, M: TrainModel<B>> Replica<B, M> {
    pub fn new(
        model: M,
        optim: PretrainOptimizer<B, M>,
        device: B::Device,
        spec: ReplicaSpec,
    ) -> Self {
        Self {
            model: Some(model),
            optim,
            device,
            peer: None,
            world: None,
            spec,
        }
    }

    /// Sums gradients with the other ranks of `world` every step.
    pub fn across(mut self, world: Option<&'static World>) -> Self {
        self.world = world;
        self
    }

    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("replica holds its model between steps")
    }

    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// Uploads a shard's 8-bit pixels `[n, 3, size, size]` and normalises
    /// them on the device: `(x / 255 - mean) / std`, the same f32 operations
    /// in the same order as on the host. Backends without 8-bit tensors
    /// (WGSL) get the pixel values as f32.
    pub fn images(&self, pixels: Vec<u8>, n: usize) -> Tensor<B, 4> {
        let s = self.spec.img_size;
        let shape = [n, 3, s, s];
        let raw: Tensor<B, 4> = if B::supports_dtype(&self.device, DType::U8) {
            Tensor::<B, 4, Int>::from_data(
                TensorData::new(pixels, shape),
                (&self.device, DType::U8),
            )
            .float()
        } else {
            let values: Vec<f32> = pixels.into_iter().map(f32::from).collect();
            Tensor::from_data(TensorData::new(values, shape), &self.device)
        };
        let channel =
            |v: [f32; 3]| Tensor::<B, 1>::from_floats(v, &self.device).reshape([1, 3, 1, 1]);
        raw.div_scalar(255.0)
            .sub(channel(self.spec.mean))
            .div(channel(self.spec.std))
    }

    pub fn step(&mut self, mut input: StepInput) -> Result<StepResult> {
        let pixels = std::mem::take(&mut input.images).into_vec();
        let imgs = self.images(pixels, input.len());
        self.step_on(imgs, input)
    }

    /// One step on images already on the device (`input.images` is ignored).
    pub fn step_on(&mut self, imgs: Tensor<B, 4>, input: StepInput) -> Result<StepResult> {
        let n = input.len();
        let model = self
            .model
            .take()
            .expect("replica holds its model between steps");
        let mut rngs = sample_rngs(self.spec.seed, input.step, input.first, n);
        let losses = precision::with(self.spec.precision, || {
            model.losses(imgs, &self.spec.method, input.epoch, &mut rngs)
        });
        let w = Tensor::<B, 1>::from_data(TensorData::new(input.weights, [n]), &self.device);
        let loss = (losses.clone() * w).mean();
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        if let Some(peer) = self.peer {
            grads = average_gradients(&model, grads, n, Peers::Devices(peer))?;
        }
        if let Some(world) = self.world {
            grads = average_gradients(&model, grads, n, Peers::Ranks(world))?;
        }
        let (model, grad_norm) = self.optim.step(input.lr, model, grads);
        self.model = Some(model);
        if !input.read {
            return Ok(StepResult::default());
        }
        let mut values = read_f32(Tensor::cat(vec![losses.inner(), grad_norm], 0));
        let norm = values.pop().map(f64::from);
        Ok(StepResult {
            losses: values,
            grad_norm: norm,
        })
    }

    /// Writes `model.safetensors` (official names) and the optimizer state.
    pub fn save(&self, dir: &Path, metadata: &[(&str, String)]) -> Result<()> {
        weights::save_official(self.model(), &dir.join(MODEL), metadata)?;
        self.optim.save(dir)
    }
}

/// Only one collective session per process at a time.
static COLLECTIVE: Mutex<()> = Mutex::new(());

enum Command {
    Step(StepInput),
    Save(PathBuf, Vec<(&'static str, String)>),
}

enum Reply {
    Step(Result<StepResult>),
    Saved(Result<()>),
}

pub struct Worker {
    tx: Option<Sender<Command>>,
    rx: Receiver<Reply>,
    handle: Option<JoinHandle<()>>,
}

/// The replicas of a run: one in this thread, or one thread per device.
pub enum Group<B: AutodiffBackend, M: TrainModel<B>> {
    Single(Box<Replica<B, M>>),
    Multi {
        workers: Vec<Worker>,
        _session: MutexGuard<'static, ()>,
    },
}

impl<B: AutodiffBackend, M: TrainModel<B>> Group<B, M> {
    /// Places `model` (parameters materialised, stable ids) and a fresh or
    /// restored optimizer on every device.
    pub fn new(
        model: M,
        devices: &[B::Device],
        spec: ReplicaSpec,
        optim_state: Option<&Path>,
        world: Option<&'static World>,
    ) -> Result<Self> {
        let make = |device: &B::Device| -> Result<Replica<B, M>> {
            let m = model.clone().fork(device);
            let mut optim = PretrainOptimizer::new(&m, &spec.optim);
            if let Some(dir) = optim_state {
                optim = optim.load(dir, device)?;
            }
            Ok(Replica::new(m, optim, device.clone(), spec.clone()))
        };
        if devices.len() == 1 {
            return Ok(Self::Single(Box::new(make(&devices[0])?.across(world))));
        }
        if world.is_some() {
            bail!("under MPI each rank drives one device; start one rank per device");
        }
        let session = COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
        let n = devices.len();
        let mut workers = Vec::with_capacity(n);
        for (i, device) in devices.iter().enumerate() {
            let mut replica = make(device)?;
            let (tx, cmd_rx) = channel::<Command>();
            let (reply_tx, rx) = channel::<Reply>();
            let device = device.clone();
            let handle = std::thread::Builder::new()
                .name(format!("replica-{i}"))
                .spawn(move || {
                    let peer = PeerId::from(i as u32);
                    let config = CollectiveConfig::default().with_num_devices(n);
                    if let Err(e) = collective::register::<B::InnerBackend>(peer, device, config) {
                        let _ = reply_tx.send(Reply::Step(Err(anyhow!(
                            "collective registration failed: {e:?}"
                        ))));
                        return;
                    }
                    replica.peer = Some(peer);
                    while let Ok(cmd) = cmd_rx.recv() {
                        let reply = match cmd {
                            Command::Step(input) => Reply::Step(replica.step(input)),
                            Command::Save(dir, meta) => Reply::Saved(replica.save(&dir, &meta)),
                        };
                        if reply_tx.send(reply).is_err() {
                            break;
                        }
                    }
                    let _ = collective::finish_collective::<B::InnerBackend>(peer);
                })
                .context("starting a replica thread")?;
            workers.push(Worker {
                tx: Some(tx),
                rx,
                handle: Some(handle),
            });
        }
        Ok(Self::Multi {
            workers,
            _session: session,
        })
    }

    pub fn devices(&self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Multi { workers, .. } => workers.len(),
        }
    }

    /// Runs one step with one shard per replica.
    pub fn step(&mut self, shards: Vec<StepInput>) -> Result<Vec<StepResult>> {
        match self {
            Self::Single(r) => Ok(vec![r.step(shards.into_iter().next().context("no shard")?)?]),
            Self::Multi { workers, .. } => {
                for (w, s) in workers.iter().zip(shards) {
                    w.tx.as_ref()
                        .context("replica stopped")?
                        .send(Command::Step(s))
                        .map_err(|_| anyhow!("a replica thread died"))?;
                }
                workers
                    .iter()
                    .map(|w| match w.rx.recv() {
                        Ok(Reply::Step(r)) => r,
                        Ok(Reply::Saved(_)) => Err(anyhow!("replica protocol error")),
                        Err(_) => Err(anyhow!("a replica thread died")),
                    })
                    .collect()
            }
        }
    }

    /// Replica 0 writes the checkpoint files into `dir`.
    pub fn save(&mut self, dir: &Path, metadata: Vec<(&'static str, String)>) -> Result<()> {
        match self {
            Self::Single(r) => r.save(dir, &metadata),
            Self::Multi { workers, .. } => {
                let w = &workers[0];
                w.tx.as_ref()
                    .context("replica stopped")?
                    .send(Command::Save(dir.to_path_buf(), metadata))
                    .map_err(|_| anyhow!("a replica thread died"))?;
                match w.rx.recv() {
                    Ok(Reply::Saved(r)) => r,
                    _ => Err(anyhow!("a replica thread died while saving")),
                }
            }
        }
    }

    /// The model of the first replica (single-device runs only).
    pub fn single_model(&self) -> Option<&M> {
        match self {
            Self::Single(r) => Some(r.model()),
            Self::Multi { .. } => None,
        }
    }
}

impl<B: AutodiffBackend, M: TrainModel<B>> Drop for Group<B, M> {
    fn drop(&mut self) {
        if let Self::Multi { workers, .. } = self {
            for w in workers.iter_mut() {
                w.tx.take();
            }
            for w in workers.iter_mut() {
                if let Some(h) = w.handle.take() {
                    let _ = h.join();
                }
            }
            collective::reset_collective::<B::InnerBackend>();
        }
    }
}
