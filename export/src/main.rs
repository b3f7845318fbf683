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
    #[arg(long)]
    fp16: bool,
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
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() {
    let cli = Cli::parse();
    let req = smae_export::ExportRequest {
        run: cli.run,
        output: cli.output,
        task: cli.task,
        opset: cli.opset,
        fp16: cli.fp16,
        verify: cli.verify,
        verify_images: cli.verify_image,
        ort_library: cli.ort_lib,
        gsd_m: cli.gsd,
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
                    if r.fp16 { ", f16 weights" } else { "" },
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
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
