//! Datasets as users have them: image folders and curated tar shards for
//! pre-training (scanned, decoded ahead of the step, augmented), annotated
//! images for fine-tuning.

pub mod annotations;
pub mod augment;
pub mod cache;
pub mod decode;
pub mod folder;
pub mod loader;
pub mod shards;
