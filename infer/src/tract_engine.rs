//! tract: the pure-Rust runtime, on the CPU.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use ndarray::{ArrayD, ArrayView4};
use tract_linalg::multithread::{multithread_tract_scope, Executor};

use crate::engine::Engine;

/// tract: optimised plans are built per batch size (a concrete shape runs
/// faster than a symbolic one) and reused. With several threads, tract's
/// matrix products split their output tiles over a private thread pool
/// (threads named `smae-tract-N`); the tiles are the same, so results do
/// not depend on the thread count.
pub struct TractEngine {
    model: tract_onnx::prelude::InferenceModel,
    plans: HashMap<usize, Arc<tract_onnx::prelude::TypedRunnableModel>>,
    outputs: Vec<String>,
    executor: Executor,
}

impl TractEngine {
    pub fn open(path: &Path, threads: usize) -> Result<Self> {
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
        let executor = if threads > 1 {
            Executor::multithread_with_name(threads, "smae-tract")
        } else {
            Executor::SingleThread
        };
        Ok(Self {
            model,
            plans: HashMap::new(),
            outputs,
            executor,
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
        let out = multithread_tract_scope(self.executor.clone(), || {
            plan.run(tvec!(input.into_tvalue()))
        })
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
