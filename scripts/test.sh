#!/usr/bin/env bash
# Sets up and runs the whole test suite (CI calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints its wall time, to keep CI (2 cores) well under 45 minutes;
# the compilation report is target/cargo-timings/cargo-timing.html.
step() {
  local t0=$SECONDS
  "$@"
  echo "test.sh: $* took $((SECONDS - t0)) s" >&2
}

step scripts/setup.sh

# Tests read the real rasters and labels shipped in tests/data (origin,
# license and checksum per file in tests/data/SOURCES.md); SMAE_TEST_DATA
# points them at another folder with the same layout.

# ONNX Runtime's library from the PyPI wheel (scripts/setup.sh), for
# smae-export --verify and smae-infer's ort backend.
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"

step cargo fmt --all -- --check
# The study's statistics (scripts/welch.py) against printed t tables, how it
# adds rows to a results folder (scripts/merge_rows.py), and study.sh's
# bookkeeping against a stub smae-train (scripts/test_study.py).
step .venv/bin/python -m unittest discover -s scripts -p 'test_*.py'
# One compilation serves the tests and the CUDA build check. The CUDA build
# must succeed on machines without a CUDA toolkit (the driver and NVRTC are
# loaded at run time; the CUDA API is pinned to 13.0, driver 580, as the GPU
# machines need), and building the tests with it is that build: it adds the
# cubecl features to all of Burn, so a second, CPU-only build would compile
# Burn twice. The tests use the CPU backend, the same code in both builds,
# and check that `--device cuda` fails loudly here (no GPU).
export CUDARC_CUDA_VERSION=13000
step cargo test --workspace --features cuda --timings --no-run
# The wgpu tests (tests/tests/wgpu) spend their time compiling kernels for
# lavapipe on CubeCL's one device thread, most of the suite's time on a
# core of its own: their binary runs beside the rest of the suite, which
# skips them, and its output follows the suite's.
wgpu_test=$(cargo test --workspace --features cuda --test wgpu --no-run --message-format=json |
  python3 -c 'import json, sys
print(next(m["executable"] for m in map(json.loads, sys.stdin)
           if m.get("target", {}).get("name") == "wgpu" and m.get("executable")))')
wgpu_log=target/wgpu-tests.log
(cd tests && exec "$wgpu_test") >"$wgpu_log" 2>&1 &
wgpu_pid=$!
trap 'kill $wgpu_pid 2>/dev/null || true' EXIT
t0=$SECONDS
# --no-fail-fast: one failing test binary does not hide the others' results.
step cargo test --workspace --features cuda --no-fail-fast -- --skip lavapipe::
wgpu_rc=0
wait $wgpu_pid || wgpu_rc=$?
trap - EXIT
cat "$wgpu_log"
echo "test.sh: the wgpu tests ended $((SECONDS - t0)) s after the suite started (exit $wgpu_rc)" >&2
[ $wgpu_rc = 0 ] || { echo "error: the wgpu tests failed (exit $wgpu_rc)" >&2; exit 1; }
# clippy also type-checks the build without the cuda feature (a library
# user's default).
step cargo clippy --workspace --all-targets -- -D warnings
