//! The three task models as the fine-tuning loop sees them: built from the
//! run configuration (seeded init, the init run's encoder, stochastic
//! depth), the loss of a batch, and the trained model for evaluation.

use std::path::Path;

use anyhow::{bail, Result};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use smae_models::fcos::{assign, loss as fcos_loss, GtObject};
use smae_models::{Classifier, Detector, Segmenter, Vit, VitConfig};
use smae_run::model::{build_task, TaskModel as Inference, TaskNet};
use smae_run::params::stable_ids;
use smae_run::{weights, FinetuneConfig};

use super::losses::{label_smoothed_ce, masked_ce};

/// The three task models seen by the training loop.
pub trait TaskModel<B: AutodiffBackend>: TaskNet<B> + AutodiffModule<B> + Send + 'static {
    /// The trained model for evaluation (no gradients).
    fn inference(model: Self::InnerModule) -> Inference<B::InnerBackend>;
    /// Loss of a batch of normalised images `[n, 3, s, s]`, with named parts to log.
    fn batch_loss(
        &self,
        imgs: Tensor<B, 4>,
        batch: Batch,
        cfg: &FinetuneConfig,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f64)>);
}

impl<B: AutodiffBackend> TaskModel<B> for Classifier<B> {
    fn inference(model: Classifier<B::InnerBackend>) -> Inference<B::InnerBackend> {
        Inference::Classify(model)
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
    fn inference(model: Segmenter<B::InnerBackend>) -> Inference<B::InnerBackend> {
        Inference::Segment(model)
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
    fn inference(model: Detector<B::InnerBackend>) -> Inference<B::InnerBackend> {
        Inference::Detect(model)
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
) -> Result<M> {
    let mut model: M = build_task(cfg, device, checkpoint)?;
    if let (None, Some(init)) = (checkpoint, &cfg.init.run) {
        load_init_encoder(model.encoder_mut(), init, &cfg.vit)?;
    }
    model.encoder_mut().set_drop_path(cfg.drop_path);
    Ok(stable_ids(model))
}

/// The encoder of `init` (a pre-training or import run) for `vit`, with the
/// position embedding resampled when the grid differs.
pub fn load_init_encoder<B: Backend>(vit: &mut Vit<B>, init: &Path, cfg: &VitConfig) -> Result<()> {
    let (init_cfg, file) = smae_run::dir::encoder(init)?;
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
    // Different input size: select and resample with the import machinery,
    // then load from memory.
    let (raw, source) = crate::import::read_checkpoint(&file)?;
    let (state, _) = crate::import::encoder_state(raw, source, cfg, "the fine-tuning encoder")?;
    let bytes = crate::import::state_bytes(&state, Default::default())?;
    let what = format!("{} resampled to {} px", file.display(), cfg.img_size);
    weights::load_encoder_bytes(vit, bytes, &what).map(|_| ())
}

/// The batch's images on the device: `[n, 3, s, s]`.
pub fn batch_images<B: Backend>(batch: &Batch, s: usize, device: &B::Device) -> Tensor<B, 4> {
    let p = match batch {
        Batch::Classify { pixels, .. }
        | Batch::Segment { pixels, .. }
        | Batch::Detect { pixels, .. } => pixels.clone(),
    };
    let n = p.len() / (3 * s * s);
    Tensor::<B, 1>::from_data(TensorData::new(p, [n * 3 * s * s]), device).reshape([n, 3, s, s])
}
