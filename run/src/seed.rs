//! Reproducible randomness.
//!
//! Burn's random generator is one per process. Everything that seeds it and
//! then draws from it (building a model, a training step with stochastic
//! depth) holds [`lock`], so two trainings in one process (tests, a library
//! user) cannot interleave their draws and each stays reproducible. Our own
//! draws use generators seeded by [`sample_seed`] from (seed, epoch, index),
//! never a generator's history, so a resumed run repeats exactly.

use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// Holds Burn's generator until dropped.
pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mixes the run seed, epoch and index into one generator seed (splitmix64).
pub fn sample_seed(seed: u64, epoch: u64, index: u64) -> u64 {
    let mut z = seed
        ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64's published output for state 0 after one increment
    /// (0x9E3779B97F4A7C15): 0xE220A8397B1DCDAF.
    #[test]
    fn splitmix_finaliser() {
        assert_eq!(
            sample_seed(0x9E37_79B9_7F4A_7C15, 0, 0),
            0xE220_A839_7B1D_CDAF
        );
        assert_ne!(sample_seed(1, 2, 3), sample_seed(1, 3, 2));
    }
}
