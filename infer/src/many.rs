//! Many scenes through one model: the model is loaded once, each scene's
//! output lands in one folder under the scene's name, outputs already there
//! (written atomically, so finished) are skipped on a re-run, and a scene
//! that fails is reported while the others still run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::geotiff::check_writable;
use crate::model::Model;
use crate::run::{RunOptions, RunReport};

/// How one scene of a many-scene run ended.
#[derive(Debug, Clone, Serialize)]
pub struct SceneOutcome {
    pub input: PathBuf,
    pub output: PathBuf,
    /// `done`, `skipped` (its output was already there) or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
    pub seconds: f64,
    pub report: Option<RunReport>,
}

/// The summary of a many-scene run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenes: Vec<SceneOutcome>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub seconds: f64,
}

/// Inputs listed in a text file, one per line (blank lines and `#`
/// comments ignored).
pub fn read_list(path: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the input list {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect())
}

/// `dir/STEM.ext` for a scene path or URL.
pub fn output_for(input: &Path, dir: &Path, ext: &str) -> PathBuf {
    let name = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into());
    dir.join(format!("{name}.{ext}"))
}

impl Model {
    /// The output extension of this model's task: `tif` for class maps,
    /// `geojson` for detections.
    pub fn default_extension(&self) -> &'static str {
        match self.card.task.as_str() {
            "classify" | "segment" => "tif",
            _ => "geojson",
        }
    }

    /// Runs every scene of `inputs` into `dir` (created if missing) as
    /// `STEM.ext`; `each` hears about every scene as it ends. Fails before
    /// any work only when `dir` cannot be written or two inputs would write
    /// the same output.
    pub fn run_many(
        &mut self,
        inputs: &[PathBuf],
        dir: &Path,
        ext: &str,
        opts: &RunOptions,
        mut each: impl FnMut(&SceneOutcome),
    ) -> Result<Summary> {
        if inputs.is_empty() {
            bail!("no input scenes");
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
        check_writable(&dir.join("probe"))?;
        let outputs: Vec<PathBuf> = inputs.iter().map(|i| output_for(i, dir, ext)).collect();
        let mut seen = HashSet::new();
        for (i, o) in inputs.iter().zip(&outputs) {
            if !seen.insert(o) {
                bail!(
                    "two inputs would write {} ({} is one): give the scenes distinct names",
                    o.display(),
                    i.display()
                );
            }
        }
        let start = Instant::now();
        let mut scenes = Vec::with_capacity(inputs.len());
        for (input, output) in inputs.iter().zip(outputs) {
            let t = Instant::now();
            let outcome = if output.exists() {
                SceneOutcome {
                    input: input.clone(),
                    output,
                    status: "skipped",
                    error: None,
                    seconds: 0.0,
                    report: None,
                }
            } else {
                let r = self.run(input, &output, opts);
                SceneOutcome {
                    input: input.clone(),
                    output,
                    status: if r.is_ok() { "done" } else { "failed" },
                    error: r.as_ref().err().map(|e| format!("{e:#}")),
                    seconds: t.elapsed().as_secs_f64(),
                    report: r.ok(),
                }
            };
            each(&outcome);
            scenes.push(outcome);
        }
        let count = |s: &str| scenes.iter().filter(|o| o.status == s).count();
        Ok(Summary {
            done: count("done"),
            skipped: count("skipped"),
            failed: count("failed"),
            seconds: start.elapsed().as_secs_f64(),
            scenes,
        })
    }
}
