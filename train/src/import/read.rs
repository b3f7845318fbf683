//! Reading checkpoints: PyTorch zip files (`.pth`, `.pt`, `.bin`), parsed
//! by burn-store's pickle reader, which never executes code from them, and
//! safetensors files (f32, f16, bf16), every tensor as f32.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{Source, State};

/// Reads every tensor of a PyTorch (zip) or safetensors checkpoint as f32.
pub fn read_checkpoint(path: &Path) -> Result<(State, Source)> {
    let mut magic = [0u8; 9];
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let n = f
        .read(&mut magic)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if n >= 4 && &magic[..4] == b"PK\x03\x04" {
        return read_torch(path);
    }
    if n >= 2 && magic[0] == 0x80 && magic[1] <= 5 {
        bail!(
            "{} is a legacy (non-zip) torch pickle; re-save it with torch.save (PyTorch 1.6 or newer) first",
            path.display()
        );
    }
    // safetensors: an 8-byte little-endian header length, then the JSON header.
    if n == 9 && magic[8] == b'{' {
        return read_safetensors(path);
    }
    bail!(
        "{} is neither a PyTorch checkpoint nor a safetensors file",
        path.display()
    )
}

fn read_torch(path: &Path) -> Result<(State, Source)> {
    use burn_store::pytorch::PytorchReader;
    let mut nested_key = None;
    let mut reader = None;
    for key in ["model", "state_dict", "model_state_dict", "module"] {
        if let Ok(r) = PytorchReader::with_top_level_key(path, key) {
            if !r.is_empty() {
                nested_key = Some(key.to_string());
                reader = Some(r);
                break;
            }
        }
    }
    let reader = match reader {
        Some(r) => r,
        None => PytorchReader::new(path).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a readable PyTorch checkpoint: {e}",
                path.display()
            )
        })?,
    };
    let mut state = State::new();
    for (name, snap) in reader.into_tensors() {
        let data = snap.to_data().map_err(|e| {
            anyhow::anyhow!("{}: tensor {name} cannot be read: {e:?}", path.display())
        })?;
        let shape = data.shape.to_vec();
        let values = data.convert::<f32>().into_vec::<f32>().map_err(|e| {
            anyhow::anyhow!("{}: tensor {name} is not numeric: {e:?}", path.display())
        })?;
        state.insert(name, (shape, values));
    }
    Ok((
        state,
        Source {
            path: path.to_path_buf(),
            format: "pytorch-zip".into(),
            nested_key,
        },
    ))
}

fn read_safetensors(path: &Path) -> Result<(State, Source)> {
    use safetensors::{Dtype, SafeTensors};
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        anyhow::anyhow!("{} is not a readable safetensors file: {e}", path.display())
    })?;
    let mut state = State::new();
    for (name, view) in st.tensors() {
        let d = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => d
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => d
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                // Integer buffers (counters, indices) are never weights.
                let _ = other;
                continue;
            }
        };
        state.insert(name, (view.shape().to_vec(), values));
    }
    Ok((
        state,
        Source {
            path: path.to_path_buf(),
            format: "safetensors".into(),
            nested_key: None,
        },
    ))
}
