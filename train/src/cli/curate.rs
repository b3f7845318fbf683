//! `smae-train curate`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::curate::{CurateOptions, Encoding, Source};

#[derive(Debug, Args)]
pub struct CurateArgs {
    /// Source folder, optionally named: `--input NAME=DIR` (default name: the folder's name). Repeatable.
    #[arg(long, required = true)]
    pub input: Vec<String>,
    /// License of a source: `--license NAME=TEXT`. Repeatable.
    #[arg(long)]
    pub license: Vec<String>,
    /// Output folder: shard-NNNNNN.tar, manifest.jsonl, report.json, review.csv.
    #[arg(long)]
    pub output: PathBuf,
    /// Side of the crops cut from images larger than --max-side.
    #[arg(long, default_value_t = 512)]
    pub crop: usize,
    /// Drop images and crops with a side under this.
    #[arg(long, default_value_t = 64)]
    pub min_side: usize,
    /// Slice images with a side over this.
    #[arg(long, default_value_t = 1024)]
    pub max_side: usize,
    /// Hamming distance (of 64 pHash bits) at or under which two images are near duplicates.
    #[arg(long, default_value_t = 8)]
    pub phash_distance: u32,
    /// Drop anything near-duplicate to the images in these downstream test sets. Repeatable.
    #[arg(long)]
    pub exclude_near: Vec<PathBuf>,
    /// A review.csv whose rows marked `keep` are not treated as duplicates.
    #[arg(long)]
    pub apply_review: Option<PathBuf>,
    /// Images per shard.
    #[arg(long, default_value_t = 1000)]
    pub shard_size: usize,
    /// Encoding of the crops in the shards.
    #[arg(long, value_enum, default_value_t = ShardFormat::Jpeg)]
    pub format: ShardFormat,
    #[arg(long, default_value_t = 95)]
    pub jpeg_quality: u8,
    /// Seed of the slicing offsets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShardFormat {
    Jpeg,
    Png,
}

impl CurateArgs {
    pub fn options(&self) -> Result<CurateOptions> {
        let mut sources: Vec<Source> = self
            .input
            .iter()
            .map(|spec| {
                let (name, dir) = match spec.split_once('=') {
                    Some((n, d)) if !n.is_empty() && !n.contains('/') => {
                        (n.to_string(), PathBuf::from(d))
                    }
                    _ => {
                        let dir = PathBuf::from(spec);
                        let name = dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| spec.clone());
                        (name, dir)
                    }
                };
                Source {
                    name,
                    dir,
                    license: None,
                }
            })
            .collect();
        for l in &self.license {
            let (name, text) = l
                .split_once('=')
                .with_context(|| format!("--license '{l}' is not NAME=TEXT"))?;
            let s = sources
                .iter_mut()
                .find(|s| s.name == name)
                .with_context(|| format!("--license names '{name}', which is not an --input"))?;
            s.license = Some(text.to_string());
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            bail!("--jpeg-quality must be in 1..=100");
        }
        Ok(CurateOptions {
            sources,
            output: self.output.clone(),
            crop: self.crop,
            min_side: self.min_side,
            max_side: self.max_side,
            phash_distance: self.phash_distance,
            exclude_near: self.exclude_near.clone(),
            apply_review: self.apply_review.clone(),
            shard_size: self.shard_size,
            encoding: match self.format {
                ShardFormat::Jpeg => Encoding::Jpeg(self.jpeg_quality),
                ShardFormat::Png => Encoding::Png,
            },
            seed: self.seed,
            quiet: self.quiet,
        })
    }
}

pub fn run(args: CurateArgs) -> Result<()> {
    let opts = args.options()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    // Under MPI every rank hashes its share of the files; rank 0 then
    // deduplicates and writes the corpus from all the ranks' scan logs.
    if let Some(w) = crate::distributed::world() {
        crate::distributed::agree_on_config(&opts)?;
        let share = CurateOptions {
            quiet: opts.quiet || !w.is_root(),
            ..opts.clone()
        };
        pool.install(|| crate::curate::scan_share(&share, w.rank, w.size))?;
        w.barrier()?;
        if !w.is_root() {
            return Ok(());
        }
    }
    let report = pool.install(|| crate::curate::curate(&opts))?;
    if !args.quiet {
        let t = &report.total;
        let unreadable: usize = t.unreadable.values().sum();
        let excluded: usize = t.excluded.values().sum();
        println!(
            "{} files: {unreadable} unreadable, {excluded} excluded, {} images ({} sliced) -> {} crops; \
             {} too small, {} exact and {} near duplicates, {} near a test set; wrote {} in {} shards to {}",
            t.files,
            t.images,
            t.sliced_images,
            t.crops,
            t.too_small,
            t.exact_duplicates,
            t.near_duplicates,
            t.near_test_set,
            t.written,
            report.shards,
            args.output.display()
        );
        for (reason, n) in t.excluded.iter().chain(&t.unreadable) {
            println!("  {n} x {reason}");
        }
    }
    Ok(())
}
