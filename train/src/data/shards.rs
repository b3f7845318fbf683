//! Sharded tar files of encoded images: written by `curate`, read by
//! pre-training in place (an index of entry offsets, then seeks), so a
//! corpus of millions of crops needs no extraction.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One image inside a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEntry {
    pub shard: PathBuf,
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

impl ShardEntry {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        let mut f = File::open(&self.shard)?;
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = vec![0u8; self.size as usize];
        f.read_exact(&mut buf)?;
        Ok(buf)
    }
}

/// Image entries of every `*.tar` directly in `dir`, in shard then entry
/// order. Returns an empty list when `dir` has no shards.
pub fn index_dir(dir: &Path) -> Result<Vec<ShardEntry>> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tar") && p.is_file())
        .collect();
    shards.sort();
    let mut out = Vec::new();
    for shard in shards {
        out.extend(index_shard(&shard)?);
    }
    Ok(out)
}

/// The entries of one shard (regular files only).
pub fn index_shard(shard: &Path) -> Result<Vec<ShardEntry>> {
    let file = File::open(shard).with_context(|| format!("opening {}", shard.display()))?;
    let mut archive = tar::Archive::new(file);
    let mut out = Vec::new();
    for entry in archive
        .entries()
        .with_context(|| format!("reading {}", shard.display()))?
    {
        let entry = entry.with_context(|| format!("reading {}", shard.display()))?;
        if entry.header().entry_type().is_file() {
            let name = entry.path()?.to_string_lossy().into_owned();
            out.push(ShardEntry {
                shard: shard.to_path_buf(),
                name,
                offset: entry.raw_file_position(),
                size: entry.size(),
            });
        }
    }
    Ok(out)
}

/// Writes a tar of `(name, bytes)` files to `path` atomically.
pub fn write_shard(path: &Path, files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Result<()> {
    smae_run::atomic::write_with(path, |file| {
        let mut builder = tar::Builder::new(BufWriter::new(file));
        for (name, bytes) in files {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(&mut header, &name, bytes.as_slice())?;
        }
        builder.into_inner()?.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_index_and_read_back() {
        let dir = smae_testkit::scratch("shards");
        let files: Vec<(String, Vec<u8>)> = (0..5)
            .map(|i| (format!("{i:09}.jpg"), vec![i as u8; 100 + i * 700]))
            .collect();
        write_shard(&dir.join("shard-000000.tar"), files.clone()).unwrap();
        write_shard(&dir.join("shard-000001.tar"), files[..2].to_vec()).unwrap();
        let idx = index_dir(&dir).unwrap();
        assert_eq!(idx.len(), 7);
        for (e, (name, bytes)) in idx.iter().zip(files.iter().chain(&files[..2])) {
            assert_eq!(&e.name, name);
            assert_eq!(&e.read().unwrap(), bytes);
        }
    }
}
