//! Training across processes: one rank per device, launched by `mpirun` or
//! `srun`, with the host collectives the training loop needs (gradient sum,
//! loss gather, agreement checks) carried by the system's MPI, and the
//! gradient sum on CUDA devices carried by NCCL (`nccl.rs`).
//!
//! MPI is started only when a launcher says this process is one of several
//! (`OMPI_COMM_WORLD_SIZE`, `PMI_SIZE`, `SLURM_STEP_NUM_TASKS`); a plain run
//! never touches it. Builds without the `mpi` feature refuse such a launch
//! instead of training the same model N times over.

use anyhow::{anyhow, bail, Result};
use burn::collective::{self, PeerId, ReduceOperation};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use smae_models::host::read_f32;

#[cfg(all(feature = "cuda", feature = "mpi"))]
mod nccl;

/// This process's place among the ranks of a multi-process run.
pub struct World {
    pub rank: usize,
    pub size: usize,
    /// Rank among the processes on this machine: the GPU it drives.
    pub local_rank: usize,
    #[cfg(feature = "mpi")]
    comm: std::sync::Mutex<Option<backend::Mpi>>,
}

static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();

/// The ranks this process belongs to, if it was launched as one of several.
pub fn world() -> Option<&'static World> {
    WORLD.get()
}

/// How many processes the launcher started, from its environment.
fn launched_size() -> usize {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
        .iter()
        .filter_map(|k| std::env::var(k).ok()?.trim().parse::<usize>().ok())
        .max()
        .unwrap_or(1)
}

/// Starts MPI when launched as one of several processes; call once, first.
pub fn init() -> Result<()> {
    if launched_size() <= 1 {
        return Ok(());
    }
    #[cfg(feature = "mpi")]
    {
        let world = backend::start()?;
        if world.size > 1 {
            let _ = WORLD.set(world);
        }
        Ok(())
    }
    #[cfg(not(feature = "mpi"))]
    bail!(
        "launched as one of {} processes, but this smae-train was built without MPI; rebuild with `--features mpi`",
        launched_size()
    )
}

/// Ends MPI cleanly (every rank must call it, after its last collective).
pub fn finish() {
    #[cfg(all(feature = "cuda", feature = "mpi"))]
    nccl::finish();
    #[cfg(feature = "mpi")]
    if let Some(w) = world() {
        if let Ok(mut comm) = w.comm.lock() {
            comm.take();
        }
    }
}

/// Stops every rank at once after an error on this one: the others may be
/// waiting in a collective and would otherwise hang.
pub fn abort(code: i32) -> ! {
    #[cfg(feature = "mpi")]
    if let Some(w) = world() {
        if let Ok(comm) = w.comm.lock() {
            if let Some(c) = comm.as_ref() {
                c.abort(code);
            }
        }
    }
    std::process::exit(code)
}

impl World {
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Element-wise sum over all ranks, in place.
    pub fn sum_f32(&self, values: &mut [f32]) -> Result<()> {
        self.with(|c| c.sum_f32(values))
    }

    /// Whether every rank passed the same `value` (e.g. a configuration hash).
    pub fn agree(&self, value: u64) -> Result<bool> {
        self.with(|c| c.agree(value))
    }

    /// Rank 0's `bytes` on every rank.
    pub fn broadcast(&self, bytes: &mut [u8]) -> Result<()> {
        self.with(|c| {
            c.broadcast(bytes);
            Ok(())
        })
    }

    /// Waits until every rank has arrived.
    pub fn barrier(&self) -> Result<()> {
        self.with(|c| {
            c.barrier();
            Ok(())
        })
    }

    #[cfg(feature = "mpi")]
    fn with<T>(&self, f: impl FnOnce(&backend::Mpi) -> Result<T>) -> Result<T> {
        let comm = self
            .comm
            .lock()
            .map_err(|_| anyhow::anyhow!("MPI state poisoned"))?;
        match comm.as_ref() {
            Some(c) => f(c),
            None => bail!("MPI has already been finalised"),
        }
    }

    #[cfg(not(feature = "mpi"))]
    fn with<T>(&self, _: impl FnOnce(&NoMpi) -> Result<T>) -> Result<T> {
        bail!("this build has no MPI support")
    }
}

