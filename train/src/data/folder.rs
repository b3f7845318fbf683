//! A recursive folder of images, or of the tar shards `curate` writes, as a
//! dataset.
//!
//! The scan reads every loose file's header in parallel, so files that are
//! not images, are empty, or cannot be opened are found before training
//! starts. Each skipped file is counted under a reason and never replaced by
//! another sample; decoding errors that only show up later (a truncated
//! body) are counted by the loader the same way. Shards are indexed (entry
//! offsets) and read in place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::ImageReader;
use rayon::prelude::*;
use serde::Serialize;
use walkdir::WalkDir;

use super::shards::{index_shard, ShardEntry};

/// File extensions the dataset reads (case-insensitive).
pub const EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "tif", "tiff", "webp", "bmp"];

/// One sample: a loose image file or an image inside a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    File(PathBuf),
    Shard(ShardEntry),
}

impl Item {
    /// How to name the sample to a user.
    pub fn describe(&self) -> String {
        match self {
            Item::File(p) => p.display().to_string(),
            Item::Shard(e) => format!("{}:{}", e.shard.display(), e.name),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImageFolder {
    pub root: PathBuf,
    /// Usable samples, sorted by path (shards in entry order) so the dataset
    /// order is reproducible.
    pub items: Vec<Item>,
    pub report: ScanReport,
}

/// What the scan found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Files with an image extension.
    pub candidates: usize,
    pub usable: usize,
    /// Skipped files per reason.
    pub skipped: BTreeMap<String, usize>,
    /// The first few skipped files per reason, for the user to look at.
    pub examples: BTreeMap<String, Vec<String>>,
}

impl ScanReport {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    pub fn record_skip(&mut self, reason: &str, path: &Path) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        let ex = self.examples.entry(reason.to_string()).or_default();
        if ex.len() < 3 {
            ex.push(path.display().to_string());
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data folder {0} does not exist or is not a directory")]
    NotADirectory(PathBuf),
    #[error("no usable images under {root} ({candidates} candidate files, {skipped} skipped)")]
    Empty {
        root: PathBuf,
        candidates: usize,
        skipped: usize,
    },
}

fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Why a file cannot be used, from its header alone.
fn check_header(path: &Path) -> Result<(), &'static str> {
    let reader = ImageReader::open(path)
        .map_err(|_| "unreadable")?
        .with_guessed_format()
        .map_err(|_| "unreadable")?;
    if reader.format().is_none() {
        return Err("not an image");
    }
    let decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Unsupported(_) => "unsupported format",
        _ => "undecodable",
    })?;
    let (w, h) = image::ImageDecoder::dimensions(&decoder);
    if w == 0 || h == 0 {
        return Err("zero size");
    }
    Ok(())
}

impl ImageFolder {
    /// Walks `root` (following links, with loop detection) and keeps the files
    /// whose header decodes.
    pub fn scan(root: &Path) -> Result<Self, DataError> {
        if !root.is_dir() {
            return Err(DataError::NotADirectory(root.to_path_buf()));
        }
        let mut report = ScanReport::default();
        let mut candidates = Vec::new();
        let mut shards = Vec::new();
        for entry in WalkDir::new(root).follow_links(true) {
            match entry {
                Ok(e) if e.file_type().is_file() && has_image_extension(e.path()) => {
                    candidates.push(e.into_path())
                }
                Ok(e)
                    if e.file_type().is_file()
                        && e.path().extension().is_some_and(|x| x == "tar") =>
                {
                    shards.push(e.into_path())
                }
                Ok(_) => {}
                Err(err) => {
                    let path = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.to_path_buf());
                    let reason = if err.loop_ancestor().is_some() {
                        "symlink loop"
                    } else {
                        "unreadable"
                    };
                    report.record_skip(reason, &path);
                }
            }
        }
        candidates.sort();
        report.candidates = candidates.len();
        let checked: Vec<Result<(), &'static str>> =
            candidates.par_iter().map(|p| check_header(p)).collect();
        let mut items = Vec::with_capacity(candidates.len());
        shards.sort();
        for shard in shards {
            match index_shard(&shard) {
                Ok(entries) => {
                    report.candidates += entries.len();
                    items.extend(
                        entries
                            .into_iter()
                            .filter(|e| has_image_extension(Path::new(&e.name)))
                            .map(Item::Shard),
                    );
                }
                Err(_) => report.record_skip("unreadable shard", &shard),
            }
        }
        // A folder of shards (curate's output) is the shards alone: its
        // review sheets and other loose images are not training data.
        let shard_mode = !items.is_empty();
        for (path, res) in candidates.into_iter().zip(checked) {
            match res {
                Ok(()) if shard_mode => report.record_skip("loose file beside shards", &path),
                Ok(()) => items.push(Item::File(path)),
                Err(reason) => report.record_skip(reason, &path),
            }
        }
        report.usable = items.len();
        if items.is_empty() {
            return Err(DataError::Empty {
                root: root.to_path_buf(),
                candidates: report.candidates,
                skipped: report.skipped_total(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            items,
            report,
        })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
