use std::path::PathBuf;

use clap::Parser;

/// Export an smae run (encoder and head) to one ONNX file carrying its model
/// card; --verify checks it against Burn on tract and ONNX Runtime.
#[derive(Debug, Parser)]
#[command(name = "smae-export", version)]
struct Cli {
    /// A pre-training, import or fine-tuning run directory.
    #[arg(long)]
    run: PathBuf,
    /// The .onnx file to write.
    #[arg(long)]
    output: PathBuf,
    /// embed (any run) or the fine-tuned task (classify, segment, detect, detect-obb) [default: the run's].
    #[arg(long)]
    task: Option<String>,
    #[arg(long, default_value_t = 17)]
    opset: i64,
    /// Store the weights as float16 (half the size; computed in float32).
    #[arg(long, conflicts_with = "int8")]
    fp16: bool,
    /// Store the MatMul / Conv matrices as int8 with per-channel scales (QDQ; about a
    /// quarter of the size; computed in float32; verified within the int8 tolerance).
    #[arg(long)]
    int8: bool,
    /// Compare the graph with Burn on tract and ONNX Runtime; fail (and write nothing) over tolerance.
    #[arg(long)]
    verify: bool,
    /// Real images to verify on, besides random inputs. Repeatable.
    #[arg(long)]
    verify_image: Vec<PathBuf>,
    /// ONNX Runtime library [default: ORT_DYLIB_PATH, next to the binary, or .ort/].
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Ground sample distance of the training imagery in metres, recorded in the card.
    #[arg(long)]
    gsd: Option<f64>,
    /// gis: the graph normalises raw values x scale itself and a detector has one
    /// YOLO-style output, as GeoDeep and QGIS Deepness read them; plain: normalised
    /// input, boxes and scores apart (card version 1's layout).
    #[arg(long, default_value = "gis")]
    layout: String,
    /// Batch size of the graph: dynamic, or 1 (QGIS Deepness loads detectors only with batch 1).
    #[arg(long, default_value = "dynamic")]
    batch: String,
    /// Also write a STAC item (ML Model extension) describing the model file.
    #[arg(long)]
    stac: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e:#}");
    std::process::exit(1);
}

fn main() {
    let cli = Cli::parse();
    let layout = smae_export::Layout::parse(&cli.layout).unwrap_or_else(|e| fail(e));
    let batch = match cli.batch.as_str() {
        "dynamic" => None,
        b => Some(
            b.parse::<usize>()
                .unwrap_or_else(|_| fail(format!("--batch takes 1 or dynamic, not '{b}'"))),
        ),
    };
    let req = smae_export::ExportRequest {
        run: cli.run,
        output: cli.output,
        task: cli.task,
        opset: cli.opset,
        weights: if cli.int8 {
            smae_export::Weights::Int8
        } else if cli.fp16 {
            smae_export::Weights::F16
        } else {
            smae_export::Weights::F32
        },
        verify: cli.verify,
        verify_images: cli.verify_image,
        ort_library: cli.ort_lib,
        gsd_m: cli.gsd,
        layout,
        batch,
        stac: cli.stac,
    };
    match smae_export::export(&req) {
        Ok(r) => {
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                println!(
                    "wrote {} ({} task, {} parameters, {:.1} MB{}) in {:.2} s",
                    r.output.display(),
                    r.task,
                    r.parameters,
                    r.bytes as f64 / 1e6,
                    match r.weights {
                        smae_export::Weights::F32 => "",
                        smae_export::Weights::F16 => ", f16 weights",
                        smae_export::Weights::Int8 => ", int8 matrices",
                    },
                    r.export_seconds
                );
                for p in &r.parity {
                    println!(
                        "  {:<10} {:<14} {:<14} max abs {:.2e}  rel {:.2e}  {}",
                        p.runtime,
                        p.input,
                        p.output,
                        p.max_abs,
                        p.max_rel,
                        if p.pass { "ok" } else { "FAIL" }
                    );
                }
            }
        }
        Err(e) => fail(format!("{e:#}")),
    }
}
