//! Burn's `wgpu` backend, which runs the same CubeCL kernels and fusion as
//! the CUDA backend, against the `flex` CPU backend: with the same weights
//! and batch, a pre-training step of each method and a fine-tuning step of
//! each task give the same selection, loss and gradients; and a short
//! pre-training run on `--device wgpu` completes and resumes on the CPU.
//!
//! Here the adapter is Mesa's lavapipe (software Vulkan on the CPU,
//! `mesa-vulkan-drivers`, installed by scripts/setup.sh): a missing Vulkan
//! driver fails these tests, it does not skip them. Lavapipe compiles every
//! kernel on the CPU, so the models are tiny.

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{flex::FlexDevice, Autodiff, Flex, Wgpu};
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn_store::ModuleSnapshot;
use smae_geom::{BBox, RBox};
use smae_models::fcos::GtObject;
use smae_models::{
    Classifier, DecoderConfig, Detector, Mae, PstsSchedule, Segmenter, SelectionMode, SelectiveMae,
    SelectiveStep, VitConfig,
};
use smae_run::config::{FinetuneConfig, InitSource, MethodSpec, OptimConfig};
use smae_run::kinds::{Method, Task};
use smae_run::model::build_task;
use smae_run::schedule::LrSchedule;
use smae_run::weights;
use smae_tests::{json, make_chips, smae, Scratch};
use smae_train::finetune::tasks::{batch_images, Batch, TaskModel};
use smae_train::pretrain::build_model;
use smae_train::pretrain::method::{sample_rngs, Pretrainer};

type Cpu = Autodiff<Flex>;
type Gpu = Autodiff<Wgpu>;

/// Lavapipe's adapter (the only one here). wgpu complains on stderr when
/// XDG_RUNTIME_DIR is unset; point it at a private folder. CubeCL's
/// autotuning compiles and times every candidate kernel of a matmul or
/// reduction, which lavapipe compiles slowly on the CPU: keep it minimal
/// (it picks among kernels that all compute the same result), and start
/// from the choices it made here before (`autotune/`, its cache for these
/// tests on lavapipe), so that only the chosen kernels are compiled.
fn gpu() -> WgpuDevice {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        seed_autotune_cache();
        if std::env::var_os("CUBECL_AUTOTUNE_LEVEL").is_none() {
            // SAFETY: as below.
            unsafe { std::env::set_var("CUBECL_AUTOTUNE_LEVEL", "minimal") };
        }
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join(format!("smae-xdg-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            // SAFETY: set once, before any wgpu call and any other thread
            // of this test reads the environment.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
        }
    });
    WgpuDevice::DefaultDevice
}

/// Copies `autotune/` into CubeCL's cache for this package (`target/autotune`
/// beside the nearest Cargo.toml above the working directory, i.e. tests/:
/// cargo runs tests there) unless it has one. Keys not in it (another
/// device, a changed test) are tuned as usual and appended there.
fn seed_autotune_cache() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (seed, cache) = (
        here.join("tests/wgpu/autotune"),
        here.join("target/autotune"),
    );
    if cache.exists() || std::env::current_dir().ok().as_deref() != Some(here) {
        return;
    }
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&seed, &cache);
}

const SIZE: usize = 32;

fn vit() -> VitConfig {
    VitConfig {
        img_size: SIZE,
        patch_size: 4,
        in_chans: 3,
        dim: 32,
        depth: 2,
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

/// Normalised pixels of `n` images `[n, 3, SIZE, SIZE]`: seeded noise over
/// smooth gradients, so HOG scores and token similarities are well apart
/// (a near tie could rank differently by float rounding on two backends).
fn pixels(n: usize) -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n * 3 * SIZE * SIZE)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let (x, y) = ((i % SIZE) as f32, ((i / SIZE) % SIZE) as f32);
            noise * (1.0 + x / 8.0) + (y / SIZE as f32) - 0.5
        })
        .collect()
}

