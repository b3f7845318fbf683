//! Model weights as safetensors under the official / timm names, so a run's
//! checkpoint loads into timm and the official code, and theirs into ours.
//!
//! Burn names LayerNorm parameters gamma/beta and stores Linear weights as
//! `[in, out]`; burn-store's PyTorch adapters translate both ways. Our
//! pre-training modules nest the encoder and decoder (`encoder.blocks.0...`),
//! the official checkpoints keep them flat (`blocks.0...`, `decoder_blocks.0...`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn_store::{
    ApplyResult, BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
};

/// Official encoder keys (timm names) at the top level of a checkpoint.
const ENCODER_KEYS: &str = r"^(patch_embed\.|cls_token$|pos_embed$|blocks\.|norm\.)";
/// Official decoder keys.
const DECODER_KEYS: &str = r"^(mask_token$|decoder_)";

/// Writes `model` to `path` with official names.
pub fn save_official<B: Backend, M: ModuleSnapshot<B>>(
    model: &M,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<()> {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"^encoder\.", "")
        .with_key_remapping(r"^decoder\.", "")
        .metadata("format", "pt");
    for (k, v) in metadata {
        store = store.metadata(*k, v.clone());
    }
    model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("writing weights to {}", path.display()))
}

/// Loads official-named weights from `path` into a pre-training model
/// (encoder + decoder). Every parameter of the model must be present.
pub fn load_official<B: Backend, M: ModuleSnapshot<B>>(
    model: &mut M,
    path: &Path,
) -> Result<ApplyResult> {
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(ENCODER_KEYS, "encoder.${1}")
        .with_key_remapping(DECODER_KEYS, "decoder.${1}");
    let result = model
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading weights from {}", path.display()))?;
    if !result.errors.is_empty() {
        bail!(
            "weights in {} do not fit the model: {}",
            path.display(),
            result
                .errors
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !result.missing.is_empty() {
        bail!(
            "weights in {} lack {} tensors, e.g. {}",
            path.display(),
            result.missing.len(),
            result.missing[0].0
        );
    }
    Ok(result)
}

/// Loads a ViT encoder from official-named weights (a pre-training run's
/// checkpoint, which also holds decoder keys, or an imported encoder).
/// Every encoder parameter must be present with its exact shape.
pub fn load_encoder<B: Backend>(vit: &mut smae_models::Vit<B>, path: &Path) -> Result<ApplyResult> {
    let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter);
    let result = vit
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading encoder weights from {}", path.display()))?;
    if !result.errors.is_empty() {
        bail!(
            "encoder weights in {} do not fit the model: {}",
            path.display(),
            result
                .errors
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !result.missing.is_empty() {
        bail!(
            "encoder weights in {} lack {} tensors, e.g. {}",
            path.display(),
            result.missing.len(),
            result.missing[0].0
        );
    }
    Ok(result)
}
