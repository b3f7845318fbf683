//! The closed sets a run is described by: its kind, a fine-tuning task, a
//! pre-training method. Serialised as the strings users type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What wrote a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Pretrain,
    Import,
    Finetune,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Pretrain => "pretrain",
            RunKind::Import => "import",
            RunKind::Finetune => "finetune",
        }
    }
}

/// A downstream task with a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Classify,
    Segment,
    Detect,
    DetectObb,
}

impl Task {
    pub const ALL: [Task; 4] = [Task::Classify, Task::Segment, Task::Detect, Task::DetectObb];

    pub fn name(self) -> &'static str {
        match self {
            Task::Classify => "classify",
            Task::Segment => "segment",
            Task::Detect => "detect",
            Task::DetectObb => "detect-obb",
        }
    }

    pub fn is_detection(self) -> bool {
        matches!(self, Task::Detect | Task::DetectObb)
    }
}

/// A pre-training method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// SelectiveMAE: HOG + PSTS selection, cross-attention decoder.
    Selective,
    /// The MAE baseline: random masking, self-attention decoder.
    Mae,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Selective => "selective",
            Method::Mae => "mae",
        }
    }
}

macro_rules! text_enum {
    ($t:ty, $all:expr, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $all.into_iter().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<&str> = $all.iter().map(|v| v.name()).collect();
                    format!(
                        concat!("unknown ", $what, " '{}': expected {}"),
                        s,
                        names.join(", ")
                    )
                })
            }
        }
    };
}

text_enum!(
    RunKind,
    [RunKind::Pretrain, RunKind::Import, RunKind::Finetune],
    "run kind"
);
text_enum!(Task, Task::ALL, "task");
text_enum!(Method, [Method::Selective, Method::Mae], "method");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Task::ALL {
            assert_eq!(t.name().parse::<Task>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.name());
        }
        assert_eq!("mae".parse::<Method>().unwrap(), Method::Mae);
        let e = "detect_obb".parse::<Task>().unwrap_err();
        assert!(e.contains("detect-obb"), "{e}");
    }
}
