//! `log.jsonl`: one JSON object per logged step, flushed line by line so
//! the log survives a kill.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

pub const LOG: &str = "log.jsonl";

pub struct LogWriter {
    file: File,
}

impl LogWriter {
    /// Opens `run/log.jsonl`, dropping lines logged after `keep_through_step`
    /// (a resumed run repeats the steps after its last checkpoint).
    pub fn open(run: &Path, keep_through_step: Option<u64>) -> Result<Self> {
        let path = run.join(LOG);
        if let (Some(last), true) = (keep_through_step, path.exists()) {
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
            crate::atomic::write(&path, text.as_bytes())?;
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
