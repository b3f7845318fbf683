//! `smae-infer` on bad input: one clear line on stderr, a non-zero exit,
//! no panic, and nothing left at the output path.

mod common;

use std::path::Path;

use common::{data, fixture, hidden_files, read_u8, scratch};
use std::process::Command;

use gdal::raster::Buffer;
use gdal::DriverManager;

fn smae_infer(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smae-infer"))
        .args(args)
        .output()
        .expect("smae-infer runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `smae-infer run`, expecting a one-line error containing `needle` and
/// no output file (nor temporary files) in the output folder.
fn fails(model: &Path, input: &Path, output: &Path, extra: &[&str], needle: &str) {
    let mut args = vec![
        "run",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = smae_infer(&args);
    assert_eq!(code, 1, "{needle}: exit {code}, stderr {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 1, "{needle}: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{needle}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!output.exists(), "{} was written", output.display());
    if let Some(dir) = output.parent().filter(|d| d.is_dir()) {
        let tmp = hidden_files(dir);
        assert!(tmp.is_empty(), "{needle}: temporary files left: {tmp:?}");
    }
}

/// A float raster of `w x h` x 3 bands from `f(band, i)`, nodata `nd`.
fn float_raster(path: &Path, w: usize, h: usize, nd: Option<f64>, f: impl Fn(usize, usize) -> f32) {
    let mut ds = DriverManager::get_driver_by_name("GTiff")
        .unwrap()
        .create_with_band_type::<f32, _>(path, w, h, 3)
        .unwrap();
    ds.set_geo_transform(&[300000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0])
        .unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32633).unwrap())
        .unwrap();
    for b in 1..=3 {
        let mut band = ds.rasterband(b).unwrap();
        band.set_no_data_value(nd).unwrap();
        let v = (0..w * h).map(|i| f(b, i)).collect();
        band.write((0, 0), (w, h), &mut Buffer::new((w, h), v))
            .unwrap();
    }
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let dir = scratch("bad");
    let seg = fixture("pointwise_segment.onnx");
    let scene = data("deepforest/OSBS_029.tif");
    let out = dir.join("out.tif");

    fails(&seg, &dir.join("missing.tif"), &out, &[], "does not exist");
    std::fs::write(dir.join("notes.txt"), "not a raster\n").unwrap();
    fails(
        &seg,
        &dir.join("notes.txt"),
        &out,
        &[],
        "not a raster GDAL can read",
    );
    // a GeoTIFF cut in half: the header opens, the pixels do not
    let bytes = std::fs::read(data("rasterio/RGB.byte.tif")).unwrap();
    std::fs::write(dir.join("truncated.tif"), &bytes[..bytes.len() / 2]).unwrap();
    fails(&seg, &dir.join("truncated.tif"), &out, &[], "truncated");
    // one band where the model reads three
    let one = DriverManager::get_driver_by_name("GTiff")
        .unwrap()
        .create_with_band_type::<u8, _>(dir.join("one.tif"), 40, 40, 1)
        .unwrap();
    one.rasterband(1).unwrap().fill(7.0, None).unwrap();
    drop(one);
    fails(
        &seg,
        &dir.join("one.tif"),
        &out,
        &[],
        "has 1 band, but the model reads band 2",
    );
    // every pixel nodata
    float_raster(&dir.join("empty.tif"), 50, 40, Some(-1.0), |_, _| -1.0);
    fails(
        &seg,
        &dir.join("empty.tif"),
        &out,
        &["--scale", "1"],
        "every pixel",
    );
    // every pixel NaN
    float_raster(&dir.join("nan.tif"), 50, 40, None, |_, _| f32::NAN);
    fails(
        &seg,
        &dir.join("nan.tif"),
        &out,
        &["--scale", "1"],
        "every pixel",
    );
    // models: no card, a task without a scene writer, missing
    fails(
        &fixture("no_card.onnx"),
        &scene,
        &out,
        &[],
        "has no smae model card",
    );
    fails(
        &fixture("embed.onnx"),
        &scene,
        &out,
        &[],
        "has no scene writer",
    );
    fails(&dir.join("nope.onnx"), &scene, &out, &[], "does not exist");
    std::fs::write(dir.join("junk.onnx"), [0xffu8; 64]).unwrap();
    fails(
        &dir.join("junk.onnx"),
        &scene,
        &out,
        &[],
        "not an ONNX model",
    );
    // outputs: wrong kind, folder missing
    fails(
        &seg,
        &scene,
        &dir.join("out.geojson"),
        &[],
        "writes a GeoTIFF",
    );
    fails(
        &seg,
        &scene,
        &dir.join("no/such/dir/out.tif"),
        &[],
        "cannot write",
    );
    // options
    fails(
        &seg,
        &scene,
        &out,
        &["--overlap", "32"],
        "must be smaller than the tile",
    );
    fails(
        &seg,
        &scene,
        &out,
        &["--backend", "magic"],
        "unknown backend",
    );
    fails(&seg, &scene, &out, &["--bands", "1,2,9"], "reads band 9");
    fails(
        &seg,
        &scene,
        &out,
        &["--polygons", "shp"],
        "unknown --polygons 'shp'",
    );
    fails(
        &seg,
        &scene,
        &out,
        &["--device", "cuda", "--backend", "tract"],
        "CPU only",
    );
    fails(
        &seg,
        &scene,
        &out,
        &[
            "--backend",
            "ort",
            "--ort-lib",
            "/nonexistent/libonnxruntime.so",
        ],
        "ONNX Runtime",
    );
}

/// On a terminal (a pseudo-terminal from util-linux's `script`) the run
/// shows tiles done of all and megapixels per second; `--quiet` shows
/// nothing.
#[test]
fn progress_bar_on_a_terminal() {
    let dir = scratch("progress");
    let seg = fixture("pointwise_segment.onnx");
    let scene = data("rasterio/RGB.byte.tif");
    let on_terminal = |quiet: bool| {
        let out = dir.join(format!("quiet-{quiet}.tif"));
        let cmd = format!(
            "'{}' run --model '{}' --input '{}' --output '{}' --batch 1{}",
            env!("CARGO_BIN_EXE_smae-infer"),
            seg.display(),
            scene.display(),
            out.display(),
            if quiet { " --quiet" } else { "" }
        );
        let typescript = dir.join(format!("quiet-{quiet}.log"));
        // output(), not status(): script echoes the terminal to its stdout,
        // which would otherwise land in the test log
        let run = Command::new("script")
            .args(["-q", "-e", "-c", &cmd])
            .arg(&typescript)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (util-linux) runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(out.is_file());
        String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned()
    };
    let shown = on_terminal(false);
    let tiles = tile_counts(&shown);
    assert!(!tiles.is_empty(), "{shown}");
    // counts up to the run's tile count (the closing line reports it; the
    // bar redraws at most about 20 times a second, so not every count shows)
    let total = tiles[0].1;
    assert!(tiles.iter().all(|&(_, t)| t == total));
    assert!(tiles
        .windows(2)
        .all(|p| p[0].0 <= p[1].0 && p[1].0 <= total));
    assert!(shown.contains(&format!(" {total} tiles of ")), "{shown}");
    assert!(shown.contains(" MP/s"), "{shown}");
    let quiet = on_terminal(true);
    assert!(
        tile_counts(&quiet).is_empty() && !quiet.contains("MP/s"),
        "{quiet}"
    );
}

/// The `DONE/TOTAL tiles` counts a progress bar drew.
fn tile_counts(text: &str) -> Vec<(usize, usize)> {
    text.split(" tiles")
        .filter_map(|before| {
            let word = before.rsplit([' ', ']']).next()?;
            let (d, t) = word.split_once('/')?;
            Some((d.parse().ok()?, t.parse().ok()?))
        })
        .collect()
}

/// NaN pixels inside an otherwise valid scene become nodata, with a warning.
#[test]
fn nan_pixels_are_nodata() {
    let dir = scratch("nan");
    let input = dir.join("holes.tif");
    // green > red everywhere (class 1), a NaN hole in the first 10 pixels of each row
    float_raster(&input, 60, 50, None, |b, i| {
        if i % 60 < 10 {
            f32::NAN
        } else if b == 2 {
            0.8
        } else {
            0.2
        }
    });
    let out = dir.join("holes-out.tif");
    let (code, _, err) = smae_infer(&[
        "run",
        "--model",
        fixture("pointwise_segment.onnx").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--scale",
        "1",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: 500 NaN pixels were treated as nodata"),
        "{err}"
    );
    let (_, _, v) = read_u8(&out);
    for (i, c) in v.iter().enumerate() {
        assert_eq!(*c, if i % 60 < 10 { 255 } else { 1 }, "pixel {i}");
    }
}

#[test]
fn info_prints_the_card() {
    let (code, out, err) = smae_infer(&[
        "info",
        "--model",
        fixture("pointwise_segment.onnx").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("task:     segment"), "{out}");
    assert!(out.contains("classes:  red, green"), "{out}");
    let (code, out, _) = smae_infer(&[
        "info",
        "--json",
        "--model",
        fixture("mean_classify.onnx").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let card: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(card["tile"]["overlap"], 16);
    let (code, _, err) =
        smae_infer(&["info", "--model", fixture("no_card.onnx").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("no smae model card"), "{err}");
}

/// A GPU execution provider that cannot start is an error, never a silent
/// CPU run: without `--features cuda` the build says so; with it, ONNX
/// Runtime's CPU library (what the tests install) says it lacks the provider.
#[test]
fn gpu_device_without_a_gpu_runtime_is_an_error() {
    let dir = scratch("gpu");
    let seg = fixture("pointwise_segment.onnx");
    let scene = data("deepforest/OSBS_029.tif");
    let out = dir.join("out.tif");
    let needle = if cfg!(feature = "cuda") {
        "CUDA execution provider"
    } else {
        "rebuild smae-infer with --features cuda"
    };
    fails(
        &seg,
        &scene,
        &out,
        &["--backend", "ort", "--device", "cuda"],
        needle,
    );
    let needle = if cfg!(feature = "cuda") {
        "TensorRT execution provider"
    } else {
        "rebuild smae-infer with --features cuda"
    };
    fails(
        &seg,
        &scene,
        &out,
        &["--backend", "ort", "--device", "tensorrt"],
        needle,
    );
}

/// Many scenes in one run: one model load, each output under the scene's
/// name, a missing scene reported while the others run (exit 1), finished
/// outputs skipped on a re-run, a summary as JSON; the outputs equal
/// single-scene runs'.
#[test]
fn many_scenes_in_one_run() {
    let dir = scratch("many");
    let model = fixture("pointwise_segment.onnx");
    let m = model.to_str().unwrap();
    let (a, b) = (
        data("rasterio/RGB.byte.tif"),
        data("deepforest/OSBS_029.tif"),
    );
    let missing = dir.join("missing.tif");
    let list = dir.join("scenes.txt");
    std::fs::write(
        &list,
        format!("# scenes\n{}\n\n{}\n", b.display(), missing.display()),
    )
    .unwrap();
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let args = |extra: &[&str]| {
        let mut v = vec!["run", "--model", m, "--input", a.to_str().unwrap()];
        v.extend_from_slice(&["--input-list", list.to_str().unwrap()]);
        v.extend_from_slice(&["--output-dir", o, "--json", "--quiet"]);
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        smae_infer(&refs)
    };
    let (code, stdout, err) = run(&[]);
    assert_eq!(code, 1, "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(errors[0].contains("missing.tif") && errors[0].contains("does not exist"));
    assert!(errors[1].contains("1 of 3 scenes failed"), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let status: Vec<&str> = summary["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["done", "done", "failed"]);
    assert!(summary["scenes"][1]["report"]["tiles"].as_u64().unwrap() > 0);
    assert!(out.join("RGB.byte.tif").is_file() && out.join("OSBS_029.tif").is_file());
    assert!(!out.join("missing.tif").exists());
    assert!(hidden_files(&out).is_empty());

    // the same class map as a run of that scene alone
    let single = dir.join("single.tif");
    let (code, _, err) = smae_infer(&[
        "run",
        "--model",
        m,
        "--input",
        b.to_str().unwrap(),
        "--output",
        single.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_u8(&out.join("OSBS_029.tif")).2, read_u8(&single).2);

    // a re-run skips what is finished, and succeeds once the list is fixed
    std::fs::write(&list, format!("{}\n", b.display())).unwrap();
    let (code, stdout, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["skipped"], 2);
    assert_eq!(summary["done"], 0);

    // an output folder that cannot be created: one error, nothing run
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    let bad = blocker.join("out");
    let (code, _, err) = smae_infer(&[
        "run",
        "--model",
        m,
        "--input",
        a.to_str().unwrap(),
        "--output-dir",
        bad.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot create the output folder"),
        "{err}"
    );
    // --output with several inputs
    let (code, _, err) = smae_infer(&[
        "run",
        "--model",
        m,
        "--input",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--output",
        single.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--output takes one input"), "{err}");
}
