//! How many patches each part of a SelectiveMAE step touches.
//!
//! The official code computes every count with Python's `int()` of a float
//! product, and `1 - 0.85` is `0.15000000000000002`. We reproduce that exactly
//! (f64 arithmetic, truncation toward zero) so that L = 196 gives the published
//! 29 visible / 49 targets rather than an off-by-one.

use serde::{Deserialize, Serialize};

/// Token counts for one sample (all samples of a batch share them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Number of patches L.
    pub total: usize,
    /// Patches the encoder sees: `int(L * (1 - r))`.
    pub visible: usize,
    /// Initial set chosen by HOG score: `int(visible / 2)`.
    pub initial: usize,
    /// Added by PSTS in the first sub-step: `added / 2`.
    pub psts_first: usize,
    /// Added by PSTS in the second sub-step: the rest.
    pub psts_second: usize,
    /// Reconstruction targets: `int(L * k)`, drawn from the non-visible patches.
    pub targets: usize,
    /// Neither seen nor scored.
    pub ignored: usize,
}

impl TokenCounts {
    /// Counts for L patches, mask ratio `r` and reconstruction ratio `k`.
    ///
    /// Returns `None` when the ratios leave no visible patch or ask for more
    /// targets than there are hidden patches.
    pub fn new(total: usize, mask_ratio: f64, recon_ratio: f64) -> Option<Self> {
        let visible = py_int(total as f64 * (1.0 - mask_ratio));
        let targets = py_int(total as f64 * recon_ratio);
        if visible == 0 || visible > total || targets == 0 || visible + targets > total {
            return None;
        }
        let initial = py_int(visible as f64 / 2.0);
        let added = visible - initial;
        let psts_first = added / 2;
        Some(Self {
            total,
            visible,
            initial,
            psts_first,
            psts_second: added - psts_first,
            targets,
            ignored: total - visible - targets,
        })
    }

    /// Patches added by PSTS in both sub-steps.
    pub fn psts_added(&self) -> usize {
        self.psts_first + self.psts_second
    }
}

/// MAE keeps `int(L * (1 - r))` patches and reconstructs all the others.
pub fn mae_visible(total: usize, mask_ratio: f64) -> usize {
    py_int(total as f64 * (1.0 - mask_ratio))
}

/// Python's `int(x)` for a non-negative float: truncation toward zero.
pub fn py_int(x: f64) -> usize {
    if x.is_finite() && x > 0.0 {
        x.trunc() as usize
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REFERENCE.md: L = 196, r = .85, k = .25 -> 14 / 15 (7 + 8) / 29 / 49 / 118.
    #[test]
    fn vit_b_224_official_ratios() {
        let c = TokenCounts::new(196, 0.85, 0.25).unwrap();
        assert_eq!(c.initial, 14);
        assert_eq!((c.psts_first, c.psts_second), (7, 8));
        assert_eq!(c.psts_added(), 15);
        assert_eq!(c.visible, 29);
        assert_eq!(c.targets, 49);
        assert_eq!(c.ignored, 118);
    }

    /// REFERENCE.md: r = .75, k = .25 -> 24 / 25 (12 + 13) / 49 / 49 / 98.
    #[test]
    fn mask_ratio_075() {
        let c = TokenCounts::new(196, 0.75, 0.25).unwrap();
        assert_eq!(c.initial, 24);
        assert_eq!((c.psts_first, c.psts_second), (12, 13));
        assert_eq!(c.visible, 49);
        assert_eq!(c.targets, 49);
        assert_eq!(c.ignored, 98);
    }

    #[test]
    fn python_float_truncation() {
        // 1 - 0.85 = 0.15000000000000002 in f64: 196 * that = 29.400000000000002.
        assert_eq!(1.0f64 - 0.85, 0.15000000000000002);
        assert_eq!(py_int(196.0 * (1.0 - 0.85)), 29);
        // 100 * (1 - 0.7) = 30.000000000000004 -> 30, 10 * (1 - 0.9) = 0.9999999999999998 -> 0.
        assert_eq!(py_int(100.0 * (1.0 - 0.7)), 30);
        assert_eq!(py_int(10.0 * (1.0 - 0.9)), 0);
        assert_eq!(mae_visible(196, 0.75), 49);
    }

    #[test]
    fn impossible_ratios_are_rejected() {
        assert!(TokenCounts::new(196, 1.0, 0.25).is_none());
        assert!(TokenCounts::new(196, 0.5, 0.6).is_none());
        assert!(TokenCounts::new(4, 0.85, 0.25).is_none());
    }
}
