//! The two runtimes behind one interface: ONNX Runtime (`ort`, the library
//! loaded at run time from the `onnxruntime` PyPI wheel or the system) on
//! CPU, CUDA or TensorRT, and tract (pure Rust, CPU, always available).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{ArrayD, ArrayView4};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// ONNX Runtime when its library is found, else tract.
    Auto,
    Ort,
    Tract,
}

impl Backend {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Self::Auto,
            "ort" | "onnxruntime" => Self::Ort,
            "tract" => Self::Tract,
            other => bail!("unknown backend '{other}': expected auto, ort or tract"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionDevice {
    Cpu,
    Cuda(i32),
    TensorRt(i32),
}

impl ExecutionDevice {
    pub fn parse(s: &str) -> Result<Self> {
        let (kind, id) = s.split_once(':').unwrap_or((s, "0"));
        let id: i32 = id.parse().map_err(|_| anyhow!("invalid device '{s}'"))?;
        Ok(match kind {
            "cpu" => Self::Cpu,
            "cuda" => Self::Cuda(id),
            "tensorrt" | "trt" => Self::TensorRt(id),
            _ => bail!("unknown device '{s}': expected cpu, cuda[:N] or tensorrt[:N]"),
        })
    }
}

/// A loaded model that maps a batch `[N, C, H, W]` to its outputs, in the
/// graph's output order.
pub trait Engine: Send {
    fn run(&mut self, batch: ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>>;
    fn name(&self) -> String;
    fn output_names(&self) -> Vec<String>;
}

/// Opens `model` on the requested backend and device.
pub fn open(
    model: &Path,
    backend: Backend,
    device: ExecutionDevice,
    threads: usize,
    ort_library: Option<&Path>,
) -> Result<Box<dyn Engine>> {
    match backend {
        Backend::Tract => {
            if device != ExecutionDevice::Cpu {
                bail!("tract runs on the CPU only; use --backend ort for {device:?}");
            }
            Ok(Box::new(TractEngine::open(model)?))
        }
        Backend::Ort => Ok(Box::new(OrtEngine::open(model, device, threads, ort_library)?)),
        Backend::Auto => match find_ort_library(ort_library) {
            Some(lib) => Ok(Box::new(OrtEngine::open(model, device, threads, Some(&lib))?)),
            None if device == ExecutionDevice::Cpu => Ok(Box::new(TractEngine::open(model)?)),
            None => bail!("{device:?} needs ONNX Runtime, whose library was not found (set ORT_DYLIB_PATH or pass --ort-lib)"),
        },
    }
}

/// The ONNX Runtime library: the given path, `ORT_DYLIB_PATH`, or a
/// `libonnxruntime.so*` next to the executable or in `.ort/` (as
/// scripts/setup.sh installs it).
pub fn find_ort_library(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            dirs.push(d.to_path_buf());
            // target/{debug,release}/smae-* -> repository .ort/
            for up in d.ancestors().take(4) {
                dirs.push(up.join(".ort"));
            }
        }
    }
    dirs.push(PathBuf::from(".ort"));
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(&d) {
            let mut libs: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                })
                .collect();
            libs.sort();
            if let Some(l) = libs.into_iter().next() {
                return Some(l);
            }
        }
    }
    None
}

/// tract: optimised plans are built per batch size (a concrete shape runs
/// faster than a symbolic one) and reused.
pub struct TractEngine {
    model: tract_onnx::prelude::InferenceModel,
    plans: HashMap<usize, Arc<tract_onnx::prelude::TypedRunnableModel>>,
    outputs: Vec<String>,
}

impl TractEngine {
    pub fn open(path: &Path) -> Result<Self> {
        use tract_onnx::prelude::*;
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| anyhow!("tract cannot read {}: {e}", path.display()))?;
        let outputs = model
            .output_outlets()
            .map_err(|e| anyhow!("{e}"))?
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map(str::to_string)
                    .unwrap_or_else(|| model.node(o.node).name.clone())
            })
            .collect();
        Ok(Self {
            model,
            plans: HashMap::new(),
            outputs,
        })
    }

    fn plan(&mut self, shape: [usize; 4]) -> Result<Arc<tract_onnx::prelude::TypedRunnableModel>> {
        use tract_onnx::prelude::*;
        if let Some(p) = self.plans.get(&shape[0]) {
            return Ok(p.clone());
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| anyhow!("tract cannot prepare the model for input {shape:?}: {e}"))?;
        self.plans.insert(shape[0], plan.clone());
        Ok(plan)
    }
}

impl Engine for TractEngine {
    fn run(&mut self, batch: ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>> {
        use tract_onnx::prelude::*;
        let s = batch.shape();
        let plan = self.plan([s[0], s[1], s[2], s[3]])?;
        let input: Tensor = batch.to_owned().into_dyn().into();
        let out = plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| anyhow!("tract: {e}"))?;
        out.iter()
            .map(|t| {
                t.to_plain_array_view::<f32>()
                    .map(|v| v.to_owned())
                    .map_err(|e| anyhow!("tract output: {e}"))
            })
            .collect()
    }

