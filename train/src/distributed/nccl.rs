//! The gradient all-reduce on CUDA devices through NCCL: each rank's
//! flattened gradient buffer is summed in place on its GPU, GPU to GPU
//! (NVLink, InfiniBand, or sockets across machines), never staged through
//! host memory. MPI only carries NCCL's unique id at start.
//!
//! NCCL is loaded at run time (`libnccl.so.2`, e.g. from the
//! `nvidia-nccl-cu13` wheel or the CUDA repository's `libnccl2`); without it,
//! or with `SMAE_NCCL=0`, gradients go through MPI on host memory. Every rank
//! must make the same choice, which is checked once.
//!
//! Burn's CUDA backend (fusion over CubeCL) has no public handle to a
//! tensor's device memory, so the buffer is reached as Burn's own collective
//! does: resolve the fusion tensor to its CubeCL tensor and ask the CubeCL
//! client for the allocation behind it. The sum writes into that allocation,
//! which only the flattened gradient (a fresh tensor of ours) refers to.

use std::any::{Any, TypeId};
use std::mem::MaybeUninit;
use std::sync::{Mutex, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use burn::backend::Cuda;
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::CubeBackend;
use burn_fusion::{FusionBackend, FusionTensor};
use cubecl::cuda::CudaRuntime;
use cudarc::driver::{result as driver, sys as driver_sys};
use cudarc::nccl::{result as nccl, sys};

use super::World;

type Inner = CubeBackend<CudaRuntime, f32, i32, u8>;
type Runtime = <Inner as FusionBackend>::FusionRuntime;

/// The library names NCCL 2 installs under.
const LIBRARIES: [&str; 2] = ["libnccl.so.2", "libnccl.so"];

/// One communicator per process: each rank drives one GPU.
struct Comm {
    raw: sys::ncclComm_t,
    ctx: driver_sys::CUcontext,
    ordinal: usize,
}

// SAFETY: the communicator and context are plain handles; every use goes
// through `COMM`'s mutex, so no two threads call NCCL on them at once.
unsafe impl Send for Comm {}

static COMM: Mutex<Option<Comm>> = Mutex::new(None);
static CHOICE: OnceLock<bool> = OnceLock::new();

/// Whether gradients of backend `B` go through NCCL: decided once per
/// process, the same on every rank (a collective call: all ranks must reach
/// it, which the first gradient all-reduce guarantees).
pub fn enabled<B: Backend>(world: &World) -> Result<bool> {
    if let Some(&on) = CHOICE.get() {
        return Ok(on);
    }
    let wanted = std::env::var("SMAE_NCCL").map_or(true, |v| v != "0");
    let on = wanted && TypeId::of::<B>() == TypeId::of::<Cuda>() && library_present();
    if !world.agree(on as u64)? {
        bail!("some ranks can use NCCL and others cannot (libnccl.so.2 missing on some machines, or SMAE_NCCL set on some ranks); install NCCL everywhere or set SMAE_NCCL=0 on every rank");
    }
    if world.is_root() && TypeId::of::<B>() == TypeId::of::<Cuda>() && !on {
        eprintln!("warning: NCCL is not in use (libnccl.so.2 not found, or SMAE_NCCL=0): gradients go through MPI on host memory");
    }
    Ok(*CHOICE.get_or_init(|| on))
}

/// Whether the first all-reduce chose NCCL.
pub fn in_use() -> bool {
    CHOICE.get().copied().unwrap_or(false)
}

fn library_present() -> bool {
    // SAFETY: loading NCCL runs no user code beyond its initialisers; the
    // handle is dropped at once (cudarc keeps its own).
    LIBRARIES
        .iter()
        .any(|name| unsafe { libloading::Library::new(*name) }.is_ok())
}

/// Sums the f32 tensor `t` over every rank, in place on its GPU. `B` must be
/// Burn's CUDA backend (see [`enabled`]).
pub fn sum<B: Backend>(t: Tensor<B, 1>, world: &World) -> Result<Tensor<B, 1>> {
    let boxed: Box<dyn Any> = Box::new(t);
    let t = *boxed
        .downcast::<Tensor<Cuda, 1>>()
        .map_err(|_| anyhow!("the NCCL all-reduce needs Burn's CUDA backend"))?;
    sum_cuda(&t, world)?;
    let boxed: Box<dyn Any> = Box::new(t);
    Ok(*boxed
        .downcast::<Tensor<B, 1>>()
        .map_err(|_| anyhow!("the NCCL all-reduce changed the tensor's backend"))?)
}

fn sum_cuda(t: &Tensor<Cuda, 1>, world: &World) -> Result<()> {
    let count = t.shape().num_elements();
    // A second handle keeps `t` alive: resolving it then shares the buffer
    // (read-only status) instead of taking it out of the fusion server.
    let prim: FusionTensor<Runtime> = t.clone().into_primitive().tensor();
    let client = prim.client.clone();
    let cube = client.resolve_tensor_float::<Inner>(prim);
    if cube.dtype != DType::F32 {
        bail!(
            "the NCCL all-reduce expects f32 gradients, got {:?}",
            cube.dtype
        );
    }
    // Wait for the kernels that produce the buffer, then find it.
    cubecl::future::block_on(cube.client.sync())
        .map_err(|e| anyhow!("CUDA synchronisation before the all-reduce failed: {e:?}"))?;
    let resource = cube
        .client
        .get_resource(cube.handle.clone())
        .map_err(|e| anyhow!("reading the gradient buffer's address failed: {e:?}"))?;
    let ptr = resource.resource().ptr;

    let mut guard = COMM.lock().map_err(|_| anyhow!("NCCL state poisoned"))?;
    if guard.is_none() {
        *guard = Some(init(world, cube.device.index)?);
    }
    let comm = guard.as_ref().expect("initialised above");
    if comm.ordinal != cube.device.index {
        bail!(
            "gradients on GPU {} but NCCL was set up on GPU {}: one rank drives one GPU",
            cube.device.index,
            comm.ordinal
        );
    }
    // SAFETY: `ptr` is the live allocation of `count` f32 values behind
    // `cube` (kept alive by `resource`); the communicator and context were
    // created in `init` for this GPU. The sum runs on the context's default
    // stream, which the host waits on before anything else reads the buffer.
    unsafe {
        driver::ctx::set_current(comm.ctx)
            .map_err(|e| anyhow!("making GPU {} current failed: {e:?}", comm.ordinal))?;
        nccl::all_reduce(
            ptr as *const std::ffi::c_void,
            ptr as *mut std::ffi::c_void,
            count,
            sys::ncclDataType_t::ncclFloat32,
            sys::ncclRedOp_t::ncclSum,
            comm.raw,
            std::ptr::null_mut(),
        )
        .map_err(|e| anyhow!("NCCL all-reduce failed: {e:?}"))?;
        driver::stream::synchronize(std::ptr::null_mut())
            .map_err(|e| anyhow!("waiting for the NCCL all-reduce failed: {e:?}"))?;
    }
    drop(resource);
    Ok(())
}

/// Rank 0 makes NCCL's unique id, MPI broadcasts it, every rank joins.
fn init(world: &World, ordinal: usize) -> Result<Comm> {
    let mut id = [0u8; 128];
    if world.is_root() {
        let unique = nccl::get_uniqueid().map_err(|e| anyhow!("ncclGetUniqueId failed: {e:?}"))?;
        for (dst, &src) in id.iter_mut().zip(unique.internal.iter()) {
            *dst = src as u8;
        }
    }
    world.broadcast(&mut id)?;
    let mut unique = sys::ncclUniqueId { internal: [0; 128] };
    for (dst, &src) in unique.internal.iter_mut().zip(id.iter()) {
        *dst = src as std::ffi::c_char;
    }
    driver::init().map_err(|e| anyhow!("CUDA driver initialisation failed: {e:?}"))?;
    let device = driver::device::get(ordinal as i32)
        .map_err(|e| anyhow!("CUDA device {ordinal} is not usable: {e:?}"))?;
    // SAFETY: the primary context is the one Burn's CUDA runtime uses; it
    // is retained (never released while the process trains) and made current
    // on this thread before NCCL creates the communicator on it.
    unsafe {
        let ctx = driver::primary_ctx::retain(device)
            .map_err(|e| anyhow!("retaining GPU {ordinal}'s context failed: {e:?}"))?;
        driver::ctx::set_current(ctx)
            .map_err(|e| anyhow!("making GPU {ordinal} current failed: {e:?}"))?;
        let mut raw = MaybeUninit::uninit();
        nccl::comm_init_rank(
            raw.as_mut_ptr(),
            world.size as i32,
            unique,
            world.rank as i32,
        )
        .map_err(|e| anyhow!("ncclCommInitRank failed on rank {}: {e:?}", world.rank))
        .context("setting up NCCL (NCCL_DEBUG=INFO tells more)")?;
        Ok(Comm {
            raw: raw.assume_init(),
            ctx,
            ordinal,
        })
    }
}

/// Frees the communicator (every rank, after its last all-reduce).
pub fn finish() {
    if let Ok(mut guard) = COMM.lock() {
        if let Some(comm) = guard.take() {
            // SAFETY: no all-reduce is in flight (each waits before returning).
            unsafe {
                let _ = driver::ctx::set_current(comm.ctx);
                let _ = nccl::comm_destroy(comm.raw);
            }
        }
    }
}