fn upload<B: Backend>(p: &[f32], device: &B::Device) -> Tensor<B, 4> {
    let n = p.len() / (3 * SIZE * SIZE);
    Tensor::<B, 1>::from_data(TensorData::new(p.to_vec(), [p.len()]), device)
        .reshape([n, 3, SIZE, SIZE])
}

/// Gives `dst` (on wgpu) the weights of `src` (on flex), through the
/// checkpoint format both backends read.
fn copy_weights<A: ModuleSnapshot<Cpu>, G: ModuleSnapshot<Gpu>>(src: &A, dst: &mut G, name: &str) {
    let dir = Scratch::new(&format!("wgpu-weights-{name}"));
    let file = dir.path().join("model.safetensors");
    weights::save_official(src, &file, &[]).unwrap();
    weights::load_official(dst, &file).unwrap();
}

/// Every parameter's gradient of `loss`, in module order (empty where a
/// parameter gets none).
fn gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    loss: Tensor<B, 1>,
) -> Vec<Vec<f32>> {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        out: Vec<Vec<f32>>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            let g = self.grads.get::<B::InnerBackend, D>(p.id);
            self.out
                .push(g.map_or_else(Vec::new, |g| g.into_data().to_vec::<f32>().unwrap()));
        }
    }
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let mut c = Collect {
        grads: &grads,
        out: Vec::new(),
    };
    model.visit(&mut c);
    c.out
}

fn values<B: Backend>(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

/// Losses within 1e-3 relative; every gradient within 1e-3 of its
/// tensor's largest magnitude (float sums in another order, fused kernels;
/// UperNet's GroupNorm over few elements is the loosest, ~2e-4 on the loss).
fn assert_close(what: &str, loss: (&[f32], &[f32]), grads: (&[Vec<f32>], &[Vec<f32>])) {
    assert_eq!(loss.0.len(), loss.1.len(), "{what}: loss shapes");
    for (a, b) in loss.0.iter().zip(loss.1) {
        assert!(a.is_finite() && b.is_finite(), "{what}: loss {a} vs {b}");
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            "{what}: loss flex {a} vs wgpu {b}"
        );
    }
    assert_eq!(grads.0.len(), grads.1.len(), "{what}: parameter count");
    let mut compared = 0;
    // Each gradient against the largest gradient of the model: a parameter
    // whose true gradient is zero (a bias before a normalisation) has only
    // rounding noise, which differs between backends.
    let global = grads.0.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    let mut bad = Vec::new();
    for (i, (a, b)) in grads.0.iter().zip(grads.1).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: gradient {i} shape");
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        if diff > 1e-3 * scale.max(1e-2 * global) + 1e-6 {
            bad.push(format!("{i} ({} values): {diff:e} of {scale:e}", a.len()));
        }
        compared += usize::from(!a.is_empty());
    }
    assert!(bad.is_empty(), "{what}: gradients differ: {bad:#?}");
    assert!(compared > 10, "{what}: only {compared} gradients");
}

fn method(method: Method, selection: SelectionMode) -> MethodSpec {
    MethodSpec {
        method,
        mask_ratio: 0.75,
        recon_ratio: 0.25,
        selection,
        // Epoch 0.5 falls in the `near` stage: PSTS ranks by similarity.
        psts: PstsSchedule::from_epochs([0.1, 0.2, 0.3, 0.4]).unwrap(),
        norm_pix: true,
    }
}

/// One pre-training step's per-sample losses and gradients on both backends.
fn pretrain_step<C, G>(spec: &MethodSpec, name: &str)
where
    C: Pretrainer<Cpu> + ModuleSnapshot<Cpu> + AutodiffModule<Cpu>,
    G: Pretrainer<Gpu> + ModuleSnapshot<Gpu> + AutodiffModule<Gpu>,
{
    let cpu: C = build_model(&vit(), &decoder(), 3, &FlexDevice, None).unwrap();
    let mut gpu_model: G = build_model(&vit(), &decoder(), 3, &gpu(), None).unwrap();
    copy_weights(&cpu, &mut gpu_model, name);
    let p = pixels(4);
    let rngs = || sample_rngs(9, 1, 0, 4);
    let l_cpu = cpu.losses(upload(&p, &FlexDevice), spec, 0.5, &mut rngs());
    let l_gpu = gpu_model.losses(upload(&p, &gpu()), spec, 0.5, &mut rngs());
    let loss = (values(l_cpu.clone().inner()), values(l_gpu.clone().inner()));
    let grads = (
        gradients(&cpu, l_cpu.mean()),
        gradients(&gpu_model, l_gpu.mean()),
    );
    assert_close(name, (&loss.0, &loss.1), (&grads.0, &grads.1));
}

