//! Files that appear whole or not at all: written to a temporary file in
//! the target's directory (`tempfile`), flushed, then renamed over the
//! target. A kill at any moment leaves the old file (or none), never half
//! of a new one; the temporary file is removed if writing fails.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// A temporary file beside `path` (same directory, so the rename is atomic),
/// created with the mode an ordinary new file gets (0666 less the umask),
/// not tempfile's private 0600: the renamed file is a model, checkpoint or
/// report that others on a shared machine may need to read.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Syncs the temporary file and renames it over `path`.
fn install(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes `path` through `write`, which gets the open temporary file.
pub fn write_with(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    let mut tmp = temp_beside(path)?;
    write(tmp.as_file_mut()).with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file_mut()
        .flush()
        .with_context(|| format!("writing {}", path.display()))?;
    install(tmp, path)
}

/// Writes `path` through `write`, which gets the temporary file's path (for
/// writers that take a path, such as safetensors or an image encoder).
pub fn write_path(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temp_beside(path)?;
    write(tmp.path()).with_context(|| format!("writing {}", path.display()))?;
    install(tmp, path)
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |f| Ok(f.write_all(bytes)?))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write(path, &serde_json::to_vec_pretty(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn gets_the_mode_of_an_ordinary_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = smae_testkit::scratch("atomic-mode");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = dir.join("plain.bin");
        std::fs::write(&plain, b"x").unwrap();
        let atomic = dir.join("atomic.bin");
        write(&atomic, b"x").unwrap();
        assert_eq!(mode(&atomic), mode(&plain), "umask applies as to fs::write");
    }

    #[test]
    fn replaces_whole_or_not_at_all() {
        let dir = smae_testkit::scratch("atomic");
        let p = dir.join("a.json");
        write_json(&p, &serde_json::json!({"v": 1})).unwrap();
        write_json(&p, &serde_json::json!({"v": 2})).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["v"], 2);
        // A failing writer leaves the old file and no temporary file.
        let e = write_with(&p, |f| {
            f.write_all(b"half")?;
            anyhow::bail!("disk full")
        });
        assert!(e.is_err());
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["v"], 2);
        write_path(&dir.join("b.bin"), |tmp| Ok(std::fs::write(tmp, b"xyz")?)).unwrap();
        assert_eq!(std::fs::read(dir.join("b.bin")).unwrap(), b"xyz");
        let names: Vec<String> = std::fs::read_dir(&*dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
}
