//! `smae-train finetune`.

use anyhow::Result;

use crate::eval::headline;
use crate::finetune::{self, FinetuneOptions};

pub fn run(args: FinetuneOptions) -> Result<()> {
    let out = finetune::run(&args)?;
    if !args.quiet {
        println!("{}", serde_json::to_string_pretty(&headline(&out))?);
    }
    Ok(())
}
