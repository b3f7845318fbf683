//! `smae-train import`: official SelectiveMAE / MAE checkpoints and timm ViTs
//! into an smae run, and `export-timm` for the way back.
//!
//! PyTorch files are read with burn-store's pickle reader, which parses the
//! pickle stream and never executes code from it. Keys are matched to the
//! encoder by name (timm's), shapes are checked, and the position embedding
//! is resampled when the checkpoint's grid differs from the requested one.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::backend::flex::FlexDevice;
use burn::backend::Flex;
use smae_models::vit::timm_state_shapes;
use smae_models::{pos_embed, Vit, VitConfig};
use smae_run::checkpoint::{CHECKPOINT, MODEL};
pub use smae_run::config::{Ignored, ImportConfig, ImportReport, ImportSource as Source};
use smae_run::{weights, RunConfig};

mod read;
pub use read::read_checkpoint;

/// A flat state dict: name -> (shape, values as f32).
pub type State = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Why a non-encoder key is not loaded, or `None` for an encoder key.
fn ignore_reason(key: &str) -> Option<&'static str> {
    const DEAD: [&str; 4] = [
        "decoder_embed1.",
        "pos_embed_probs",
        "get_token_probs",
        "hog.",
    ];
    if DEAD.iter().any(|d| key.starts_with(d)) {
        return Some("unused by the official model (dead key)");
    }
    if key == "mask_token" || key.starts_with("decoder") {
        return Some("decoder (importing the encoder)");
    }
    if key.starts_with("head.") {
        return Some("classification head");
    }
    let encoder = key == "cls_token"
        || key == "pos_embed"
        || key.starts_with("patch_embed.")
        || key.starts_with("blocks.")
        || key.starts_with("norm.");
    if encoder {
        None
    } else {
        Some("not part of a ViT encoder")
    }
}

/// Keys of ViT variants whose computation our encoder does not have.
fn unsupported_variant(key: &str) -> Option<&'static str> {
    [
        (".ls1.", "layer scale"),
        (".ls2.", "layer scale"),
        ("q_norm", "query/key normalisation"),
        ("k_norm", "query/key normalisation"),
        ("reg_token", "register tokens"),
        ("dist_token", "a distillation token"),
        ("patch_embed.norm", "a normalised patch embedding"),
    ]
    .iter()
    .find(|(pat, _)| key.contains(pat))
    .map(|(_, what)| *what)
}

/// Strips wrappers that training frameworks add (`module.` from DDP,
/// `_orig_mod.` from torch.compile).
fn normalise(key: &str) -> &str {
    let mut k = key;
    loop {
        let stripped = k
            .strip_prefix("module.")
            .or_else(|| k.strip_prefix("_orig_mod."));
        match stripped {
            Some(s) => k = s,
            None => return k,
        }
    }
}

/// The patch size of the ViT in a checkpoint, from its patch embedding.
pub fn patch_size_of(state: &State) -> Option<usize> {
    state
        .iter()
        .find(|(k, _)| normalise(k) == "patch_embed.proj.weight")
        .and_then(|(_, (s, _))| (s.len() == 4).then_some(s[2]))
}