#[test]
fn selective_mae_step_matches_flex() {
    pretrain_step::<SelectiveMae<Cpu>, SelectiveMae<Gpu>>(
        &method(Method::Selective, SelectionMode::HogTopk),
        "selective-hog",
    );
}

#[test]
fn mae_step_matches_flex() {
    pretrain_step::<Mae<Cpu>, Mae<Gpu>>(&method(Method::Mae, SelectionMode::Uniform), "mae");
}

/// HOG selection and PSTS run on the device's scores and similarities:
/// the plan itself (which patches are encoded and reconstructed) is the
/// same on both backends.
#[test]
fn selective_mae_plans_the_same_patches() {
    let cpu: SelectiveMae<Cpu> = build_model(&vit(), &decoder(), 3, &FlexDevice, None).unwrap();
    let mut gpu_model: SelectiveMae<Gpu> =
        build_model(&vit(), &decoder(), 3, &gpu(), None).unwrap();
    copy_weights(&cpu, &mut gpu_model, "plans");
    let spec = method(Method::Selective, SelectionMode::HogTopk);
    let step = SelectiveStep {
        counts: spec.counts(64).unwrap(),
        mode: spec.selection,
        stage: spec.stage(0.5),
        norm_pix: true,
    };
    let p = pixels(4);
    let (_, a) = cpu.forward_loss(
        upload::<Cpu>(&p, &FlexDevice),
        &step,
        &mut sample_rngs(9, 1, 0, 4),
    );
    let (_, b) = gpu_model.forward_loss(
        upload::<Gpu>(&p, &gpu()),
        &step,
        &mut sample_rngs(9, 1, 0, 4),
    );
    assert_eq!(a, b);
}

fn finetune_config(task: Task) -> FinetuneConfig {
    FinetuneConfig {
        smae_version: "test".into(),
        task,
        model: "custom".into(),
        vit: vit(),
        classes: vec!["a".into(), "b".into(), "c".into()],
        // 64: GroupNorm takes the largest group count up to 32, and with 16
        // channels the 1x1 pyramid-pooling bin would normalise single values
        // (zero variance): its output and gradient are then rounding noise,
        // different on every backend.
        channels: 64,
        global_pool: false,
        init: InitSource {
            run: None,
            kind: None,
            method: None,
        },
        data: "unused".into(),
        val_data: None,
        train_ratio: None,
        train_items: 4,
        val_items: 0,
        epochs: 1,
        batch_size: 2,
        steps_per_epoch: 2,
        schedule: LrSchedule {
            lr: 1e-3,
            min_lr: 0.0,
            warmup_epochs: 0.0,
            epochs: 1.0,
        },
        blr: None,
        layer_decay: 0.75,
        // Stochastic depth draws on the device's generator: off, so both
        // backends compute the same function.
        drop_path: 0.0,
        optim: OptimConfig::mae(None),
        tile: SIZE as u32,
        tile_overlap: 0,
        ignore_index: 255,
        merge_classes: None,
        seed: 5,
        log_every: 1,
    }
}

