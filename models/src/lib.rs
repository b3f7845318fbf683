//! smae-models: the SelectiveMAE family as Burn modules, with no I/O.
//!
//! Names follow the paper (`hog`, `psts`, `cross_decoder`) and parameter
//! names follow timm / the official code, so checkpoints move both ways.

pub mod attention;
pub mod block;
pub mod classifier;
pub mod config;
pub mod conv_block;
pub mod cross_decoder;
pub mod detector;
pub mod drop_path;
pub mod fcos;
pub mod gather;
pub mod hog;
pub mod host;
pub mod init;
pub mod loss;
pub mod mae;
pub mod mae_decoder;
pub mod mlp;
pub mod patchify;
pub mod pos_embed;
pub mod precision;
pub mod psts;
pub mod selection;
pub mod selective_mae;
pub mod token_counts;
pub mod upernet;
pub mod vit;

#[cfg(test)]
pub(crate) mod test_backend;

pub use classifier::Classifier;
pub use config::{DecoderConfig, VitConfig};
pub use detector::Detector;
pub use mae::Mae;
pub use psts::{PstsSchedule, Stage};
pub use selection::{MaskPlan, SamplePlan, SelectionMode};
pub use selective_mae::{SelectiveMae, SelectiveStep};
pub use token_counts::TokenCounts;
pub use upernet::Segmenter;
pub use vit::Vit;

/// Errors from building a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model configuration: {0}")]
    Config(String),
}
