//! Decoded images kept in memory up to a byte budget (first come, first
//! kept): small datasets and datasets of a few large scenes decode once,
//! large ones are not slowed down.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use image::RgbImage;

pub struct ImageCache<K> {
    budget: usize,
    used: Mutex<(usize, HashMap<K, Arc<RgbImage>>)>,
}

impl<K: Hash + Eq + Clone> ImageCache<K> {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            used: Mutex::new((0, HashMap::new())),
        }
    }

    /// The image under `key`, decoded by `decode` the first time.
    pub fn get_or_decode(
        &self,
        key: &K,
        decode: impl FnOnce() -> Result<RgbImage, String>,
    ) -> Result<Arc<RgbImage>, String> {
        if let Ok(guard) = self.used.lock() {
            if let Some(img) = guard.1.get(key) {
                return Ok(img.clone());
            }
        }
        let img = Arc::new(decode()?);
        let bytes = img.as_raw().len();
        if let Ok(mut guard) = self.used.lock() {
            if guard.0 + bytes <= self.budget {
                guard.0 += bytes;
                guard.1.insert(key.clone(), img.clone());
            }
        }
        Ok(img)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_within_budget() {
        let cache = ImageCache::new(3 * 4 * 4 + 1);
        let calls = std::cell::Cell::new(0);
        let decode = || {
            calls.set(calls.get() + 1);
            Ok(RgbImage::new(4, 4))
        };
        cache.get_or_decode(&1, decode).unwrap();
        cache.get_or_decode(&1, decode).unwrap();
        assert_eq!(calls.get(), 1);
        // over the budget: decoded each time, never kept
        cache.get_or_decode(&2, decode).unwrap();
        cache.get_or_decode(&2, decode).unwrap();
        assert_eq!(calls.get(), 3);
        assert!(cache.get_or_decode(&3, || Err("bad".into())).is_err());
    }
}
