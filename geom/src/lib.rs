//! smae-geom: the geometry that training, evaluation and inference share,
//! with no Burn dependency so `smae-infer` can use it as is: boxes, NMS and
//! dense decoding, and the one tiling of a scene (window placement, core
//! regions, Hann blending, cross-tile detection merge) that `smae-infer`
//! runs and evaluation measures.
//!
//! Conventions (pixel coordinates, x to the right, y down):
//! * [`BBox`]: axis-aligned `x0, y0, x1, y1`.
//! * [`RBox`]: rotated box `cx, cy, w, h, angle` in the **le90** convention
//!   (as mmrotate's `le90`): `w` is the long side, `angle` is the direction of
//!   that side in radians, in `[-pi/2, pi/2)`, measured from +x towards +y
//!   (clockwise on screen). DOTA / DIOR-R polygons convert to it through the
//!   minimum-area rectangle.

pub mod bbox;
pub mod blend;
pub mod decode;
pub mod merge;
pub mod nms;
pub mod rbox;
pub mod tiling;

pub use bbox::BBox;
pub use decode::{Detection, RDetection};
pub use nms::{nms, rotated_nms, Overlap};
pub use rbox::RBox;
