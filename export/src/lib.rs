//! smae-export: a run (pre-training, import or fine-tuning) to one ONNX file
//! that carries its model card, verified against the Burn model on tract and
//! ONNX Runtime.

pub mod graph;
pub mod lower;
pub mod proto;
pub mod roundtrip;
pub mod tasks;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::Serialize;
use serde_json::Value;
use smae_infer::card::{
    InputSpec, ModelCard, OutputSpec, Thresholds, TileSpec, CARD_KEY, CARD_VERSION,
};
use smae_infer::engine::{self, Backend as EngineBackend, ExecutionDevice};
use smae_models::{Classifier, Detector, Segmenter, Vit};
use smae_train::data::augment::{center_view, normalize_into, IMAGENET_MEAN, IMAGENET_STD};
use smae_train::finetune::{self, FinetuneConfig, Task};
use smae_train::run_dir;

use graph::{Dim, Graph};
use tasks::TaskModel;

type B = Flex;

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub run: PathBuf,
    pub output: PathBuf,
    /// `embed` from any run; the run's own task by default.
    pub task: Option<String>,
    pub opset: i64,
    pub fp16: bool,
    pub verify: bool,
    /// Real images to verify on, besides random inputs.
    pub verify_images: Vec<PathBuf>,
    pub ort_library: Option<PathBuf>,
    /// Ground sample distance of the training imagery (m/px), for the card.
    pub gsd_m: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    pub runtime: String,
    pub input: String,
    pub output: String,
    pub max_abs: f64,
    /// `max_abs / max |reference|`.
    pub max_rel: f64,
    pub pass: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub output: PathBuf,
    pub task: String,
    pub bytes: u64,
    pub parameters: usize,
    pub export_seconds: f64,
    pub fp16: bool,
    pub tolerance: f64,
    pub parity: Vec<Parity>,
}

/// The tolerance on `max |ONNX - Burn| / max(1, max |Burn|)`: 1e-4 for f32
/// weights; 2e-2 when the weights are stored in f16.
pub fn tolerance(fp16: bool) -> f64 {
    if fp16 {
        2e-2
    } else {
        1e-4
    }
}

