//! smae-infer: run smae ONNX models on raster scenes of any size. No Burn,
//! CUDA toolkit or Python: ONNX Runtime is loaded at run time, tract is pure
//! Rust, rasters go through GDAL.
//!
//! ```no_run
//! use smae_infer::{Model, ModelOptions, RunOptions};
//! let mut model = Model::open("crowns.onnx".as_ref(), &ModelOptions::default())?;
//! for scene in ["a.tif", "b.tif"] {
//!     let out = format!("{scene}.geojson");
//!     model.run(scene.as_ref(), out.as_ref(), &RunOptions::default())?;
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod blend;
pub mod card;
pub mod detections;
pub mod engine;
pub mod geojson_writer;
pub mod geotiff;
pub mod model;
pub mod onnx_meta;
pub mod overlay;
pub mod pipeline;
pub mod raster;
pub mod run;
pub mod tiling;

pub use card::ModelCard;
pub use engine::{Backend, Engine, ExecutionDevice};
pub use model::{Model, ModelOptions};
pub use run::{RunOptions, RunReport};
