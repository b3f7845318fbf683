//! `smae-train import` and `export-timm`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::architecture::ModelArgs;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A PyTorch checkpoint (zip format: .pth, .pt, .bin) or a .safetensors file.
    #[arg(long)]
    pub weights: PathBuf,
    /// Run directory to create.
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportTimmArgs {
    /// A pre-training or import run.
    #[arg(long)]
    pub run: PathBuf,
    /// The .safetensors file to write.
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run(args: ImportArgs) -> Result<()> {
    let (mut vit, name) = args.model.vit()?;
    let (raw, source) = crate::import::read_checkpoint(&args.weights)?;
    // The patch size is the checkpoint's unless given.
    if args.model.patch_size.is_none() {
        if let Some(p) = crate::import::patch_size_of(&raw) {
            vit.patch_size = p;
            if args.model.img_size.is_none() && 224 % p != 0 {
                vit.img_size = 224 / p * p;
            }
            vit.validate()?;
        }
    }
    let report = crate::import::import(raw, source, &vit, &name, &args.output)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        println!(
            "imported {} tensors from {} ({}{}) into {}",
            report.loaded.len(),
            args.weights.display(),
            report.source.format,
            report
                .source
                .nested_key
                .as_ref()
                .map_or(String::new(), |k| format!(", under '{k}'")),
            args.output.display()
        );
        let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
        for i in &report.ignored {
            *reasons.entry(i.reason.as_str()).or_default() += 1;
        }
        for (reason, n) in reasons {
            println!("ignored {n}: {reason}");
        }
        for note in &report.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

pub fn run_export_timm(args: ExportTimmArgs) -> Result<()> {
    let n = crate::import::export_timm(&args.run, &args.output)?;
    println!(
        "wrote {} tensors with timm names to {}",
        n,
        args.output.display()
    );
    Ok(())
}
