//! `smae-train curate`: the OpticalRS-13M curation pipeline.
//!
//! 1. scan: every raster under each source folder is opened (GDAL, else
//!    `image`); files that are not visible-light 8-bit RGB are excluded with a
//!    reason; images with a side over `max_side` are sliced (see `slicing`);
//!    crops with a side under `min_side` are dropped; every crop gets a pHash
//!    and a pixel SHA-256. Results go to `OUTPUT/.curate/scan.jsonl` as they
//!    come, so an interrupted scan resumes where it stopped. Under MPI
//!    ([`scan_share`]) each rank scans every N-th file into its own
//!    `scan.rR.jsonl` on the shared output folder, and rank 0 then reads all
//!    the logs and runs steps 2 and 3 alone, with the result of one process.
//! 2. dedup: exact duplicates (same pixels) are dropped, then near duplicates
//!    (pHash within `--phash-distance`, found by multi-index hashing) greedily
//!    in a stable order; every dropped pair goes to `review.csv` and contact
//!    sheets `review-NNN.png` for the manual pass, whose decisions
//!    `--apply-review` feeds back. `--exclude-near` drops anything close to
//!    the given downstream test sets.
//! 3. write: the kept crops are encoded into `shard-NNNNNN.tar` files (with a
//!    `.keys` list each, so shards already written for the same content are
//!    not redone), then `manifest.jsonl` and `report.json`.

pub mod mih;
pub mod phash;
pub mod raster;
pub mod review;
pub mod slicing;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use walkdir::WalkDir;

use smae_run::seed::sample_seed;

use crate::data::shards;
use crate::progress::Progress;
use phash::{fingerprint, hex, unhex};
use raster::Raster;

/// File extensions considered rasters (case-insensitive).
pub const RASTER_EXTENSIONS: [&str; 10] = [
    "jpg", "jpeg", "png", "tif", "tiff", "webp", "bmp", "jp2", "gif", "img",
];

/// A named source dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    pub dir: PathBuf,
    pub license: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    Jpeg(u8),
    Png,
}

/// What a curation run does; under MPI every rank must be given the same
/// (checked at start).
#[derive(Debug, Clone, Serialize)]
pub struct CurateOptions {
    pub sources: Vec<Source>,
    pub output: PathBuf,
    pub crop: usize,
    pub min_side: usize,
    pub max_side: usize,
    pub phash_distance: u32,
    pub exclude_near: Vec<PathBuf>,
    pub apply_review: Option<PathBuf>,
    pub shard_size: usize,
    pub encoding: Encoding,
    pub seed: u64,
    /// How it reports, not what it does: ranks may differ.
    #[serde(skip)]
    pub quiet: bool,
}

/// One crop of a scanned file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CropRecord {
    /// `[x, y, w, h]` in source pixels.
    #[serde(rename = "box")]
    pub bbox: [usize; 4],
    /// pHash, 16 hex digits; absent when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// First 128 bits of the pixel SHA-256, hex; absent when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
}

impl CropRecord {
    /// The crop's pHash and SHA prefix; `None` for a dropped crop; an error
    /// for a record whose hashes do not parse (a damaged scan log).
    fn hashes(&self) -> Result<Option<(u64, [u8; 16])>, String> {
        match (&self.dropped, &self.phash, &self.sha) {
            (Some(_), _, _) => Ok(None),
            (None, Some(p), Some(h)) => {
                let phash = u64::from_str_radix(p, 16)
                    .ok()
                    .filter(|_| p.len() == 16)
                    .ok_or_else(|| format!("bad pHash '{p}'"))?;
                let sha = unhex::<16>(h).ok_or_else(|| format!("bad SHA '{h}'"))?;
                Ok(Some((phash, sha)))
            }
            _ => Err("a kept crop without hashes".into()),
        }
    }
}

/// What the scan found in one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub source: String,
    pub path: String,
    pub bytes: u64,
    pub mtime: u64,
    /// `ok`, `excluded` or `unreadable`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub width: usize,
    #[serde(default)]
    pub height: usize,
    #[serde(default)]
    pub bands: usize,
    #[serde(default)]
    pub crops: Vec<CropRecord>,
}

