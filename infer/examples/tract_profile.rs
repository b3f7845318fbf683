//! Per-op profile of a model on tract: where a tile's time goes, by op kind
//! and by node, in the optimised plan smae-infer runs (same plan builder,
//! single thread). Prints a table; compare with
//! `scripts/profile_ort.py` for ONNX Runtime.
//!
//! ```sh
//! cargo run --release -p smae-infer --example tract_profile -- MODEL.onnx --size 224 [--batch 1] [--runs 5]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use smae_infer::tract_engine::TractEngine;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{eval, SimpleState};

struct Args {
    model: PathBuf,
    size: usize,
    channels: usize,
    batch: usize,
    runs: usize,
    top: usize,
}

fn parse() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        model: PathBuf::new(),
        size: 0,
        channels: 3,
        batch: 1,
        runs: 5,
        top: 12,
    };
    while let Some(k) = it.next() {
        let mut num = |what: &str| -> Result<usize> {
            it.next()
                .with_context(|| format!("{what} needs a value"))?
                .parse()
                .with_context(|| format!("{what} takes a whole number"))
        };
        match k.as_str() {
            "--size" => a.size = num("--size")?,
            "--channels" => a.channels = num("--channels")?,
            "--batch" => a.batch = num("--batch")?.max(1),
            "--runs" => a.runs = num("--runs")?.max(1),
            "--top" => a.top = num("--top")?,
            _ if k.starts_with("--") => bail!("unknown option {k}"),
            _ => a.model = PathBuf::from(k),
        }
    }
    if a.model.as_os_str().is_empty() || a.size == 0 {
        bail!("usage: tract_profile MODEL.onnx --size PX [--channels 3] [--batch 1] [--runs 5] [--top 12]");
    }
    Ok(a)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let a = parse()?;
    let engine = TractEngine::open(&a.model, 1)?;
    let plan = engine.plan([a.batch, a.channels, a.size, a.size])?;
    let input: Tensor = tract_ndarray::Array4::<f32>::from_shape_fn(
        (a.batch, a.channels, a.size, a.size),
        |(b, c, y, x)| ((b * 7 + c * 5 + y * 3 + x) % 17) as f32 / 8.0 - 1.0,
    )
    .into();
    let mut state = SimpleState::new(&plan).map_err(|e| anyhow!("{e}"))?;
    // One warm-up run (first-touch allocations, packed weights).
    state
        .run(tvec!(input.clone().into_tvalue()))
        .map_err(|e| anyhow!("{e}"))?;
    // Each node's time in each run; a node's figure is its median over the
    // runs (robust to a burst of noise on a shared machine).
    let mut per_node: HashMap<usize, Vec<Duration>> = HashMap::new();
    let mut walls = Vec::new();
    for _ in 0..a.runs {
        let start = Instant::now();
        state
            .run_plan_with_eval(
                tvec!(input.clone().into_tvalue()),
                |ctx, st, node, inputs| {
                    let t = Instant::now();
                    let out = eval(ctx, st, node, inputs);
                    per_node.entry(node.id).or_default().push(t.elapsed());
                    out
                },
            )
            .map_err(|e| anyhow!("{e}"))?;
        walls.push(start.elapsed());
    }
    let per_node: HashMap<usize, Duration> = per_node
        .into_iter()
        .map(|(id, mut ts)| (id, median(&mut ts)))
        .collect();
    let wall = median(&mut walls);
    let model = plan.model();
    let mut per_op: HashMap<String, (usize, Duration)> = HashMap::new();
    for (id, d) in &per_node {
        let e = per_op
            .entry(model.node(*id).op().name().to_string())
            .or_default();
        e.0 += 1;
        e.1 += *d;
    }
    let total: Duration = per_node.values().sum();
    let mut ops: Vec<_> = per_op.into_iter().collect();
    ops.sort_by_key(|o| std::cmp::Reverse(o.1 .1));
    let mut text = format!(
        "model {} input [{}, {}, {}, {}]: {} nodes, {:.2} ms per run in ops, {:.2} ms wall (medians of {} runs, 1 thread)\n",
        a.model.display(),
        a.batch,
        a.channels,
        a.size,
        a.size,
        model.nodes().len(),
        ms(total),
        ms(wall),
        a.runs
    );
    text += "\n| op | nodes | ms / run | share |\n|---|---|---|---|\n";
    for (op, (n, d)) in &ops {
        text += &format!(
            "| {op} | {n} | {:.2} | {:.1}% |\n",
            ms(*d),
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    let mut nodes: Vec<_> = per_node.into_iter().collect();
    nodes.sort_by_key(|n| std::cmp::Reverse(n.1));
    if a.top > 0 {
        text += "\n| node | op | output | ms / run |\n|---|---|---|---|\n";
    }
    for (id, d) in nodes.into_iter().take(a.top) {
        let node = model.node(id);
        let shape = node
            .outputs
            .first()
            .map(|o| format!("{:?}", o.fact))
            .unwrap_or_default();
        text += &format!(
            "| {} | {} | {} | {:.2} |\n",
            node.name,
            node.op().name(),
            shape,
            ms(d)
        );
    }
    // What the model computed, to compare builds (e.g. x86-64 and aarch64).
    let outputs = state
        .run(tvec!(input.clone().into_tvalue()))
        .map_err(|e| anyhow!("{e}"))?;
    text += "\n| output | shape | sum | max abs |\n|---|---|---|---|\n";
    for (k, t) in outputs.iter().enumerate() {
        let v = t.to_plain_array_view::<f32>().map_err(|e| anyhow!("{e}"))?;
        let sum: f64 = v.iter().map(|x| *x as f64).sum();
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        text += &format!("| {k} | {:?} | {sum:.6e} | {max:.6e} |\n", v.shape());
    }
    // (a closed pipe, as with `| head`, is not an error)
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    Ok(())
}

fn median(ts: &mut [Duration]) -> Duration {
    ts.sort();
    ts.get(ts.len() / 2).copied().unwrap_or_default()
}
