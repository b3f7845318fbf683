//! Detection annotations in the formats remote-sensing datasets ship:
//! Pascal VOC XML (DIOR, NEON / DeepForest), DIOR-R oriented XML
//! (`robndbox` corners), DOTA `labelTxt` (4 corners, class, difficulty) and
//! DeepForest CSV (`image_path,xmin,ymin,xmax,ymax,label`).
//!
//! Every problem names the file and line. With `skip_bad` a bad object or
//! file is skipped and counted instead.

pub mod csv;
pub mod dota;
pub mod voc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use smae_geom::{BBox, RBox};
use walkdir::WalkDir;

use crate::data::folder::EXTENSIONS;

/// One object: its horizontal box, and its oriented box when the format has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub class: String,
    pub bbox: BBox,
    pub rbox: Option<RBox>,
    pub difficult: bool,
    /// Where it was declared, for error messages.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageAnnotations {
    pub image: PathBuf,
    pub source: PathBuf,
    /// Image size declared by the annotation, if any.
    pub size: Option<(u32, u32)>,
    pub objects: Vec<Object>,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct AnnotationError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl AnnotationError {
    pub fn new(file: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.display().to_string(),
            line,
            message: message.into(),
        }
    }
}

/// What loading skipped (with `skip_bad`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SkipReport {
    pub files: usize,
    pub objects: usize,
    pub first: Vec<String>,
}

impl SkipReport {
    fn note(&mut self, e: &AnnotationError, object: bool) {
        if object {
            self.objects += 1;
        } else {
            self.files += 1;
        }
        if self.first.len() < 5 {
            self.first.push(e.to_string());
        }
    }
}

/// Folders where images of an annotation file may live.
fn image_dirs(ann: &Path, root: &Path) -> Vec<PathBuf> {
    let dir = ann.parent().unwrap_or(root);
    let up = dir.parent().unwrap_or(root);
    let mut out = vec![dir.to_path_buf()];
    for base in [up, root] {
        for name in [
            "JPEGImages",
            "JPEGImages-trainval",
            "JPEGImages-test",
            "images",
            "Images",
            "imgs",
        ] {
            out.push(base.join(name));
        }
        out.push(base.to_path_buf());
    }
    out.dedup();
    out
}

/// Finds `name` (or, failing that, an image with the same stem) near `ann`.
pub fn find_image(name: Option<&str>, ann: &Path, root: &Path) -> Option<PathBuf> {
    let dirs = image_dirs(ann, root);
    if let Some(n) = name {
        let file = Path::new(n)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(n));
        for d in &dirs {
            let p = d.join(&file);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let stem = name
        .and_then(|n| {
            Path::new(n)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .or_else(|| ann.file_stem().map(|s| s.to_string_lossy().into_owned()))?;
    for d in &dirs {
        for ext in EXTENSIONS {
            for e in [ext.to_string(), ext.to_ascii_uppercase()] {
                let p = d.join(format!("{stem}.{e}"));
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// Loads every annotation file under `root` (VOC / DIOR-R `.xml`, DOTA
/// `.txt`, DeepForest `.csv`), one entry per image.
pub fn load_dir(
    root: &Path,
    skip_bad: bool,
) -> Result<(Vec<ImageAnnotations>, SkipReport), AnnotationError> {
    if !root.is_dir() {
        return Err(AnnotationError::new(root, 0, "not a directory"));
    }
    let mut files: Vec<PathBuf> = WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("xml" | "txt" | "csv")
            )
        })
        .collect();
    files.sort();
    let mut skipped = SkipReport::default();
    let mut by_image: BTreeMap<PathBuf, ImageAnnotations> = BTreeMap::new();
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        let parsed = match ext {
            "xml" => voc::parse(&f, root, skip_bad, &mut skipped).map(|a| vec![a]),
            "txt" => match dota::parse(&f, root, skip_bad, &mut skipped) {
                Ok(Some(a)) => Ok(vec![a]),
                Ok(None) => continue, // a text file that is not DOTA (README, ...)
                Err(e) => Err(e),
            },
            _ => csv::parse(&f, root, skip_bad, &mut skipped),
        };
        match parsed {
            Ok(anns) => {
                for a in anns {
                    let entry =
                        by_image
                            .entry(a.image.clone())
                            .or_insert_with(|| ImageAnnotations {
                                objects: Vec::new(),
                                ..a.clone()
                            });
                    // The same image annotated twice (XML beside CSV): keep one copy.
                    if entry.objects.is_empty() {
                        entry.objects = a.objects;
                        entry.source = a.source;
                    }
                }
            }
            Err(e) if skip_bad => skipped.note(&e, false),
            Err(e) => return Err(e),
        }
    }
    Ok((by_image.into_values().collect(), skipped))
}

/// Checks a box against the image, or reports why it is bad.
pub fn check_box(b: &BBox, size: Option<(u32, u32)>) -> Result<(), String> {
    if !(b.x0.is_finite() && b.y0.is_finite() && b.x1.is_finite() && b.y1.is_finite()) {
        return Err("box coordinates are not numbers".into());
    }
    if b.x1 <= b.x0 || b.y1 <= b.y0 {
        return Err(format!(
            "empty box ({}, {}, {}, {})",
            b.x0, b.y0, b.x1, b.y1
        ));
    }
    if let Some((w, h)) = size {
        // VOC boxes are 1-based and may touch w or h; allow one pixel.
        let (w, h) = (w as f32 + 1.0, h as f32 + 1.0);
        if b.x0 < -1.0 || b.y0 < -1.0 || b.x1 > w || b.y1 > h {
            return Err(format!(
                "box ({}, {}, {}, {}) lies outside the {}x{} image",
                b.x0,
                b.y0,
                b.x1,
                b.y1,
                w - 1.0,
                h - 1.0
            ));
        }
    }
    Ok(())
}

/// Object skipping shared by the parsers: returns `Ok(false)` to drop the
/// object (and count it) when `skip_bad`, an error otherwise.
pub(crate) fn bad_object(
    e: AnnotationError,
    skip_bad: bool,
    skipped: &mut SkipReport,
) -> Result<bool, AnnotationError> {
    if skip_bad {
        skipped.note(&e, true);
        Ok(false)
    } else {
        Err(e)
    }
}
