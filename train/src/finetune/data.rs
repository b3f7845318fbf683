//! The downstream datasets in the layouts users have:
//! * classification: one folder per class (AID, RESISC-45, UC Merced,
//!   EuroSAT), split per class with a seeded `--train-ratio`;
//! * segmentation: `images/` and `masks/` with matching names, masks as
//!   index PNGs with 255 = ignore (LoveDA);
//! * detection: any annotation format of [`crate::annotations`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use walkdir::WalkDir;

use smae_run::Task;

use crate::data::annotations::{self, ImageAnnotations, SkipReport};
use crate::data::folder::EXTENSIONS;

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn images_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && is_image(e.path()))
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

/// Items with their class index.
pub type Labelled<T> = Vec<(T, usize)>;

/// `(image, class index)` for every image, and the class names (the folder
/// names, sorted).
pub fn load_classification(dir: &Path) -> Result<(Labelled<PathBuf>, Vec<String>)> {
    let mut classes: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "data folder {} does not exist or is not readable",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    classes.sort();
    let mut items = Vec::new();
    for (k, c) in classes.iter().enumerate() {
        for p in images_in(&dir.join(c)) {
            items.push((p, k));
        }
    }
    if classes.len() < 2 {
        bail!(
            "{} needs one sub-folder per class (found {})",
            dir.display(),
            classes.len()
        );
    }
    if items.is_empty() {
        bail!("no images in the class folders of {}", dir.display());
    }
    Ok((items, classes))
}

