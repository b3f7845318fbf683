//! `smae-train explain`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use smae_run::Method;

use crate::architecture::ModelArgs;
use crate::pretrain::explain::{self, ExplainRequest, ExplainSource};
use crate::pretrain::selection::SelectionArgs;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The image to explain.
    #[arg(long)]
    pub image: PathBuf,
    /// Output folder for selection.json and selection.png.
    #[arg(long)]
    pub output: PathBuf,
    /// A SelectiveMAE run: use its model, ratios and curriculum.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Point of the run as a fraction of its epochs (picks the PSTS stage).
    #[arg(long, conflicts_with = "epoch")]
    pub epoch_fraction: Option<f64>,
    /// Point of the run in epochs.
    #[arg(long)]
    pub epoch: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Print the JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let source = match &args.run {
        Some(run) => ExplainSource::Run(run.clone()),
        None => {
            let (vit, _) = args.model.vit()?;
            let method =
                args.selection
                    .spec(Method::Selective, 1.0, vit.patch_size, vit.num_patches())?;
            ExplainSource::Fresh {
                decoder: args.model.decoder(Method::Selective)?,
                vit,
                method,
            }
        }
    };
    let req = ExplainRequest {
        image: args.image.clone(),
        output: args.output.clone(),
        source,
        epoch_fraction: args.epoch_fraction,
        epoch: args.epoch,
        seed: args.seed,
    };
    let e = explain::explain(&req)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        println!(
            "stage {} at epoch {:.2}: encoded {} ({} by HOG, {} by PSTS), {} targets; wrote {} and {}",
            e.stage,
            e.epoch,
            e.visible.len(),
            e.initial.len(),
            e.psts.len(),
            e.targets.len(),
            args.output.join("selection.json").display(),
            args.output.join("selection.png").display()
        );
    }
    Ok(())
}
