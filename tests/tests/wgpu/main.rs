//! The `wgpu` backend on Mesa's lavapipe against `flex` (see `lavapipe`).
//!
//! The tests sit in a module so that their names start with `lavapipe::`:
//! scripts/test.sh runs this binary beside the rest of the suite and skips
//! them there (`--skip lavapipe::`). Lavapipe compiles each kernel on the
//! CPU, on CubeCL's one device thread, so this binary alone takes most of
//! the suite's time while leaving a core idle.

mod lavapipe;