/// Counts of one source (or the total) through the stages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageCounts {
    pub files: usize,
    pub unreadable: BTreeMap<String, usize>,
    pub excluded: BTreeMap<String, usize>,
    pub images: usize,
    pub sliced_images: usize,
    pub crops: usize,
    pub too_small: usize,
    pub exact_duplicates: usize,
    pub near_duplicates: usize,
    pub near_test_set: usize,
    pub written: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub total: StageCounts,
    pub sources: BTreeMap<String, StageCounts>,
    /// Lines of the scan log of an earlier run that were damaged (cut by a
    /// kill, edited): their files were scanned again.
    #[serde(default)]
    pub damaged_scan_lines: usize,
    pub near_duplicate_pairs: usize,
    pub review_overrides: usize,
    pub shards: usize,
    pub shards_reused: usize,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub crop: usize,
    pub min_side: usize,
    pub max_side: usize,
    pub phash_distance: u32,
    pub shard_size: usize,
    pub encoding: Encoding,
    pub seed: u64,
    pub exclude_near: Vec<PathBuf>,
    pub sources: Vec<Source>,
}

/// A crop that survived the scan, in canonical order.
#[derive(Debug, Clone)]
pub struct Item {
    pub source: usize,
    pub path: String,
    pub bbox: [usize; 4],
    pub phash: u64,
    pub sha: [u8; 16],
}

impl Item {
    /// Stable identity used in review sheets and shard key lists.
    pub fn key(&self, sources: &[Source]) -> String {
        let [x, y, w, h] = self.bbox;
        format!(
            "{}/{}#{x},{y},{w},{h}",
            sources[self.source].name, self.path
        )
    }
}

fn has_raster_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| RASTER_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Runs the whole pipeline (reusing the scan logs of earlier runs and of
/// other ranks).
pub fn curate(opts: &CurateOptions) -> Result<Report> {
    validate(opts)?;
    let work = opts.output.join(".curate");
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let Scan {
        records,
        walk_errors,
        damaged_lines,
    } = scan(opts, &work, None)?;

    let mut counts: Vec<StageCounts> = vec![StageCounts::default(); opts.sources.len()];
    for (src, reason) in &walk_errors {
        counts[*src].files += 1;
        *counts[*src].unreadable.entry(reason.clone()).or_default() += 1;
    }
    let mut items = Vec::new();
    for (s, r) in &records {
        let s = *s;
        let c = &mut counts[s];
        c.files += 1;
        match r.status.as_str() {
            "unreadable" => {
                *c.unreadable
                    .entry(r.reason.clone().unwrap_or_default())
                    .or_default() += 1
            }
            "excluded" => {
                *c.excluded
                    .entry(r.reason.clone().unwrap_or_default())
                    .or_default() += 1
            }
            _ => {
                c.images += 1;
                if r.crops.len() > 1
                    || r.crops
                        .first()
                        .is_some_and(|k| k.bbox[2] != r.width || k.bbox[3] != r.height)
                {
                    c.sliced_images += 1;
                }
                for k in &r.crops {
                    c.crops += 1;
                    // Records were checked when the scan log was read.
                    match k.hashes().map_err(anyhow::Error::msg)? {
                        None => c.too_small += 1,
                        Some((phash, sha)) => items.push(Item {
                            source: s,
                            path: r.path.clone(),
                            bbox: k.bbox,
                            phash,
                            sha,
                        }),
                    }
                }
            }
        }
    }

    // Exact duplicates: same pixels, first occurrence wins.
    let mut first_of: HashMap<[u8; 16], usize> = HashMap::new();
    let mut alive = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        match first_of.entry(it.sha) {
            std::collections::hash_map::Entry::Occupied(_) => {
                counts[it.source].exact_duplicates += 1
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
                alive.push(i);
            }
        }
    }
    let items: Vec<Item> = alive.into_iter().map(|i| items[i].clone()).collect();

    // Near duplicates: greedy in canonical order, minus reviewed overrides.
    let overrides = match &opts.apply_review {
        Some(p) => review::read_decisions(p)?,
        None => HashSet::new(),
    };
    let keys: Vec<String> = items.iter().map(|i| i.key(&opts.sources)).collect();
    let index = mih::MultiIndex::new(items.iter().map(|i| i.phash).collect(), opts.phash_distance);
    let pairs = index.pairs();
    let mut lower: Vec<Vec<(u32, u32)>> = vec![Vec::new(); items.len()];
    let mut overridden = 0;
    for &(i, j, d) in &pairs {
        if overrides.contains(&(keys[i as usize].clone(), keys[j as usize].clone())) {
            overridden += 1;
            continue;
        }
        lower[j as usize].push((i, d));
    }
    let mut keep = vec![true; items.len()];
    let mut dropped_pairs = Vec::new();
    for j in 0..items.len() {
        if let Some(&(i, d)) = lower[j].iter().find(|(i, _)| keep[*i as usize]) {
            keep[j] = false;
            counts[items[j].source].near_duplicates += 1;
            dropped_pairs.push((i as usize, j, d));
        }
    }
    review::write_review(opts, &items, &keys, &dropped_pairs)?;

    // Leakage check against downstream test sets.
    if !opts.exclude_near.is_empty() {
        let test = test_hashes(opts)?;
        let tindex = mih::MultiIndex::new(test, opts.phash_distance);
        for (j, it) in items.iter().enumerate() {
            if keep[j] && !tindex.query(it.phash).is_empty() {
                keep[j] = false;
                counts[it.source].near_test_set += 1;
            }
        }
    }

    let kept: Vec<&Item> = items
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect();
    let (shards, reused) = write_shards(opts, &kept)?;
    for it in &kept {
        counts[it.source].written += 1;
    }
    write_manifest(opts, &kept)?;

    let mut total = StageCounts::default();
    for c in &counts {
        add(&mut total, c);
    }
    let report = Report {
        total,
        sources: opts
            .sources
            .iter()
            .map(|s| s.name.clone())
            .zip(counts)
            .collect(),
        damaged_scan_lines: damaged_lines,
        near_duplicate_pairs: pairs.len(),
        review_overrides: overridden,
        shards,
        shards_reused: reused,
        settings: Settings {
            crop: opts.crop,
            min_side: opts.min_side,
            max_side: opts.max_side,
            phash_distance: opts.phash_distance,
            shard_size: opts.shard_size,
            encoding: opts.encoding,
            seed: opts.seed,
            exclude_near: opts.exclude_near.clone(),
            sources: opts.sources.clone(),
        },
    };
    smae_run::atomic::write_json(&opts.output.join("report.json"), &report)?;
    Ok(report)
}

