//! Curation throughput: `cargo bench -p smae-train --bench curate`.
//!
//! Prints (one JSON line each):
//! * pHash + SHA-256 of 512 x 512 crops on one core (crops/s);
//! * the whole `curate` pipeline (scan, dedup, shard writing) on copies of the
//!   shared real rasters, on one core and on all cores (source crops/s);
//! * the near-duplicate search (multi-index hashing, radius 8) on 1M, 2M and
//!   4M synthetic hashes with planted near duplicates, and the time projected
//!   for 13M from the measured growth.
//!
//! Reads the rasters of the repository's `tests/data` (or SMAE_TEST_DATA).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smae_testkit::{data, scratch};
use smae_train::curate::mih::MultiIndex;
use smae_train::curate::phash::fingerprint;
use smae_train::curate::{curate, CurateOptions, Encoding, Source};

fn hashing() {
    let imgs: Vec<image::RgbImage> = [
        "sahi/boats.jpg",
        "derived/drone_1616x1565.jpg",
        "derived/cogeo_1024.jpg",
    ]
    .into_iter()
    .map(|p| image::open(data(p)).expect("test rasters").to_rgb8())
    .collect();
    let crops: Vec<image::RgbImage> = imgs
        .iter()
        .flat_map(|im| {
            (0..2).flat_map(move |r| {
                (0..2).map(move |c| {
                    image::imageops::crop_imm(im, c * 512, r * 512, 512, 512).to_image()
                })
            })
        })
        .collect();
    let reps = 8;
    let t = Instant::now();
    for _ in 0..reps {
        for c in &crops {
            std::hint::black_box(fingerprint(c));
        }
    }
    let n = reps * crops.len();
    let s = t.elapsed().as_secs_f64();
    println!(
        r#"{{"bench":"phash+sha256 512x512, 1 core","crops":{n},"seconds":{s:.3},"crops_per_s":{:.1}}}"#,
        n as f64 / s
    );
}

fn pipeline(threads: usize, copies: usize) {
    let root = scratch(&format!("bench-curate-{threads}"));
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let files = [
        "sahi/boats.jpg",
        "derived/drone_1616x1565.jpg",
        "derived/cogeo_1024.jpg",
        "derived/rd_new_800.jpg",
        "deepforest/OSBS_029.tif",
        "rasterio/RGB.byte.tif",
    ];
    for k in 0..copies {
        for f in files {
            let p = data(f);
            let name = format!("{k:03}_{}", p.file_name().unwrap().to_string_lossy());
            std::fs::copy(&p, src.join(name)).unwrap();
        }
    }
    let opts = CurateOptions {
        sources: vec![Source {
            name: "bench".into(),
            dir: src.clone(),
            license: None,
        }],
        output: root.join("out"),
        crop: 512,
        min_side: 64,
        max_side: 1024,
        phash_distance: 8,
        exclude_near: vec![],
        apply_review: None,
        shard_size: 1000,
        encoding: Encoding::Jpeg(95),
        seed: 0,
        quiet: true,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let t = Instant::now();
    let report = pool.install(|| curate(&opts)).unwrap();
    let s = t.elapsed().as_secs_f64();
    let crops = report.total.crops;
    println!(
        r#"{{"bench":"curate pipeline, {threads} thread(s)","files":{},"crops":{crops},"written":{},"seconds":{s:.3},"crops_per_s":{:.1},"crops_per_s_per_core":{:.1}}}"#,
        report.total.files,
        report.total.written,
        crops as f64 / s,
        crops as f64 / s / threads as f64
    );
}

fn search(n: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let mut codes: Vec<u64> = (0..n).map(|_| rng.random()).collect();
    // 1% planted near duplicates at distance 1..=8.
    for k in 0..n / 100 {
        let mut c = codes[k * 97 % n];
        for _ in 0..rng.random_range(1..=8) {
            c ^= 1u64 << rng.random_range(0..64);
        }
        codes[(k * 89 + 13) % n] = c;
    }
    let t = Instant::now();
    let index = MultiIndex::new(codes, 8);
    let pairs = index.pairs();
    let s = t.elapsed().as_secs_f64();
    println!(
        r#"{{"bench":"near-duplicate search (MIH, radius 8)","hashes":{n},"pairs":{},"seconds":{s:.3}}}"#,
        pairs.len()
    );
    s
}

fn main() {
    // `cargo bench ... -- pipeline` runs only the hashing and pipeline figures.
    let only_pipeline = std::env::args().any(|a| a == "pipeline");
    hashing();
    pipeline(1, 4);
    pipeline(
        std::thread::available_parallelism().map_or(2, |n| n.get()),
        4,
    );
    if only_pipeline {
        return;
    }
    let t1 = search(1_000_000);
    let _ = search(2_000_000);
    let t4 = search(4_000_000);
    // Growth exponent from 1M -> 4M, projected to 13M.
    let k = (t4 / t1).ln() / 4f64.ln();
    let t13 = t4 * (13.0f64 / 4.0).powf(k);
    println!(
        r#"{{"bench":"near-duplicate search projected","hashes":13000000,"growth_exponent":{k:.2},"seconds":{t13:.1}}}"#
    );
}
