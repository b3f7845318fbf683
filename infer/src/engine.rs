//! The runtimes behind one interface: ONNX Runtime (`ort`, the library
//! loaded at run time from the `onnxruntime` PyPI wheel or the system) on
//! CPU, CUDA or TensorRT, and tract (pure Rust, CPU). Each is a cargo
//! feature (both on by default); other engines (evaluation's Burn model in
//! smae-train) implement [`Engine`] too.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
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
    /// Independent engines that run whole batches at once, one per thread,
    /// in place of this one's own threading (tract: one worker per thread;
    /// ONNX Runtime threads each run itself, so `None`).
    fn workers(&mut self) -> Result<Option<Vec<Box<dyn Engine>>>> {
        Ok(None)
    }
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
            open_tract(model, threads)
        }
        Backend::Ort => open_ort(model, device, threads, ort_library),
        Backend::Auto => match find_ort_library(ort_library) {
            Some(lib) if cfg!(feature = "ort") => open_ort(model, device, threads, Some(&lib)),
            _ if device == ExecutionDevice::Cpu && cfg!(feature = "tract") => {
                open_tract(model, threads)
            }
            _ => bail!("{device:?} needs ONNX Runtime, whose library was not found (set ORT_DYLIB_PATH or pass --ort-lib)"),
        },
    }
}

#[cfg(feature = "tract")]
fn open_tract(model: &Path, threads: usize) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::tract_engine::TractEngine::open(
        model, threads,
    )?))
}

#[cfg(not(feature = "tract"))]
fn open_tract(_: &Path, _: usize) -> Result<Box<dyn Engine>> {
    bail!("this build has no tract runtime; use --backend ort")
}

#[cfg(feature = "ort")]
fn open_ort(
    model: &Path,
    device: ExecutionDevice,
    threads: usize,
    library: Option<&Path>,
) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::ort_engine::OrtEngine::open(
        model, device, threads, library,
    )?))
}

#[cfg(not(feature = "ort"))]
fn open_ort(_: &Path, _: ExecutionDevice, _: usize, _: Option<&Path>) -> Result<Box<dyn Engine>> {
    bail!("this build has no ONNX Runtime support; use --backend tract")
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
