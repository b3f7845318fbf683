//! `--device cpu | cuda | cuda:N | cuda:0,1,... | wgpu | wgpu:N,...`: which
//! backend and how many data-parallel replicas. CPU runs on Burn's `flex`
//! backend; CUDA needs a build with `--features cuda` and a driver at run
//! time; wgpu (Vulkan, Metal, DX12: AMD, Intel and Apple GPUs, or Mesa's
//! lavapipe on a CPU) needs `--features wgpu` and runs the same CubeCL kernels.

use anyhow::{bail, Result};
use burn::backend::{flex::FlexDevice, Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceList {
    /// `n` replicas on the CPU (more than one only exercises the
    /// data-parallel path; it does not add compute).
    Cpu(usize),
    Cuda(Vec<usize>),
    /// wgpu adapters: `None` is the default one (the most powerful, or what
    /// `CUBECL_WGPU_DEFAULT_DEVICE` names), else discrete GPUs by index.
    Wgpu(Option<Vec<usize>>),
}

impl DeviceList {
    /// [`DeviceList::parse`] for this process: under MPI a plain `--device
    /// cuda` means the GPU of this rank's local rank, so one command line
    /// serves every rank of a node; and each rank drives one device (the
    /// all-reduce across ranks is one collective call per rank).
    pub fn parse_for_rank(spec: &str) -> Result<Self> {
        let devices = Self::parse(spec)?;
        let Some(w) = crate::distributed::world() else {
            return Ok(devices);
        };
        let count = match &devices {
            Self::Cuda(_) if spec.trim() == "cuda" => return Ok(Self::Cuda(vec![w.local_rank])),
            Self::Cpu(n) => *n,
            Self::Cuda(ids) => ids.len(),
            Self::Wgpu(ids) => ids.as_ref().map_or(1, Vec::len),
        };
        if count > 1 {
            bail!("--device '{spec}' lists {count} devices, but under MPI each rank drives one: start one rank per device (mpirun -np <devices>) with --device cuda");
        }
        Ok(devices)
    }

    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let bad = || {
            anyhow::anyhow!(
                "invalid --device '{spec}': expected cpu, cuda, cuda:N, cuda:N,M,..., wgpu or wgpu:N,M,..."
            )
        };
        if spec == "cpu" {
            return Ok(Self::Cpu(1));
        }
        if let Some(n) = spec.strip_prefix("cpu:") {
            let n: usize = n.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            return Ok(Self::Cpu(n));
        }
        if spec == "cuda" {
            return Ok(Self::Cuda(vec![0]));
        }
        if spec == "wgpu" {
            return Ok(Self::Wgpu(None));
        }
        let (ids, wgpu) = match (spec.strip_prefix("cuda:"), spec.strip_prefix("wgpu:")) {
            (Some(ids), _) => (ids, false),
            (_, Some(ids)) => (ids, true),
            _ => return Err(bad()),
        };
        let ids: Vec<usize> = ids
            .split(',')
            .map(|s| s.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_>>()?;
        let mut uniq = ids.clone();
        uniq.sort_unstable();
        uniq.dedup();
        if ids.is_empty() || uniq.len() != ids.len() {
            bail!("invalid --device '{spec}': list each GPU once");
        }
        Ok(if wgpu {
            Self::Wgpu(Some(ids))
        } else {
            Self::Cuda(ids)
        })
    }

    pub fn count(&self) -> usize {
        match self {
            Self::Cpu(n) => *n,
            Self::Cuda(ids) => ids.len(),
            Self::Wgpu(ids) => ids.as_ref().map_or(1, Vec::len),
        }
    }

    pub fn is_cuda(&self) -> bool {
        matches!(self, Self::Cuda(_))
    }
}

impl std::fmt::Display for DeviceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu(1) => write!(f, "cpu"),
            Self::Cpu(n) => write!(f, "cpu:{n}"),
            Self::Cuda(ids) => write!(f, "cuda:{}", join(ids)),
            Self::Wgpu(None) => write!(f, "wgpu"),
            Self::Wgpu(Some(ids)) => write!(f, "wgpu:{}", join(ids)),
        }
    }
}

