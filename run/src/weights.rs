//! Model weights as safetensors under the official / timm names, so a run's
//! checkpoint loads into timm and the official code, and theirs into ours.
//!
//! Burn names LayerNorm parameters gamma/beta and stores Linear weights as
//! `[in, out]`; burn-store's PyTorch adapters translate both ways. Our
//! pre-training and task modules nest the encoder (`encoder.blocks.0...`)
//! and decoder; the official checkpoints keep them flat (`blocks.0...`,
//! `decoder_blocks.0...`). Every load checks the fit the same way: no tensor
//! of the wrong shape and none of the model's parameters missing.

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn_store::{
    ApplyResult, BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
};

/// Official encoder keys (timm names) at the top level of a checkpoint.
pub const ENCODER_KEYS: &str = r"^(patch_embed\.|cls_token$|pos_embed$|blocks\.|norm\.)";
/// Official decoder keys.
const DECODER_KEYS: &str = r"^(mask_token$|decoder_)";

/// Writes `model` to `path` with official names.
pub fn save_official<B: Backend, M: ModuleSnapshot<B>>(
    model: &M,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<()> {
    // Callers write to a fresh temporary file (atomic::write_path), which
    // already exists when the store opens it.
    let mut store = SafetensorsStore::from_file(path)
        .overwrite(true)
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

/// Loads official-named weights into a model that nests its encoder (a
/// pre-training model with its decoder, or a fine-tuned model with its
/// head). Every parameter of the model must be present.
pub fn load_official<B: Backend, M: ModuleSnapshot<B>>(
    model: &mut M,
    path: &Path,
) -> Result<ApplyResult> {
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(ENCODER_KEYS, "encoder.${1}")
        .with_key_remapping(DECODER_KEYS, "decoder.${1}");
    let result = model.load_from(&mut store);
    fitted(result, &path.display().to_string(), "weights")
}

/// Loads a ViT encoder from official-named weights (a pre-training run's
/// checkpoint, which also holds decoder keys, a fine-tuned one, which also
/// holds head keys, or an imported encoder). Every encoder parameter must
/// be present with its exact shape.
pub fn load_encoder<B: Backend>(vit: &mut smae_models::Vit<B>, path: &Path) -> Result<ApplyResult> {
    let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter);
    let result = vit.load_from(&mut store);
    fitted(result, &path.display().to_string(), "encoder weights")
}

/// [`load_encoder`] from safetensors bytes held in memory.
pub fn load_encoder_bytes<B: Backend>(
    vit: &mut smae_models::Vit<B>,
    bytes: Vec<u8>,
    source: &str,
) -> Result<ApplyResult> {
    let mut store =
        SafetensorsStore::from_bytes(Some(bytes)).with_from_adapter(PyTorchToBurnAdapter);
    let result = vit.load_from(&mut store);
    fitted(result, source, "encoder weights")
}

/// The one fit check: a read error, a tensor that does not fit, or a
/// parameter the file lacks is an error naming `source`.
fn fitted<E: std::fmt::Display>(
    result: Result<ApplyResult, E>,
    source: &str,
    what: &str,
) -> Result<ApplyResult> {
    let result = result
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading {what} from {source}"))?;
    if !result.errors.is_empty() {
        bail!(
            "{what} in {source} do not fit the model: {}",
            result
                .errors
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if let Some((first, _)) = result.missing.first() {
        bail!(
            "{what} in {source} lack {} tensors, e.g. {first}",
            result.missing.len()
        );
    }
    Ok(result)
}
