//! Helpers shared by smae-infer's integration tests.

use std::path::{Path, PathBuf};

/// The shared test rasters (`SMAE_TEST_DATA` or `../shared/data`).
pub fn data() -> PathBuf {
    let p = std::env::var("SMAE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(
        p.is_dir(),
        "test rasters not found at {} (set SMAE_TEST_DATA)",
        p.display()
    );
    p
}

/// A model of `tests/fixtures` (see make_models.py there).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh, empty folder under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smae-infer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Files whose name starts with a dot (our temporary files) in `dir`.
pub fn hidden_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect()
}