fn add(t: &mut StageCounts, c: &StageCounts) {
    t.files += c.files;
    for (k, v) in &c.unreadable {
        *t.unreadable.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &c.excluded {
        *t.excluded.entry(k.clone()).or_default() += v;
    }
    t.images += c.images;
    t.sliced_images += c.sliced_images;
    t.crops += c.crops;
    t.too_small += c.too_small;
    t.exact_duplicates += c.exact_duplicates;
    t.near_duplicates += c.near_duplicates;
    t.near_test_set += c.near_test_set;
    t.written += c.written;
}

fn validate(opts: &CurateOptions) -> Result<()> {
    if opts.sources.is_empty() {
        bail!("give at least one --input folder");
    }
    let mut names = HashSet::new();
    for s in &opts.sources {
        if !s.dir.is_dir() {
            bail!(
                "input {} does not exist or is not a directory",
                s.dir.display()
            );
        }
        if !names.insert(&s.name) {
            bail!(
                "two inputs are named '{}'; name them with --input NAME=DIR",
                s.name
            );
        }
    }
    if opts.min_side == 0 || opts.crop < opts.min_side || opts.crop > opts.max_side {
        bail!(
            "sizes must satisfy 0 < --min-side ({}) <= --crop ({}) <= --max-side ({})",
            opts.min_side,
            opts.crop,
            opts.max_side
        );
    }
    if opts.phash_distance > 32 {
        bail!(
            "--phash-distance {} is too large (at most 32 of 64 bits)",
            opts.phash_distance
        );
    }
    if opts.shard_size == 0 {
        bail!("--shard-size must be positive");
    }
    for d in &opts.exclude_near {
        if !d.is_dir() {
            bail!("--exclude-near {} is not a directory", d.display());
        }
    }
    fs::create_dir_all(&opts.output)
        .with_context(|| format!("cannot create output {}", opts.output.display()))?;
    let probe = opts.output.join(".write-test");
    fs::write(&probe, b"")
        .with_context(|| format!("output {} is not writable", opts.output.display()))?;
    let _ = fs::remove_file(probe);
    Ok(())
}

/// A candidate file: (source index, path, path relative to the source).
type Candidate = (usize, PathBuf, String);
/// A file the walk could not list: (source index, reason).
type WalkError = (usize, String);

/// Lists every candidate file of every source (sorted), with walk errors.
fn list_files(opts: &CurateOptions) -> (Vec<Candidate>, Vec<WalkError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for (si, s) in opts.sources.iter().enumerate() {
        let mut here = Vec::new();
        for entry in WalkDir::new(&s.dir).follow_links(true) {
            match entry {
                Ok(e) if e.file_type().is_file() && has_raster_extension(e.path()) => {
                    let rel = e
                        .path()
                        .strip_prefix(&s.dir)
                        .unwrap_or(e.path())
                        .to_string_lossy()
                        .into_owned();
                    here.push((si, e.into_path(), rel));
                }
                Ok(_) => {}
                Err(err) => {
                    let reason = if err.loop_ancestor().is_some() {
                        "symlink loop"
                    } else {
                        "unreadable"
                    };
                    errors.push((si, reason.to_string()));
                }
            }
        }
        here.sort_by(|a, b| a.2.cmp(&b.2));
        files.extend(here);
    }
    (files, errors)
}

fn file_stamp(path: &Path) -> (u64, u64) {
    fs::metadata(path)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            (m.len(), mtime)
        })
        .unwrap_or((0, 0))
}