/// A batch of 2 images with labels for `task`.
fn batch(task: Task) -> Batch {
    let pixels = pixels(2);
    match task {
        Task::Classify => Batch::Classify {
            pixels,
            labels: vec![2, 0],
        },
        Task::Segment => Batch::Segment {
            pixels,
            // Three classes in bands, and an ignored corner.
            masks: (0..2 * SIZE * SIZE)
                .map(|i| {
                    let (x, y) = (i % SIZE, (i / SIZE) % SIZE);
                    if x < 4 && y < 4 {
                        255
                    } else {
                        ((x + y + i / (SIZE * SIZE)) / 22) as u8
                    }
                })
                .collect(),
        },
        Task::Detect | Task::DetectObb => {
            let obb = task == Task::DetectObb;
            let object = |class, x0, y0, x1, y1| GtObject {
                class,
                bbox: BBox::new(x0, y0, x1, y1),
                rbox: obb.then(|| {
                    RBox::new(
                        (x0 + x1) / 2.0,
                        (y0 + y1) / 2.0,
                        (x1 - x0) * 0.9,
                        (y1 - y0) * 0.5,
                        0.4,
                    )
                }),
            };
            Batch::Detect {
                pixels,
                gts: vec![
                    vec![
                        object(0, 2.0, 3.0, 14.0, 12.0),
                        object(2, 18.0, 16.0, 30.0, 29.0),
                    ],
                    vec![object(1, 6.0, 8.0, 26.0, 20.0)],
                ],
            }
        }
    }
}

/// One fine-tuning step's loss and gradients on both backends.
fn finetune_step<C: TaskModel<Cpu>, G: TaskModel<Gpu>>(task: Task) {
    let device = gpu();
    let cfg = finetune_config(task);
    let cpu: C = build_task(&cfg, &FlexDevice, None).unwrap();
    let mut gpu_model: G = build_task(&cfg, &device, None).unwrap();
    copy_weights(&cpu, &mut gpu_model, &format!("{task:?}"));
    // `batch` is deterministic: one copy per backend.
    let imgs = batch_images::<Cpu>(&batch(task), SIZE, &FlexDevice);
    let (l_cpu, _) = cpu.batch_loss(imgs, batch(task), &cfg);
    let imgs = batch_images::<Gpu>(&batch(task), SIZE, &device);
    let (l_gpu, _) = gpu_model.batch_loss(imgs, batch(task), &cfg);
    let loss = (values(l_cpu.clone().inner()), values(l_gpu.clone().inner()));
    let grads = (gradients(&cpu, l_cpu), gradients(&gpu_model, l_gpu));
    assert_close(
        &format!("{task:?}"),
        (&loss.0, &loss.1),
        (&grads.0, &grads.1),
    );
}

#[test]
fn classification_step_matches_flex() {
    finetune_step::<Classifier<Cpu>, Classifier<Gpu>>(Task::Classify);
}

#[test]
fn segmentation_step_matches_flex() {
    finetune_step::<Segmenter<Cpu>, Segmenter<Gpu>>(Task::Segment);
}

#[test]
fn detection_step_matches_flex() {
    finetune_step::<Detector<Cpu>, Detector<Gpu>>(Task::Detect);
}

#[test]
fn oriented_detection_step_matches_flex() {
    finetune_step::<Detector<Cpu>, Detector<Gpu>>(Task::DetectObb);
}

/// `--device wgpu` through the command line: a few SelectiveMAE steps with
/// a checkpoint, then the same run resumed on the CPU (the checkpoint does
/// not depend on the backend).
#[test]
fn pretraining_runs_on_wgpu_and_resumes_on_cpu() {
    gpu();
    let dir = Scratch::new("wgpu-pretrain");
    let chips = dir.path().join("chips");
    make_chips(&chips, 48, 3);
    let run = dir.path().join("run");
    let (data, out) = (chips.to_str().unwrap(), run.to_str().unwrap());
    #[rustfmt::skip]
    smae(&[
        "pretrain", "--data", data, "--output", out, "--quiet", "--workers", "2",
        "--model", "vit-tiny", "--img-size", "32", "--patch-size", "4", "--dim", "32",
        "--depth", "1", "--heads", "2", "--decoder-dim", "32", "--decoder-depth", "1",
        "--decoder-heads", "2", "--epochs", "1", "--batch-size", "4", "--log-every", "1",
        "--device", "wgpu", "--stop-after-steps", "2",
    ]);
    let cfg = json(&run.join("config.json"));
    assert_eq!(cfg["devices"], "wgpu");
    #[rustfmt::skip]
    smae(&["pretrain", "--output", out, "--resume", "--quiet", "--workers", "2", "--device", "cpu"]);
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total = cfg["steps_per_epoch"].as_u64().unwrap();
    assert!(total > 2, "{total} steps per epoch");
    assert_eq!(steps.len() as u64, total);
    for s in &steps {
        let loss = s["loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{s}");
    }
}

