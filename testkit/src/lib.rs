//! Test support shared by every crate's tests: the real rasters and labels
//! of `tests/data` (see its SOURCES.md) and scratch directories.
//!
//! The data ships with the repository, so the suite needs nothing beside a
//! fresh clone; `SMAE_TEST_DATA=DIR` points it at another folder with the
//! same layout. Tests fail, rather than skip, when a file is missing.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// The test data folder: `SMAE_TEST_DATA`, else the repository's `tests/data`.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("SMAE_TEST_DATA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data"),
    };
    assert!(
        dir.is_dir(),
        "test data not found at {} (the repository's tests/data, or SMAE_TEST_DATA)",
        dir.display()
    );
    dir
}

/// One file of the test data, e.g. `data("deepforest/OSBS_029.tif")`.
pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.is_file(), "test data file missing: {}", p.display());
    p
}

/// A fresh directory under the system temp dir, removed when dropped.
/// Derefs to its path, so `dir.join("x")` and `&dir` work as a `&Path`.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A new directory named `smae-{name}-XXXXXX`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("smae-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a scratch directory: {e}"));
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// `Scratch::new(name)`, for call sites that read better as a function.
pub fn scratch(name: &str) -> Scratch {
    Scratch::new(name)
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// Every tensor of a run's checkpoint (`RUN/checkpoint/model.safetensors`,
/// f32) by name.
pub fn checkpoint_weights(run: &Path) -> std::collections::HashMap<String, Vec<f32>> {
    let file = run.join("checkpoint/model.safetensors");
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("a safetensors file");
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let v = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, v)
        })
        .collect()
}

/// Largest absolute difference between two sets of the same tensors.
pub fn max_abs_diff(
    a: &std::collections::HashMap<String, Vec<f32>>,
    b: &std::collections::HashMap<String, Vec<f32>>,
) -> f32 {
    assert_eq!(a.len(), b.len(), "different tensor sets");
    let mut worst = 0f32;
    for (k, va) in a {
        let vb = &b[k];
        assert_eq!(va.len(), vb.len(), "{k}");
        for (x, y) in va.iter().zip(vb) {
            worst = worst.max((x - y).abs());
        }
    }
    worst
}

/// A tiny pre-training model for tests: ViT of width 32, one block, two
/// heads, on 32 px images with 4 px patches (64 patches), and a decoder of
/// the same size. Small enough to train in seconds in a debug build.
pub const TINY_PRETRAIN: &[&str] = &[
    "--model",
    "vit-tiny",
    "--img-size",
    "32",
    "--patch-size",
    "4",
    "--dim",
    "32",
    "--depth",
    "1",
    "--heads",
    "2",
    "--decoder-dim",
    "32",
    "--decoder-depth",
    "1",
    "--decoder-heads",
    "2",
];

/// A tiny encoder for fine-tuning tests: width 48, two blocks, four heads
/// (the input size and patch are each test's).
pub const TINY_ENCODER: &[&str] = &[
    "--model", "vit-tiny", "--dim", "48", "--depth", "2", "--heads", "4",
];

/// Runs one of GDAL's own command-line tools (`gdalwarp`, `gdal_translate`;
/// Debian `gdal-bin`, installed by scripts/setup.sh), failing the test with
/// its stderr when it fails.
pub fn gdal_tool(tool: &str, args: &[&str]) {
    let out = std::process::Command::new(tool)
        .args(["-q"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} (scripts/setup.sh installs gdal-bin): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file's SHA-256 as lowercase hex, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks every file a `sha256sum`-format `manifest` lists (paths relative
/// to `dir`, a leading `./` allowed) against its checksum, panicking with
/// `stale` after the file's name on the first that differs; returns the
/// listed paths in order.
#[track_caller]
pub fn check_sha256sums(dir: &Path, manifest: &str, stale: &str) -> Vec<String> {
    let mut listed = Vec::new();
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let (want, rel) = line.split_once("  ").expect("sha256sum format");
        let rel = rel.trim_start_matches("./");
        let bytes = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(sha256_hex(&bytes), want, "{rel} {stale}");
        listed.push(rel.to_string());
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file listed in tests/data/SHA256SUMS is present and intact, and
    /// every file in the folder is listed (so SOURCES.md covers it).
    #[test]
    fn checksums_match() {
        let dir = data_dir();
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
        let mut listed = check_sha256sums(&dir, &sums, "differs from SHA256SUMS");
        let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
        for rel in &listed {
            assert!(sources.contains(rel.as_str()), "{rel} not in SOURCES.md");
        }
        let mut on_disk = Vec::new();
        for sub in std::fs::read_dir(&dir).unwrap().flatten() {
            if sub.path().is_dir() {
                for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
                    let name = f.file_name().to_string_lossy().into_owned();
                    on_disk.push(format!("{}/{name}", sub.file_name().to_string_lossy()));
                }
            }
        }
        on_disk.sort();
        listed.sort();
        assert_eq!(on_disk, listed, "files in tests/data and SHA256SUMS differ");
    }

    #[test]
    fn scratch_is_removed_on_drop() {
        let s = Scratch::new("testkit");
        let p = s.to_path_buf();
        std::fs::write(s.join("f"), b"x").unwrap();
        assert!(p.is_dir());
        drop(s);
        assert!(!p.exists());
    }
}
