#!/usr/bin/env bash
# The embedded path on 64-bit Arm (aarch64: Raspberry Pi 4/5, Jetson and
# Graviton CPUs): cross-builds smae-infer's pure-Rust runtime (tract, no
# ONNX Runtime, no GDAL: the library and its tract_profile example) for
# aarch64-unknown-linux-gnu, runs the example under qemu-user on a model,
# and prints its outputs next to the x86-64 build's. The smae-infer command
# itself also needs GDAL built for the target (Debian: libgdal-dev:arm64
# through multiarch, and PKG_CONFIG_SYSROOT_DIR / PKG_CONFIG_PATH pointing
# at it), which this script does not install.
#
#   scripts/cross_aarch64.sh MODEL.onnx SIZE      e.g. target/bench-infer/det.onnx 96
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
size=$2
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
rustup target add aarch64-unknown-linux-gnu
target=aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
cargo build --quiet --release --target $target -p smae-infer --no-default-features --features tract \
  --example tract_profile
cargo build --quiet --release -p smae-infer --example tract_profile
arm=target/$target/release/examples/tract_profile
file "$arm"
ls -l "$arm"
echo "== aarch64 (qemu-user)"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm" "$model" --size "$size" --runs 1 --top 0 | sed -n '/| output/,$p'
echo "== x86-64"
target/release/examples/tract_profile "$model" --size "$size" --runs 1 --top 0 | sed -n '/| output/,$p'
