//! A model opened once (its card read, its runtime started) and run on any
//! number of scenes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::card::ModelCard;
use crate::engine::{self, Backend, Engine, ExecutionDevice};
use crate::onnx_meta;

#[derive(Debug, Clone)]
pub struct ModelOptions {
    pub backend: Backend,
    pub device: ExecutionDevice,
    /// Threads for one inference (ONNX Runtime intra-op threads; the
    /// thread pool of tract's matrix products).
    pub threads: usize,
    pub ort_library: Option<PathBuf>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            device: ExecutionDevice::Cpu,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ort_library: None,
        }
    }
}

pub struct Model {
    pub path: PathBuf,
    pub card: ModelCard,
    pub(crate) engine: Box<dyn Engine>,
    /// Engine output index of each card output (read by the scene runner;
    /// smae-export builds this crate without it).
    #[cfg_attr(not(feature = "scene"), allow(dead_code))]
    pub(crate) output_index: Vec<usize>,
}

/// The tasks that have a scene writer.
pub const SCENE_TASKS: [&str; 4] = ["classify", "segment", "detect", "detect-obb"];

impl Model {
    pub fn open(path: &Path, opts: &ModelOptions) -> Result<Self> {
        if !path.is_file() {
            bail!("model {} does not exist", path.display());
        }
        let card = onnx_meta::read_card(path)?;
        if !SCENE_TASKS.contains(&card.task.as_str()) {
            bail!(
                "{} is a '{}' model, which has no scene writer (smae-infer writes {})",
                path.display(),
                card.task,
                SCENE_TASKS.join(", ")
            );
        }
        let engine = engine::open(
            path,
            opts.backend,
            opts.device,
            opts.threads,
            opts.ort_library.as_deref(),
        )?;
        Self::with_engine(path, card, engine)
    }

    /// A model whose outputs come from `engine` (any runtime, e.g. the Burn
    /// model evaluation runs), read as `card` says; `path` names it in
    /// messages and outputs.
    pub fn with_engine(path: &Path, card: ModelCard, engine: Box<dyn Engine>) -> Result<Self> {
        let names = engine.output_names();
        let output_index = card
            .outputs
            .iter()
            .map(|o| {
                names.iter().position(|n| *n == o.name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: the card names output '{}', which the graph does not have ({names:?})",
                        path.display(),
                        o.name
                    )
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            card,
            engine,
            output_index,
        })
    }

    /// The runtime in use, e.g. `ort-cpu` or `tract`.
    pub fn engine_name(&self) -> String {
        self.engine.name()
    }

    /// Engine output index of the card output of `kind`.
    #[cfg_attr(not(feature = "scene"), allow(dead_code))]
    pub(crate) fn output_of(&self, kind: &str) -> Result<usize> {
        self.card
            .outputs
            .iter()
            .position(|o| o.kind == kind)
            .map(|i| self.output_index[i])
            .ok_or_else(|| {
                anyhow::anyhow!("{}: the card lists no '{kind}' output", self.path.display())
            })
    }
}
