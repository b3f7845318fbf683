//! The models a run holds, built from its configuration and weights.
//!
//! [`TaskNet`] builds a fine-tuning model (seeded init, stable parameter
//! ids, a checkpoint when given). [`TaskModel`] is the inference side that
//! export and evaluation share: its [`TaskModel::reference`] outputs are
//! exactly what the exported ONNX graph computes, so evaluation through it
//! measures what users run.

use std::path::Path;

use anyhow::{bail, Result};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn_store::ModuleSnapshot;
use smae_models::{Classifier, Detector, Segmenter, Vit};

use crate::checkpoint::{self, MODEL};
use crate::config::{FinetuneConfig, RunConfig};
use crate::kinds::Task;
use crate::params::stable_ids;
use crate::weights;

/// A fine-tuning model: encoder + task head.
pub trait TaskNet<B: Backend>: Module<B> + ModuleSnapshot<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self;
    fn encoder_mut(&mut self) -> &mut Vit<B>;
}

impl<B: Backend> TaskNet<B> for Classifier<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self {
        Classifier::new(&cfg.vit, cfg.classes.len(), cfg.global_pool, device)
    }
    fn encoder_mut(&mut self) -> &mut Vit<B> {
        &mut self.encoder
    }
}

impl<B: Backend> TaskNet<B> for Segmenter<B> {
    fn build(cfg: &FinetuneConfig, device: &B::Device) -> Self {
        Segmenter::new(&cfg.vit, cfg.classes.len(), cfg.channels, device)
    }
    fn encoder_mut(&mut self) -> &mut Vit<B> {
        &mut self.encoder
    }
}

impl<B: Backend> TaskNet<B> for Detector<B> {
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
}

/// Builds a task model for `cfg`: seeded init (under Burn's generator lock,
/// so concurrent builds in one process stay reproducible), stable parameter
/// ids, and the weights of `checkpoint` when given.
pub fn build_task<B: Backend, M: TaskNet<B>>(
    cfg: &FinetuneConfig,
    device: &B::Device,
    checkpoint: Option<&Path>,
) -> Result<M> {
    let mut model = {
        let _g = crate::seed::lock();
        B::seed(device, cfg.seed);
        stable_ids(M::build(cfg, device))
    };
    if let Some(dir) = checkpoint {
        weights::load_official(&mut model, &dir.join(MODEL))?;
        model = stable_ids(model);
    }
    Ok(model)
}

/// A model of any exportable task, on a non-autodiff backend.
#[allow(clippy::large_enum_variant)]
pub enum TaskModel<B: Backend> {
    Embed(Vit<B>),
    Classify(Classifier<B>),
    Segment(Segmenter<B>),
    Detect(Detector<B>),
}

impl<B: Backend> TaskModel<B> {
    /// The model of `run` for `task` (`None`: the encoder alone, from any
    /// run), with its latest weights.
    pub fn open(run: &Path, task: Option<Task>, device: &B::Device) -> Result<Self> {
        let config = RunConfig::read(run)?;
        let ckpt = checkpoint::require(run)?;
        let Some(task) = task else {
            let mut vit = Vit::<B>::new(config.vit(), device);
            weights::load_encoder(&mut vit, &ckpt.join(MODEL))?;
            return Ok(TaskModel::Embed(vit));
        };
        let RunConfig::Finetune(cfg) = config else {
            bail!(
                "{} is a {} run: it has no {task} head (export `--task embed`, or fine-tune first)",
                run.display(),
                config.kind().name()
            );
        };
        if cfg.task != task {
            bail!(
                "{} was fine-tuned for {}, not {task}",
                run.display(),
                cfg.task
            );
        }
        Self::from_checkpoint(&cfg, &ckpt, device)
    }

    /// The fine-tuned model of `cfg` with the weights of checkpoint `dir`.
    pub fn from_checkpoint(cfg: &FinetuneConfig, dir: &Path, device: &B::Device) -> Result<Self> {
        let d = Some(dir);
        Ok(match cfg.task {
            Task::Classify => TaskModel::Classify(build_task(cfg, device, d)?),
            Task::Segment => TaskModel::Segment(build_task(cfg, device, d)?),
            Task::Detect | Task::DetectObb => TaskModel::Detect(build_task(cfg, device, d)?),
        })
    }

    /// `embed` or the head's task name.
    pub fn task(&self) -> &'static str {
        match self {
            TaskModel::Embed(_) => "embed",
            TaskModel::Classify(_) => Task::Classify.name(),
            TaskModel::Segment(_) => Task::Segment.name(),
            TaskModel::Detect(d) if d.oriented() => Task::DetectObb.name(),
            TaskModel::Detect(_) => Task::Detect.name(),
        }
    }

    pub fn encoder(&self) -> &Vit<B> {
        match self {
            TaskModel::Embed(v) => v,
            TaskModel::Classify(c) => &c.encoder,
            TaskModel::Segment(s) => &s.encoder,
            TaskModel::Detect(d) => &d.encoder,
        }
    }

    /// The outputs of the exported graph, computed in Burn, in its output
    /// order: embed `[tokens, cls]`; classify `[1, n, k]` probabilities;
    /// segment `[n, k, h*w]` probabilities; detect boxes `[n, A, 4|5]` and
    /// scores `[n, A, k]`.
    pub fn reference(&self, x: Tensor<B, 4>) -> Vec<Tensor<B, 3>> {
        match self {
            TaskModel::Embed(v) => {
                let t = v.forward(x);
                let [n, _, d] = t.dims();
                let cls = t.clone().narrow(1, 0, 1).reshape([1, n, d]);
                vec![t, cls]
            }
            TaskModel::Classify(c) => {
                let p = softmax(c.forward(x), 1);
                let [n, k] = p.dims();
                vec![p.reshape([1, n, k])]
            }
            TaskModel::Segment(s) => {
                let p = softmax(s.forward(x), 1);
                let [n, k, h, w] = p.dims();
                vec![p.reshape([n, k, h * w])]
            }
            TaskModel::Detect(d) => {
                let (b, s) = d.decode(x);
                vec![b, s]
            }
        }
    }
}
