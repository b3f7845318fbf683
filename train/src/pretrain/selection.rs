//! Which patches a step encodes and reconstructs: ratios, the selection
//! rule, the PSTS curriculum and the reconstruction target, resolved and
//! checked against the patch grid.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use smae_models::psts::DEFAULT_FRACTIONS;
use smae_models::{PstsSchedule, SelectionMode};
use smae_run::config::MethodSpec;
use smae_run::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Selection {
    /// Highest HOG texture score first (the paper's rule).
    HogTopk,
    /// Sample in proportion to softmax(score / tau).
    HogSample,
    /// Uniform random (what the official code effectively does).
    Uniform,
}

impl Selection {
    fn mode(self, tau: f64) -> SelectionMode {
        match self {
            Selection::HogTopk => SelectionMode::HogTopk,
            Selection::HogSample => SelectionMode::HogSample { tau },
            Selection::Uniform => SelectionMode::Uniform,
        }
    }
}

/// Which patches a step uses.
#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// Share of patches not encoded [default: 0.85 selective, 0.75 mae].
    #[arg(long)]
    pub mask_ratio: Option<f64>,
    /// Share of patches reconstructed (SelectiveMAE).
    #[arg(long, default_value_t = 0.25)]
    pub recon_ratio: f64,
    /// How the initial set and the targets are chosen.
    #[arg(long, value_enum, default_value_t = Selection::HogTopk)]
    pub selection: Selection,
    /// Temperature of hog-sample.
    #[arg(long, default_value_t = 0.1)]
    pub hog_tau: f64,
    /// PSTS stage boundaries as fractions of the run (near | near->far | far | far->random | random).
    #[arg(long, value_delimiter = ',', conflicts_with = "psts_epochs")]
    pub psts_fractions: Option<Vec<f64>>,
    /// PSTS stage boundaries in absolute epochs (the official code: 280,300,580,600).
    #[arg(long, value_delimiter = ',')]
    pub psts_epochs: Option<Vec<f64>>,
    /// Reconstruct the pixels themselves instead of per-patch normalised ones
    /// (MAE's norm_pix_loss, the default): the encoder then also has to keep
    /// each patch's colour and brightness.
    #[arg(long)]
    pub no_norm_pix: bool,
}

impl SelectionArgs {
    pub fn spec(
        &self,
        method: Method,
        epochs: f64,
        patch_size: usize,
        num_patches: usize,
    ) -> Result<MethodSpec> {
        let mask_ratio = self.mask_ratio.unwrap_or(match method {
            Method::Selective => 0.85,
            Method::Mae => 0.75,
        });
        if !(0.0..1.0).contains(&mask_ratio) {
            bail!("--mask-ratio must be in [0, 1), got {mask_ratio}");
        }
        let four = |v: &Vec<f64>, flag: &str| -> Result<[f64; 4]> {
            <[f64; 4]>::try_from(v.as_slice()).map_err(|_| {
                anyhow::anyhow!("{flag} takes four comma-separated values, got {}", v.len())
            })
        };
        let psts = match (&self.psts_epochs, &self.psts_fractions) {
            (Some(e), _) => PstsSchedule::from_epochs(four(e, "--psts-epochs")?),
            (None, Some(f)) => PstsSchedule::from_fractions(four(f, "--psts-fractions")?, epochs),
            (None, None) => PstsSchedule::from_fractions(DEFAULT_FRACTIONS, epochs),
        }
        .map_err(anyhow::Error::msg)?;
        if self.hog_tau.is_nan() || self.hog_tau <= 0.0 {
            bail!("--hog-tau must be positive");
        }
        let selection = self.selection.mode(self.hog_tau);
        let spec = MethodSpec {
            method,
            mask_ratio,
            recon_ratio: self.recon_ratio,
            selection,
            psts,
            norm_pix: !self.no_norm_pix,
        };
        if method == Method::Selective {
            if spec.counts(num_patches).is_none() {
                bail!(
                    "--mask-ratio {mask_ratio} and --recon-ratio {} leave no patch to encode or predict among {num_patches}",
                    self.recon_ratio
                );
            }
            if selection.uses_hog() && !patch_size.is_multiple_of(2) {
                bail!("HOG selection needs an even patch size (2 x 2 cells per patch); use --selection uniform for patch {patch_size}");
            }
        } else if smae_models::token_counts::mae_visible(num_patches, mask_ratio) == 0 {
            bail!("--mask-ratio {mask_ratio} leaves no visible patch among {num_patches}");
        }
        Ok(spec)
    }
}
