//! Device-to-host reads of the training step, counted.
//!
//! Each read waits for everything queued before it on the device: on a GPU
//! the device idles while the host works on what it read. The step is held
//! to a fixed number of reads (see the `host_reads` tests), so every read of
//! the step path goes through [`read_f32`], which counts them per thread
//! (each replica drives its device from its own thread).

use std::cell::Cell;

use burn::prelude::*;

thread_local! {
    static READS: Cell<u64> = const { Cell::new(0) };
}

/// Reads `t` back to the host as `f32` values, in row-major order.
pub fn read_f32<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    READS.with(|c| c.set(c.get() + 1));
    let data = t.into_data().convert::<f32>();
    data.into_vec()
        .expect("a tensor converted to f32 reads back as f32")
}

/// How many reads this thread has made so far.
pub fn reads() -> u64 {
    READS.with(Cell::get)
}
