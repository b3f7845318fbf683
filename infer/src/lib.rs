//! smae-infer: run smae ONNX models on raster scenes. No Burn, CUDA toolkit
//! or Python: ONNX Runtime is loaded at run time, tract is pure Rust.

pub mod card;
pub mod engine;
pub mod onnx_meta;

pub use card::ModelCard;
pub use engine::{Backend, Engine, ExecutionDevice};
