//! MAE's learning-rate rule: scale the base rate by the global batch, warm up
//! linearly per iteration, then follow a half-cycle cosine to `min_lr`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// Peak learning rate after warm-up.
    pub lr: f64,
    pub min_lr: f64,
    pub warmup_epochs: f64,
    pub epochs: f64,
}

/// `lr = blr * global_batch / 256`, times `k / r` for SelectiveMAE (it decodes
/// k/r as many targets per visible token as MAE's 1).
pub fn peak_lr(blr: f64, global_batch: usize, selective_ratios: Option<(f64, f64)>) -> f64 {
    let base = blr * global_batch as f64 / 256.0;
    match selective_ratios {
        Some((mask_ratio, recon_ratio)) => recon_ratio / mask_ratio * base,
        None => base,
    }
}

impl LrSchedule {
    /// The rate at fractional epoch `t` (epoch + iteration / iterations per epoch).
    pub fn at(&self, t: f64) -> f64 {
        if t < self.warmup_epochs {
            self.lr * t / self.warmup_epochs
        } else {
            let span = (self.epochs - self.warmup_epochs).max(f64::MIN_POSITIVE);
            let progress = ((t - self.warmup_epochs) / span).min(1.0);
            self.min_lr
                + (self.lr - self.min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_rule() {
        // MAE: blr 1.5e-4 at batch 4096 -> 2.4e-3.
        assert!((peak_lr(1.5e-4, 4096, None) - 2.4e-3).abs() < 1e-12);
        // SelectiveMAE scales by k / r = .25 / .85.
        let s = peak_lr(1.5e-4, 4096, Some((0.85, 0.25)));
        assert!((s - 2.4e-3 * 0.25 / 0.85).abs() < 1e-12);
    }

    #[test]
    fn warmup_then_cosine() {
        let s = LrSchedule {
            lr: 1.0,
            min_lr: 0.0,
            warmup_epochs: 40.0,
            epochs: 800.0,
        };
        assert_eq!(s.at(0.0), 0.0);
        assert!((s.at(20.0) - 0.5).abs() < 1e-12);
        assert!((s.at(40.0) - 1.0).abs() < 1e-12);
        // half-way through the cosine: 0.5
        assert!((s.at(420.0) - 0.5).abs() < 1e-12);
        assert!(s.at(800.0).abs() < 1e-12);
        // per iteration, not per epoch: 10.25 epochs in is 10.25 / 40
        assert!((s.at(10.25) - 10.25 / 40.0).abs() < 1e-12);
    }
}
