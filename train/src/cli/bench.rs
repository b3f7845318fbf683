//! `smae-train bench`: each method in its own process, so peak memory is
//! its own.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use smae_run::Method;

use crate::architecture::ModelArgs;
use crate::device::DeviceList;
use crate::pretrain::bench::{self, BenchLine, BenchRequest};
use crate::pretrain::selection::SelectionArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchMethod {
    Selective,
    Mae,
    Both,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[arg(long, value_enum, default_value_t = BenchMethod::Both)]
    pub method: BenchMethod,
    /// cpu, cuda, cuda:N, wgpu or wgpu:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// f32, or bf16 matmuls and attention (mixed precision, as `pretrain`).
    #[arg(long, default_value = "f32", value_parser = crate::pretrain::config::parse_precision)]
    pub precision: smae_models::precision::Precision,
    /// End to end: real pre-training on this image folder (loader, decoding,
    /// augmentation, upload, logging included) instead of steps on one
    /// prepared batch; times the last `--steps` steps after at least
    /// `--warmup`.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

impl BenchArgs {
    fn request(&self, method: Method) -> Result<BenchRequest> {
        let (vit, name) = self.model.vit()?;
        Ok(BenchRequest {
            model_name: name,
            method: self
                .selection
                .spec(method, 800.0, vit.patch_size, vit.num_patches())?,
            decoder: self.model.decoder(method)?,
            vit,
            devices: DeviceList::parse(&self.device)?,
            batch_size: self.batch_size,
            steps: self.steps,
            warmup: self.warmup,
            seed: self.seed,
            precision: self.precision,
        })
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    if let Some(data) = &args.data {
        return end_to_end(&args, data);
    }
    match args.method {
        BenchMethod::Selective | BenchMethod::Mae => {
            let method = if args.method == BenchMethod::Mae {
                Method::Mae
            } else {
                Method::Selective
            };
            let line = bench::run(&args.request(method)?)?;
            println!("{}", serde_json::to_string(&line)?);
        }
        BenchMethod::Both => {
            // Validate once here, then measure each method in its own process
            // so peak memory is not shared between them.
            args.request(Method::Mae)?;
            args.request(Method::Selective)?;
            let mae = bench_child("mae")?;
            println!("{}", serde_json::to_string(&mae)?);
            let sel = bench_child("selective")?;
            println!("{}", serde_json::to_string(&sel)?);
            println!("{}", serde_json::to_string(&bench::ratio(&mae, &sel))?);
        }
    }
    Ok(())
}

/// Re-runs this command with `--method <method>` and parses its JSON line.
fn bench_child(method: &str) -> Result<BenchLine> {
    let exe = std::env::current_exe().context("locating smae-train")?;
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    args.push("--method".into());
    args.push(method.into());
    let out = std::process::Command::new(exe)
        .args(&args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running the benchmark")?;
    if !out.status.success() {
        bail!("the {method} benchmark failed");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .last()
        .context("the benchmark printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("parsing benchmark output: {line}"))
}

/// One JSON line of `bench --data`.
#[derive(Debug, serde::Serialize)]
struct EndToEndLine {
    mode: &'static str,
    method: &'static str,
    data: String,
    batch_size: usize,
    device: String,
    /// Timed steps (after the warm-up steps).
    steps: usize,
    images_per_s: f64,
    step_ms: f64,
}

/// `bench --data`: each method runs `smae-train pretrain` on the folder in
/// its own process (the model and selection arguments of this command
/// passed through), for a warm-up rounded up to a multiple of `--steps`
/// plus `--steps` timed steps; the figure is the last logged window of its
/// `log.jsonl`, which covers exactly the timed steps.
fn end_to_end(args: &BenchArgs, data: &std::path::Path) -> Result<()> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let methods: &[&'static str] = match args.method {
        BenchMethod::Selective => &["selective"],
        BenchMethod::Mae => &["mae"],
        BenchMethod::Both => &["mae", "selective"],
    };
    let warm = args.warmup.div_ceil(args.steps).max(1) * args.steps;
    let total = (warm + args.steps).to_string();
    let exe = std::env::current_exe().context("locating smae-train")?;
    let passed = pass_through(std::env::args().skip(2));
    for &method in methods {
        let work = tempfile::Builder::new()
            .prefix("smae-bench-e2e-")
            .tempdir()
            .context("creating a scratch run directory")?;
        let run = work.path().join("run");
        let status = std::process::Command::new(&exe)
            .arg("pretrain")
            .args(&passed)
            .args(["--method", method, "--data"])
            .arg(data)
            .arg("--output")
            .arg(&run)
            .args(["--epochs", "1000000", "--stop-after-steps", &total])
            .args(["--log-every", &args.steps.to_string(), "--quiet"])
            .status()
            .context("running pre-training")?;
        if !status.success() {
            bail!("the {method} end-to-end run failed");
        }
        let log =
            std::fs::read_to_string(run.join("log.jsonl")).context("reading the run's log")?;
        let last: serde_json::Value =
            serde_json::from_str(log.lines().last().context("empty log")?)?;
        let images_per_s = last["images_per_s"]
            .as_f64()
            .context("no images_per_s in the log")?;
        let line = EndToEndLine {
            mode: "end-to-end",
            method,
            data: data.display().to_string(),
            batch_size: args.batch_size,
            device: args.device.clone(),
            steps: args.steps,
            images_per_s,
            step_ms: 1000.0 * args.batch_size as f64 / images_per_s,
        };
        println!("{}", serde_json::to_string(&line)?);
    }
    Ok(())
}

/// This command's arguments minus the bench-only ones (`--method`,
/// `--steps`, `--warmup`, `--data`, each with its value): the model,
/// selection, batch, device and seed arguments `pretrain` reads the same way.
fn pass_through(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        let flag = a.split('=').next().unwrap_or("");
        if matches!(flag, "--method" | "--steps" | "--warmup" | "--data") {
            skip = !a.contains('=');
            continue;
        }
        out.push(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pass_through;

    #[test]
    fn bench_only_arguments_are_dropped() {
        let args = [
            "--model",
            "vit-tiny",
            "--steps",
            "5",
            "--data=/x",
            "--method",
            "mae",
            "--seed",
            "2",
        ];
        assert_eq!(
            pass_through(args.iter().map(|s| s.to_string())),
            vec!["--model", "vit-tiny", "--seed", "2"]
        );
    }
}