    fn name(&self) -> String {
        "tract".into()
    }

    fn output_names(&self) -> Vec<String> {
        self.outputs.clone()
    }
}

/// One ONNX Runtime environment per process (its rule), created on first
/// success; a failed load (wrong path, too old a library) can be retried.
fn ort_environment(library: &Path) -> Result<&'static ort::environment::Environment> {
    static ENV: Mutex<Option<&'static ort::environment::Environment>> = Mutex::new(None);
    let mut env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = *env {
        return Ok(e);
    }
    let built = ort::init_from(library)
        .map_err(|e| anyhow!("cannot load ONNX Runtime from {}: {e}", library.display()))?
        .with_name("smae")
        .build()
        .map_err(|e| anyhow!("cannot start ONNX Runtime: {e}"))?;
    let leaked: &'static ort::environment::Environment = Box::leak(Box::new(built));
    *env = Some(leaked);
    Ok(leaked)
}

pub struct OrtEngine {
    session: ort::session::Session,
    device: ExecutionDevice,
    outputs: Vec<String>,
}

impl OrtEngine {
    pub fn open(
        path: &Path,
        device: ExecutionDevice,
        threads: usize,
        library: Option<&Path>,
    ) -> Result<Self> {
        use ort::session::builder::GraphOptimizationLevel;
        let lib = find_ort_library(library).context("ONNX Runtime's library (libonnxruntime.so) was not found; set ORT_DYLIB_PATH, pass --ort-lib, or use --backend tract")?;
        let env = ort_environment(&lib)?;
        let mut builder = ort::session::Session::builder(env)
            .map_err(|e| anyhow!("{e}"))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| anyhow!("{e}"))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| anyhow!("{e}"))?;
        builder = match device {
            ExecutionDevice::Cpu => builder,
            ExecutionDevice::Cuda(id) => builder
                .with_execution_providers([cuda_ep(id)?])
                .map_err(|e| anyhow!("the CUDA execution provider cannot start: {e}"))?,
            ExecutionDevice::TensorRt(id) => builder
                .with_execution_providers([tensorrt_ep(id, path)?, cuda_ep(id)?])
                .map_err(|e| anyhow!("the TensorRT execution provider cannot start: {e}"))?,
        };
        let session = builder
            .commit_from_file(path)
            .map_err(|e| anyhow!("ONNX Runtime cannot load {}: {e}", path.display()))?;
        let outputs = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(Self {
            session,
            device,
            outputs,
        })
    }
}

#[cfg(feature = "cuda")]
fn cuda_ep(id: i32) -> Result<ort::ep::ExecutionProviderDispatch> {
    Ok(ort::ep::CUDA::default()
        .with_device_id(id)
        .build()
        .error_on_failure())
}

#[cfg(feature = "cuda")]
fn tensorrt_ep(id: i32, model: &Path) -> Result<ort::ep::ExecutionProviderDispatch> {
    let cache = model.with_extension("trt-cache");
    Ok(ort::ep::TensorRT::default()
        .with_device_id(id)
        .with_engine_cache(true)
        .with_engine_cache_path(cache.display().to_string())
        .build()
        .error_on_failure())
}

#[cfg(not(feature = "cuda"))]
fn cuda_ep(_: i32) -> Result<ort::ep::ExecutionProviderDispatch> {
    bail!("this build has no CUDA support; rebuild smae-infer with --features cuda")
}

#[cfg(not(feature = "cuda"))]
fn tensorrt_ep(_: i32, _: &Path) -> Result<ort::ep::ExecutionProviderDispatch> {
    bail!("this build has no TensorRT support; rebuild smae-infer with --features cuda")
}

impl Engine for OrtEngine {
    fn run(&mut self, batch: ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>> {
        let input =
            ort::value::TensorRef::from_array_view(batch.into_dyn()).map_err(|e| anyhow!("{e}"))?;
        let outputs = self
            .session
            .run(ort::inputs![input])
            .map_err(|e| anyhow!("ONNX Runtime: {e}"))?;
        (0..outputs.len())
            .map(|i| {
                outputs[i]
                    .try_extract_array::<f32>()
                    .map(|v| v.to_owned())
                    .map_err(|e| anyhow!("ONNX Runtime output {i}: {e}"))
            })
            .collect()
    }

    fn name(&self) -> String {
        match self.device {
            ExecutionDevice::Cpu => "ort-cpu".into(),
            ExecutionDevice::Cuda(i) => format!("ort-cuda:{i}"),
            ExecutionDevice::TensorRt(i) => format!("ort-tensorrt:{i}"),
        }
    }

    fn output_names(&self) -> Vec<String> {
        self.outputs.clone()
    }
}
