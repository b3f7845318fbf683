//! Image fingerprints: a 64-bit perceptual hash (pHash: DCT of the
//! down-scaled luminance, low 8x8 frequencies thresholded at their median,
//! via `image_hasher`) for near duplicates, and SHA-256 of the decoded pixels
//! for exact ones (the same pixels in another container are a duplicate).
//!
//! The median, not the mean: the DC term dwarfs the other 63 coefficients,
//! so a mean threshold sets one or two bits and every image looks alike.

use std::sync::OnceLock;

use image::{DynamicImage, RgbImage};
use image_hasher::{HashAlg, Hasher, HasherConfig};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub phash: u64,
    pub sha: [u8; 32],
}

fn hasher() -> &'static Hasher {
    static H: OnceLock<Hasher> = OnceLock::new();
    H.get_or_init(|| {
        HasherConfig::new()
            .hash_size(8, 8)
            .preproc_dct()
            .hash_alg(HashAlg::Median)
            .to_hasher()
    })
}

pub fn phash(img: &RgbImage) -> u64 {
    let h = hasher().hash_image(&DynamicImage::ImageRgb8(img.clone()));
    let b = h.as_bytes();
    let mut out = [0u8; 8];
    out[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    u64::from_le_bytes(out)
}

pub fn fingerprint(img: &RgbImage) -> Fingerprint {
    let mut sha = Sha256::new();
    sha.update(img.width().to_le_bytes());
    sha.update(img.height().to_le_bytes());
    sha.update(img.as_raw());
    Fingerprint {
        phash: phash(img),
        sha: sha.finalize().into(),
    }
}

pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{self, FilterType};

    fn scene() -> RgbImage {
        // A smooth but structured test pattern.
        RgbImage::from_fn(256, 256, |x, y| {
            let v = ((x as f32 / 40.0).sin() * 60.0 + (y as f32 / 25.0).cos() * 60.0 + 128.0) as u8;
            image::Rgb([v, v / 2, 255 - v])
        })
    }

    #[test]
    fn resized_copies_are_near_and_different_scenes_far() {
        let a = scene();
        let small = imageops::resize(&a, 200, 200, FilterType::Triangle);
        let other = RgbImage::from_fn(256, 256, |x, y| {
            image::Rgb([((x * y) % 251) as u8, (x % 256) as u8, (y % 256) as u8])
        });
        let d = hamming(phash(&a), phash(&small));
        assert!(d <= 8, "resized copy at distance {d}");
        assert!(hamming(phash(&a), phash(&other)) > 12);
        assert_eq!(fingerprint(&a).sha, fingerprint(&a.clone()).sha);
        assert_ne!(fingerprint(&a).sha, fingerprint(&small).sha);
    }

    #[test]
    fn hex_round_trip() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex::<4>(&hex(&b)), Some(b));
        assert_eq!(unhex::<4>("zz"), None);
    }
}
