//! tract: the pure-Rust runtime, on the CPU.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use ndarray::{ArrayD, ArrayView4};
use tract_linalg::multithread::{multithread_tract_scope, Executor};

use crate::engine::Engine;

type Plan = Arc<tract_onnx::prelude::TypedRunnableModel>;

/// tract: optimised plans are built per input shape (a concrete shape runs
/// faster than a symbolic one) and shared by the engine's workers.
///
/// With several threads the scene pipeline runs one worker per thread,
/// each a whole batch at a time on one core ([`Engine::workers`]): every op
/// then runs in parallel, not only the matrix products. Called directly
/// (`run`), the engine instead splits its matrix products' output blocks
/// over a private pool (threads `smae-tract-N`, tract-linalg's
/// `multithread-mm`). A tile's arithmetic depends on its batch's size
/// (tract picks kernels by shape), never on the thread count, so results
/// are the same on any number of threads.
pub struct TractEngine {
    model: Arc<tract_onnx::prelude::InferenceModel>,
    plans: Arc<Mutex<HashMap<[usize; 4], Plan>>>,
    outputs: Vec<String>,
    threads: usize,
    /// The matrix-product pool of a direct `run` on several threads, started
    /// on first use (the scene pipeline's workers never need it).
    pool: Option<Executor>,
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
        Ok(Self {
            model: Arc::new(model),
            plans: Arc::default(),
            outputs,
            threads: threads.max(1),
            pool: None,
        })
    }

    /// The optimised plan for input `shape` (built once, for all workers).
    pub fn plan(&self, shape: [usize; 4]) -> Result<Plan> {
        use tract_onnx::prelude::*;
        let mut plans = self.plans.lock().map_err(|_| anyhow!("tract plans"))?;
        if let Some(p) = plans.get(&shape) {
            return Ok(p.clone());
        }
        let plan = (*self.model)
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| anyhow!("tract cannot prepare the model for input {shape:?}: {e}"))?;
        plans.insert(shape, plan.clone());
        Ok(plan)
    }
}

impl Engine for TractEngine {
    fn run(&mut self, batch: ArrayView4<'_, f32>) -> Result<Vec<ArrayD<f32>>> {
        use tract_onnx::prelude::*;
        let s = batch.shape();
        let plan = self.plan([s[0], s[1], s[2], s[3]])?;
        let input: Tensor = batch.to_owned().into_dyn().into();
        let threads = self.threads;
        let executor = if threads > 1 {
            self.pool
                .get_or_insert_with(|| Executor::multithread_with_name(threads, "smae-tract"))
                .clone()
        } else {
            Executor::SingleThread
        };
        let out = multithread_tract_scope(executor, || plan.run(tvec!(input.into_tvalue())))
            .map_err(|e| anyhow!("tract: {e}"))?;
        out.iter()
            .map(|t| {
                t.to_plain_array_view::<f32>()
                    .map(|v| v.to_owned())
                    .map_err(|e| anyhow!("tract output: {e}"))
            })
            .collect()
    }

    fn workers(&mut self) -> Result<Option<Vec<Box<dyn Engine>>>> {
        if self.threads <= 1 {
            return Ok(None);
        }
        Ok(Some(
            (0..self.threads)
                .map(|_| {
                    Box::new(TractEngine {
                        model: self.model.clone(),
                        plans: self.plans.clone(),
                        outputs: self.outputs.clone(),
                        threads: 1,
                        pool: None,
                    }) as Box<dyn Engine>
                })
                .collect(),
        ))
    }

    fn name(&self) -> String {
        "tract".into()
    }

    fn output_names(&self) -> Vec<String> {
        self.outputs.clone()
    }
}
