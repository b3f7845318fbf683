//! smae-train: the training side of smae, one folder per stage of the
//! pipeline:
//!
//! ```text
//! curate/    raw archives -> deduplicated tar shards (OpticalRS-13M's pipeline)
//! pretrain/  shards -> SelectiveMAE / MAE encoder (+ bench, explain)
//! import/    official SelectiveMAE / MAE or timm weights -> a run
//! finetune/  encoder -> classification, segmentation or detection head
//! eval/      a fine-tuned run's metrics, on the tiles smae-infer runs
//! ```
//!
//! `data` reads datasets, `optim` is AdamW as MAE configures it, `device`
//! picks the backend; the run directory itself is `smae-run`'s contract.
//! The `smae-train` binary is `cli` over all of it.

pub mod architecture;
pub mod cli;
pub mod curate;
pub mod data;
pub mod device;
pub mod distributed;
pub mod eval;
pub mod finetune;
pub mod import;
pub mod optim;
pub mod pretrain;
pub mod progress;
pub mod render;
