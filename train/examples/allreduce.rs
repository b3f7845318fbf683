//! Time of the gradient all-reduce across MPI ranks for the gradients of
//! real models (SelectiveMAE with its decoder, vit-tiny and vit-base): one
//! flattened f32 buffer per step, summed with one MPI all-reduce on host
//! memory, as `smae-train pretrain` does under MPI.
//!
//! ```sh
//! cargo build --release --example allreduce --features mpi
//! mpirun -np 2 --oversubscribe target/release/examples/allreduce
//! ```
//! Rank 0 prints one JSON line per model.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::backend::Flex;
use burn::module::Module;
use smae_models::{DecoderConfig, SelectiveMae, VitConfig};
use smae_train::distributed;

fn main() -> Result<()> {
    distributed::init()?;
    let world = distributed::world().context("start this under mpirun with at least 2 ranks")?;
    for name in ["vit-tiny", "vit-base"] {
        let vit = VitConfig::preset(name)?;
        let model = SelectiveMae::<Flex>::new(
            &vit,
            &DecoderConfig::selective_default(),
            &Default::default(),
        );
        let params = model.num_params();
        let mut buf: Vec<f32> = (0..params + 1).map(|i| (i % 97) as f32 * 1e-3).collect();
        let reps = 10;
        world.sum_f32(&mut buf)?; // warm-up
        world.barrier()?;
        let start = Instant::now();
        for _ in 0..reps {
            world.sum_f32(&mut buf)?;
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / reps as f64;
        if world.is_root() {
            println!(
                "{}",
                serde_json::json!({
                    "model": name, "params": params, "ranks": world.size,
                    "megabytes": (params * 4) as f64 / 1e6, "allreduce_ms": ms,
                    "gb_per_s": (params * 4) as f64 / 1e9 / (ms / 1000.0),
                })
            );
        }
    }
    distributed::finish();
    Ok(())
}
