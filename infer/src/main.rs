//! The `smae-infer` command: `run` a model on a scene, `info` prints its card.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use smae_geom::Overlap;
use smae_infer::engine::{Backend, ExecutionDevice};
use smae_infer::{onnx_meta, Model, ModelOptions, RunOptions};

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
    /// Run a model on a scene: a class map (COG) for classify / segment,
    /// GeoJSON polygons for detect / detect-obb, in the scene's CRS.
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
    /// Any raster GDAL reads (GeoTIFF, COG, JPEG, ...).
    #[arg(long)]
    input: PathBuf,
    /// out.tif (classify, segment) or out.geojson (detect, detect-obb).
    #[arg(long)]
    output: PathBuf,
    /// auto: ONNX Runtime when its library is found, else tract.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// cpu, cuda[:N] or tensorrt[:N] (ONNX Runtime with a GPU build of its library).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// ONNX Runtime library (default: ORT_DYLIB_PATH, next to the binary, or .ort/).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Tile side in scene pixels (default: the card's); resampled to the model's input when different.
    #[arg(long)]
    tile: Option<usize>,
    /// Overlap between neighbouring tiles in pixels (default: the card's).
    #[arg(long)]
    overlap: Option<usize>,
    /// Tiles per inference call.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Threads per inference call (default: all cores).
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
    /// Also write a PNG of the scene with the result drawn on it.
    #[arg(long)]
    overlay: Option<PathBuf>,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn run(args: RunArgs) -> Result<()> {
    let merge = match args.merge.as_str() {
        "ios" => Overlap::Ios,
        "iou" => Overlap::Iou,
        other => bail!("unknown --merge '{other}': expected ios or iou"),
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
        overlay: args.overlay,
        quiet: args.quiet,
        ..Default::default()
    };
    let report = model.run(&args.input, &args.output, &opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if !args.quiet {
        let what = match report.detections {
            Some(n) => format!(", {n} detections"),
            None => String::new(),
        };
        eprintln!(
            "{}: {} x {} px, {} tiles ({} without data) on {} in {:.1} s{what}",
            report.output.display(),
            report.width,
            report.height,
            report.tiles,
            report.skipped_tiles,
            report.engine,
            report.seconds
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
