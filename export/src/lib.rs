//! smae-export: a run (pre-training, import or fine-tuning) to one ONNX file
//! that carries its model card, verified against the Burn model on tract and
//! ONNX Runtime.

pub mod graph;
pub mod layout;
pub mod lower;
pub mod proto;
pub mod roundtrip;
pub mod stac;
pub mod tasks;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::Serialize;
use serde_json::Value;
use smae_infer::card::{ModelCard, OutputSpec, Thresholds, CARD_KEY, CARD_VERSION};
use smae_infer::engine::{self, Backend as EngineBackend, ExecutionDevice};
use smae_run::card::{input_spec, tile_spec};
use smae_run::model::TaskModel;
use smae_run::norm::{center_view, imagenet_pixels, IMAGENET_MEAN, IMAGENET_STD};
use smae_run::{RunConfig, Task};

pub use graph::Weights;
use graph::{Dim, Graph};
pub use layout::Layout;

type B = Flex;

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub run: PathBuf,
    pub output: PathBuf,
    /// `embed` from any run; the run's own task by default.
    pub task: Option<String>,
    pub opset: i64,
    /// How the weights are stored: f32, f16 or int8 matrices.
    pub weights: Weights,
    pub verify: bool,
    /// Real images to verify on, besides random inputs.
    pub verify_images: Vec<PathBuf>,
    pub ort_library: Option<PathBuf>,
    /// Ground sample distance of the training imagery (m/px), for the card.
    pub gsd_m: Option<f64>,
    /// What the graph takes and gives (see [`Layout`]).
    pub layout: Layout,
    /// A fixed batch size (1: what QGIS Deepness needs of a detector);
    /// `None`: any batch.
    pub batch: Option<usize>,
    /// Also write a STAC item (ML Model extension) describing the file.
    pub stac: Option<PathBuf>,
}

impl ExportRequest {
    /// The defaults of `smae-export --run RUN --output OUTPUT`.
    pub fn new(run: &Path, output: &Path) -> Self {
        Self {
            run: run.to_path_buf(),
            output: output.to_path_buf(),
            task: None,
            opset: 17,
            weights: Weights::F32,
            verify: false,
            verify_images: Vec::new(),
            ort_library: None,
            gsd_m: None,
            layout: Layout::Gis,
            batch: None,
            stac: None,
        }
    }
}

/// How a model is written as a graph.
#[derive(Debug, Clone, Copy)]
pub struct GraphOptions {
    pub weights: Weights,
    pub opset: i64,
    pub layout: Layout,
    pub batch: Option<usize>,
}

impl GraphOptions {
    /// f32 weights, opset 17, normalised input, any batch.
    pub fn plain() -> Self {
        Self {
            weights: Weights::F32,
            opset: 17,
            layout: Layout::Plain,
            batch: None,
        }
    }
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
    pub weights: Weights,
    pub layout: Layout,
    pub tolerance: f64,
    pub parity: Vec<Parity>,
    pub stac: Option<PathBuf>,
}

/// The tolerance on `max |ONNX - Burn| / max(1, max |Burn|)` per task and
/// weight format. f32 weights: 1e-4 for every task. f16 weights and int8
/// matrices: two to five times what a trained model of the task measured
/// (BENCHMARKS.md, "int8 matrices"; worst over tract and ONNX Runtime, the
/// random batch and a real image), so a broken export fails and rounding
/// does not:
///
/// | task | measured f16 / int8 | tolerance f16 / int8 |
/// |---|---|---|
/// | classify (vit-tiny canopy / open, 93% accuracy) | 4.5e-5 / 6.6e-4 | 2e-4 / 2e-3 |
/// | segment (vit-tiny UperNet crowns) | 2.1e-4 / 4.2e-3 | 1e-3 / 1e-2 |
/// | detect (vit-tiny FCOS tree crowns) | 6.2e-4 / 3.9e-3 | 2e-3 / 1e-2 |
///
/// `embed` and `detect-obb` have no trained model measured: 2e-2.
pub fn tolerance(task: &str, weights: Weights) -> f64 {
    match (weights, task) {
        (Weights::F32, _) => 1e-4,
        (Weights::F16, "classify") => 2e-4,
        (Weights::F16, "segment") => 1e-3,
        (Weights::F16, "detect") => 2e-3,
        (Weights::Int8, "classify") => 2e-3,
        (Weights::Int8, "segment" | "detect") => 1e-2,
        (Weights::F16 | Weights::Int8, _) => 2e-2,
    }
}

