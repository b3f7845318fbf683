//! The manual phase of deduplication: every near-duplicate the automatic
//! pass dropped is listed in `review.csv` (and shown side by side in
//! `review-NNN.png`). Setting a row's `decision` to `keep` and running again
//! with `--apply-review review.csv` keeps both images of that pair.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use image::{imageops, Rgb, RgbImage};

use super::{read_item, CurateOptions, Item};
use crate::render::{save_png, text};

/// Pairs per contact sheet page.
const PER_PAGE: usize = 30;
const THUMB: u32 = 112;

/// Writes `review.csv` and the contact sheets for `pairs` (kept index,
/// dropped index, distance), replacing those of an earlier run.
pub fn write_review(
    opts: &CurateOptions,
    items: &[Item],
    keys: &[String],
    pairs: &[(usize, usize, u32)],
) -> Result<()> {
    let out = &opts.output;
    let mut csv = String::from("pair,distance,kept,dropped,decision\n");
    for (n, &(i, j, d)) in pairs.iter().enumerate() {
        csv.push_str(&format!(
            "{n},{d},{},{},drop\n",
            quote(&keys[i]),
            quote(&keys[j])
        ));
    }
    smae_run::atomic::write(&out.join("review.csv"), csv.as_bytes())?;

    for old in fs::read_dir(out)?.filter_map(|e| e.ok()).map(|e| e.path()) {
        let name = old
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("review-") && name.ends_with(".png") {
            fs::remove_file(&old)?;
        }
    }
    for (page, chunk) in pairs.chunks(PER_PAGE).enumerate() {
        let row = THUMB as usize + 8;
        let mut sheet = RgbImage::from_pixel(
            2 * THUMB + 150,
            (chunk.len() * row + 8) as u32,
            Rgb([24, 24, 24]),
        );
        for (r, &(i, j, d)) in chunk.iter().enumerate() {
            let y = r * row + 4;
            text(
                &mut sheet,
                4,
                y + 4,
                &format!("{}", page * PER_PAGE + r),
                Rgb([235, 235, 235]),
            );
            text(
                &mut sheet,
                4,
                y + 16,
                &format!("D={d}"),
                Rgb([235, 235, 235]),
            );
            for (col, idx) in [(0usize, i), (1, j)] {
                if let Ok(img) = read_item(opts, &items[idx]) {
                    let t = imageops::thumbnail(&img, THUMB, THUMB);
                    imageops::overlay(
                        &mut sheet,
                        &t,
                        (140 + col * (THUMB as usize + 6)) as i64,
                        y as i64,
                    );
                }
            }
        }
        let path = out.join(format!("review-{page:03}.png"));
        save_png(&sheet, &path)?;
    }
    Ok(())
}

/// Pairs `(kept, dropped)` a reviewer marked `keep` (both images stay).
pub fn read_decisions(path: &Path) -> Result<HashSet<(String, String)>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read review file {}", path.display()))?;
    let mut out = HashSet::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f = parse_csv_line(line);
        if f.len() != 5 {
            bail!(
                "{}:{}: expected 5 columns (pair,distance,kept,dropped,decision), found {}",
                path.display(),
                n + 1,
                f.len()
            );
        }
        match f[4].trim() {
            "keep" => {
                out.insert((f[2].clone(), f[3].clone()));
            }
            "drop" | "" => {}
            other => bail!(
                "{}:{}: decision must be keep or drop, not '{other}'",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One CSV record (RFC 4180 quoting, no embedded newlines).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_round_trips() {
        let key = "src/a \"b\", c.jpg#0,0,64,64";
        let line = format!("3,5,{},{},keep", quote(key), quote("x"));
        assert_eq!(parse_csv_line(&line), vec!["3", "5", key, "x", "keep"]);
    }
}
