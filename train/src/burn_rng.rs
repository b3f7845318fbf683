//! Burn's random generator is one per process. Everything that seeds it and
//! then draws from it (building a model, a training step with stochastic
//! depth) holds this one lock, so two trainings in one process (tests, a
//! library user) cannot interleave their draws and each stays reproducible.

use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// Holds Burn's generator until dropped.
pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