/// Selects the encoder of `cfg` from a checkpoint: checks architecture and
/// shapes, resamples the position embedding, and reports every key.
pub fn encoder_state(
    raw: State,
    source: Source,
    cfg: &VitConfig,
    model_name: &str,
) -> Result<(State, ImportReport)> {
    let file = source.path.display().to_string();
    let mut report = ImportReport {
        source,
        loaded: Vec::new(),
        ignored: Vec::new(),
        notes: Vec::new(),
        pos_embed_resampled_from: None,
    };
    let mut state = State::new();
    let mut fc_norm = State::new();
    for (key, value) in raw {
        let key = normalise(&key).to_string();
        if let Some(what) = unsupported_variant(&key) {
            bail!(
                "{file} holds a ViT with {what} ({key}), which smae's encoder does not implement"
            );
        }
        if let Some(rest) = key.strip_prefix("fc_norm.") {
            fc_norm.insert(rest.to_string(), value);
            continue;
        }
        match ignore_reason(&key) {
            Some(reason) => report.ignored.push(Ignored {
                key,
                reason: reason.into(),
            }),
            None => {
                state.insert(key, value);
            }
        }
    }
    if state.is_empty() {
        bail!("{file} contains no ViT encoder weights (no patch_embed / blocks / norm keys)");
    }
    // MAE fine-tuned checkpoints with global pooling keep `fc_norm` instead of `norm`.
    let use_fc_norm = !state.contains_key("norm.weight") && fc_norm.contains_key("weight");
    for (rest, value) in fc_norm {
        if use_fc_norm {
            state.insert(format!("norm.{rest}"), value);
        } else {
            report.ignored.push(Ignored {
                key: format!("fc_norm.{rest}"),
                reason: "classification head".into(),
            });
        }
    }
    if use_fc_norm {
        report
            .notes
            .push("no `norm` in the checkpoint: its `fc_norm` (global-pool fine-tuning) is used as the final norm".into());
    }

    // Architecture first, so a wrong --model gets one clear sentence.
    let found_depth = state
        .keys()
        .filter_map(|k| {
            k.strip_prefix("blocks.")?
                .split('.')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .map_or(0, |m| m + 1);
    let (found_dim, found_patch) = match state.get("patch_embed.proj.weight") {
        Some((s, _)) if s.len() == 4 => (s[0], s[2]),
        _ => bail!("{file} has no patch embedding (patch_embed.proj.weight)"),
    };
    if found_dim != cfg.dim || found_depth != cfg.depth || found_patch != cfg.patch_size {
        bail!(
            "{file} holds a ViT with dim {found_dim}, {found_depth} blocks and patch {found_patch}, not {model_name} (dim {}, {} blocks, patch {})",
            cfg.dim,
            cfg.depth,
            cfg.patch_size
        );
    }

    let expected = timm_state_shapes(cfg);
    let missing: Vec<&String> = expected
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !state.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let show: Vec<&str> = missing.iter().take(3).map(|k| k.as_str()).collect();
        bail!(
            "{file} lacks {} of the {} tensors {model_name} needs: {}{}",
            missing.len(),
            expected.len(),
            show.join(", "),
            if missing.len() > 3 { ", ..." } else { "" }
        );
    }
    let mut out = State::new();
    for (key, shape) in &expected {
        let (got_shape, values) = state
            .remove(key)
            .with_context(|| format!("{file} lacks {key}"))?;
        let values = if key == "pos_embed" && got_shape != *shape {
            resample_pos_embed(&file, got_shape, values, shape, cfg, &mut report)?
        } else if got_shape != *shape {
            bail!("{key} has shape {got_shape:?} in {file}, but {model_name} needs {shape:?}");
        } else {
            values
        };
        report.loaded.push(key.clone());
        out.insert(key.clone(), (shape.clone(), values));
    }
    for (key, _) in state {
        report.ignored.push(Ignored {
            key,
            reason: "not in this encoder".into(),
        });
    }
    Ok((out, report))
}

fn resample_pos_embed(
    file: &str,
    got: Vec<usize>,
    values: Vec<f32>,
    want: &[usize],
    cfg: &VitConfig,
    report: &mut ImportReport,
) -> Result<Vec<f32>> {
    let d = cfg.dim;
    let tokens = if got.len() == 3 && got[0] == 1 && got[2] == d {
        got[1]
    } else {
        0
    };
    let g = ((tokens.saturating_sub(1)) as f64).sqrt().round() as usize;
    if tokens == 0 || g * g + 1 != tokens {
        bail!(
            "pos_embed has shape {got:?} in {file}; expected [1, 1 + g*g, {d}] (a cls token and a square grid), the model needs {want:?}"
        );
    }
    let new = cfg.grid();
    report.pos_embed_resampled_from = Some([g, g]);
    report.notes.push(format!(
        "position embedding resampled bicubically from a {g}x{g} to a {new}x{new} grid"
    ));
    Ok(pos_embed::resample(&values, d, (g, g), (new, new)))
}

/// A state (torch layout, official names) as safetensors bytes.
pub fn state_bytes(state: &State, metadata: BTreeMap<String, String>) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = state
        .iter()
        .map(|(k, (s, v))| {
            (
                k.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(k, s, b)| {
            Ok((
                k.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)?,
            ))
        })
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    Ok(safetensors::tensor::serialize(
        views,
        Some(metadata.into_iter().collect()),
    )?)
}

/// Imports a checkpoint (as read by [`read_checkpoint`]) as the encoder of
/// `cfg` into a new run directory `run`. Nothing is left at `run` if the
/// import fails.
pub fn import(
    raw: State,
    source: Source,
    cfg: &VitConfig,
    model_name: &str,
    run: &Path,
) -> Result<ImportReport> {
    if run.join(smae_run::config::CONFIG).exists() {
        bail!(
            "{} already holds a run; choose another --output",
            run.display()
        );
    }
    let weights_path = source.path.clone();
    let (state, report) = encoder_state(raw, source, cfg, model_name)?;

    let tmp = run.with_file_name(format!(
        ".{}.import-tmp",
        run.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(tmp.join(CHECKPOINT))
        .with_context(|| format!("creating {}", tmp.display()))?;
    let result = (|| -> Result<()> {
        let file = tmp.join(CHECKPOINT).join(MODEL);
        let mut meta = BTreeMap::new();
        meta.insert("format".to_string(), "pt".to_string());
        meta.insert(
            "smae.imported_from".to_string(),
            weights_path.display().to_string(),
        );
        fs::write(&file, state_bytes(&state, meta)?)
            .with_context(|| format!("writing {}", file.display()))?;
        // Load it once into the model: the weights must fit it exactly.
        let mut vit = Vit::<Flex>::new(cfg, &FlexDevice);
        weights::load_encoder(&mut vit, &file)?;
        RunConfig::Import(ImportConfig {
            smae_version: env!("CARGO_PKG_VERSION").into(),
            model: model_name.into(),
            vit: cfg.clone(),
            import: report.clone(),
        })
        .write(&tmp)
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if run.exists() {
        // An empty directory the user created for the output.
        fs::remove_dir(run)
            .with_context(|| format!("{} exists and is not empty", run.display()))?;
    }
    fs::rename(&tmp, run).with_context(|| format!("creating {}", run.display()))?;
    Ok(report)
}

/// Writes the encoder of a run (pre-training or import) as a timm-compatible
/// safetensors file: timm's key names, PyTorch layout, no head, so
/// `timm.create_model(name, num_classes=0).load_state_dict(...)` takes it.
pub fn export_timm(run: &Path, output: &Path) -> Result<usize> {
    let (cfg, file) = smae_run::dir::encoder(run)?;
    let mut vit = Vit::<Flex>::new(&cfg, &FlexDevice);
    weights::load_encoder(&mut vit, &file)?;
    let meta = vec![("smae.vit", serde_json::to_string(&cfg)?)];
    smae_run::atomic::write_path(output, |tmp| weights::save_official(&vit, tmp, &meta))?;
    Ok(timm_state_shapes(&cfg).len())
}
