//! DOTA `labelTxt`: optional `imagesource:` and `gsd:` header lines, then
//! one object per line: `x1 y1 x2 y2 x3 y3 x4 y4 class difficult`.

use std::path::Path;

use smae_geom::RBox;

use super::{
    bad_object, check_box, find_image, AnnotationError, ImageAnnotations, Object, SkipReport,
};

/// `Ok(None)` when the file is not in DOTA form at all.
pub fn parse(
    file: &Path,
    root: &Path,
    skip_bad: bool,
    skipped: &mut SkipReport,
) -> Result<Option<ImageAnnotations>, AnnotationError> {
    let src = std::fs::read_to_string(file)
        .map_err(|e| AnnotationError::new(file, 0, format!("cannot read: {e}")))?;
    let rows: Vec<(usize, Vec<&str>)> = src
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split_whitespace().collect::<Vec<_>>()))
        .filter(|(_, f)| {
            !f.is_empty() && !f[0].starts_with("imagesource") && !f[0].starts_with("gsd")
        })
        .collect();
    let looks_dota = rows
        .iter()
        .any(|(_, f)| f.len() >= 9 && f[..8].iter().all(|v| v.parse::<f32>().is_ok()));
    if !looks_dota {
        return Ok(None);
    }
    let image = find_image(None, file, root)
        .ok_or_else(|| AnnotationError::new(file, 1, "no image with this file's name found"))?;
    let mut objects = Vec::new();
    for (line, f) in rows {
        let parsed = (|| {
            if f.len() < 9 {
                return Err(AnnotationError::new(
                    file,
                    line,
                    format!(
                        "expected 8 coordinates and a class, found {} fields",
                        f.len()
                    ),
                ));
            }
            let mut c = [0f32; 8];
            for (v, s) in c.iter_mut().zip(&f[..8]) {
                *v = s.parse().map_err(|_| {
                    AnnotationError::new(file, line, format!("'{s}' is not a coordinate"))
                })?;
            }
            let rb = RBox::from_polygon(&[(c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7])]);
            let bbox = rb.bounds();
            check_box(&bbox, None).map_err(|m| AnnotationError::new(file, line, m))?;
            Ok(Object {
                class: f[8].to_string(),
                bbox,
                rbox: Some(rb),
                difficult: f.get(9).is_some_and(|d| *d == "1"),
                line,
            })
        })();
        match parsed {
            Ok(o) => objects.push(o),
            Err(e) => {
                bad_object(e, skip_bad, skipped)?;
            }
        }
    }
    Ok(Some(ImageAnnotations {
        image,
        source: file.to_path_buf(),
        size: None,
        objects,
    }))
}