/// What the scan found: each file's record with its source index.
struct Scan {
    records: Vec<(usize, FileRecord)>,
    walk_errors: Vec<WalkError>,
    /// Scan-log lines that did not parse or held bad hashes.
    damaged_lines: usize,
}

/// Records of an earlier scan by (source name, path).
type ScanLog = HashMap<(String, String), FileRecord>;

/// The records of an earlier scan log, and how many lines were damaged.
/// Damaged lines are counted and left out, so their files are scanned
/// again, and the log is rewritten without them (so they are counted once).
fn read_scan_log(log: &Path) -> Result<(ScanLog, usize)> {
    let mut done = HashMap::new();
    let (mut damaged, mut good) = (0, String::new());
    if !log.exists() {
        return Ok((done, 0));
    }
    for line in BufReader::new(File::open(log)?).lines() {
        let line = line.with_context(|| format!("reading {}", log.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<FileRecord>(&line) {
            Ok(r) if r.crops.iter().all(|c| c.hashes().is_ok()) => {
                done.insert((r.source.clone(), r.path.clone()), r);
                good.push_str(&line);
                good.push('\n');
            }
            _ => damaged += 1,
        }
    }
    if damaged > 0 {
        smae_run::atomic::write(log, good.as_bytes())?;
    }
    Ok((done, damaged))
}

/// Phase 1 on rank `rank` of `ranks` (MPI): scans every `ranks`-th file,
/// from the `rank`-th, into `.curate/scan.rRANK.jsonl`. Rank 0 then runs
/// [`curate`], which finds every file in the logs and hashes nothing again.
pub fn scan_share(opts: &CurateOptions, rank: usize, ranks: usize) -> Result<()> {
    validate(opts)?;
    let work = opts.output.join(".curate");
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    scan(opts, &work, Some((rank, ranks.max(1)))).map(|_| ())
}

/// The scan logs in `work`: `scan.jsonl` (one process) and `scan.rR.jsonl`
/// (rank R of a split scan), in name order.
fn scan_logs(work: &Path) -> Result<Vec<PathBuf>> {
    let mut logs: Vec<PathBuf> = fs::read_dir(work)
        .with_context(|| format!("listing {}", work.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("scan") && n.ends_with(".jsonl"))
        })
        .collect();
    logs.sort();
    Ok(logs)
}

/// Phase 1, resumable: reuses the scan logs' lines for unchanged files.
/// With `part = (rank, ranks)` only that rank's files are scanned.
fn scan(opts: &CurateOptions, work: &Path, part: Option<(usize, usize)>) -> Result<Scan> {
    let log = match part {
        Some((rank, _)) => work.join(format!("scan.r{rank}.jsonl")),
        None => work.join("scan.jsonl"),
    };
    let mut done = ScanLog::new();
    let mut damaged_lines = 0;
    for l in scan_logs(work)? {
        let (records, damaged) = read_scan_log(&l)?;
        done.extend(records);
        damaged_lines += damaged;
    }
    if damaged_lines > 0 && !opts.quiet {
        eprintln!(
            "warning: {damaged_lines} damaged line(s) in the scan logs of {}: their files are scanned again",
            work.display()
        );
    }
    let (mut files, walk_errors) = list_files(opts);
    if let Some((rank, ranks)) = part {
        files = files
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % ranks == rank)
            .map(|(_, f)| f)
            .collect();
    }
    let writer = Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?,
    );
    let progress = Progress::steps(files.len() as u64, 0, opts.quiet, "curate: scan");
    let records: Vec<Result<(usize, FileRecord)>> = files
        .par_iter()
        .map(|(si, path, rel)| {
            let source = &opts.sources[*si];
            let (bytes, mtime) = file_stamp(path);
            if let Some(r) = done.get(&(source.name.clone(), rel.clone())) {
                if r.bytes == bytes && r.mtime == mtime {
                    progress.inc();
                    return Ok((*si, r.clone()));
                }
            }
            let mut record = scan_file(opts, source, path, rel);
            record.bytes = bytes;
            record.mtime = mtime;
            let mut line = serde_json::to_vec(&record)?;
            line.push(b'\n');
            {
                let mut w = writer
                    .lock()
                    .map_err(|_| anyhow::anyhow!("scan log lock poisoned"))?;
                w.write_all(&line)
                    .with_context(|| format!("writing {}", log.display()))?;
            }
            progress.inc();
            Ok((*si, record))
        })
        .collect();
    progress.finish();
    Ok(Scan {
        records: records.into_iter().collect::<Result<_>>()?,
        walk_errors,
        damaged_lines,
    })
}

