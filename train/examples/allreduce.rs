//! Time of the gradient all-reduce across MPI ranks for the gradients of
//! real models (SelectiveMAE with its decoder, vit-tiny and vit-base): one
//! flattened f32 buffer per step, summed as `smae-train pretrain` does under
//! MPI: on host memory with one MPI all-reduce (default), or with
//! `--device cuda` on each rank's GPU (its local rank), through NCCL when
//! libnccl.so.2 is found (else the same host path, after a read back).
//!
//! ```sh
//! cargo build --release --example allreduce --features mpi
//! mpirun -np 2 --oversubscribe target/release/examples/allreduce
//! cargo build --release --example allreduce --features mpi,cuda
//! mpirun -np 2 target/release/examples/allreduce --device cuda
//! ```
//! Rank 0 prints one JSON line per model.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::backend::Flex;
use burn::module::Module;
use smae_models::{DecoderConfig, SelectiveMae, VitConfig};
use smae_train::distributed::{self, World};

fn main() -> Result<()> {
    distributed::init()?;
    let world = distributed::world().context("start this under mpirun with at least 2 ranks")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let device = match args.as_slice() {
        [] => "cpu",
        [flag, d] if flag == "--device" => d.as_str(),
        _ => bail!("usage: allreduce [--device cpu|cuda]"),
    };
    for name in ["vit-tiny", "vit-base"] {
        let vit = VitConfig::preset(name)?;
        let model = SelectiveMae::<Flex>::new(
            &vit,
            &DecoderConfig::selective_default(),
            &Default::default(),
        );
        let params = model.num_params();
        let values: Vec<f32> = (0..params + 1).map(|i| (i % 97) as f32 * 1e-3).collect();
        let (ms, path) = match device {
            "cpu" => (time_host(world, values)?, "mpi-host"),
            #[cfg(feature = "cuda")]
            "cuda" => {
                let d = burn::backend::cuda::CudaDevice::new(world.local_rank);
                time_device::<burn::backend::Cuda>(world, values, &d)?
            }
            other => {
                bail!("--device {other}: this build knows cpu (and cuda with --features cuda)")
            }
        };
        if world.is_root() {
            println!(
                "{}",
                serde_json::json!({
                    "model": name, "params": params, "ranks": world.size, "device": device,
                    "path": path, "megabytes": (params * 4) as f64 / 1e6, "allreduce_ms": ms,
                    "gb_per_s": (params * 4) as f64 / 1e9 / (ms / 1000.0),
                })
            );
        }
    }
    distributed::finish();
    Ok(())
}

const REPS: usize = 10;

/// Mean milliseconds of one MPI all-reduce of `values` on host memory.
fn time_host(world: &World, mut values: Vec<f32>) -> Result<f64> {
    world.sum_f32(&mut values)?; // warm-up
    world.barrier()?;
    let start = Instant::now();
    for _ in 0..REPS {
        world.sum_f32(&mut values)?;
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0 / REPS as f64)
}

/// Mean milliseconds of the training loop's all-reduce of a device buffer,
/// and which path it took.
#[cfg(feature = "cuda")]
fn time_device<B: burn::prelude::Backend>(
    world: &World,
    values: Vec<f32>,
    device: &B::Device,
) -> Result<(f64, &'static str)> {
    use burn::prelude::*;
    let len = values.len();
    let mut buf = Tensor::<B, 1>::from_data(TensorData::new(values, [len]), device);
    buf = distributed::sum_over_ranks(buf, world)?; // warm-up (and NCCL set-up)
    world.barrier()?;
    let start = Instant::now();
    for _ in 0..REPS {
        buf = distributed::sum_over_ranks(buf, world)?;
    }
    // Every sum waits for its result, so nothing is left queued here.
    let ms = start.elapsed().as_secs_f64() * 1000.0 / REPS as f64;
    let path = if distributed::uses_nccl() {
        "nccl"
    } else {
        "mpi-host"
    };
    Ok((ms, path))
}
