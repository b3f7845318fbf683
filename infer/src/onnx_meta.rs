//! Reads `metadata_props` (field 14 of `ModelProto`) straight from the ONNX
//! protobuf, skipping everything else by length, so the model card is
//! available before (and without) a runtime.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::card::{ModelCard, CARD_KEY};

fn varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos).context("truncated protobuf")?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    bail!("malformed varint")
}

/// `(field, wire type, payload)` of each top-level field of a message.
fn fields(b: &[u8]) -> Result<Vec<(u32, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
        let payload: &[u8] = match wire {
            0 => {
                let start = pos;
                varint(b, &mut pos)?;
                &b[start..pos]
            }
            1 => {
                pos += 8;
                b.get(pos - 8..pos).context("truncated protobuf")?
            }
            2 => {
                let len = varint(b, &mut pos)? as usize;
                pos += len;
                b.get(pos - len..pos).context("truncated protobuf")?
            }
            5 => {
                pos += 4;
                b.get(pos - 4..pos).context("truncated protobuf")?
            }
            _ => bail!("unsupported protobuf wire type {wire}"),
        };
        out.push((field, wire, payload));
    }
    Ok(out)
}

/// The `metadata_props` key/value pairs of an ONNX model.
pub fn metadata(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (field, wire, payload) in fields(bytes)? {
        if field == 14 && wire == 2 {
            let (mut k, mut v) = (String::new(), String::new());
            for (f, w, p) in fields(payload)? {
                match (f, w) {
                    (1, 2) => k = String::from_utf8_lossy(p).into_owned(),
                    (2, 2) => v = String::from_utf8_lossy(p).into_owned(),
                    _ => {}
                }
            }
            out.push((k, v));
        }
    }
    Ok(out)
}

/// The model card of the ONNX file at `path`.
pub fn read_card(path: &Path) -> Result<ModelCard> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    let meta =
        metadata(&bytes).with_context(|| format!("{} is not an ONNX model", path.display()))?;
    let (_, json) = meta.iter().find(|(k, _)| k == CARD_KEY).with_context(|| {
        format!(
            "{} has no smae model card (metadata key {CARD_KEY}); export it with smae-export",
            path.display()
        )
    })?;
    serde_json::from_str(json)
        .with_context(|| format!("the model card of {} is malformed", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: u32, wire: u8) -> u8 {
        ((field << 3) | wire as u32) as u8
    }

    #[test]
    fn reads_metadata_and_skips_the_rest() {
        // ModelProto { ir_version = 8; producer_name = "x"; metadata_props { key "a" value "bc" } }
        let mut m = vec![key(1, 0), 8, key(2, 2), 1, b'x'];
        let entry = [key(1, 2), 1, b'a', key(2, 2), 2, b'b', b'c'];
        m.push(key(14, 2));
        m.push(entry.len() as u8);
        m.extend_from_slice(&entry);
        assert_eq!(
            metadata(&m).unwrap(),
            vec![("a".to_string(), "bc".to_string())]
        );
        assert!(metadata(&m[..m.len() - 2]).is_err());
    }
}
