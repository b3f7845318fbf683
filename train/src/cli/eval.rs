//! `smae-train eval`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::device::DeviceList;
use crate::eval;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A fine-tuning run.
    #[arg(long)]
    pub run: PathBuf,
    /// Data to evaluate on, in the task's layout (all of it is used).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the metrics [default: RUN/metrics.json].
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// cpu, cuda, cuda:N,M,..., wgpu or wgpu:N,M,... (as pretrain).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long)]
    pub skip_bad_annotations: bool,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let out = eval::eval(
        &args.run,
        &args.data,
        &DeviceList::parse(&args.device)?,
        args.skip_bad_annotations,
    )?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| args.run.join(eval::METRICS));
    smae_run::atomic::write_json(&path, &out)?;
    println!("{}", serde_json::to_string_pretty(&eval::headline(&out))?);
    Ok(())
}
