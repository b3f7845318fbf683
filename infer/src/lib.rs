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

pub mod card;
pub mod engine;
pub mod model;
pub mod onnx_meta;
#[cfg(feature = "ort")]
pub mod ort_engine;
#[cfg(feature = "tract")]
pub mod tract_engine;

#[cfg(feature = "scene")]
pub mod geojson_writer;
#[cfg(feature = "scene")]
pub mod geotiff;
#[cfg(feature = "scene")]
pub mod gsd;
#[cfg(feature = "scene")]
pub mod legend;
#[cfg(feature = "scene")]
pub mod many;
#[cfg(feature = "scene")]
pub mod overlay;
#[cfg(feature = "scene")]
pub mod pipeline;
#[cfg(feature = "scene")]
pub mod polygons;
#[cfg(feature = "scene")]
pub mod progress;
#[cfg(feature = "scene")]
pub mod raster;
#[cfg(feature = "scene")]
pub mod run;
#[cfg(feature = "scene")]
pub mod vector;

pub use card::ModelCard;
pub use engine::{Backend, Engine, ExecutionDevice};
#[cfg(feature = "scene")]
pub use many::{SceneOutcome, Summary};
pub use model::{Model, ModelOptions};
#[cfg(feature = "scene")]
pub use run::{RunOptions, RunReport};