fn join(ids: &[usize]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Work that runs on whichever autodiff backend the device list selects.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Self::Output>;
}

pub type CpuBackend = Autodiff<Flex>;

#[cfg(feature = "cuda")]
pub type CudaBackend = Autodiff<burn::backend::Cuda>;

/// Runs `job` on the backend of `devices`.
pub fn dispatch<J: BackendJob>(devices: &DeviceList, job: J) -> Result<J::Output> {
    match devices {
        DeviceList::Cpu(n) => job.run::<CpuBackend>(vec![FlexDevice; *n]),
        DeviceList::Cuda(ids) => run_cuda(ids, job),
        DeviceList::Wgpu(ids) => run_wgpu(ids.as_deref(), job),
    }
}

/// Fails unless every device of `devices` can run: call it before writing
/// anything, so a run that cannot start leaves no run directory behind.
pub fn ensure_usable(devices: &DeviceList) -> Result<()> {
    match devices {
        DeviceList::Cpu(_) => Ok(()),
        DeviceList::Cuda(ids) => ensure_cuda(ids),
        DeviceList::Wgpu(ids) => ensure_wgpu(ids.as_deref()),
    }
}

#[cfg(feature = "cuda")]
fn ensure_cuda(ids: &[usize]) -> Result<()> {
    ids.iter().try_for_each(|&id| probe_cuda(id))
}

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str =
    "this smae-train was built without CUDA; rebuild with `cargo build --release --features cuda`";

#[cfg(not(feature = "cuda"))]
fn ensure_cuda(_: &[usize]) -> Result<()> {
    bail!("{NO_CUDA}")
}

#[cfg(feature = "cuda")]
fn run_cuda<J: BackendJob>(ids: &[usize], job: J) -> Result<J::Output> {
    use burn::backend::cuda::CudaDevice;
    ensure_cuda(ids)?;
    job.run::<CudaBackend>(ids.iter().map(|&i| CudaDevice::new(i)).collect())
}

#[cfg(not(feature = "cuda"))]
fn run_cuda<J: BackendJob>(_: &[usize], _: J) -> Result<J::Output> {
    bail!("{NO_CUDA}")
}

#[cfg(feature = "wgpu")]
pub type WgpuBackend = Autodiff<burn::backend::Wgpu>;

#[cfg(feature = "wgpu")]
fn wgpu_devices(ids: Option<&[usize]>) -> Vec<burn::backend::wgpu::WgpuDevice> {
    use burn::backend::wgpu::WgpuDevice;
    match ids {
        None => vec![WgpuDevice::DefaultDevice],
        Some(ids) => ids.iter().map(|&i| WgpuDevice::DiscreteGpu(i)).collect(),
    }
}

#[cfg(feature = "wgpu")]
fn ensure_wgpu(ids: Option<&[usize]>) -> Result<()> {
    wgpu_devices(ids).iter().try_for_each(|d| {
        probe::<burn::backend::Wgpu>(
            d,
            &format!("wgpu device {d:?}"),
            "no such adapter or no Vulkan/Metal/DX12 driver",
        )
    })
}

#[cfg(feature = "wgpu")]
fn run_wgpu<J: BackendJob>(ids: Option<&[usize]>, job: J) -> Result<J::Output> {
    ensure_wgpu(ids)?;
    job.run::<WgpuBackend>(wgpu_devices(ids))
}

#[cfg(not(feature = "wgpu"))]
const NO_WGPU: &str =
    "this smae-train was built without wgpu; rebuild with `cargo build --release --features wgpu`";

#[cfg(not(feature = "wgpu"))]
fn ensure_wgpu(_: Option<&[usize]>) -> Result<()> {
    bail!("{NO_WGPU}")
}