/// Forward value and input gradient of `op` on flex and on wgpu, for one
/// seeded input `shape` (the loss is a fixed weighted sum of the output).
macro_rules! check_op {
    ($name:expr, $shape:expr, |$x:ident| $body:expr) => {{
        let shape: [usize; 4] = $shape;
        let n: usize = shape.iter().product();
        let input: Vec<f32> = (0..n)
            .map(|i| ((i * 7919 % 1009) as f32) / 504.5 - 1.0)
            .collect();
        fn run<B: AutodiffBackend>(
            input: &[f32],
            shape: [usize; 4],
            device: &B::Device,
        ) -> (Vec<f32>, Vec<f32>) {
            let $x =
                Tensor::<B, 1>::from_data(TensorData::new(input.to_vec(), [input.len()]), device)
                    .reshape(shape)
                    .require_grad();
            let x0 = $x.clone();
            let y: Tensor<B, 4> = $body;
            let m = y.shape().num_elements();
            let w = Tensor::<B, 1>::from_data(
                TensorData::new(
                    (0..m)
                        .map(|i| ((i * 31 % 17) as f32) / 8.0 - 1.0)
                        .collect::<Vec<_>>(),
                    [m],
                ),
                device,
            );
            let loss = (y.clone().reshape([m]) * w).sum();
            let g = loss.backward();
            let dx = x0.grad(&g).expect("input gradient");
            (
                y.inner().into_data().to_vec::<f32>().unwrap(),
                dx.into_data().to_vec::<f32>().unwrap(),
            )
        }
        let (y0, g0) = run::<Cpu>(&input, shape, &FlexDevice);
        let (y1, g1) = run::<Gpu>(&input, shape, &gpu());
        let rel = |a: &[f32], b: &[f32]| {
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())) + 1e-12;
            a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
        };
        (String::from($name), rel(&y0, &y1), rel(&g0, &g1))
    }};
}

/// Seeded weights with no symmetry (a flipped or transposed kernel differs).
fn varied<B: Backend>(shape: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 613 % 211) as f32) / 1055.0 - 0.1)
        .collect();
    Tensor::<B, 1>::from_data(TensorData::new(v, [n]), device).reshape(shape)
}