/// Splits per class: `round(ratio * n_c)` of each class (at least one, and
/// at least one left over when the class has two or more) go to training.
pub fn stratified_split<T: Clone>(
    items: &[(T, usize)],
    ratio: f64,
    seed: u64,
) -> (Labelled<T>, Labelled<T>) {
    let mut by_class: BTreeMap<usize, Vec<(T, usize)>> = BTreeMap::new();
    for it in items {
        by_class.entry(it.1).or_default().push(it.clone());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (_, mut v) in by_class {
        v.shuffle(&mut rng);
        let n = v.len();
        let k = ((ratio * n as f64).round() as usize).clamp(1, if n > 1 { n - 1 } else { 1 });
        val.extend(v.split_off(k));
        train.extend(v);
    }
    (train, val)
}

/// `(image, mask)` pairs from `images/` and `masks/` (also `ann_dir/`, `labels/`).
pub fn load_segmentation(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let img_dir = ["images", "img_dir", "imgs"]
        .iter()
        .map(|d| dir.join(d))
        .find(|d| d.is_dir());
    let mask_dir = ["masks", "ann_dir", "labels"]
        .iter()
        .map(|d| dir.join(d))
        .find(|d| d.is_dir());
    let (Some(img_dir), Some(mask_dir)) = (img_dir, mask_dir) else {
        bail!("{} needs images/ and masks/ sub-folders", dir.display());
    };
    let masks: BTreeMap<String, PathBuf> = images_in(&mask_dir)
        .into_iter()
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    let mut out = Vec::new();
    for img in images_in(&img_dir) {
        let stem = img
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match masks.get(&stem) {
            Some(m) => out.push((img, m.clone())),
            None => bail!(
                "image {} has no mask in {}",
                img.display(),
                mask_dir.display()
            ),
        }
    }
    if out.is_empty() {
        bail!("no images in {}", img_dir.display());
    }
    Ok(out)
}

/// Annotated images and the class list (given, or every class seen,
/// sorted). An object of a class outside a given list is an error naming
/// its file and line (or skipped with `skip_bad`). `merge` renames every
/// class to one (class-agnostic detection, e.g. "Tree" for alive and dead).
pub fn load_detection(
    dir: &Path,
    classes: Option<&[String]>,
    merge: Option<&str>,
    skip_bad: bool,
) -> Result<(Vec<ImageAnnotations>, Vec<String>, SkipReport)> {
    let (mut anns, mut skipped) = annotations::load_dir(dir, skip_bad)?;
    if let Some(name) = merge {
        for a in &mut anns {
            for o in &mut a.objects {
                o.class = name.to_string();
            }
        }
    }
    let classes: Vec<String> = match classes {
        Some(c) => c.to_vec(),
        None => {
            let mut c: Vec<String> = anns
                .iter()
                .flat_map(|a| a.objects.iter().map(|o| o.class.clone()))
                .collect();
            c.sort();
            c.dedup();
            c
        }
    };
    for a in &mut anns {
        let mut kept = Vec::new();
        for o in a.objects.drain(..) {
            if classes.contains(&o.class) {
                kept.push(o);
            } else if skip_bad {
                skipped.objects += 1;
            } else {
                bail!(
                    "{}:{}: unknown class '{}' (classes: {})",
                    a.source.display(),
                    o.line,
                    o.class,
                    classes.join(", ")
                );
            }
        }
        a.objects = kept;
    }
    if anns.is_empty() {
        bail!("no annotated images under {}", dir.display());
    }
    if classes.is_empty() {
        bail!("the annotations under {} name no class", dir.display());
    }
    Ok((anns, classes, skipped))
}

/// The loaded datasets of a run.
pub enum TaskData {
    Classify {
        train: Vec<(PathBuf, usize)>,
        val: Vec<(PathBuf, usize)>,
    },
    Segment {
        train: Vec<(PathBuf, PathBuf)>,
        val: Vec<(PathBuf, PathBuf)>,
    },
    Detect {
        train: Vec<ImageAnnotations>,
        val: Vec<ImageAnnotations>,
    },
}

impl TaskData {
    pub fn sizes(&self) -> (usize, usize) {
        match self {
            TaskData::Classify { train, val } => (train.len(), val.len()),
            TaskData::Segment { train, val } => (train.len(), val.len()),
            TaskData::Detect { train, val } => (train.len(), val.len()),
        }
    }
}

/// Loads the training and validation data of a task. Detection and
/// segmentation split whole images by `train_ratio` unless a separate
/// `val` folder is given; classification splits per class.
#[allow(clippy::too_many_arguments)]
pub fn load_task_data(
    task: Task,
    data: &Path,
    val: Option<&Path>,
    train_ratio: f64,
    classes: Option<&[String]>,
    merge: Option<&str>,
    seed: u64,
    skip_bad: bool,
) -> Result<(TaskData, Vec<String>)> {
    let split_images = |n: usize| -> (Vec<usize>, Vec<usize>) {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let k = ((train_ratio * n as f64).round() as usize).clamp(1, n.saturating_sub(1).max(1));
        let val = idx.split_off(k);
        (idx, val)
    };
    Ok(match task {
        Task::Classify => {
            let (items, names) = load_classification(data)?;
            let (train, val) = match val {
                Some(v) => {
                    let (vi, vn) = load_classification(v)?;
                    if vn != names {
                        bail!("the validation folder's classes ({}) differ from the training folder's ({})", vn.join(", "), names.join(", "));
                    }
                    (items, vi)
                }
                None => stratified_split(&items, train_ratio, seed),
            };
            (TaskData::Classify { train, val }, names)
        }
        Task::Segment => {
            let items = load_segmentation(data)?;
            let (train, val) = match val {
                Some(v) => (items, load_segmentation(v)?),
                None => {
                    let (t, v) = split_images(items.len());
                    (
                        t.iter().map(|&i| items[i].clone()).collect(),
                        v.iter().map(|&i| items[i].clone()).collect(),
                    )
                }
            };
            let n = classes.map_or(0, |c| c.len());
            (
                TaskData::Segment { train, val },
                (0..n)
                    .map(|i| classes.map_or(i.to_string(), |c| c[i].clone()))
                    .collect(),
            )
        }
        Task::Detect | Task::DetectObb => {
            let (items, names, skipped) = load_detection(data, classes, merge, skip_bad)?;
            if skipped.objects + skipped.files > 0 {
                eprintln!(
                    "warning: skipped {} bad objects and {} bad files, e.g. {}",
                    skipped.objects,
                    skipped.files,
                    skipped.first.first().cloned().unwrap_or_default()
                );
            }
            let (train, val) = match val {
                Some(v) => (items, load_detection(v, Some(&names), merge, skip_bad)?.0),
                None => {
                    let (t, v) = split_images(items.len());
                    (
                        t.iter().map(|&i| items[i].clone()).collect(),
                        v.iter().map(|&i| items[i].clone()).collect(),
                    )
                }
            };
            (TaskData::Detect { train, val }, names)
        }
    })
}

/// A segmentation mask (class index per pixel).
pub fn read_mask(path: &Path) -> Result<image::GrayImage, String> {
    image::open(path)
        .map_err(|e| format!("mask {}: {e}", path.display()))
        .map(|m| m.to_luma8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let items: Vec<(usize, usize)> =
            (0..100).map(|i| (i, if i < 80 { 0 } else { 1 })).collect();
        let (train, val) = stratified_split(&items, 0.2, 3);
        assert_eq!(train.iter().filter(|x| x.1 == 0).count(), 16);
        assert_eq!(train.iter().filter(|x| x.1 == 1).count(), 4);
        assert_eq!(train.len() + val.len(), 100);
        let (again, _) = stratified_split(&items, 0.2, 3);
        assert_eq!(train, again, "seeded");
        let (t, v) = stratified_split(&[(0, 0), (1, 1), (2, 1)], 0.5, 0);
        assert_eq!((t.len(), v.len()), (2, 1));
    }

    /// A ground-truth box of a class outside the given list is an error that
    /// names the file, line and class (it used to become class 0), or a
    /// counted skip with `skip_bad`.
    #[test]
    fn unknown_ground_truth_class_is_an_error_or_a_counted_skip() {
        let dir = smae_testkit::scratch("unknown-class");
        std::fs::copy(smae_testkit::data("sahi/boats.jpg"), dir.join("boats.jpg")).unwrap();
        std::fs::write(
            dir.join("labels.csv"),
            "image_path,xmin,ymin,xmax,ymax,label\nboats.jpg,10,10,40,40,Boat\nboats.jpg,50,50,90,90,Car\n",
        )
        .unwrap();
        let classes = vec!["Boat".to_string()];
        let err = match load_detection(&dir, Some(&classes), None, false) {
            Ok(_) => panic!("an unknown class must fail"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("labels.csv:3") && err.contains("unknown class 'Car'"),
            "{err}"
        );
        let (anns, names, skipped) = load_detection(&dir, Some(&classes), None, true).unwrap();
        assert_eq!(names, classes);
        assert_eq!(anns[0].objects.len(), 1);
        assert_eq!(anns[0].objects[0].class, "Boat");
        assert_eq!(skipped.objects, 1);
    }
}
