//! The `smae-infer` command: `run` a model on a scene, `info` prints its card.

use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use smae_geom::Overlap;
use smae_infer::engine::{Backend, ExecutionDevice};
use smae_infer::run::Probabilities;
use smae_infer::vector::VectorFormat;
use smae_infer::{many, onnx_meta, Model, ModelOptions, RunOptions, RunReport};

#[derive(Parser)]
#[command(
    name = "smae-infer",
    version,
    about = "Tiled inference of smae ONNX models on GeoTIFF scenes (ONNX Runtime or tract)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model on a scene (or many): a class map (COG) for classify /
    /// segment, GeoJSON polygons for detect / detect-obb, in the scene's CRS.
    Run(Box<RunArgs>),
    /// Print a model's card (task, classes, input, tiles, outputs, provenance).
    Info {
        #[arg(long)]
        model: PathBuf,
        /// The card as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// An ONNX file written by smae-export.
    #[arg(long)]
    model: PathBuf,
    /// Scenes: any raster GDAL reads (GeoTIFF, COG, JPEG, ...), local, a GDAL
    /// virtual path (/vsicurl/, /vsis3/, /vsigs/, /vsiaz/, /vsizip/...) or an
    /// http(s) URL. Several with --output-dir.
    #[arg(long, num_args = 1.., required_unless_present = "input_list")]
    input: Vec<PathBuf>,
    /// A file listing input scenes, one per line (with --output-dir).
    #[arg(long)]
    input_list: Option<PathBuf>,
    /// out.tif (classify, segment) or out.geojson / .gpkg / .fgb (detect, detect-obb), for one input.
    #[arg(
        long,
        required_unless_present = "output_dir",
        conflicts_with = "output_dir"
    )]
    output: Option<PathBuf>,
    /// Many scenes: each output is written here as SCENE.tif / SCENE.geojson; outputs
    /// already there are skipped, a failed scene does not stop the others, and the exit
    /// code is 1 when any failed.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// auto: ONNX Runtime when its library is found, else tract.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// cpu, cuda[:N] or tensorrt[:N] (ONNX Runtime with a GPU build of its library).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// ONNX Runtime library (default: ORT_DYLIB_PATH, next to the binary, or .ort/).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Tile side in scene pixels (default: the card's tile scaled from the model's ground
    /// resolution to the scene's, so tiles cover the ground the model was trained on);
    /// resampled to the model's input.
    #[arg(long)]
    tile: Option<usize>,
    /// Overlap between neighbouring tiles in scene pixels (default: the card's, scaled like the tile).
    #[arg(long)]
    overlap: Option<usize>,
    /// The scene's ground resolution in metres per pixel, overriding its georeference
    /// (for scenes without one, or with a wrong one).
    #[arg(long)]
    gsd: Option<f64>,
    /// Tiles per inference call.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Threads (default: all cores): ONNX Runtime's intra-op threads; on
    /// tract, worker threads that each run a whole batch at once.
    #[arg(long)]
    threads: Option<usize>,
    /// Scene bands to feed the model, 1-based, e.g. 4,3,2 (default: the card's).
    #[arg(long, value_delimiter = ',')]
    bands: Option<Vec<usize>>,
    /// Multiplier on raw values before mean/std (default: the card's, 1/255 for 8-bit models).
    #[arg(long)]
    scale: Option<f64>,
    /// Treat this value as nodata (default: the scene's nodata, mask or alpha band).
    #[arg(long, allow_hyphen_values = true)]
    nodata: Option<f64>,
    /// Test-time augmentation (classify, segment): average with flipped tiles.
    #[arg(long)]
    tta: bool,
    /// Detection score threshold (default: the card's).
    #[arg(long)]
    score: Option<f32>,
    /// Per-tile NMS IoU threshold (default: the card's).
    #[arg(long)]
    nms_iou: Option<f32>,
    /// Scene-level merge across tiles: ios (intersection over the smaller box) or iou.
    #[arg(long, default_value = "ios")]
    merge: String,
    #[arg(long, default_value_t = 0.6)]
    merge_threshold: f32,
    /// Merge detections of different classes too.
    #[arg(long)]
    class_agnostic: bool,
    /// Segmentation: also write the blended class probabilities as OUT_probabilities.tif
    /// (8-bit, band scale 1/254, nodata 255): one band per class, or `max`: one band with
    /// the chosen class's probability (the confidence).
    #[arg(long, num_args = 0..=1, default_missing_value = "classes", value_name = "classes|max")]
    probabilities: Option<String>,
    /// Segmentation: also write the class map as polygons (GDAL Polygonize, fields class
    /// and class_index) to OUT_polygons.gpkg (or .fgb, .geojson).
    #[arg(long, num_args = 0..=1, default_missing_value = "gpkg", value_name = "gpkg|fgb|geojson")]
    polygons: Option<String>,
    /// Also write a PNG of the scene with the result drawn on it.
    #[arg(long)]
    overlay: Option<PathBuf>,
    /// Detections as GeoJSON in WGS84 longitude / latitude (RFC 7946) instead of the scene's CRS.
    #[arg(long)]
    wgs84: bool,
    /// With --output-dir: the output format of detectors, geojson, gpkg or fgb [default: geojson].
    #[arg(long)]
    format: Option<String>,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// One line about a finished scene.
fn describe(report: &RunReport) -> String {
    let what = match report.detections {
        Some(n) => format!(", {n} detections"),
        None => String::new(),
    };
    let gsd = match report.scene_gsd_m {
        Some(g) => format!(" at {g:.3} m/px"),
        None => String::new(),
    };
    format!(
        "{}: {} x {} px{gsd}, {} tiles of {} px ({} without data) on {} in {:.1} s{what}",
        report.output.display(),
        report.width,
        report.height,
        report.tiles,
        report.tile,
        report.skipped_tiles,
        report.engine,
        report.seconds
    )
}