fn scan_file(opts: &CurateOptions, source: &Source, path: &Path, rel: &str) -> FileRecord {
    let mut rec = FileRecord {
        source: source.name.clone(),
        path: rel.to_string(),
        bytes: 0,
        mtime: 0,
        status: "unreadable".into(),
        reason: None,
        width: 0,
        height: 0,
        bands: 0,
        crops: Vec::new(),
    };
    let raster = match Raster::open(path) {
        Ok(r) => r,
        Err(reason) => {
            rec.reason = Some(reason);
            return rec;
        }
    };
    rec.width = raster.info.width;
    rec.height = raster.info.height;
    rec.bands = raster.info.bands;
    if let Some(reason) = raster.not_rgb.clone() {
        rec.status = "excluded".into();
        rec.reason = Some(reason);
        return rec;
    }
    // Seeded by the file's size and dimensions, not its name: copies of one
    // image are sliced alike, so their crops are caught as exact duplicates.
    let seed = sample_seed(
        opts.seed,
        rec.width as u64 * 1_000_003 + rec.height as u64,
        std::fs::metadata(path).map_or(0, |m| m.len()),
    );
    let mut crops = Vec::new();
    for (x, y, w, h) in slicing::plan(rec.width, rec.height, opts.max_side, opts.crop, seed) {
        let bbox = [x, y, w, h];
        if w.min(h) < opts.min_side {
            crops.push(CropRecord {
                bbox,
                phash: None,
                sha: None,
                dropped: Some("too small".into()),
            });
            continue;
        }
        match raster.read_rgb((x, y, w, h)) {
            Ok(img) => {
                let f = fingerprint(&img);
                crops.push(CropRecord {
                    bbox,
                    phash: Some(format!("{:016x}", f.phash)),
                    sha: Some(hex(&f.sha[..16])),
                    dropped: None,
                });
            }
            Err(reason) => {
                rec.reason = Some(reason);
                return rec;
            }
        }
    }
    rec.status = "ok".into();
    rec.crops = crops;
    rec
}

/// pHashes of the downstream test images (whole images, and their crops on
/// the same slicing rule when they are larger than `max_side`).
fn test_hashes(opts: &CurateOptions) -> Result<Vec<u64>> {
    let mut files = Vec::new();
    for d in &opts.exclude_near {
        for e in WalkDir::new(d)
            .follow_links(true)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if e.file_type().is_file() && has_raster_extension(e.path()) {
                files.push(e.into_path());
            }
        }
    }
    let hashes: Vec<Vec<u64>> = files
        .par_iter()
        .map(|p| {
            let Ok(r) = Raster::open(p) else {
                return Vec::new();
            };
            if r.not_rgb.is_some() {
                return Vec::new();
            }
            let (w, h) = (r.info.width, r.info.height);
            let mut boxes = vec![(0, 0, w, h)];
            if w.max(h) > opts.max_side {
                boxes.extend(slicing::plan(w, h, opts.max_side, opts.crop, opts.seed));
            }
            boxes
                .into_iter()
                .filter_map(|b| r.read_rgb(b).ok().map(|img| phash::phash(&img)))
                .collect()
        })
        .collect();
    Ok(hashes.into_iter().flatten().collect())
}

