//! DeepForest CSV: a header `image_path,xmin,ymin,xmax,ymax,label`, one box
//! per row; image paths are relative to the CSV's folder.

use std::collections::BTreeMap;
use std::path::Path;

use smae_geom::BBox;

use super::{
    bad_object, check_box, find_image, AnnotationError, ImageAnnotations, Object, SkipReport,
};

pub fn parse(
    file: &Path,
    root: &Path,
    skip_bad: bool,
    skipped: &mut SkipReport,
) -> Result<Vec<ImageAnnotations>, AnnotationError> {
    let src = std::fs::read_to_string(file)
        .map_err(|e| AnnotationError::new(file, 0, format!("cannot read: {e}")))?;
    let mut lines = src.lines().enumerate();
    let header: Vec<String> = match lines.next() {
        Some((_, h)) => h
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect(),
        None => return Ok(Vec::new()),
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ip), Some(x0), Some(y0), Some(x1), Some(y1), Some(lb)) = (
        col("image_path"),
        col("xmin"),
        col("ymin"),
        col("xmax"),
        col("ymax"),
        col("label"),
    ) else {
        // Not a box table (e.g. a class list): nothing to load.
        return Ok(Vec::new());
    };
    let mut by_image: BTreeMap<String, ImageAnnotations> = BTreeMap::new();
    for (i, l) in lines {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split(',').map(str::trim).collect();
        let parsed = (|| {
            let get = |k: usize| {
                f.get(k)
                    .copied()
                    .ok_or_else(|| AnnotationError::new(file, line, "missing columns"))
            };
            let num = |k: usize| -> Result<f32, AnnotationError> {
                let s = get(k)?;
                s.parse()
                    .map_err(|_| AnnotationError::new(file, line, format!("'{s}' is not a number")))
            };
            let name = get(ip)?.to_string();
            let bbox = BBox::new(num(x0)?, num(y0)?, num(x1)?, num(y1)?);
            check_box(&bbox, None).map_err(|m| AnnotationError::new(file, line, m))?;
            Ok((
                name,
                Object {
                    class: get(lb)?.to_string(),
                    bbox,
                    rbox: None,
                    difficult: false,
                    line,
                },
            ))
        })();
        match parsed {
            Ok((name, obj)) => {
                if !by_image.contains_key(&name) {
                    let image = find_image(Some(&name), file, root).ok_or_else(|| {
                        AnnotationError::new(file, line, format!("image {name} not found"))
                    });
                    match image {
                        Ok(image) => {
                            by_image.insert(
                                name.clone(),
                                ImageAnnotations {
                                    image,
                                    source: file.to_path_buf(),
                                    size: None,
                                    objects: Vec::new(),
                                },
                            );
                        }
                        Err(e) => {
                            bad_object(e, skip_bad, skipped)?;
                            continue;
                        }
                    }
                }
                if let Some(a) = by_image.get_mut(&name) {
                    a.objects.push(obj);
                }
            }
            Err(e) => {
                bad_object(e, skip_bad, skipped)?;
            }
        }
    }
    Ok(by_image.into_values().collect())
}
