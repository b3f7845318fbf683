//! smae-run: the run directory as a typed contract, shared by training
//! (`smae-train`), export (`smae-export`) and the tests.
//!
//! ```text
//! RUN/config.json    RunConfig: pretrain | import | finetune (tagged by `kind`)
//! RUN/log.jsonl      one JSON object per logged step
//! RUN/checkpoint/    model.safetensors (official / timm names), optimizer, trainer.json
//! RUN/metrics.json   fine-tuning / evaluation results
//! ```
//!
//! Everything that reads or writes those files lives here, once: the
//! configuration types, checkpoint discovery and the atomic swap, weight
//! loading with one fit check, atomic file writes, the per-process lock on
//! Burn's generator, parameter ids and the input normalisation.

pub mod atomic;
pub mod card;
pub mod checkpoint;
pub mod config;
pub mod dir;
pub mod kinds;
pub mod log;
pub mod model;
pub mod norm;
pub mod params;
pub mod schedule;
pub mod seed;
pub mod weights;

pub use config::{FinetuneConfig, ImportConfig, PretrainConfig, RunConfig};
pub use kinds::{Method, RunKind, Task};