fn read_run_config(run: &Path) -> Result<Value> {
    let path = run.join(run_dir::CONFIG);
    if !run.is_dir() {
        bail!("run directory {} does not exist", run.display());
    }
    let text = std::fs::read(&path)
        .with_context(|| format!("{} is not a run directory (no config.json)", run.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is half-written or not JSON", path.display()))
}

/// The model of `run` for `task` (Burn, no autodiff), its input size and classes.
fn load_model(
    run: &Path,
    config: &Value,
    task: &str,
) -> Result<(TaskModel<B>, usize, Vec<String>)> {
    let device = FlexDevice;
    let kind = config["kind"].as_str().unwrap_or("pretrain");
    if task == "embed" {
        let (cfg, file) = run_dir::read_encoder(run)?;
        let mut vit = Vit::<B>::new(&cfg, &device);
        smae_train::weights::load_encoder(&mut vit, &file)?;
        return Ok((TaskModel::Embed(vit), cfg.img_size, Vec::new()));
    }
    if kind != "finetune" {
        bail!(
            "{} is a {kind} run: it has no {task} head (export `--task embed`, or fine-tune first)",
            run.display()
        );
    }
    let cfg: FinetuneConfig = finetune::read_config(run)?;
    if cfg.task.name() != task {
        bail!(
            "{} was fine-tuned for {}, not {task}",
            run.display(),
            cfg.task.name()
        );
    }
    let ckpt = smae_train::checkpoint::latest(run)?
        .with_context(|| format!("{} has no checkpoint", run.display()))?;
    let device_ad = FlexDevice;
    let model = match cfg.task {
        Task::Classify => TaskModel::Classify(
            finetune::build_model::<Autodiff<B>, Classifier<Autodiff<B>>>(
                &cfg,
                &device_ad,
                Some(&ckpt),
            )?
            .valid(),
        ),
        Task::Segment => TaskModel::Segment(
            finetune::build_model::<Autodiff<B>, Segmenter<Autodiff<B>>>(
                &cfg,
                &device_ad,
                Some(&ckpt),
            )?
            .valid(),
        ),
        Task::Detect | Task::DetectObb => TaskModel::Detect(
            finetune::build_model::<Autodiff<B>, Detector<Autodiff<B>>>(
                &cfg,
                &device_ad,
                Some(&ckpt),
            )?
            .valid(),
        ),
    };
    Ok((model, cfg.vit.img_size, cfg.classes))
}

/// The model card of the export.
fn card(
    req: &ExportRequest,
    config: &Value,
    task: &str,
    (size, patch): (usize, usize),
    classes: &[String],
    outputs: Vec<OutputSpec>,
) -> ModelCard {
    let (gsd_m, run) = (req.gsd_m, &req.run);
    let metrics = std::fs::read(run.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_slice::<Value>(&t).ok());
    // Detection runs are trained on `tile` image pixels per model input and
    // evaluated with `tile_overlap` model pixels of overlap: the card gives
    // both in scene pixels, so inference sees the training scale.
    let tile = config["tile"].as_u64().map(|v| v as usize).unwrap_or(size);
    let tile_overlap = config["tile_overlap"]
        .as_u64()
        .map(|v| v as usize * tile / size)
        .unwrap_or(tile / 4);
    let init_run = config["init"]["run"].as_str().map(PathBuf::from);
    let pretrain = init_run
        .as_ref()
        .and_then(|r| std::fs::read(r.join(run_dir::CONFIG)).ok())
        .and_then(|t| serde_json::from_slice::<Value>(&t).ok());
    ModelCard {
        version: CARD_VERSION,
        task: task.to_string(),
        classes: classes.to_vec(),
        input: InputSpec {
            name: "images".into(),
            bands: vec![1, 2, 3],
            size,
            dtype: "float32".into(),
            scale: 1.0 / 255.0,
            mean: IMAGENET_MEAN.iter().map(|v| *v as f64).collect(),
            std: IMAGENET_STD.iter().map(|v| *v as f64).collect(),
        },
        patch_size: patch,
        gsd_m,
        tile: TileSpec {
            size: tile,
            overlap: tile_overlap,
        },
        outputs,
        thresholds: Thresholds {
            score: validated_score(metrics.as_ref()).unwrap_or(Thresholds::default().score),
            ..Thresholds::default()
        },
        provenance: serde_json::json!({
            "smae_version": env!("CARGO_PKG_VERSION"),
            "run": run,
            "run_kind": config["kind"].as_str().unwrap_or("pretrain"),
            "model": config["model"],
            "vit": config["vit"],
            "pretrain": pretrain.map(|p| serde_json::json!({
                "method": p["method"], "epochs": p["epochs"], "data": p["data"], "model": p["model"], "kind": p["kind"],
            })).unwrap_or_else(|| serde_json::json!({ "method": config["method"], "epochs": config["epochs"], "data": config["data"] })),
            "finetune": (config["kind"] == "finetune").then(|| serde_json::json!({
                "task": config["task"], "data": config["data"], "epochs": config["epochs"], "init": config["init"],
                "metrics": metrics.as_ref().map(|m| m["metrics"].clone()),
            })),
        }),
    }
}

/// The detection score threshold to ship: the F1-optimal one found on the
/// fine-tuning run's validation data (mean over classes), if it has one.
fn validated_score(metrics: Option<&Value>) -> Option<f64> {
    let per_class = metrics?["metrics"]["per_class"].as_array()?;
    let scores: Vec<f64> = per_class
        .iter()
        .filter_map(|c| c["best_f1"]["score"].as_f64())
        .collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// The ONNX bytes of `model` (input `images [batch, 3, size, size]`) and its
/// parameter count; `metadata` turns the output specs into `metadata_props`.
pub fn to_onnx<B: Backend>(
    model: &TaskModel<B>,
    size: usize,
    classes: usize,
    fp16: bool,
    opset: i64,
    metadata: impl FnOnce(Vec<OutputSpec>) -> Result<Vec<(String, String)>>,
) -> Result<(Vec<u8>, usize)> {
    let mut g = Graph::new(fp16, opset);
    g.input(
        "images",
        &[
            Dim::Sym("batch"),
            Dim::Fixed(3),
            Dim::Fixed(size),
            Dim::Fixed(size),
        ],
    );
    let outputs = tasks::build(&mut g, model, size, classes);
    let parameters = g.parameters;
    let meta = metadata(outputs)?;
    Ok((
        g.finish(&format!("smae_{}", model.task()), &meta),
        parameters,
    ))
}

/// Exports a run; with `verify` the file only stays if every runtime agrees
/// with Burn within the tolerance.
pub fn export(req: &ExportRequest) -> Result<ExportReport> {
    if !(17..=21).contains(&req.opset) {
        bail!("--opset must be between 17 and 21");
    }
    let config = read_run_config(&req.run)?;
    let default_task = match config["kind"].as_str() {
        Some("finetune") => config["task"].as_str().unwrap_or("embed").to_string(),
        _ => "embed".to_string(),
    };
    let task = req.task.clone().unwrap_or(default_task);
    if !["embed", "classify", "segment", "detect", "detect-obb"].contains(&task.as_str()) {
        bail!("unknown task '{task}': expected embed, classify, segment, detect or detect-obb");
    }
    let start = Instant::now();
    let (model, size, classes) = load_model(&req.run, &config, &task)?;
    let patch = match &model {
        TaskModel::Embed(v) => v.patch_size,
        TaskModel::Classify(c) => c.encoder.patch_size,
        TaskModel::Segment(s) => s.encoder.patch_size,
        TaskModel::Detect(d) => d.encoder.patch_size,
    };
    let (bytes, parameters) = to_onnx(
        &model,
        size,
        classes.len(),
        req.fp16,
        req.opset,
        |outputs| {
            let card = card(req, &config, model.task(), (size, patch), &classes, outputs);
            let mut meta = vec![(CARD_KEY.to_string(), serde_json::to_string(&card)?)];
            meta.extend(card.plain_keys());
            Ok(meta)
        },
    )?;
    let export_seconds = start.elapsed().as_secs_f64();

    let tmp = run_dir::temp_name(&req.output);
    if let Some(parent) = req.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&tmp, &bytes)
        .with_context(|| format!("cannot write {}", req.output.display()))?;
    let parity = if req.verify {
        match verify(
            &model,
            &tmp,
            size,
            &req.verify_images,
            req.ort_library.as_deref(),
            tolerance(req.fp16),
        ) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    } else {
        Vec::new()
    };
    if let Some(bad) = parity.iter().find(|p| !p.pass) {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "verification failed: {} output {} on {} input differs from Burn by {:.3e} (relative {:.3e}, tolerance {:.0e})",
            bad.runtime,
            bad.output,
            bad.input,
            bad.max_abs,
            bad.max_rel,
            tolerance(req.fp16)
        );
    }
    std::fs::rename(&tmp, &req.output)
        .with_context(|| format!("cannot write {}", req.output.display()))?;
    Ok(ExportReport {
        output: req.output.clone(),
        task: model.task().into(),
        bytes: bytes.len() as u64,
        parameters,
        export_seconds,
        fp16: req.fp16,
        tolerance: tolerance(req.fp16),
        parity,
    })
}

/// The verification inputs: a seeded random batch of two and each real image.
fn inputs(size: usize, images: &[PathBuf]) -> Result<Vec<(String, Vec<f32>, usize)>> {
    let device = FlexDevice;
    let r = {
        let _rng = smae_train::burn_rng::lock();
        B::seed(&device, 20261128);
        Tensor::<B, 4>::random([2, 3, size, size], Distribution::Normal(0.0, 1.0), &device)
    };
    let mut out = vec![(
        "random".to_string(),
        r.into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap_or_default(),
        2,
    )];
    for p in images {
        let img = smae_train::data::loader::decode_rgb(p)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
        let v = center_view(&img, size as u32);
        let mut px = vec![0f32; 3 * size * size];
        normalize_into(&v, &IMAGENET_MEAN, &IMAGENET_STD, &mut px);
        out.push((
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            px,
            1,
        ));
    }
    Ok(out)
}

/// Runs Burn and the exported graph on tract and ONNX Runtime and compares.
pub fn verify(
    model: &TaskModel<B>,
    onnx: &Path,
    size: usize,
    images: &[PathBuf],
    ort_library: Option<&Path>,
    tol: f64,
) -> Result<Vec<Parity>> {
    let device = FlexDevice;
    let mut engines: Vec<Box<dyn smae_infer::Engine>> = vec![engine::open(
        onnx,
        EngineBackend::Tract,
        ExecutionDevice::Cpu,
        1,
        None,
    )?];
    engines.push(
        engine::open(
            onnx,
            EngineBackend::Ort,
            ExecutionDevice::Cpu,
            2,
            ort_library,
        )
        .context("ONNX Runtime is needed for --verify")?,
    );
    let mut out = Vec::new();
    for (name, px, n) in inputs(size, images)? {
        let x = Tensor::<B, 1>::from_data(TensorData::new(px.clone(), [px.len()]), &device)
            .reshape([n, 3, size, size]);
        let reference: Vec<Vec<f32>> = model
            .reference(x)
            .into_iter()
            .map(|t| {
                t.into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .unwrap_or_default()
            })
            .collect();
        let arr = ndarray::Array4::from_shape_vec((n, 3, size, size), px)?;
        for e in engines.iter_mut() {
            let got = e.run(arr.view())?;
            let names = e.output_names();
            if got.len() != reference.len() {
                bail!(
                    "{} returned {} outputs, Burn {}",
                    e.name(),
                    got.len(),
                    reference.len()
                );
            }
            for ((g, r), oname) in got.iter().zip(&reference).zip(names) {
                let g: Vec<f32> = g.iter().copied().collect();
                if g.len() != r.len() {
                    bail!(
                        "{} output {oname} has {} values, Burn {}",
                        e.name(),
                        g.len(),
                        r.len()
                    );
                }
                let max_abs = g
                    .iter()
                    .zip(r)
                    .map(|(a, b)| (a - b).abs() as f64)
                    .fold(0.0, f64::max);
                let scale = r.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
                out.push(Parity {
                    runtime: e.name(),
                    input: name.clone(),
                    output: oname,
                    max_abs,
                    max_rel: max_abs / scale.max(f64::MIN_POSITIVE),
                    pass: max_abs / scale.max(1.0) <= tol,
                });
            }
        }
    }
    Ok(out)
}