/// The model card of the export.
fn card(
    req: &ExportRequest,
    config: &RunConfig,
    task: &str,
    (size, patch): (usize, usize),
    outputs: Vec<OutputSpec>,
) -> Result<ModelCard> {
    let input = smae_infer::card::InputSpec {
        normalised_in_graph: req.layout == Layout::Gis,
        batch: req.batch,
        ..input_spec(size)
    };
    let (gsd_m, run) = (req.gsd_m, &req.run);
    let metrics = std::fs::read(run.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_slice::<Value>(&t).ok());
    let finetune = match config {
        RunConfig::Finetune(c) => Some(c),
        _ => None,
    };
    let classes = finetune.map(|c| c.classes.clone()).unwrap_or_default();
    let pretrain = finetune
        .and_then(|c| c.init.run.as_deref())
        .and_then(|r| RunConfig::read(r).ok());
    let summary = |c: &RunConfig| match c {
        RunConfig::Pretrain(p) => serde_json::json!({
            "kind": "pretrain", "method": p.method, "epochs": p.epochs, "data": p.data, "model": p.model,
        }),
        other => serde_json::json!({ "kind": other.kind(), "model": other.model_name() }),
    };
    let mut card = ModelCard {
        version: CARD_VERSION,
        task: task.to_string(),
        classes,
        input,
        patch_size: patch,
        gsd_m,
        // Detection runs are trained on `tile` image pixels per model input:
        // the card gives the tiling in scene pixels, so inference sees the
        // training scale.
        tile: tile_spec(finetune, size),
        outputs,
        thresholds: Thresholds {
            score: validated_score(metrics.as_ref()).unwrap_or(Thresholds::default().score),
            ..Thresholds::default()
        },
        provenance: serde_json::json!({
            "smae_version": env!("CARGO_PKG_VERSION"),
            "run": run,
            "run_kind": config.kind(),
            "model": config.model_name(),
            "vit": config.vit(),
            "weights": req.weights,
            "pretrain": pretrain.as_ref().map_or_else(|| summary(config), summary),
            "finetune": finetune.map(|c| serde_json::json!({
                "task": c.task, "data": c.data, "epochs": c.epochs, "init": c.init,
                "metrics": metrics.as_ref().map(|m| m["metrics"].clone()),
            })),
        }),
        gis: String::new(),
    };
    card.gis = card.gis_support();
    Ok(card)
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
    opts: &GraphOptions,
    metadata: impl FnOnce(Vec<OutputSpec>) -> Result<Vec<(String, String)>>,
) -> Result<(Vec<u8>, usize)> {
    let mut g = Graph::new(opts.weights, opts.opset);
    if let Some(n) = opts.batch {
        g.batch = Dim::Fixed(n);
    }
    let dims = [
        g.batch.clone(),
        Dim::Fixed(3),
        Dim::Fixed(size),
        Dim::Fixed(size),
    ];
    g.input("images", &dims);
    let images = match opts.layout {
        Layout::Gis => layout::normalise(&mut g, "images", &IMAGENET_MEAN, &IMAGENET_STD),
        Layout::Plain => "images".to_string(),
    };
    let mut outputs = tasks::build(&mut g, model, (&images, size), classes, opts.layout);
    for o in &mut outputs {
        o.shape = g.output_shape(&o.name);
    }
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
    if req.batch.is_some_and(|b| b != 1) {
        bail!("--batch takes 1 (a fixed batch of one) or dynamic");
    }
    let config = RunConfig::read(&req.run)?;
    let task = match req.task.as_deref() {
        Some("embed") => None,
        Some(t) => Some(t.parse::<Task>().map_err(|_| {
            anyhow::anyhow!(
                "unknown task '{t}': expected embed, classify, segment, detect or detect-obb"
            )
        })?),
        None => match &config {
            RunConfig::Finetune(c) => Some(c.task),
            _ => None,
        },
    };
    let start = Instant::now();
    let model = TaskModel::<B>::open(&req.run, task, &FlexDevice)?;
    let (size, patch) = (config.vit().img_size, config.vit().patch_size);
    let classes = match &config {
        RunConfig::Finetune(c) if task.is_some() => c.classes.len(),
        _ => 0,
    };
    let opts = GraphOptions {
        weights: req.weights,
        opset: req.opset,
        layout: req.layout,
        batch: req.batch,
    };
    let tol = tolerance(model.task(), req.weights);
    let mut card_out = None;
    let (bytes, parameters) = to_onnx(&model, size, classes, &opts, |outputs| {
        let card = card(req, &config, model.task(), (size, patch), outputs)?;
        let mut meta = vec![(CARD_KEY.to_string(), serde_json::to_string(&card)?)];
        meta.extend(card.gis_keys());
        card_out = Some(card);
        Ok(meta)
    })?;
    let card = card_out.context("the model card was not built")?;
    let export_seconds = start.elapsed().as_secs_f64();

    if let Some(parent) = req.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if let Some(parent) = req
        .stac
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot write the STAC item: cannot create {}",
                parent.display()
            )
        })?;
    }
    // Written and verified under a temporary name, renamed only when it passes.
    let mut parity = Vec::new();
    smae_run::atomic::write_path(&req.output, |tmp| {
        std::fs::write(tmp, &bytes)?;
        if req.verify {
            parity = verify(
                &model,
                tmp,
                size,
                &opts,
                &req.verify_images,
                req.ort_library.as_deref(),
            )?;
        }
        check_parity(&parity, tol)
    })?;
    if let Some(item) = &req.stac {
        let facts = stac::GraphFacts {
            parameters,
            opset: req.opset,
        };
        stac::write_item(item, &req.output, &bytes, &card, &facts)?;
    }
    Ok(ExportReport {
        output: req.output.clone(),
        task: model.task().into(),
        bytes: bytes.len() as u64,
        parameters,
        export_seconds,
        weights: req.weights,
        layout: req.layout,
        tolerance: tol,
        parity,
        stac: req.stac.clone(),
    })
}

