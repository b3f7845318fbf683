#!/usr/bin/env bash
# The one-shot GPU check: everything a GPU machine needs to measure and
# verify smae's CUDA path in one run, in two halves.
#
#   scripts/gpu_check.sh pack [DIR]   here (Rust, network): build the CUDA
#       binaries (stripped), curate a few real shards, export an ONNX model,
#       and put them with this script in DIR (default target/gpu-check);
#       SMAE_GPU_BIN_ONLY=1 packs the binaries alone. DIR.tar.xz holds the
#       binaries and this script (about 30 MB; unpack, then run).
#   DIR/gpu_check.sh run [DIR]        on the GPU machine (NVIDIA driver,
#       CUDA 13, Python with onnxruntime; no Rust, no network): prints one
#       markdown table and writes every raw JSON line to DIR/out (or $OUT).
#       Without shards and a model in DIR (binaries-only pack), it makes
#       them first from the repository's tests/data, run from its root.
#
# What `run` measures, per GPU (all of them when there are several):
#   1. step-only images/s and peak device memory of SelectiveMAE and MAE,
#      vit-base, 224 px, batch 256 (SMAE_GPU_BATCH), and the HOG + selection
#      share of the SelectiveMAE step;
#   2. end-to-end images/s (loader, decoding, augmentation, upload, logging)
#      of real pre-training on the curated shards;
#   3. data parallel over every GPU of the machine (--device cuda:0,1,...),
#      and over MPI ranks (one GPU each, gradients through NCCL when
#      libnccl.so.2 is found, e.g. PyTorch's nvidia-nccl wheel) when mpirun
#      and libmpi are there: images/s, the NCCL all-reduce time and
#      bandwidth for vit-tiny and vit-base gradients, and the losses of a
#      short N-rank run against one GPU with the same global batch;
#   4. smae-infer (a classifier of the same encoder) on ONNX Runtime CUDA
#      and TensorRT against its CPU and tract, on a real scene, when the onnxruntime library found is a GPU build.
# Precision: step-only figures in f32 and, on the first GPU, with
# `--precision bf16` (bf16 matmuls and attention, f32 weights).
#
# Knobs (for a dry run on a machine without a GPU, e.g. with a debug build):
#   SMAE_GPU_BIN      take the three binaries from this folder instead of
#                     building them (e.g. target/debug after the test build)
#   SMAE_GPU_DEVICE   device prefix for run (default cuda; `cpu` for a dry run)
#   SMAE_GPU_MODEL SMAE_GPU_IMG SMAE_GPU_PATCH SMAE_GPU_BATCH SMAE_GPU_STEPS
#                     model, image side, patch, per-GPU batch, timed steps
#                     (default vit-base 224 16 256 10)
set -euo pipefail

# Shards and an exported model in DIR, made with DIR/bin from the
# repository's test rasters (and the NEON images of data/deepforest when
# set-up fetched them): `pack` calls it, and `run` when DIR has none (a GPU
# machine reached with only the binaries carried).
prepare() {
  local dir=$1
  mkdir -p "$dir/shards"
  # Real imagery: NEON chips (deepforest wheel) and the test rasters,
  # curated as users would, at two slicing offsets for more distinct crops.
  data=${SMAE_TEST_DATA:-tests/data}
  [ -d "$data/deepforest" ] || { echo "error: no test rasters in $data (run from the repository root or set SMAE_TEST_DATA)" >&2; exit 1; }
  neon=() && [ -d data/deepforest ] && neon=(--input neon=data/deepforest)
  for seed in 0 1 2; do
    "$dir/bin/smae-train" curate "${neon[@]}" --input test="$data" \
      --output "$dir/shards/s$seed" --crop 224 --max-side 320 --min-side 224 \
      --shard-size 1000 --seed "$seed" --quiet >/dev/null
  done
  # A scene and a model for smae-infer: a vit-base classifier (patch 16,
  # 224 px) fine-tuned one step on real images (the architecture matters here,
  # not the weights), exported with its card.
  cp "$data/deepforest/5b90f92da0d7280005fab355_4310.tif" "$dir/scene.tif"
  work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/cls/urban" "$work/cls/rural"
  cp "$data/derived/rd_new_800.jpg" "$data/derived/cogeo_1024.jpg" "$work/cls/urban/"
  cp "$data/derived/drone_1616x1565.jpg" "$data/sahi/boats.jpg" "$work/cls/rural/"
  "$dir/bin/smae-train" finetune --task classify --data "$work/cls" --output "$work/run" \
    --init none --model "${SMAE_GPU_MODEL:-vit-base}" --img-size "${SMAE_GPU_IMG:-224}" \
    --patch-size "${SMAE_GPU_PATCH:-16}" --batch-size 2 --stop-after-steps 1 --quiet
  "$dir/bin/smae-export" --run "$work/run" --output "$dir/model.onnx" >/dev/null
}

