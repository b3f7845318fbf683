//! `smae-train curate` on a fixture tree built from the real rasters, whose
//! contents are known: the report must count exactly what was planted, the
//! shards must train, an interrupted or repeated run must reuse its work,
//! and reviewed decisions must change the result.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use serde_json::Value;
use smae_testkit::TINY_PRETRAIN;
use smae_tests::{data, smae, Scratch};

fn rgb(rel: &str) -> RgbImage {
    image::open(data(rel)).unwrap().to_rgb8()
}

/// The fixture: see the comments for what each file is and how the
/// pipeline must count it.
fn build_tree(root: &Path) {
    let main = root.join("main");
    let second = root.join("second");
    let test = root.join("testset");
    for d in [&main, &main.join("dup"), &second, &test] {
        std::fs::create_dir_all(d).unwrap();
    }
    let copy = |from: &str, to: &Path| std::fs::copy(data(from), to).unwrap();
    // 800 x 800: kept whole.
    copy("derived/rd_new_800.jpg", &main.join("aerial.jpg"));
    // Byte copy: exact duplicate.
    copy("derived/rd_new_800.jpg", &main.join("dup/aerial_copy.jpg"));
    // Re-encoded at quality 70: near duplicate of aerial.jpg.
    let aerial = rgb("derived/rd_new_800.jpg");
    let f = std::fs::File::create(main.join("aerial_q70.jpg")).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(f, 70)
        .encode_image(&aerial)
        .unwrap();
    // OSBS 400 x 400 and a copy shifted by 8 px: near duplicate.
    let osbs = rgb("deepforest/OSBS_029.tif");
    osbs.save(main.join("osbs.png")).unwrap();
    imageops::crop_imm(&osbs, 8, 8, 392, 392)
        .to_image()
        .save(main.join("osbs_shift.png"))
        .unwrap();
    // 1920 x 1080: sliced into 4 x 3 crops of 512.
    copy("sahi/boats.jpg", &main.join("boats.jpg"));
    // 1616 x 1565: sliced into 4 x 4 crops.
    copy("derived/drone_1616x1565.jpg", &main.join("drone.jpg"));
    // Single band (SAR-like): excluded.
    GrayImage::from_fn(200, 200, |x, y| {
        image::Luma([((x * 7 + y * 3) % 256) as u8])
    })
    .save(main.join("sar.png"))
    .unwrap();
    // 10 bands float32: excluded as multispectral.
    copy(
        "terratorch/hls_10band_utm14n_224.tif",
        &main.join("hls.tif"),
    );
    // 40 x 50: too small.
    imageops::crop_imm(&osbs, 0, 0, 40, 50)
        .to_image()
        .save(main.join("tiny.png"))
        .unwrap();
    // Unreadable: garbage, a truncated JPEG, an empty file, a symlink loop.
    std::fs::write(main.join("corrupt.jpg"), b"not a raster").unwrap();
    let bytes = std::fs::read(data("sahi/boats.jpg")).unwrap();
    std::fs::write(main.join("truncated.jpg"), &bytes[..bytes.len() * 2 / 5]).unwrap();
    std::fs::write(main.join("empty.png"), b"").unwrap();
    std::os::unix::fs::symlink(&main, main.join("dup/loop")).unwrap();
    // Second source: a copy of boats (12 exact duplicate crops) and OSBS
    // resized to 300 x 300 (near duplicate of osbs.png).
    copy("sahi/boats.jpg", &second.join("boats_copy.jpg"));
    imageops::resize(&osbs, 300, 300, FilterType::Lanczos3)
        .save(second.join("osbs_small.png"))
        .unwrap();
    // A downstream test set holding the original OSBS scene.
    copy("deepforest/OSBS_029.tif", &test.join("OSBS_029.tif"));
}

/// Every entry under `root` (not following links) with its size: curation
/// must never write into its inputs.
fn listing(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if p.ends_with("out") || p.ends_with("run") || p.ends_with("reviewed.csv") {
                continue;
            }
            if meta.is_dir() {
                stack.push(p.clone());
            }
            out.push((p.display().to_string(), meta.len()));
        }
    }
    out.sort();
    out
}

fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn curate_counts_the_fixture_and_trains_on_its_shards() {
    let dir = Scratch::new("curate");
    build_tree(dir.path());
    let inputs_before = listing(dir.path());
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let main_in = format!("main={}", dir.path().join("main").display());
    let second_in = format!("second={}", dir.path().join("second").display());
    let test = dir.path().join("testset");
    let args = vec![
        "curate",
        "--input",
        &main_in,
        "--input",
        &second_in,
        "--output",
        out_s,
        "--shard-size",
        "10",
        "--quiet",
        "--license",
        "second=CC0-1.0",
        "--exclude-near",
        test.to_str().unwrap(),
    ];
    smae(&args);

    let r = report(&out);
    assert_eq!(n(&r["damaged_scan_lines"]), 0);
    let m = &r["sources"]["main"];
    assert_eq!(n(&m["files"]), 14, "{m}");
    assert_eq!(
        m["unreadable"]["unreadable (not a raster GDAL or image reads)"], 1,
        "{m}"
    );
    assert_eq!(
        m["unreadable"]["undecodable (truncated or corrupt)"], 1,
        "{m}"
    );
    assert_eq!(m["unreadable"]["zero size"], 1, "{m}");
    assert_eq!(m["unreadable"]["symlink loop"], 1, "{m}");
    assert_eq!(
        m["excluded"]["single band (SAR-like or panchromatic)"], 1,
        "{m}"
    );
    assert_eq!(m["excluded"]["multispectral (10 bands)"], 1, "{m}");
    assert_eq!(n(&m["images"]), 8);
    assert_eq!(n(&m["sliced_images"]), 2);
    assert_eq!(n(&m["crops"]), 1 + 1 + 1 + 1 + 1 + 12 + 16 + 1);
    assert_eq!(n(&m["too_small"]), 1);
    assert_eq!(n(&m["exact_duplicates"]), 1, "dup/aerial_copy.jpg");
    assert_eq!(
        n(&m["near_duplicates"]),
        2,
        "aerial_q70.jpg and osbs_shift.png"
    );
    assert_eq!(n(&m["near_test_set"]), 1, "osbs.png is the test scene");
    assert_eq!(n(&m["written"]), 34 - 1 - 1 - 2 - 1);
    let s = &r["sources"]["second"];
    assert_eq!(
        (n(&s["files"]), n(&s["images"]), n(&s["crops"])),
        (2, 2, 13)
    );
    assert_eq!(
        n(&s["exact_duplicates"]),
        12,
        "boats_copy.jpg slices like boats.jpg"
    );
    assert_eq!(n(&s["near_duplicates"]), 1, "osbs_small.png");
    assert_eq!(n(&s["written"]), 0);
    assert_eq!(n(&r["total"]["written"]), 29);
    assert_eq!(n(&r["shards"]), 3);

    // The manifest lists every written crop with its provenance.
    let manifest: Vec<Value> = std::fs::read_to_string(out.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(manifest.len(), 29);
    let boats: Vec<&Value> = manifest
        .iter()
        .filter(|l| l["path"] == "boats.jpg")
        .collect();
    assert_eq!(boats.len(), 12);
    assert!(boats
        .iter()
        .all(|l| l["size"] == serde_json::json!([512, 512])));
    // The review sheet lists the three dropped near-duplicate pairs.
    let review = std::fs::read_to_string(out.join("review.csv")).unwrap();
    assert_eq!(review.lines().count(), 1 + 3, "{review}");
    assert!(out.join("review-000.png").exists());

    // A second run reuses the scan and every shard.
    smae(&args);
    let r2 = report(&out);
    assert_eq!(n(&r2["shards_reused"]), 3);
    assert_eq!(r2["total"], r["total"]);

    // A damaged scan log (a hash edited, a line cut by a kill): those files
    // are scanned again and counted, and the result does not change.
    let log = out.join(".curate/scan.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let boats = lines
        .iter()
        .position(|l| l.contains("\"path\":\"boats.jpg\""))
        .unwrap();
    let v: Value = serde_json::from_str(&lines[boats]).unwrap();
    let phash = v["crops"][0]["phash"].as_str().unwrap().to_string();
    lines[boats] = lines[boats].replacen(&phash, "zzzzzzzzzzzzzzzz", 1);
    let cut = lines.len() - 1;
    let half = lines[cut].len() / 2;
    lines[cut].truncate(half);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    smae(&args);
    let r4 = report(&out);
    assert_eq!(n(&r4["damaged_scan_lines"]), 2, "{r4}");
    assert_eq!(r4["total"], r["total"]);

    // A scan-log record of a source this run does not have (here: a copy of
    // a `main` record under another name, with other hashes) is never reused
    // for a file of another source (it used to be filed under source 0).
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"source\":\"main\""))
        .unwrap();
    let mut v: Value = serde_json::from_str(line).unwrap();
    v["source"] = "gone".into();
    for crop in v["crops"].as_array_mut().into_iter().flatten() {
        crop["phash"] = "0000000000000000".into();
    }
    std::fs::write(&log, format!("{text}{v}\n")).unwrap();
    smae(&args);
    let r5 = report(&out);
    assert_eq!(r5["total"], r["total"], "{r5}");
    assert_eq!(r5["sources"].as_object().unwrap().len(), 2);

    // The reviewer decides aerial_q70.jpg is not a duplicate: it is kept.
    let edited: String = review
        .lines()
        .map(|l| if l.contains("aerial_q70.jpg") { l.replace(",drop", ",keep") } else { l.to_string() } + "\n")
        .collect();
    std::fs::write(dir.path().join("reviewed.csv"), edited).unwrap();
    let reviewed = dir.path().join("reviewed.csv");
    let mut args3 = args.clone();
    args3.extend_from_slice(&["--apply-review", reviewed.to_str().unwrap()]);
    smae(&args3);
    let r3 = report(&out);
    assert_eq!(n(&r3["damaged_scan_lines"]), 0, "the log was repaired");
    assert_eq!(n(&r3["review_overrides"]), 1);
    assert_eq!(n(&r3["total"]["written"]), 30);
    assert_eq!(n(&r3["sources"]["main"]["near_duplicates"]), 1);

    // Pre-training reads the shards in place.
    let run_dir = dir.path().join("run");
    smae(
        &[
            &[
                "pretrain",
                "--data",
                out_s,
                "--output",
                run_dir.to_str().unwrap(),
                "--quiet",
            ][..],
            TINY_PRETRAIN,
            &["--epochs", "1", "--batch-size", "6", "--log-every", "1"],
        ]
        .concat(),
    );
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["data"]["images"], 30);
    let steps = std::fs::read_to_string(run_dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(steps, 5);
    assert_eq!(
        listing(dir.path()),
        inputs_before,
        "curation wrote into its inputs"
    );
}