/// Reads an item's crop again.
pub(crate) fn read_item(opts: &CurateOptions, it: &Item) -> Result<RgbImage> {
    let path = opts.sources[it.source].dir.join(&it.path);
    let r = Raster::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let [x, y, w, h] = it.bbox;
    let img = r
        .read_rgb((x, y, w, h))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(img)
}

fn encode(img: &RgbImage, enc: Encoding) -> Result<(Vec<u8>, &'static str)> {
    let mut buf = Vec::new();
    match enc {
        Encoding::Png => {
            image::codecs::png::PngEncoder::new(&mut buf).write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )?;
            Ok((buf, "png"))
        }
        Encoding::Jpeg(q) => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q).encode_image(img)?;
            Ok((buf, "jpg"))
        }
    }
}

use image::ImageEncoder;

fn shard_name(i: usize) -> String {
    format!("shard-{i:06}.tar")
}

/// Writes the kept crops into shards; returns (shards, shards reused).
fn write_shards(opts: &CurateOptions, kept: &[&Item]) -> Result<(usize, usize)> {
    let chunks: Vec<(usize, &[&Item])> = kept.chunks(opts.shard_size).enumerate().collect();
    let progress = Progress::steps(kept.len() as u64, 0, opts.quiet, "curate: write");
    let reused: Vec<Result<bool>> = chunks
        .par_iter()
        .map(|(si, items)| {
            let tar = opts.output.join(shard_name(*si));
            let keys_path = tar.with_extension("keys");
            let keys: String = items.iter().map(|i| i.key(&opts.sources) + "\n").collect();
            if tar.exists() && fs::read_to_string(&keys_path).is_ok_and(|k| k == keys) {
                for _ in items.iter() {
                    progress.inc();
                }
                return Ok(true);
            }
            // Encode the shard's crops in parallel, write them in order.
            let files: Vec<(String, Vec<u8>)> = items
                .par_iter()
                .enumerate()
                .map(|(k, it)| {
                    let img = read_item(opts, it)?;
                    let f = fingerprint(&img);
                    if f.sha[..16] != it.sha {
                        bail!(
                            "{} changed since it was scanned; run curate again",
                            opts.sources[it.source].dir.join(&it.path).display()
                        );
                    }
                    let (bytes, ext) = encode(&img, opts.encoding)?;
                    progress.inc();
                    Ok((format!("{:09}.{ext}", si * opts.shard_size + k), bytes))
                })
                .collect::<Result<_>>()?;
            shards::write_shard(&tar, files)?;
            smae_run::atomic::write(&keys_path, keys.as_bytes())?;
            Ok(false)
        })
        .collect();
    progress.finish();
    let reused = reused.into_iter().collect::<Result<Vec<bool>>>()?;
    // Shards beyond the new count belong to an earlier, larger result.
    let mut i = chunks.len();
    loop {
        let tar = opts.output.join(shard_name(i));
        if !tar.exists() {
            break;
        }
        fs::remove_file(&tar)?;
        let _ = fs::remove_file(tar.with_extension("keys"));
        i += 1;
    }
    Ok((chunks.len(), reused.iter().filter(|r| **r).count()))
}

/// One line per written crop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestLine {
    pub shard: String,
    pub name: String,
    pub source: String,
    pub license: Option<String>,
    pub path: String,
    /// `[x, y, w, h]` in the original image.
    pub crop: [usize; 4],
    pub size: [usize; 2],
    pub phash: String,
    pub sha256_128: String,
}

fn write_manifest(opts: &CurateOptions, kept: &[&Item]) -> Result<()> {
    let ext = match opts.encoding {
        Encoding::Png => "png",
        Encoding::Jpeg(_) => "jpg",
    };
    smae_run::atomic::write_with(&opts.output.join("manifest.jsonl"), |file| {
        let mut f = std::io::BufWriter::new(file);
        for (k, it) in kept.iter().enumerate() {
            let s = &opts.sources[it.source];
            let line = ManifestLine {
                shard: shard_name(k / opts.shard_size),
                name: format!("{k:09}.{ext}"),
                source: s.name.clone(),
                license: s.license.clone(),
                path: it.path.clone(),
                crop: it.bbox,
                size: [it.bbox[2], it.bbox[3]],
                phash: format!("{:016x}", it.phash),
                sha256_128: hex(&it.sha),
            };
            serde_json::to_writer(&mut f, &line)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
        Ok(())
    })
}