/// Every op of the UperNet head, alone: forward and input gradient on wgpu
/// equal flex's (this localises a backend difference to one op).
#[test]
fn upernet_ops_match_flex() {
    use burn::tensor::module::{adaptive_avg_pool2d, conv2d, conv_transpose2d, max_pool2d};
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
    use smae_models::conv_block::resize;
    let results = vec![
        check_op!("conv_transpose2d 2x2 stride 2", [2, 8, 4, 4], |x| {
            let w = varied::<B>([8, 8, 2, 2], &x.device());
            conv_transpose2d(
                x,
                w,
                None,
                ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1),
            )
        }),
        check_op!("conv2d 3x3 pad 1", [2, 8, 8, 8], |x| {
            let w = varied::<B>([4, 8, 3, 3], &x.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
        }),
        check_op!(
            "conv2d 4x4 stride 4 (patch embedding)",
            [2, 3, 32, 32],
            |x| {
                let w = varied::<B>([32, 3, 4, 4], &x.device());
                conv2d(x, w, None, ConvOptions::new([4, 4], [0, 0], [1, 1], 1))
            }
        ),
        check_op!("max_pool2d 2x2", [2, 8, 8, 8], |x| max_pool2d(
            x,
            [2, 2],
            [2, 2],
            [0, 0],
            [1, 1],
            false
        )),
        check_op!("adaptive_avg_pool2d 4->3", [2, 8, 4, 4], |x| {
            adaptive_avg_pool2d(x, [3, 3])
        }),
        check_op!("adaptive_avg_pool2d 4->6", [2, 8, 4, 4], |x| {
            adaptive_avg_pool2d(x, [6, 6])
        }),
        check_op!("adaptive_avg_pool2d 4->1", [2, 8, 4, 4], |x| {
            adaptive_avg_pool2d(x, [1, 1])
        }),
        // weight gradients: the weight is the differentiated input
        check_op!("conv2d 3x3 pad 1, weight", [4, 8, 3, 3], |w| {
            let x = varied::<B>([2, 8, 8, 8], &w.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
        }),
        check_op!("conv2d 1x1, weight", [16, 8, 1, 1], |w| {
            let x = varied::<B>([2, 8, 4, 4], &w.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
        }),
        check_op!("conv2d 1x1 on 1x1, weight", [16, 8, 1, 1], |w| {
            let x = varied::<B>([2, 8, 1, 1], &w.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
        }),
        check_op!("conv2d 1x1 at 32x32, weight", [3, 64, 1, 1], |w| {
            let x = varied::<B>([2, 64, 32, 32], &w.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
        }),
        check_op!("conv2d 3x3 at 32x32, weight", [64, 64, 3, 3], |w| {
            let x = varied::<B>([2, 64, 32, 32], &w.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
        }),
        check_op!("conv2d 1x1 at 32x32, input", [2, 64, 32, 32], |x| {
            let w = varied::<B>([3, 64, 1, 1], &x.device());
            conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
        }),
        check_op!("conv_transpose2d 2x2 stride 2, weight", [8, 8, 2, 2], |w| {
            let x = varied::<B>([2, 8, 4, 4], &w.device());
            conv_transpose2d(
                x,
                w,
                None,
                ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1),
            )
        }),
        check_op!("adaptive_avg_pool2d 4->2", [2, 8, 4, 4], |x| {
            adaptive_avg_pool2d(x, [2, 2])
        }),
        check_op!("group_norm 8 groups", [2, 16, 4, 4], |x| {
            burn::nn::GroupNormConfig::new(8, 16)
                .init(&x.device())
                .forward(x)
        }),
        check_op!("resize 4->32", [2, 8, 4, 4], |x| resize(x, 32, 32)),
        check_op!("resize 3->8x5", [2, 8, 3, 3], |x| resize(x, 8, 5)),
        check_op!("tokens to map", [2, 65, 32, 1], |x| {
            smae_models::conv_block::tokens_to_map(x.reshape([2, 65, 32]), 8, 8)
        }),
        // a 1x1 conv on the map of a ViT's tokens (cls token dropped):
        // Burn's im2col 1x1 kernel misread such views before tokens_to_map
        // packed the rows (every image after the first shifted a token)
        check_op!(
            "conv2d 1x1, 64 out, on tokens to map",
            [2, 65, 32, 1],
            |x| {
                let w = varied::<B>([64, 32, 1, 1], &x.device());
                conv2d(
                    smae_models::conv_block::tokens_to_map(x.reshape([2, 65, 32]), 8, 8),
                    w,
                    None,
                    ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                )
            }
        ),
        check_op!("log_softmax dim 1, gather", [2, 3, 8, 8], |x| {
            let idx: Vec<i64> = (0..128).map(|i| (i * 5 % 3) as i64).collect();
            let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [128]), &x.device())
                .reshape([2, 1, 8, 8]);
            burn::tensor::activation::log_softmax(x, 1).gather(1, idx)
        }),
    ];
    let bad: Vec<_> = results
        .iter()
        .filter(|(_, y, g)| !(*y < 1e-4 && *g < 1e-4))
        .collect();
    for r in &results {
        eprintln!("{}: forward {:e}, gradient {:e}", r.0, r.1, r.2);
    }
    assert!(bad.is_empty(), "ops that differ on wgpu: {bad:?}");
}