#[cfg(not(feature = "mpi"))]
struct NoMpi;

#[cfg(not(feature = "mpi"))]
impl NoMpi {
    fn sum_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn agree(&self, _: u64) -> Result<bool> {
        Ok(true)
    }
    fn barrier(&self) {}
    fn broadcast(&self, _: &mut [u8]) {}
}

/// Under MPI, fails on every rank unless all ranks resolved the same run
/// configuration `cfg` (data folder and its size, model, method, seed...):
/// compares a SHA-256 prefix of its JSON.
pub fn agree_on_config(cfg: &impl serde::Serialize) -> Result<()> {
    use sha2::Digest;
    let Some(world) = world() else {
        return Ok(());
    };
    let json = serde_json::to_vec(cfg)?;
    let hash = u64::from_le_bytes(
        sha2::Sha256::digest(&json)[..8]
            .try_into()
            .expect("8 bytes of a digest"),
    );
    if !world.agree(hash)? {
        bail!("the ranks resolved different configurations (data, model, method or seed differ); start every rank with the same arguments and data");
    }
    Ok(())
}

/// Whether this process sums gradients through NCCL (decided at the first
/// all-reduce).
#[cfg(all(feature = "cuda", feature = "mpi"))]
pub fn uses_nccl() -> bool {
    nccl::in_use()
}

/// Whether this process sums gradients through NCCL: never in this build.
#[cfg(not(all(feature = "cuda", feature = "mpi")))]
pub fn uses_nccl() -> bool {
    false
}

/// Who a replica's gradients are averaged with.
#[derive(Clone, Copy)]
pub enum Peers<'a> {
    /// The other MPI ranks (one device each).
    Ranks(&'a World),
    /// The other devices of this process, through Burn's local collective.
    Devices(PeerId),
}

/// Averages gradients over `peers`, weighting each by its sample count `n`
/// (so the result is the gradient of the mean loss over the whole global
/// batch, as one device would compute it): every gradient is flattened into
/// one buffer with the count as its last element, summed in one all-reduce
/// (NCCL between GPUs, one MPI all-reduce on host memory, or Burn's
/// collective between the devices of a process) and divided by the summed
/// count on the device.
pub fn average_gradients<B: AutodiffBackend, M: Module<B>>(
    model: &M,
    grads: GradientsParams,
    n: usize,
    peers: Peers<'_>,
) -> Result<GradientsParams> {
    struct Flatten<'a, B: AutodiffBackend> {
        grads: &'a GradientsParams,
        parts: Vec<Tensor<B::InnerBackend, 1>>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<'_, B> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if let Some(g) = self.grads.get::<B::InnerBackend, D>(p.id) {
                let len = g.shape().num_elements();
                self.parts.push(g.reshape([len]));
            }
        }
    }
    struct Unflatten<'a, B: AutodiffBackend> {
        old: &'a GradientsParams,
        flat: Tensor<B::InnerBackend, 1>,
        offset: usize,
        out: GradientsParams,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Unflatten<'_, B> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            if let Some(g) = self.old.get::<B::InnerBackend, D>(p.id) {
                let dims = g.dims();
                let len = g.shape().num_elements();
                let part = self.flat.clone().narrow(0, self.offset, len).reshape(dims);
                self.offset += len;
                self.out.register(p.id, part);
            }
        }
    }
    let mut flat = Flatten::<B> {
        grads: &grads,
        parts: Vec::new(),
    };
    model.visit(&mut flat);
    if flat.parts.is_empty() {
        return Ok(grads);
    }
    let device = flat.parts[0].device();
    let len: usize = flat.parts.iter().map(|p| p.dims()[0]).sum();
    let count = Tensor::<B::InnerBackend, 1>::from_floats([n as f32], &device);
    let weighted = Tensor::cat(flat.parts, 0).mul_scalar(n as f32);
    let buffer = Tensor::cat(vec![weighted, count], 0);
    let summed = match peers {
        Peers::Ranks(world) => sum_over_ranks::<B::InnerBackend>(buffer, world)?,
        Peers::Devices(peer) => {
            let out = collective::all_reduce::<B::InnerBackend>(
                peer,
                buffer.into_primitive().tensor(),
                ReduceOperation::Sum,
            )
            .map_err(|e| anyhow!("gradient all-reduce failed: {e:?}"))?;
            Tensor::from_primitive(burn::tensor::TensorPrimitive::Float(out))
        }
    };
    let total = summed.clone().narrow(0, len, 1);
    let mean = summed.narrow(0, 0, len).div(total);
    let mut un = Unflatten::<B> {
        old: &grads,
        flat: mean,
        offset: 0,
        out: GradientsParams::new(),
    };
    model.visit(&mut un);
    Ok(un.out)
}

