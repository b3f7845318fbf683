//! `selection.png`: the image with the encoded patches shown, targets
//! outlined, the rest dimmed, and the HOG heat map beside it, with a legend.

use std::path::Path;

use anyhow::Result;
use image::{Rgb, RgbImage};

const INITIAL: Rgb<u8> = Rgb([40, 220, 40]);
const PSTS: Rgb<u8> = Rgb([0, 190, 255]);
const TARGET: Rgb<u8> = Rgb([255, 140, 0]);
const TEXT: Rgb<u8> = Rgb([235, 235, 235]);
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 24]);

/// Role of a patch in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Initial,
    Psts,
    Target,
    Ignored,
}

/// Draws the two panels. `view` is the square model input, `roles` and
/// `scores` are per patch in raster order on a `grid x grid` layout.
pub fn selection_png(
    view: &RgbImage,
    grid: usize,
    roles: &[Role],
    scores: &[f32],
    caption: &str,
) -> RgbImage {
    let s = view.width() as usize;
    let scale = (448 / s).max(1);
    let side = s * scale;
    let patch = side / grid;
    let gap = 16;
    let legend_h = 44;
    let (w, h) = (2 * side + 3 * gap, side + 2 * gap + legend_h);
    let mut out = RgbImage::from_pixel(w as u32, h as u32, BACKGROUND);

    // Left: the image, patches by role.
    let (ox, oy) = (gap, gap);
    for y in 0..side {
        for x in 0..side {
            let px = view.get_pixel((x / scale) as u32, (y / scale) as u32);
            let role = roles[(y / patch).min(grid - 1) * grid + (x / patch).min(grid - 1)];
            let keep = match role {
                Role::Initial | Role::Psts => 1.0,
                Role::Target => 0.55,
                Role::Ignored => 0.22,
            };
            out.put_pixel((ox + x) as u32, (oy + y) as u32, dim(*px, keep));
        }
    }
    for (i, role) in roles.iter().enumerate() {
        let color = match role {
            Role::Initial => INITIAL,
            Role::Psts => PSTS,
            Role::Target => TARGET,
            Role::Ignored => continue,
        };
        let (px, py) = (ox + (i % grid) * patch, oy + (i / grid) * patch);
        outline(
            &mut out,
            px,
            py,
            patch,
            color,
            if *role == Role::Target { 1 } else { 2 },
        );
    }

    // Right: HOG score per patch, stretched from the image's minimum to maximum.
    let min = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let range = (max - min).max(1e-12);
    let ox2 = 2 * gap + side;
    for (i, &v) in scores.iter().enumerate() {
        let c = viridis((v - min) / range);
        let (px, py) = (ox2 + (i % grid) * patch, oy + (i / grid) * patch);
        for y in py..py + patch {
            for x in px..px + patch {
                out.put_pixel(x as u32, y as u32, c);
            }
        }
    }

    // Legend.
    let ly = oy + side + 12;
    let mut x = gap;
    for (color, label) in [
        (INITIAL, "ENCODED HOG"),
        (PSTS, "ENCODED PSTS"),
        (TARGET, "TARGET"),
    ] {
        fill(&mut out, x, ly, 10, 10, color);
        x += 14;
        x = text(&mut out, x, ly + 2, label, TEXT) + 14;
    }
    let mut x2 = ox2;
    for k in 0..64 {
        fill(&mut out, x2 + k * 2, ly, 2, 10, viridis(k as f32 / 63.0));
    }
    x2 += 134;
    text(
        &mut out,
        x2,
        ly + 2,
        &format!("HOG SCORE {min:.3} - {max:.3}"),
        TEXT,
    );
    text(&mut out, gap, ly + 20, caption, TEXT);
    out
}

fn dim(p: Rgb<u8>, k: f32) -> Rgb<u8> {
    Rgb(p.0.map(|c| (c as f32 * k).round() as u8))
}

fn fill(img: &mut RgbImage, x: usize, y: usize, w: usize, h: usize, c: Rgb<u8>) {
    for yy in y..(y + h).min(img.height() as usize) {
        for xx in x..(x + w).min(img.width() as usize) {
            img.put_pixel(xx as u32, yy as u32, c);
        }
    }
}

fn outline(img: &mut RgbImage, x: usize, y: usize, size: usize, c: Rgb<u8>, t: usize) {
    fill(img, x, y, size, t, c);
    fill(img, x, y + size - t, size, t, c);
    fill(img, x, y, t, size, c);
    fill(img, x + size - t, y, t, size, c);
}

/// Piecewise-linear viridis through five of its anchor colours.
fn viridis(t: f32) -> Rgb<u8> {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f32;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    Rgb([0, 1, 2].map(|k| (a[k] + (b[k] - a[k]) * f).round() as u8))
}

/// Writes upper-case text with a 5x7 bitmap font; returns the x after it.
pub(crate) fn text(img: &mut RgbImage, x: usize, y: usize, s: &str, c: Rgb<u8>) -> usize {
    let mut cx = x;
    for ch in s.chars() {
        let rows = glyph(ch.to_ascii_uppercase());
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let (px, py) = (cx + col, y + r);
                    if px < img.width() as usize && py < img.height() as usize {
                        img.put_pixel(px as u32, py as u32, c);
                    }
                }
            }
        }
        cx += 6;
    }
    cx
}

fn glyph(c: char) -> [u8; 7] {
    match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        _ => [0; 7],
    }
}

/// Writes a PNG atomically (a temporary name, then a rename).
pub fn save_png(img: &RgbImage, path: &Path) -> Result<()> {
    smae_run::atomic::write_path(path, |tmp| {
        Ok(img.save_with_format(tmp, image::ImageFormat::Png)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_drawn_where_they_belong() {
        let view = RgbImage::from_pixel(32, 32, Rgb([200, 200, 200]));
        let roles = [Role::Initial, Role::Psts, Role::Target, Role::Ignored];
        let img = selection_png(&view, 2, &roles, &[0.3, 0.1, 0.0, 0.2], "TEST");
        // scale 14: side 448, patch 224, left panel starts at (16, 16)
        let at = |x: usize, y: usize| *img.get_pixel(x as u32, y as u32);
        assert_eq!(at(16, 16), INITIAL, "initial outline");
        assert_eq!(at(16 + 224, 16 + 100), PSTS, "psts outline");
        assert_eq!(
            at(16 + 100, 16 + 100),
            Rgb([200, 200, 200]),
            "encoded shown as is"
        );
        assert_eq!(
            at(16 + 100, 16 + 224 + 100),
            dim(Rgb([200, 200, 200]), 0.55)
        );
        assert_eq!(at(16 + 324, 16 + 324), dim(Rgb([200, 200, 200]), 0.22));
        // heat map: the highest score is viridis(1), the lowest viridis(0)
        assert_eq!(at(2 * 16 + 448 + 100, 16 + 100), viridis(1.0));
        assert_eq!(at(2 * 16 + 448 + 100, 16 + 224 + 100), viridis(0.0));
    }
}
