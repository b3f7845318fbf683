//! The `smae-train` command line: one file per subcommand, each parsing its
//! arguments (the options structs live with the stage they configure) and
//! calling the library, then printing what it did.

mod bench;
mod curate;
mod eval;
mod explain;
mod finetune;
mod import;
mod pretrain;

use anyhow::Result;
use clap::{Parser, Subcommand};

pub use bench::BenchArgs;
pub use curate::CurateArgs;
pub use eval::EvalArgs;
pub use explain::ExplainArgs;
pub use import::{ExportTimmArgs, ImportArgs};

use crate::finetune::FinetuneOptions;
use crate::pretrain::PretrainOptions;

#[derive(Debug, Parser)]
#[command(
    name = "smae-train",
    version,
    about = "Curate imagery, pre-train SelectiveMAE (and the MAE baseline), fine-tune and evaluate heads, import weights",
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pre-train a ViT with SelectiveMAE or MAE on a folder of images.
    Pretrain(PretrainOptions),
    /// Compare MAE and SelectiveMAE training speed and memory (JSON lines).
    Bench(BenchArgs),
    /// Fine-tune an encoder with a classification, segmentation or detection head.
    Finetune(FinetuneOptions),
    /// Evaluate a fine-tuned run on a dataset (writes metrics.json).
    Eval(EvalArgs),
    /// Show which patches SelectiveMAE encodes and reconstructs for an image.
    Explain(ExplainArgs),
    /// Build a pre-training corpus: exclude non-RGB rasters, slice, filter sizes, deduplicate, shard.
    Curate(CurateArgs),
    /// Import official SelectiveMAE / MAE or timm ViT weights (.pth, .pt, .safetensors) as a run.
    Import(ImportArgs),
    /// Write a run's encoder as timm-compatible safetensors.
    ExportTimm(ExportTimmArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    if crate::distributed::world().is_some()
        && !matches!(
            cli.command,
            Command::Pretrain(_) | Command::Finetune(_) | Command::Curate(_)
        )
    {
        anyhow::bail!(
            "only `pretrain`, `finetune` and `curate` run across MPI ranks; start other commands as one process"
        );
    }
    match cli.command {
        Command::Pretrain(args) => pretrain::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Curate(args) => curate::run(args),
        Command::Finetune(args) => finetune::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Import(args) => import::run(args),
        Command::ExportTimm(args) => import::run_export_timm(args),
    }
}
