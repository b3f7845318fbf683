//! ONNX Runtime through `ort`, its library loaded at run time.

use std::path::Path;
use std::sync::Mutex;

#[cfg(not(feature = "cuda"))]
use anyhow::bail;
use anyhow::{anyhow, Context, Result};
use ndarray::{ArrayD, ArrayView4};

use crate::engine::{Engine, ExecutionDevice};

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
        let lib = crate::engine::find_ort_library(library).context("ONNX Runtime's library (libonnxruntime.so) was not found; set ORT_DYLIB_PATH, pass --ort-lib, or use --backend tract")?;
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
