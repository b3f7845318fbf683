//! A PNG a person can look at: the scene (read downsampled by GDAL, so any
//! size works), with detections outlined or the class map blended on top.

use std::path::Path;

use anyhow::{bail, Context, Result};
use gdal::raster::ResampleAlg;
use gdal::Dataset;
use image::{Rgb, RgbImage};

use crate::geotiff::{palette, TempPath};
use smae_geom::merge::SceneDetection;

/// The scene's `bands` (three, or one shown as grey) as an RGB picture at
/// most `max_side` pixels on its longer side; 8-bit bands as they are, others
/// stretched between their 2nd and 98th percentile. Returns the picture and
/// its scale (picture pixels per scene pixel).
pub fn scene_picture(path: &Path, bands: &[usize], max_side: usize) -> Result<(RgbImage, f64)> {
    let ds = Dataset::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (w, h) = ds.raster_size();
    // shrink big scenes to `max_side`; blow small ones up (whole factors,
    // to about 1024 px) so boxes stay visible
    let longest = w.max(h) as f64;
    let s = (max_side as f64 / longest).min((1024.0 / longest).floor().max(1.0));
    let (pw, ph) = (
        ((w as f64 * s).round() as usize).max(1),
        ((h as f64 * s).round() as usize).max(1),
    );
    let show: Vec<usize> = match bands.len() {
        0 => bail!("no bands to show"),
        1 | 2 => vec![bands[0]; 3],
        _ => bands[..3].to_vec(),
    };
    let mut planes = Vec::new();
    for &b in &show {
        let band = ds.rasterband(b)?;
        let v = band
            .read_as::<f64>((0, 0), (w, h), (pw, ph), Some(ResampleAlg::Average))?
            .into_shape_and_vec()
            .1;
        if band.band_type() == gdal::raster::GdalDataType::UInt8 {
            planes.push(v.iter().map(|x| *x as u8).collect::<Vec<u8>>());
            continue;
        }
        let nd = band.no_data_value();
        let mut finite: Vec<f64> = v
            .iter()
            .copied()
            .filter(|x| x.is_finite() && Some(*x) != nd)
            .collect();
        let (lo, hi) = if finite.is_empty() {
            (0.0, 1.0)
        } else {
            finite.sort_by(f64::total_cmp);
            let q = |f: f64| finite[((finite.len() - 1) as f64 * f) as usize];
            (q(0.02), q(0.98))
        };
        let span = (hi - lo).max(1e-12);
        planes.push(
            v.iter()
                .map(|x| (((x - lo) / span).clamp(0.0, 1.0) * 255.0) as u8)
                .collect::<Vec<u8>>(),
        );
    }
    let img = RgbImage::from_fn(pw as u32, ph as u32, |x, y| {
        let i = y as usize * pw + x as usize;
        Rgb([planes[0][i], planes[1][i], planes[2][i]])
    });
    Ok((img, s))
}

/// Outlines each detection (2 px, a colour per class).
pub fn draw_detections(img: &mut RgbImage, dets: &[SceneDetection], scale: f64) {
    // yellow first: it stands out on vegetation, water and roofs alike
    let mut colours = vec![[255, 230, 0]];
    colours.extend(palette(dets.iter().map(|d| d.class()).max().unwrap_or(0)));
    for d in dets {
        let c = colours[d.class()];
        let pts: Vec<(f64, f64)> = d
            .corners()
            .iter()
            .map(|&(x, y)| (x * scale, y * scale))
            .collect();
        for i in 0..pts.len() {
            line(img, pts[i], pts[(i + 1) % pts.len()], Rgb(c));
        }
    }
}

/// Blends the class map at `classes` (band 1 of what `run` wrote) over the
/// picture; nodata stays as it is.
pub fn draw_classes(img: &mut RgbImage, classes: &Path, count: usize) -> Result<()> {
    let ds = Dataset::open(classes)?;
    let (w, h) = ds.raster_size();
    let (pw, ph) = (img.width() as usize, img.height() as usize);
    let v = ds
        .rasterband(1)?
        .read_as::<f32>((0, 0), (w, h), (pw, ph), None)?
        .into_shape_and_vec()
        .1;
    let colours = palette(count);
    for (i, p) in img.pixels_mut().enumerate() {
        let class = v[i];
        if !class.is_finite() || class < 0.0 {
            continue;
        }
        if let Some(c) = colours.get(class as usize) {
            for (v, c) in p.0.iter_mut().zip(c) {
                *v = ((*v as u16 + *c as u16) / 2) as u8;
            }
        }
    }
    Ok(())
}

/// Writes the picture atomically.
pub fn save(img: &RgbImage, path: &Path) -> Result<()> {
    let tmp = TempPath::beside(path, ".png");
    img.save_with_format(tmp.path(), image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
}

fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), c: Rgb<u8>) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (px, py) = (x.floor() as i64 + dx, y.floor() as i64 + dy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                img.put_pixel(px as u32, py as u32, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smae_geom::{BBox, Detection};

    #[test]
    fn outlines_are_drawn_where_the_box_is() {
        let mut img = RgbImage::new(40, 30);
        let d = SceneDetection::Box(Detection {
            bbox: BBox::new(10.0, 10.0, 30.0, 20.0),
            score: 1.0,
            class: 0,
        });
        draw_detections(&mut img, &[d], 1.0);
        assert_ne!(img.get_pixel(20, 10), &Rgb([0, 0, 0]), "top edge");
        assert_ne!(img.get_pixel(10, 15), &Rgb([0, 0, 0]), "left edge");
        assert_eq!(img.get_pixel(20, 15), &Rgb([0, 0, 0]), "inside stays");
        assert_eq!(img.get_pixel(2, 2), &Rgb([0, 0, 0]), "outside stays");
    }
}