mode=${1:-}
case "$mode" in
pack)
  cd "$(dirname "$0")/.."
  dir=$(realpath -m "${2:-target/gpu-check}")
  bindir=${SMAE_GPU_BIN:-target/release}
  scripts/setup.sh >/dev/null
  if [ -z "${SMAE_GPU_BIN:-}" ]; then
    # The CUDA API is pinned to 13.0 (driver 580 or newer); the driver and
    # NVRTC are loaded at run time, so this builds without a CUDA toolkit.
    # The plain binary has no `mpi` feature (it links libmpi, which the GPU
    # machine may not have); smae-train-mpi and the all-reduce timer have it.
    export CUDARC_CUDA_VERSION=13000
    cargo build --quiet --release --features cuda,mpi -p smae-train --bin smae-train --example allreduce
    cp target/release/smae-train target/release/smae-train-mpi
    cp target/release/examples/allreduce target/release/allreduce
    cargo build --quiet --release --features cuda -p smae-train --bin smae-train
    cargo build --quiet --release -p smae-infer --features cuda --bin smae-infer
    cargo build --quiet --release -p smae-export --bin smae-export
  fi
  rm -rf "$dir" && mkdir -p "$dir/bin"
  for b in smae-train smae-infer smae-export smae-train-mpi allreduce; do
    if [ -f "$bindir/$b" ]; then cp "$bindir/$b" "$dir/bin/" && strip "$dir/bin/$b"; fi
  done
  cp scripts/gpu_check.sh "$dir/"
  # The binaries and this script in one archive for machines reached with a
  # size limit (xz: the stripped binaries shrink about 5x).
  tar -C "$(dirname "$dir")" -cf - "$(basename "$dir")/bin" "$(basename "$dir")/gpu_check.sh" \
    | xz -T0 -6 > "$dir.tar.xz"
  echo "binaries: $(du -cb "$dir"/bin/* | tail -1 | cut -f1) bytes stripped; $dir.tar.xz: $(stat -c %s "$dir.tar.xz") bytes" >&2
  [ -n "${SMAE_GPU_BIN_ONLY:-}" ] || prepare "$dir"
  echo "packed $(du -sh "$dir" | cut -f1) in $dir:" >&2
  du -sh "$dir"/bin/* >&2
  [ -n "${SMAE_GPU_BIN_ONLY:-}" ] || du -sh "$dir/shards" "$dir/model.onnx" >&2
  ;;

run)
  dir=$(realpath "${2:-$(dirname "$0")}")
  out=${OUT:-$dir/out}
  mkdir -p "$out"
  bin=$dir/bin
  [ -f "$dir/model.onnx" ] && [ -d "$dir/shards" ] || prepare "$dir"
  dev=${SMAE_GPU_DEVICE:-cuda}
  model=${SMAE_GPU_MODEL:-vit-base} img=${SMAE_GPU_IMG:-224} patch=${SMAE_GPU_PATCH:-16}
  batch=${SMAE_GPU_BATCH:-256} steps=${SMAE_GPU_STEPS:-10}
  shape=(--model "$model" --img-size "$img" --patch-size "$patch" --batch-size "$batch")
  table=$out/table.md
  row() { printf '| %s |\n' "$(IFS='|'; echo "$*" | sed 's/|/ | /g')" | tee -a "$table"; }
  field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d
for k in sys.argv[2].split("."): v=v.get(k) if isinstance(v,dict) else None
print("-" if v is None else (f"{v:.4g}" if isinstance(v,float) else v))' "$1" "$2"; }
  : > "$table"
  # Table rows from `bench` JSON lines: step_rows LABEL DEVICE FILE.
  step_rows() {
    while read -r line; do
      m=$(field "$line" method); [ "$m" = "-" ] && continue
      row "$1" "$2" "$m" "$(field "$line" images_per_s)" \
        "$(python3 -c "print(round($(field "$line" peak_bytes)/2**20))" 2>/dev/null || echo -)" \
        "$(field "$line" selection_share)" "$(field "$line" peak_kind)"
    done < "$3"
  }
  # CUDA libraries that come as pip packages (PyTorch's NCCL, onnxruntime-gpu's
  # cuDNN and cuBLAS), for NCCL and the ONNX Runtime CUDA provider.
  nv=$(python3 -c 'import glob, os, site; print(":".join(sorted(d for p in site.getsitepackages() for d in glob.glob(os.path.join(p, "nvidia", "*", "lib")))))' 2>/dev/null || true)
  export LD_LIBRARY_PATH=${nv:+$nv:}${LD_LIBRARY_PATH:-}

  if [ "$dev" = cuda ]; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv | tee "$out/gpus.csv"
    ngpu=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
    devices=$(seq -s, 0 $((ngpu - 1)))
  else
    ngpu=1 devices=""
  fi
  echo "# smae GPU check, $(date -u +%F) on $(hostname): $model, ${img} px, batch $batch per device" | tee -a "$table"
  row "what" "device" "method" "images/s" "peak MiB" "HOG+selection" "note"
  row "---" "---" "---" "---" "---" "---" "---"

  # 1. Step-only, each GPU alone.
  for ((g = 0; g < ngpu; g++)); do
    d=$dev && [ "$dev" = cuda ] && d=cuda:$g
    "$bin/smae-train" bench "${shape[@]}" --device "$d" --steps "$steps" --warmup 3 \
      > "$out/step-$g.jsonl" 2> "$out/step-$g.err" || echo '{"error":"failed"}' >> "$out/step-$g.jsonl"
    step_rows step "$d" "$out/step-$g.jsonl"
  done
  # bf16 matmuls and attention, first GPU.
  d=$dev && [ "$dev" = cuda ] && d=cuda:0
  "$bin/smae-train" bench "${shape[@]}" --device "$d" --steps "$steps" --warmup 3 --precision bf16 \
    > "$out/step-bf16.jsonl" 2> "$out/step-bf16.err" || echo '{"error":"failed"}' >> "$out/step-bf16.jsonl"
  step_rows "step bf16" "$d" "$out/step-bf16.jsonl"

  # 2. End to end on the curated shards (first GPU).
  d=$dev && [ "$dev" = cuda ] && d=cuda:0
  "$bin/smae-train" bench "${shape[@]}" --device "$d" --steps "$steps" --warmup 3 \
    --data "$dir/shards" > "$out/e2e.jsonl" 2> "$out/e2e.err" || true
  while read -r line; do
    m=$(field "$line" method); [ "$m" = "-" ] && continue
    row "end to end" "$d" "$m" "$(field "$line" images_per_s)" "-" "-" "loader included"
  done < "$out/e2e.jsonl"

  # 3. Data parallel over all GPUs of the machine, in process and over MPI.
  if [ "$ngpu" -gt 1 ]; then
    "$bin/smae-train" bench "${shape[@]}" --device "cuda:$devices" --steps "$steps" --warmup 3 \
      > "$out/dp.jsonl" 2> "$out/dp.err" || true
    while read -r line; do
      m=$(field "$line" method); [ "$m" = "-" ] && continue
      row "data parallel" "cuda:$devices" "$m" "$(field "$line" images_per_s)" "-" "-" "Burn collective, in process"
    done < "$out/dp.jsonl"
    mpibin=$bin/smae-train-mpi
    if command -v mpirun >/dev/null && [ -x "$mpibin" ] && ! ldd "$mpibin" | grep -q "not found"; then
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      mpirun -np "$ngpu" --bind-to none "$mpibin" pretrain --data "$dir/shards" \
        --output "$out/mpi-run" --method selective "${shape[@]}" --device cuda --epochs 1000 \
        --stop-after-steps $((steps + 3)) --log-every 1 --quiet > "$out/mpi.out" 2>&1 || true
      path=NCCL && grep -q "NCCL is not in use" "$out/mpi.out" && path="host MPI (no libnccl.so.2)"
      rate=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][3:]
print(f"{sum(x[\"images_per_s\"] for x in r)/len(r):.4g}" if r else "-")' "$out/mpi-run/log.jsonl" 2>/dev/null || echo -)
      row "MPI ranks" "$ngpu x cuda" "selective" "$rate" "-" "-" "gradients: $path"
      # The all-reduce alone: NCCL on the GPUs against MPI on host memory.
      for d in cuda cpu; do
        mpirun -np "$ngpu" --bind-to none "$bin/allreduce" --device "$d" > "$out/allreduce-$d.jsonl" 2> "$out/allreduce-$d.err" || true
        while read -r line; do
          row "all-reduce" "$ngpu x $d" "$(field "$line" model)" "$(field "$line" gb_per_s) GB/s" "-" "-" "$(field "$line" allreduce_ms) ms, $(field "$line" megabytes) MB, $(field "$line" path)"
        done < "$out/allreduce-$d.jsonl"
      done
      # Same global batch on one GPU and on N ranks: the losses must agree.
      small=(--model vit-tiny --img-size 64 --patch-size 8 --epochs 1000 --stop-after-steps 5 --log-every 1 --seed 7 --quiet)
      "$bin/smae-train" pretrain --data "$dir/shards" --output "$out/one-gpu" "${small[@]}" \
        --batch-size $((8 * ngpu)) --device cuda:0 > "$out/one-gpu.out" 2>&1 || true
      mpirun -np "$ngpu" --bind-to none "$mpibin" pretrain --data "$dir/shards" --output "$out/n-ranks" \
        "${small[@]}" --batch-size 8 --device cuda > "$out/n-ranks.out" 2>&1 || true
      verdict=$(python3 -c 'import json,sys
a,b=[[json.loads(l)["loss"] for l in open(f)] for f in sys.argv[1:]]
d=max(abs(x-y)/max(abs(x),1e-6) for x,y in zip(a,b)) if a and len(a)==len(b) else None
print("no result" if d is None else f"{len(a)} steps, max rel. loss diff {d:.2e}: " + ("agree" if d < 1e-3 else "DIFFER"))' "$out/one-gpu/log.jsonl" "$out/n-ranks/log.jsonl" 2>/dev/null || echo "no result")
      row "1 GPU vs $ngpu ranks" "cuda" "selective" "-" "-" "-" "vit-tiny 64 px, global batch $((8 * ngpu)): $verdict"
    else
      row "MPI ranks" "-" "-" "-" "-" "-" "needs mpirun and libmpi (bin/smae-train-mpi)"
    fi
  fi

  # 4. smae-infer: ONNX Runtime CUDA / TensorRT against CPU, and tract.
  lib=$(python3 -c 'import onnxruntime, glob, os; print((glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")) or [""])[0])' 2>/dev/null || true)
  export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$lib}
  providers=$(python3 -c 'import onnxruntime; print(",".join(onnxruntime.get_available_providers()))' 2>/dev/null || echo "")
  for run in "ort cpu" "tract cpu" "ort cuda" "ort tensorrt"; do
    set -- $run
    if [ "$2" = cuda ] && [[ $providers != *CUDAExecutionProvider* ]]; then
      row "infer" "$2" "$1" "-" "-" "-" "no CUDA provider in ${ORT_DYLIB_PATH:-the onnxruntime found (none importable by python3)}"; continue
    fi
    if [ "$2" = tensorrt ] && [[ $providers != *TensorrtExecutionProvider* ]]; then
      row "infer" "$2" "$1" "-" "-" "-" "no TensorRT provider"; continue
    fi
    if line=$("$bin/smae-infer" run --model "$dir/model.onnx" --input "$dir/scene.tif" \
      --output "$out/infer-$1-$2.tif" --backend "$1" --device "$2" --quiet --json 2> "$out/infer-$1-$2.err" | tail -1); then
      echo "$line" >> "$out/infer.jsonl"
      mps=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["width"]*d["height"]/d["seconds"]/1e6, 4))' "$line" 2>/dev/null || echo -)
      row "infer" "$2" "$1" "$mps MP/s" "-" "-" "$model classifier, 2048 px scene, $(field "$line" tiles) tiles"
    else
      row "infer" "$2" "$1" "-" "-" "-" "failed: $(head -c 200 "$out/infer-$1-$2.err" | tr '\n|' '  ')"
    fi
  done
  echo "raw JSON and logs: $out" >&2
  ;;

*)
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
