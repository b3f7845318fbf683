//! AdamW as MAE configures it: betas (0.9, 0.95), eps 1e-8, weight decay on
//! matrices only (biases and other 1-D parameters are not decayed), and
//! optional clipping of the *global* gradient norm (torch's
//! `clip_grad_norm_`; Burn's own clipping works per tensor).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use smae_run::config::OptimConfig;

/// Layer index of a parameter for layer-wise lr decay (BEiT / MAE
/// fine-tuning): the patch embedding, cls token and position embedding are
/// layer 0, block `i` is layer `i + 1`, everything after the blocks
/// (final norm, heads) is layer `depth + 1`.
pub fn layer_id(path: &str, depth: usize) -> usize {
    let p = path.strip_prefix("encoder.").unwrap_or(path);
    if p.starts_with("patch_embed") || p == "cls_token" || p == "pos_embed" {
        return 0;
    }
    if let Some(rest) = p.strip_prefix("blocks.") {
        if let Some(i) = rest.split('.').next().and_then(|i| i.parse::<usize>().ok()) {
            return i + 1;
        }
    }
    depth + 1
}

/// Parameter id -> (path, rank) of every parameter.
fn param_paths<B: Backend, M: Module<B>>(module: &M) -> Vec<(ParamId, String, usize)> {
    struct Paths(Vec<String>, Vec<(ParamId, String, usize)>);
    impl<B: Backend> ModuleVisitor<B> for Paths {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            self.1.push((p.id, self.0.join("."), D));
        }
    }
    let mut v = Paths(Vec::new(), Vec::new());
    module.visit(&mut v);
    v.1
}

/// Global L2 norm of all gradients of `module`'s parameters, as a `[1]`
/// tensor left on the device (reading it back would wait for the step).
pub fn grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &GradientsParams,
) -> Tensor<B::InnerBackend, 1> {
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
        let device = module.devices().into_iter().next().unwrap_or_default();
        return Tensor::zeros([1], &device);
    }
    Tensor::cat(v.1, 0).sum().sqrt()
}

/// torch's `clip_grad_norm_` factor, `min(1, max / (norm + 1e-6))`, as a
/// `[1]` tensor on the device.
fn clip_scale<B: Backend>(norm: Tensor<B, 1>, max: f64) -> Tensor<B, 1> {
    norm.add_scalar(1e-6).recip().mul_scalar(max).clamp_max(1.0)
}

/// Splits `grads` into one set per group (`group[id]`), multiplying every
/// gradient by the `[1]` tensor `scale` on the way (on the device).
fn split_and_scale<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    group: &HashMap<ParamId, usize>,
    groups: usize,
    scale: Option<Tensor<B::InnerBackend, 1>>,
) -> Vec<GradientsParams> {
    struct Split<'a, B: AutodiffBackend> {
        all: GradientsParams,
        out: Vec<GradientsParams>,
        group: &'a HashMap<ParamId, usize>,
        scale: Option<Tensor<B::InnerBackend, 1>>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Split<'_, B> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if let Some(g) = self.all.remove::<B::InnerBackend, D>(p.id) {
                let g = match &self.scale {
                    Some(s) => g * s.clone().reshape([1; D]),
                    None => g,
                };
                let k = self.group.get(&p.id).copied().unwrap_or(0);
                self.out[k].register(p.id, g);
            }
        }
    }
    let mut v = Split::<B> {
        all: grads,
        out: (0..groups).map(|_| GradientsParams::new()).collect(),
        group,
        scale,
    };
    module.visit(&mut v);
    v.out
}

/// AdamW over parameter groups: (layer, decayed or not), each with its own
/// learning-rate scale. Pre-training uses one layer (two groups); fine-tuning
/// adds layer-wise lr decay.
pub struct GroupedAdamW<B: AutodiffBackend, M: AutodiffModule<B>> {
    optims: Vec<OptimizerAdaptor<AdamW, M, B>>,
    lr_scales: Vec<f64>,
    group: HashMap<ParamId, usize>,
    clip: Option<f64>,
}

/// The name kept for pre-training.
pub type PretrainOptimizer<B, M> = GroupedAdamW<B, M>;

type OptimRecord<B, M> = <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record;

impl<B: AutodiffBackend, M: AutodiffModule<B>> GroupedAdamW<B, M> {
    /// Two groups: decayed matrices and undecayed 1-D parameters.
    pub fn new(model: &M, cfg: &OptimConfig) -> Self {
        Self::with_layer_decay(model, cfg, None)
    }

