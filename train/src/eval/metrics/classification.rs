//! Overall accuracy, per-class accuracy (recall) and the confusion matrix.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Overall accuracy (OA), the paper's metric.
    pub overall_accuracy: f64,
    /// Per class: correct / samples of that class (NaN when absent).
    pub per_class_accuracy: Vec<f64>,
    /// Mean of the per-class accuracies present.
    pub mean_class_accuracy: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
    pub samples: usize,
}

pub fn classification(
    predicted: &[usize],
    truth: &[usize],
    classes: usize,
) -> ClassificationMetrics {
    let mut confusion = vec![vec![0u64; classes]; classes];
    for (&p, &t) in predicted.iter().zip(truth) {
        confusion[t][p] += 1;
    }
    let correct: u64 = (0..classes).map(|c| confusion[c][c]).sum();
    let n = truth.len();
    let per_class: Vec<f64> = (0..classes)
        .map(|c| {
            let total: u64 = confusion[c].iter().sum();
            if total == 0 {
                f64::NAN
            } else {
                confusion[c][c] as f64 / total as f64
            }
        })
        .collect();
    ClassificationMetrics {
        overall_accuracy: if n == 0 {
            f64::NAN
        } else {
            correct as f64 / n as f64
        },
        mean_class_accuracy: super::nanmean(&per_class),
        per_class_accuracy: per_class,
        confusion,
        samples: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        // truth: 0 0 0 1 1 2 ; predicted: 0 1 0 1 1 0
        let m = classification(&[0, 1, 0, 1, 1, 0], &[0, 0, 0, 1, 1, 2], 4);
        assert!((m.overall_accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.per_class_accuracy[0] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.per_class_accuracy[1], 1.0);
        assert_eq!(m.per_class_accuracy[2], 0.0);
        assert!(m.per_class_accuracy[3].is_nan());
        assert!((m.mean_class_accuracy - (2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.confusion[0], vec![2, 1, 0, 0]);
        assert_eq!(m.confusion[2], vec![1, 0, 0, 0]);
    }
}
