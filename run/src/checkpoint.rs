//! The run's latest state, replaced atomically: the new checkpoint is written
//! to a temporary directory and swapped in by renames, so a kill at any
//! moment leaves the last good checkpoint (or the one being renamed over
//! it) intact and `--resume` finds it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const CHECKPOINT: &str = "checkpoint";
/// The weights inside a checkpoint directory.
pub const MODEL: &str = "model.safetensors";
const TMP: &str = ".checkpoint.tmp";
const OLD: &str = ".checkpoint.old";
const STATE: &str = "trainer.json";

/// Where the training loop stands, saved next to the weights. Plain data:
/// what else a trainer keeps (optimizer moments, InfoBatch scores) it writes
/// into the same directory itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub step: u64,
    /// The epoch in progress and how many of its steps are done.
    pub epoch: u64,
    pub step_in_epoch: u64,
    pub images_seen: u64,
    /// Samples dropped from batches because they failed to decode.
    pub decode_failures: u64,
}

/// Writes a checkpoint through `write` (which fills the directory it gets)
/// and swaps it in.
pub fn write_atomically(run: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = run.join(TMP);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing stale {}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    for entry in fs::read_dir(&tmp)? {
        fs::File::open(entry?.path())?.sync_all()?;
    }
    let cur = run.join(CHECKPOINT);
    let old = run.join(OLD);
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    if cur.exists() {
        fs::rename(&cur, &old).context("moving the previous checkpoint aside")?;
    }
    fs::rename(&tmp, &cur).context("installing the new checkpoint")?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    fs::File::open(run)?.sync_all()?;
    Ok(())
}

/// The latest complete checkpoint, recovering one interrupted between the
/// two renames.
pub fn latest(run: &Path) -> Result<Option<PathBuf>> {
    let cur = run.join(CHECKPOINT);
    let old = run.join(OLD);
    if !cur.exists() && old.exists() {
        fs::rename(&old, &cur).context("recovering the previous checkpoint")?;
    }
    Ok(cur.join(MODEL).exists().then_some(cur))
}

/// The latest checkpoint, or an error naming the run.
pub fn require(run: &Path) -> Result<PathBuf> {
    latest(run)?.with_context(|| format!("{} has no checkpoint", run.display()))
}

pub fn save_state(dir: &Path, state: &TrainerState) -> Result<()> {
    fs::write(dir.join(STATE), serde_json::to_vec_pretty(state)?).context("writing trainer.json")
}

pub fn load_state(dir: &Path) -> Result<TrainerState> {
    let text = fs::read(dir.join(STATE)).context("reading trainer.json")?;
    serde_json::from_slice(&text).context("parsing trainer.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_and_recover() {
        let run = smae_testkit::scratch("ckpt");
        assert!(latest(&run).unwrap().is_none());
        for step in 1..=2u64 {
            write_atomically(&run, |d| {
                fs::write(d.join(MODEL), b"weights")?;
                save_state(
                    d,
                    &TrainerState {
                        step,
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        }
        let step = |run: &Path| load_state(&latest(run).unwrap().unwrap()).unwrap().step;
        assert_eq!(step(&run), 2);
        // A failed write leaves the previous checkpoint and no temporary one.
        let err = write_atomically(&run, |_| anyhow::bail!("disk full"));
        assert!(err.is_err());
        assert!(!run.join(TMP).exists());
        assert_eq!(step(&run), 2);
        // Killed between the renames: only the old copy exists.
        fs::rename(run.join(CHECKPOINT), run.join(OLD)).unwrap();
        assert_eq!(step(&run), 2);
    }
}