    /// With `layer_decay = Some((decay, depth))`, layer `l` learns at
    /// `decay^(depth + 1 - l)` times the base rate.
    pub fn with_layer_decay(
        model: &M,
        cfg: &OptimConfig,
        layer_decay: Option<(f64, usize)>,
    ) -> Self {
        let mut keys: Vec<(usize, bool)> = Vec::new();
        let mut group = HashMap::new();
        for (id, path, rank) in param_paths(model) {
            let layer = layer_decay.map_or(0, |(_, depth)| layer_id(&path, depth));
            let key = (layer, rank > 1);
            let k = keys.iter().position(|x| *x == key).unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            });
            group.insert(id, k);
        }
        let optims = keys
            .iter()
            .map(|&(_, decayed)| {
                AdamWConfig::new()
                    .with_beta_1(cfg.betas.0 as f32)
                    .with_beta_2(cfg.betas.1 as f32)
                    .with_epsilon(cfg.eps as f32)
                    .with_weight_decay(if decayed {
                        cfg.weight_decay as f32
                    } else {
                        0.0
                    })
                    .init::<B, M>()
            })
            .collect();
        let lr_scales = keys
            .iter()
            .map(|&(layer, _)| match layer_decay {
                Some((decay, depth)) => decay.powi((depth + 1 - layer.min(depth + 1)) as i32),
                None => 1.0,
            })
            .collect();
        Self {
            optims,
            lr_scales,
            group,
            clip: cfg.clip_grad,
        }
    }

    /// One update. Returns the model and the gradient norm before clipping
    /// (a `[1]` tensor on the device: nothing here waits for the device).
    ///
    /// Clipping is torch's `clip_grad_norm_`: gradients times
    /// `min(1, max / (norm + 1e-6))`, computed on the device.
    pub fn step(
        &mut self,
        lr: f64,
        mut model: M,
        grads: GradientsParams,
    ) -> (M, Tensor<B::InnerBackend, 1>) {
        let norm = grad_norm(&model, &grads);
        let scale = self.clip.map(|max| clip_scale(norm.clone(), max));
        let parts = split_and_scale(&model, grads, &self.group, self.optims.len(), scale);
        for ((optim, g), s) in self.optims.iter_mut().zip(parts).zip(&self.lr_scales) {
            if !g.is_empty() {
                model = optim.step(lr * s, model, g);
            }
        }
        (model, norm)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let rec = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        for (k, o) in self.optims.iter().enumerate() {
            rec.record(o.to_record(), dir.join(format!("optimizer_{k}")))
                .context("writing optimizer state")?;
        }
        Ok(())
    }

    pub fn load(mut self, dir: &Path, device: &B::Device) -> Result<Self> {
        let rec = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let mut loaded = Vec::with_capacity(self.optims.len());
        for (k, o) in self.optims.into_iter().enumerate() {
            let r: OptimRecord<B, M> = rec
                .load(dir.join(format!("optimizer_{k}")), device)
                .with_context(|| format!("reading optimizer state (optimizer_{k}.mpk)"))?;
            loaded.push(o.load_record(r));
        }
        self.optims = loaded;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::{Linear, LinearConfig};

    type B = Autodiff<Flex>;

    /// A 3 -> 1 linear layer and `loss = sum(W x + b)`, so the gradients are
    /// known by hand: `dW = x`, `db = 1`.
    fn grads_of(x: [f32; 3]) -> (Linear<B>, GradientsParams) {
        let device = Default::default();
        let layer: Linear<B> = LinearConfig::new(3, 1).init(&device);
        let input = Tensor::<B, 1>::from_floats(x, &device).reshape([1, 3]);
        let loss = layer.forward(input).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        (layer, grads)
    }

    fn host<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
        t.into_data().convert::<f32>().into_vec().unwrap()
    }

    #[test]
    fn global_norm_and_clipping_follow_torch() {
        let (layer, grads) = grads_of([3.0, 0.0, 4.0]);
        // sqrt(3^2 + 0 + 4^2 + 1^2) = sqrt(26)
        let norm = grad_norm(&layer, &grads);
        assert!((host(norm.clone())[0] - 26f32.sqrt()).abs() < 1e-6);

        // clip_grad_norm_(max_norm = 1): every gradient times 1 / (norm + 1e-6).
        let group: HashMap<ParamId, usize> = HashMap::new();
        let scale = clip_scale(norm, 1.0);
        let mut parts = split_and_scale(&layer, grads, &group, 1, Some(scale));
        let g = parts.remove(0);
        let w = host(g.get::<Flex, 2>(layer.weight.id).unwrap());
        let coef = 1.0 / (26f32.sqrt() + 1e-6);
        for (got, want) in w.iter().zip([3.0 * coef, 0.0, 4.0 * coef]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let bias = layer.bias.as_ref().unwrap();
        assert!((host(g.get::<Flex, 1>(bias.id).unwrap())[0] - coef).abs() < 1e-6);
    }

    #[test]
    fn norm_below_the_limit_leaves_gradients_alone() {
        let (layer, grads) = grads_of([0.1, 0.2, 0.0]);
        let norm = grad_norm(&layer, &grads);
        let scale = clip_scale(norm, 5.0);
        let g = split_and_scale(&layer, grads, &HashMap::new(), 1, Some(scale)).remove(0);
        let w = host(g.get::<Flex, 2>(layer.weight.id).unwrap());
        assert_eq!(w, vec![0.1, 0.2, 0.0]);
    }

    #[test]
    fn layer_ids_follow_beit() {
        assert_eq!(layer_id("encoder.patch_embed.proj.weight", 12), 0);
        assert_eq!(layer_id("encoder.cls_token", 12), 0);
        assert_eq!(layer_id("encoder.blocks.0.attn.qkv.weight", 12), 1);
        assert_eq!(layer_id("encoder.blocks.11.mlp.fc2.bias", 12), 12);
        assert_eq!(layer_id("encoder.norm.gamma", 12), 13);
        assert_eq!(layer_id("head.weight", 12), 13);
        assert_eq!(layer_id("decode_head.cls.weight", 12), 13);
    }
}