/// Element-wise sum of a device buffer over the ranks: NCCL where it runs
/// (CUDA), else one read, one MPI all-reduce and one upload.
pub fn sum_over_ranks<B: Backend>(buffer: Tensor<B, 1>, world: &World) -> Result<Tensor<B, 1>> {
    #[cfg(all(feature = "cuda", feature = "mpi"))]
    if nccl::enabled::<B>(world)? {
        return nccl::sum(buffer, world);
    }
    let device = buffer.device();
    let mut values = read_f32(buffer);
    world.sum_f32(&mut values)?;
    if values.last().is_some_and(|&total| total <= 0.0) {
        bail!("no rank had a sample in this step");
    }
    let len = values.len();
    Ok(Tensor::from_data(TensorData::new(values, [len]), &device))
}

/// Contiguous shares of `total` items over `parts` (sizes differ by at most
/// one, the larger first): the range of share `k`.
pub fn share(total: usize, parts: usize, k: usize) -> std::ops::Range<usize> {
    let parts = parts.max(1);
    let start = k * (total / parts) + k.min(total % parts);
    let len = total / parts + usize::from(k < total % parts);
    start..start + len
}

#[cfg(feature = "mpi")]
mod backend {
    use anyhow::{bail, Result};
    use mpi::collective::SystemOperation;
    use mpi::environment::Universe;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use mpi::Threading;

    use super::World;

    /// The MPI universe and world communicator. MPI is initialised with
    /// `Serialized` threading and every call goes through [`super::World`]'s
    /// mutex, so at most one thread calls MPI at a time.
    pub struct Mpi {
        comm: SimpleCommunicator,
        _universe: Universe,
    }

    // SAFETY: the MPI library is initialised with MPI_THREAD_SERIALIZED (checked
    // in `start`), which allows calls from any thread as long as no two run at
    // once; `World` only reaches `Mpi` through a mutex.
    unsafe impl Send for Mpi {}

    pub fn start() -> Result<World> {
        let Some((universe, level)) = mpi::initialize_with_threading(Threading::Serialized) else {
            bail!("MPI was already initialised");
        };
        if !matches!(level, Threading::Serialized | Threading::Multiple) {
            bail!("the MPI library offers threading level {level:?}; smae-train needs Serialized");
        }
        let comm = universe.world();
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        let local_rank = comm.split_shared(comm.rank()).rank() as usize;
        Ok(World {
            rank,
            size,
            local_rank,
            comm: std::sync::Mutex::new(Some(Mpi {
                comm,
                _universe: universe,
            })),
        })
    }

    impl Mpi {
        pub fn sum_f32(&self, values: &mut [f32]) -> Result<()> {
            let send = values.to_vec();
            self.comm
                .all_reduce_into(&send[..], values, SystemOperation::sum());
            Ok(())
        }

        pub fn agree(&self, value: u64) -> Result<bool> {
            let (mut lo, mut hi) = (0u64, 0u64);
            self.comm
                .all_reduce_into(&value, &mut lo, SystemOperation::min());
            self.comm
                .all_reduce_into(&value, &mut hi, SystemOperation::max());
            Ok(lo == hi)
        }

        pub fn barrier(&self) {
            self.comm.barrier();
        }

        pub fn broadcast(&self, bytes: &mut [u8]) {
            self.comm.process_at_rank(0).broadcast_into(bytes);
        }

        pub fn abort(&self, code: i32) -> ! {
            self.comm.abort(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_cover_the_range_in_order() {
        let ranges: Vec<_> = (0..3).map(|k| share(10, 3, k)).collect();
        assert_eq!(ranges, vec![0..4, 4..7, 7..10]);
        assert_eq!(share(4, 1, 0), 0..4);
    }
}
