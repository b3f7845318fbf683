#!/usr/bin/env bash
# Pre-training across MPI ranks on this machine: images/s of one process
# against two ranks with the same global batch (the main job's SelectiveMAE
# on NEON chips, CPU backend), and the time of one gradient all-reduce over
# MPI for vit-tiny and vit-base SelectiveMAE gradients. On a 2-core machine
# both ranks share the cores: the figures show the overhead, not a speed-up.
#
#   scripts/bench_mpi.sh            (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo build --quiet -p smae-train --features mpi --bin smae-train --example allreduce
bin=target/debug/smae-train
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" curate --input neon=data/deepforest --output "$work/chips" --crop 256 --max-side 512 \
  --shard-size 500 --quiet > /dev/null
common=(pretrain --data "$work/chips" --method selective --model vit-tiny --img-size 64 --patch-size 8
  --decoder-dim 256 --decoder-depth 4 --decoder-heads 8 --epochs 2 --lr 1e-3 --warmup-epochs 1
  --no-norm-pix --device cpu --log-every 5 --quiet --seed 0)
rate() { # images/s over the run, from rank 0's log (all logged windows after the first)
  python3 - "$1/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tail = rows[1:] or rows
print(f'{sum(r["images_per_s"] for r in tail) / len(tail):.2f} images/s over {rows[-1]["step"]} steps')
PY
}
"$bin" "${common[@]}" --output "$work/one" --batch-size 16
echo "1 process, batch 16: $(rate "$work/one")"
mpirun -np 2 --oversubscribe --bind-to none "$bin" "${common[@]}" --output "$work/two" --batch-size 8
echo "2 ranks x batch 8:   $(rate "$work/two")"
mpirun -np 2 --oversubscribe --bind-to none target/debug/examples/allreduce
