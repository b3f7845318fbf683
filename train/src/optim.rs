//! AdamW as MAE configures it: betas (0.9, 0.95), eps 1e-8, weight decay on
//! matrices only (biases and other 1-D parameters are not decayed), and
//! optional clipping of the *global* gradient norm (torch's
//! `clip_grad_norm_`; Burn's own clipping works per tensor).

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ElementConversion;

/// Gives every parameter an id derived from its path (FNV-1a), so ids are
/// the same in every process, replica and resumed run; optimizer state and
/// gradient all-reduce are keyed by them.
pub fn stable_ids<B: Backend, M: Module<B>>(module: M) -> M {
    struct StableIds(Vec<String>);
    impl<B: Backend> ModuleMapper<B> for StableIds {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (_, tensor, mapper) = param.consume();
            Param::from_mapped_value(ParamId::from(fnv1a(&self.0.join("."))), tensor, mapper)
        }
    }
    module.map(&mut StableIds(Vec::new()))
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Ids of parameters that get no weight decay: 1-D tensors (biases, norms).
fn no_decay_ids<B: Backend, M: Module<B>>(module: &M) -> HashSet<ParamId> {
    struct OneD(HashSet<ParamId>);
    impl<B: Backend> ModuleVisitor<B> for OneD {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if D == 1 {
                self.0.insert(p.id);
            }
        }
    }
    let mut v = OneD(HashSet::new());
    module.visit(&mut v);
    v.0
}

/// Global L2 norm of all gradients of `module`'s parameters.
pub fn grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &GradientsParams,
) -> f64 {
    struct Squares<'a, B: AutodiffBackend>(&'a GradientsParams, Vec<Tensor<B::InnerBackend, 1>>);
    impl<B: AutodiffBackend> ModuleVisitor<B> for Squares<'_, B> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if let Some(g) = self.0.get::<B::InnerBackend, D>(p.id) {
                self.1.push(g.square().sum());
            }
        }
    }
    let mut v = Squares::<B>(grads, Vec::new());
    module.visit(&mut v);
    if v.1.is_empty() {
        return 0.0;
    }
    let total: f64 = Tensor::cat(v.1, 0).sum().into_scalar().elem();
    total.sqrt()
}

/// Moves the gradients of `ids` out of `grads` into a new set, scaling every
/// gradient by `scale` on the way.
fn split_and_scale<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    ids: &HashSet<ParamId>,
    scale: Option<f64>,
) -> (GradientsParams, GradientsParams) {
    struct Split<'a, B: AutodiffBackend> {
        rest: GradientsParams,
        picked: GradientsParams,
        ids: &'a HashSet<ParamId>,
        scale: Option<f64>,
        _b: std::marker::PhantomData<B>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Split<'_, B> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if let Some(g) = self.rest.remove::<B::InnerBackend, D>(p.id) {
                let g = match self.scale {
                    Some(s) => g.mul_scalar(s),
                    None => g,
                };
                if self.ids.contains(&p.id) {
                    self.picked.register(p.id, g);
                } else {
                    self.rest.register(p.id, g);
                }
            }
        }
    }
    let mut v = Split::<B> {
        rest: grads,
        picked: GradientsParams::new(),
        ids,
        scale,
        _b: std::marker::PhantomData,
    };
    module.visit(&mut v);
    (v.rest, v.picked)
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptimConfig {
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// Clip the global gradient norm to this value.
    pub clip_grad: Option<f64>,
}

impl OptimConfig {
    pub fn mae(clip_grad: Option<f64>) -> Self {
        Self {
            weight_decay: 0.05,
            betas: (0.9, 0.95),
            eps: 1e-8,
            clip_grad,
        }
    }
}

pub struct PretrainOptimizer<B: AutodiffBackend, M: AutodiffModule<B>> {
    decay: OptimizerAdaptor<AdamW, M, B>,
    no_decay: OptimizerAdaptor<AdamW, M, B>,
    no_decay_ids: HashSet<ParamId>,
    clip: Option<f64>,
}

type OptimRecord<B, M> = <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record;

impl<B: AutodiffBackend, M: AutodiffModule<B>> PretrainOptimizer<B, M> {
    pub fn new(model: &M, cfg: &OptimConfig) -> Self {
        let adamw = |wd: f64| {
            AdamWConfig::new()
                .with_beta_1(cfg.betas.0 as f32)
                .with_beta_2(cfg.betas.1 as f32)
                .with_epsilon(cfg.eps as f32)
                .with_weight_decay(wd as f32)
                .init::<B, M>()
        };
        Self {
            decay: adamw(cfg.weight_decay),
            no_decay: adamw(0.0),
            no_decay_ids: no_decay_ids(model),
            clip: cfg.clip_grad,
        }
    }

    /// One update. Returns the model and the gradient norm before clipping.
    pub fn step(&mut self, lr: f64, model: M, grads: GradientsParams) -> (M, f64) {
        let norm = grad_norm(&model, &grads);
        let scale = self.clip.and_then(|max| {
            let coef = max / (norm + 1e-6);
            (coef < 1.0).then_some(coef)
        });
        let (decay, no_decay) = split_and_scale(&model, grads, &self.no_decay_ids, scale);
        let model = self.decay.step(lr, model, decay);
        let model = self.no_decay.step(lr, model, no_decay);
        (model, norm)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let rec = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        rec.record(self.decay.to_record(), dir.join("optimizer_decay"))
            .context("writing optimizer state")?;
        rec.record(self.no_decay.to_record(), dir.join("optimizer_no_decay"))
            .context("writing optimizer state")?;
        Ok(())
    }

    pub fn load(mut self, dir: &Path, device: &B::Device) -> Result<Self> {
        let rec = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let d: OptimRecord<B, M> = rec
            .load(dir.join("optimizer_decay"), device)
            .context("reading optimizer state (optimizer_decay.mpk)")?;
        let n: OptimRecord<B, M> = rec
            .load(dir.join("optimizer_no_decay"), device)
            .context("reading optimizer state (optimizer_no_decay.mpk)")?;
        self.decay = self.decay.load_record(d);
        self.no_decay = self.no_decay.load_record(n);
        Ok(self)
    }
}
