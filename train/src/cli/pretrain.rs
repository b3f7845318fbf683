//! `smae-train pretrain`.

use anyhow::Result;

use crate::pretrain::{self, PretrainOptions};

pub fn run(args: PretrainOptions) -> Result<()> {
    let summary = pretrain::run(&args)?;
    if !args.quiet {
        let loss = summary
            .final_loss
            .map_or("n/a".to_string(), |l| format!("{l:.4}"));
        let state = if summary.finished {
            "finished"
        } else {
            "stopped (continue with --resume)"
        };
        println!(
            "{state}: {} steps, {:.2} epochs, final loss {loss}, {} decode failures; run in {}",
            summary.steps,
            summary.epochs_done,
            summary.decode_failures,
            summary.run.display()
        );
    }
    Ok(())
}
