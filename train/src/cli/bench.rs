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
    /// cpu, cuda or cuda:N.
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
        })
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
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
