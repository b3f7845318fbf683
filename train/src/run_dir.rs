//! The run directory contract: `config.json` (resolved configuration) and
//! `log.jsonl` (one JSON object per logged step).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use smae_models::VitConfig;

pub const CONFIG: &str = "config.json";
pub const LOG: &str = "log.jsonl";

/// Writes `value` as pretty JSON to `path` via a temporary file and a rename.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = temp_name(path);
    fs::write(&tmp, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// `dir/.name.tmp` next to `path`.
pub fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Appends one JSON object per line and flushes it, so the log survives a kill.
pub struct LogWriter {
    file: File,
}

impl LogWriter {
    /// Opens `run/log.jsonl`, dropping lines logged after `keep_through_step`
    /// (a resumed run repeats the steps after its last checkpoint).
    pub fn open(run: &Path, keep_through_step: Option<u64>) -> Result<Self> {
        let path = run.join(LOG);
        if let Some(last) = keep_through_step {
            if path.exists() {
                let kept: Vec<String> = BufReader::new(File::open(&path)?)
                    .lines()
                    .map_while(Result::ok)
                    .filter(|line| {
                        serde_json::from_str::<serde_json::Value>(line)
                            .ok()
                            .and_then(|v| v["step"].as_u64())
                            .is_some_and(|s| s <= last)
                    })
                    .collect();
                let mut text = kept.join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                let tmp = temp_name(&path);
                fs::write(&tmp, text)?;
                fs::rename(&tmp, &path)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()?;
        Ok(())
    }
}

/// The encoder of any run (pre-training or import): its configuration and the
/// weights file of its latest checkpoint.
pub fn read_encoder(run: &Path) -> Result<(VitConfig, PathBuf)> {
    let path = run.join(CONFIG);
    let text = fs::read(&path)
        .with_context(|| format!("{} is not a run directory (no config.json)", run.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    let vit: VitConfig = serde_json::from_value(value["vit"].clone())
        .with_context(|| format!("{} does not describe a ViT encoder", path.display()))?;
    let dir = crate::checkpoint::latest(run)?
        .with_context(|| format!("{} has no checkpoint", run.display()))?;
    Ok((vit, dir.join("model.safetensors")))
}