/// Fails on the first comparison over the tolerance.
fn check_parity(parity: &[Parity], tolerance: f64) -> Result<()> {
    if let Some(bad) = parity.iter().find(|p| !p.pass) {
        bail!(
            "verification failed: {} output {} on {} input differs from Burn by {:.3e} (relative {:.3e}, tolerance {:.0e})",
            bad.runtime,
            bad.output,
            bad.input,
            bad.max_abs,
            bad.max_rel,
            tolerance
        );
    }
    Ok(())
}

/// The verification inputs (normalised, as Burn takes them): a seeded random
/// batch of `batch` and each real image.
fn inputs(size: usize, batch: usize, images: &[PathBuf]) -> Result<Vec<(String, Vec<f32>, usize)>> {
    let device = FlexDevice;
    let r = {
        let _rng = smae_run::seed::lock();
        B::seed(&device, 20261128);
        Tensor::<B, 4>::random(
            [batch, 3, size, size],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
    };
    let mut out = vec![(
        "random".to_string(),
        r.into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap_or_default(),
        batch,
    )];
    for p in images {
        let img = image::open(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .to_rgb8();
        let px = imagenet_pixels(&center_view(&img, size as u32));
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

/// Runs Burn and the exported graph on tract and ONNX Runtime and compares,
/// within the tolerance of the weights' precision.
pub fn verify(
    model: &TaskModel<B>,
    onnx: &Path,
    size: usize,
    opts: &GraphOptions,
    images: &[PathBuf],
    ort_library: Option<&Path>,
) -> Result<Vec<Parity>> {
    let tol = tolerance(model.task(), opts.weights);
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
    for (name, px, n) in inputs(size, opts.batch.unwrap_or(2), images)? {
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
        let reference = match (opts.layout, model) {
            (Layout::Gis, TaskModel::Detect(d)) if d.angle_pred.is_none() => {
                vec![yolo_rows(&reference[0], &reference[1])]
            }
            _ => reference,
        };
        let px = layout::graph_input(opts.layout, &px, size * size, &IMAGENET_MEAN, &IMAGENET_STD);
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

/// Burn's decoded boxes (`xyxy`) and per-class scores as the GIS layout's
/// rows: centre x, centre y, width, height, best score, scores.
fn yolo_rows(boxes: &[f32], scores: &[f32]) -> Vec<f32> {
    let locations = boxes.len() / 4;
    let classes = scores.len() / locations.max(1);
    let mut out = Vec::with_capacity(locations * (5 + classes));
    for (b, s) in boxes
        .chunks_exact(4)
        .zip(scores.chunks_exact(classes.max(1)))
    {
        let best = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        out.extend_from_slice(&[
            (b[0] + b[2]) / 2.0,
            (b[1] + b[3]) / 2.0,
            b[2] - b[0],
            b[3] - b[1],
            best,
        ]);
        out.extend_from_slice(s);
    }
    out
}
