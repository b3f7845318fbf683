//! Reading a run directory as a whole: its configuration and the weights
//! of its latest checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Result;
use smae_models::VitConfig;

use crate::checkpoint::{self, MODEL};
use crate::config::RunConfig;

/// The encoder of any run (pre-training, import or fine-tuning): its
/// configuration and the weights file of its latest checkpoint.
pub fn encoder(run: &Path) -> Result<(VitConfig, PathBuf)> {
    let cfg = RunConfig::read(run)?;
    let dir = checkpoint::require(run)?;
    Ok((cfg.vit().clone(), dir.join(MODEL)))
}