fn run(args: RunArgs) -> Result<()> {
    let merge = match args.merge.as_str() {
        "ios" => Overlap::Ios,
        "iou" => Overlap::Iou,
        other => bail!("unknown --merge '{other}': expected ios or iou"),
    };
    let probabilities = match args.probabilities.as_deref() {
        None => None,
        Some("classes") => Some(Probabilities::Classes),
        Some("max") => Some(Probabilities::Max),
        Some(other) => bail!("unknown --probabilities '{other}': expected classes or max"),
    };
    let polygons = match args.polygons.as_deref() {
        None => None,
        Some(f) => Some(
            VectorFormat::from_path(Path::new(&format!("x.{f}"))).ok_or_else(|| {
                anyhow::anyhow!("unknown --polygons '{f}': expected gpkg, fgb or geojson")
            })?,
        ),
    };
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut mopts = ModelOptions {
        backend: Backend::parse(&args.backend)?,
        device: ExecutionDevice::parse(&args.device)?,
        ort_library: args.ort_lib,
        ..Default::default()
    };
    if let Some(t) = args.threads {
        mopts.threads = t.max(1);
    }
    let mut model = Model::open(&args.model, &mopts)?;
    let opts = RunOptions {
        tile: args.tile,
        overlap: args.overlap,
        gsd: args.gsd,
        batch: args.batch,
        bands: args.bands,
        scale: args.scale,
        nodata: args.nodata,
        tta: args.tta,
        score: args.score,
        nms_iou: args.nms_iou,
        merge,
        merge_threshold: args.merge_threshold,
        class_agnostic: args.class_agnostic,
        probabilities,
        polygons,
        overlay: args.overlay,
        wgs84: args.wgs84,
        quiet: args.quiet,
        ..Default::default()
    };
    let mut inputs = args.input;
    if let Some(list) = &args.input_list {
        inputs.extend(many::read_list(list)?);
    }
    let Some(dir) = args.output_dir else {
        let [input] = inputs.as_slice() else {
            bail!("--output takes one input; give several scenes an --output-dir");
        };
        let output = args.output.unwrap_or_default();
        let report = model.run(input, &output, &opts)?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else if !args.quiet {
            eprintln!("{}", describe(&report));
        }
        return Ok(());
    };
    if opts.overlay.is_some() {
        bail!("--overlay draws one scene: use it with --output");
    }
    let ext = match args.format.as_deref() {
        None => model.default_extension(),
        Some(f @ ("geojson" | "gpkg" | "fgb")) if model.default_extension() == "geojson" => f,
        Some(f) => bail!(
            "--format {f}: a {} model writes {}",
            model.card.task,
            if model.default_extension() == "tif" {
                "GeoTIFF (tif)"
            } else {
                "geojson, gpkg or fgb"
            }
        ),
    };
    let summary = model.run_many(&inputs, &dir, ext, &opts, |o| match o.status {
        "failed" => eprintln!(
            "error: {}: {}",
            o.input.display(),
            o.error.as_deref().unwrap_or("")
        ),
        "skipped" if !args.quiet => eprintln!("{}: already there, skipped", o.output.display()),
        _ => {
            if let Some(r) = o.report.as_ref().filter(|_| !args.quiet) {
                for w in &r.warnings {
                    eprintln!("warning: {}: {w}", o.input.display());
                }
                eprintln!("{}", describe(r));
            }
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else if !args.quiet {
        eprintln!(
            "{} scenes: {} done, {} skipped, {} failed in {:.1} s",
            summary.scenes.len(),
            summary.done,
            summary.skipped,
            summary.failed,
            summary.seconds
        );
    }
    if summary.failed > 0 {
        bail!(
            "{} of {} scenes failed",
            summary.failed,
            summary.scenes.len()
        );
    }
    Ok(())
}

fn info(model: PathBuf, json: bool) -> Result<()> {
    let card = onnx_meta::read_card(&model)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&card)?);
        return Ok(());
    }
    println!("model:    {}", model.display());
    println!("task:     {}", card.task);
    println!(
        "classes:  {}",
        if card.classes.is_empty() {
            "-".to_string()
        } else {
            card.classes.join(", ")
        }
    );
    let i = &card.input;
    println!(
        "input:    '{}' {} x {} x {} {}, bands {:?}, scale {}, mean {:?}, std {:?} ({}), batch {}",
        i.name,
        i.bands.len(),
        i.size,
        i.size,
        i.dtype,
        i.bands,
        i.scale,
        i.mean,
        i.std,
        if i.normalised_in_graph {
            "applied in the graph"
        } else {
            "applied before the graph"
        },
        i.batch.map_or("any".to_string(), |b| b.to_string())
    );
    println!("patch:    {}", card.patch_size);
    if !card.gis.is_empty() {
        println!("gis:      {}", card.gis);
    }
    if let Some(g) = card.gsd_m {
        println!("gsd:      {g} m/px");
    }
    println!(
        "tiles:    {} px, overlap {} px",
        card.tile.size, card.tile.overlap
    );
    for o in &card.outputs {
        println!(
            "output:   '{}' [{}] {}",
            o.name,
            o.layout.join(", "),
            o.kind
        );
    }
    if card.task.starts_with("detect") {
        let t = &card.thresholds;
        println!(
            "detect:   score >= {}, NMS IoU {}, at most {} per tile",
            t.score, t.nms_iou, t.max_detections
        );
    }
    println!("provenance: {}", card.provenance);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Run(a) => run(*a),
        Command::Info { model, json } => info(model, json),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
