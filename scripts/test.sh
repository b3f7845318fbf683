#!/usr/bin/env bash
# Sets up and runs the whole test suite (CI calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Tests read the real rasters of ../shared/data (see its SOURCES.md).
export SMAE_TEST_DATA=${SMAE_TEST_DATA:-$(realpath ../shared/data 2>/dev/null || true)}
if [ -z "$SMAE_TEST_DATA" ] || [ ! -d "$SMAE_TEST_DATA" ]; then
  echo "error: test rasters not found; set SMAE_TEST_DATA to the shared data folder" >&2
  exit 1
fi

# ONNX Runtime's library from the PyPI wheel (scripts/setup.sh), for
# smae-export --verify and smae-infer's ort backend.
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"

cargo fmt --all -- --check
cargo test --workspace
# The CUDA backend must build on machines without a CUDA toolkit; pin the
# CUDA API to 13.0 (driver 580) as the GPU machines need.
CUDARC_CUDA_VERSION=13000 cargo build --workspace --features cuda
# ...and smae-infer's GPU providers fail loudly where they cannot start.
cargo test -p smae-infer --features cuda --test cli
cargo clippy --workspace --all-targets -- -D warnings