#[cfg(not(feature = "wgpu"))]
fn run_wgpu<J: BackendJob>(_: Option<&[usize]>, _: J) -> Result<J::Output> {
    bail!("{NO_WGPU}")
}

#[cfg(feature = "cuda")]
fn probe_cuda(id: usize) -> Result<()> {
    use burn::backend::cuda::CudaDevice;
    probe::<burn::backend::Cuda>(
        &CudaDevice::new(id),
        &format!("CUDA device {id}"),
        "driver, libnvrtc or device missing",
    )
}

/// Burn initialises GPU runtimes lazily and panics when a driver, NVRTC or an
/// adapter is missing; run one tiny op with the panic caught to turn that
/// into an error.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn probe<B: burn::tensor::backend::Backend>(
    device: &B::Device,
    what: &str,
    hint: &str,
) -> Result<()> {
    use burn::tensor::{ElementConversion, Tensor};
    let prev = std::panic::take_hook();
    let message = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = message.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut m) = sink.lock() {
            if m.is_empty() {
                *m = info.to_string();
            }
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let x = Tensor::<B, 1>::from_floats([1.0, 2.0], device);
        x.sum().into_scalar().elem::<f32>()
    }));
    std::panic::set_hook(prev);
    match result {
        Ok(v) if (v - 3.0).abs() < 1e-6 => Ok(()),
        Ok(v) => bail!("{what} computed 1 + 2 = {v}"),
        Err(_) => {
            let m = message.lock().map(|m| m.clone()).unwrap_or_default();
            let first = m
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("unknown error")
                .to_string();
            bail!("{what} is not usable ({hint}): {first}")
        }
    }
}

/// Peak memory of the benchmark: bytes reserved by Burn's allocator on a CUDA
/// device, else the process's peak resident set (VmHWM).
pub fn peak_memory<B: burn::tensor::backend::Backend>(device: &B::Device) -> (u64, &'static str)
where
    B::Device: 'static,
{
    #[cfg(feature = "cuda")]
    {
        use burn::backend::cuda::CudaDevice;
        use cubecl::Runtime;
        if let Some(d) = (device as &dyn std::any::Any).downcast_ref::<CudaDevice>() {
            if let Ok(usage) = cubecl::cuda::CudaRuntime::client(d).memory_usage() {
                return (usage.bytes_reserved, "device_reserved");
            }
        }
    }
    let _ = device;
    (process_peak_rss(), "process_rss")
}

/// The process's peak resident set size in bytes (Linux), 0 where unknown.
pub fn process_peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_lists() {
        assert_eq!(DeviceList::parse("cpu").unwrap(), DeviceList::Cpu(1));
        assert_eq!(DeviceList::parse("cpu:2").unwrap(), DeviceList::Cpu(2));
        assert_eq!(
            DeviceList::parse("cuda").unwrap(),
            DeviceList::Cuda(vec![0])
        );
        assert_eq!(
            DeviceList::parse("cuda:3").unwrap(),
            DeviceList::Cuda(vec![3])
        );
        assert_eq!(
            DeviceList::parse("cuda:0,1,2").unwrap(),
            DeviceList::Cuda(vec![0, 1, 2])
        );
        assert_eq!(DeviceList::parse("wgpu").unwrap(), DeviceList::Wgpu(None));
        assert_eq!(
            DeviceList::parse("wgpu:0,1").unwrap(),
            DeviceList::Wgpu(Some(vec![0, 1]))
        );
        assert_eq!(DeviceList::parse("wgpu:1").unwrap().to_string(), "wgpu:1");
        assert_eq!(DeviceList::parse("wgpu").unwrap().to_string(), "wgpu");
        for bad in [
            "gpu", "cuda:", "cuda:a", "cuda:0,0", "cpu:0", "", "wgpu:", "wgpu:0,0",
        ] {
            assert!(DeviceList::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            DeviceList::parse("cuda:0,1").unwrap().to_string(),
            "cuda:0,1"
        );
    }
}
