//! The pre-training step's device-to-host reads, counted by
//! `smae_models::host` (every read of the step path goes through it): a
//! step that logs nothing reads only SelectiveMAE's selection inputs (HOG
//! scores and pairwise similarities, together), MAE nothing; a logging step
//! adds one read (losses and gradient norm together). Skipping the reads
//! changes no number: the weights after steps that read and steps that did
//! not are identical.

use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::prelude::*;
use smae_models::host::reads;
use smae_models::{DecoderConfig, Mae, PstsSchedule, SelectionMode, SelectiveMae, VitConfig};
use smae_run::config::{MethodSpec, OptimConfig};
use smae_run::kinds::Method;
use smae_train::optim::PretrainOptimizer;
use smae_train::pretrain::build_model;
use smae_train::pretrain::method::TrainModel;
use smae_train::pretrain::replica::{Pixels, Replica, ReplicaSpec, StepInput};

type B = Autodiff<Flex>;

fn vit() -> VitConfig {
    VitConfig {
        img_size: 32,
        patch_size: 4,
        in_chans: 3,
        dim: 32,
        depth: 1,
        heads: 2,
        mlp_ratio: 4.0,
    }
}

fn decoder() -> DecoderConfig {
    DecoderConfig {
        dim: 32,
        depth: 1,
        heads: 2,
        mlp_ratio: 4.0,
    }
}

/// `selection` and a PSTS schedule whose stage at epoch 0.5 is `near`
/// (ranks candidates by similarity) or, with `random`, uniform.
fn spec(method: Method, selection: SelectionMode, random: bool) -> MethodSpec {
    let psts = if random {
        PstsSchedule::from_epochs([0.0; 4]).unwrap()
    } else {
        PstsSchedule::from_epochs([10.0, 20.0, 30.0, 40.0]).unwrap()
    };
    MethodSpec {
        method,
        mask_ratio: 0.75,
        recon_ratio: 0.25,
        selection,
        psts,
        norm_pix: true,
    }
}

fn replica<M: TrainModel<B> + burn_store::ModuleSnapshot<B>>(
    method: MethodSpec,
    clip: Option<f64>,
) -> Replica<B, M> {
    let device = Default::default();
    let model: M = build_model(&vit(), &decoder(), 7, &device, None).unwrap();
    let spec = ReplicaSpec {
        method,
        optim: OptimConfig::mae(clip),
        seed: 7,
        img_size: 32,
        in_chans: 3,
        mean: smae_run::norm::IMAGENET_MEAN,
        std: smae_run::norm::IMAGENET_STD,
        precision: Default::default(),
    };
    let optim = PretrainOptimizer::new(&model, &spec.optim);
    Replica::new(model, optim, device, spec)
}

/// A deterministic batch of 4 images with texture in some patches.
fn images() -> Vec<u8> {
    (0..4 * 3 * 32 * 32)
        .map(|i| {
            let (x, y) = (i % 32, (i / 32) % 32);
            if x < 16 && y < 16 {
                ((x * 7 + y * 13 + i / 1024) % 11 * 23) as u8
            } else {
                160
            }
        })
        .collect()
}

fn input(step: u64, read: bool) -> StepInput {
    StepInput {
        images: Pixels::new(images()),
        weights: vec![1.0; 4],
        first: 0,
        lr: 1e-3,
        epoch: 0.5,
        step,
        read,
    }
}

/// Reads made by one step.
fn reads_of<M: TrainModel<B>>(r: &mut Replica<B, M>, step: u64, read: bool) -> u64 {
    let before = reads();
    let out = r.step(input(step, read)).unwrap();
    assert_eq!(out.losses.is_empty(), !read);
    assert_eq!(out.grad_norm.is_some(), read);
    reads() - before
}

fn params<M: Module<B>>(m: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl burn::module::ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<B, D>>) {
            self.0.extend(
                p.val()
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .unwrap(),
            );
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

#[test]
fn selective_mae_reads_its_selection_once_per_step() {
    let mut r = replica::<SelectiveMae<B>>(
        spec(Method::Selective, SelectionMode::HogTopk, false),
        Some(1.0),
    );
    assert_eq!(reads_of(&mut r, 0, false), 1, "HOG scores + similarities");
    assert_eq!(
        reads_of(&mut r, 1, true),
        2,
        "plus losses and gradient norm"
    );
}

#[test]
fn uniform_selection_in_the_random_stage_reads_nothing() {
    let mut r = replica::<SelectiveMae<B>>(
        spec(Method::Selective, SelectionMode::Uniform, true),
        Some(1.0),
    );
    assert_eq!(reads_of(&mut r, 0, false), 0);
    assert_eq!(reads_of(&mut r, 1, true), 1);
}

#[test]
fn mae_step_reads_nothing_unless_asked() {
    let mut r = replica::<Mae<B>>(spec(Method::Mae, SelectionMode::Uniform, false), None);
    assert_eq!(reads_of(&mut r, 0, false), 0);
    assert_eq!(reads_of(&mut r, 1, true), 1);
}

/// Reading or not is invisible to the numbers, with clipping active (a
/// tiny clip norm scales every step's gradients on the device).
#[test]
fn skipping_reads_changes_no_weight() {
    let run = |read: bool| {
        let mut r = replica::<SelectiveMae<B>>(
            spec(Method::Selective, SelectionMode::HogTopk, false),
            Some(1e-3),
        );
        for step in 0..3 {
            r.step(input(step, read)).unwrap();
        }
        params(r.model())
    };
    assert_eq!(run(false), run(true));
}

/// The gradient norm read back is the raw one, before clipping: with a
/// clip norm of 1e-3 it is still well above 1e-3.
#[test]
fn reported_norm_is_before_clipping() {
    let mut r = replica::<Mae<B>>(spec(Method::Mae, SelectionMode::Uniform, false), Some(1e-3));
    let out = r.step(input(0, true)).unwrap();
    let norm = out.grad_norm.unwrap();
    assert!(norm.is_finite() && norm > 1e-2, "norm {norm}");
    assert_eq!(out.losses.len(), 4);
}

/// The device normalises the 8-bit upload exactly as the host did before
/// (`smae_run::norm::normalize_into`, the f32 reference): same operations,
/// same order, bit for bit on the CPU backend.
#[test]
fn pixels_are_normalised_on_the_device_as_on_the_host() {
    let r =
        replica::<SelectiveMae<B>>(spec(Method::Selective, SelectionMode::HogTopk, false), None);
    let px = images();
    let got = r
        .images(px.clone(), 4)
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap();
    let plane = 32 * 32;
    let mut want = Vec::new();
    for img in px.chunks(3 * plane) {
        let rgb = image::RgbImage::from_fn(32, 32, |x, y| {
            let i = (y * 32 + x) as usize;
            image::Rgb([img[i], img[plane + i], img[2 * plane + i]])
        });
        let mut out = vec![0f32; 3 * plane];
        smae_run::norm::normalize_into(
            &rgb,
            &smae_run::norm::IMAGENET_MEAN,
            &smae_run::norm::IMAGENET_STD,
            &mut out,
        );
        want.extend(out);
    }
    assert_eq!(got, want);
}
