//! smae-train: pre-training (SelectiveMAE and the MAE baseline), the
//! benchmark that compares them, and `explain`, which shows what the method
//! selects. The `smae-train` binary is a thin CLI over this library.

pub mod annotations;
pub mod bench;
pub mod burn_rng;
pub mod checkpoint;
pub mod cli;
pub mod curate;
pub mod data {
    pub mod augment;
    pub mod folder;
    pub mod loader;
}
pub mod device;
pub mod explain;
pub mod finetune;
pub mod import;
pub mod infobatch;
pub mod method;
pub mod metrics;
pub mod optim;
pub mod pretrain;
pub mod progress;
pub mod render;
pub mod replica;
pub mod run_dir;
pub mod schedule;
pub mod weights;
