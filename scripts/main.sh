#!/usr/bin/env bash
# The main job: set up, curate the NEON aerial imagery of the deepforest
# wheel (PyPI) into chips, pre-train a small SelectiveMAE on them, then
# explain what it selects.
#
#   SMAE_EPOCHS   pre-training epochs (default 40; more is better)
#   SMAE_MODEL    encoder size (default vit-tiny)
#   SMAE_DEVICE   cpu (default) or cuda[:N] with a --features cuda build
# A second run reuses the data, the build and a finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

features=()
case "${SMAE_DEVICE:-cpu}" in cuda*) features=(--features cuda) ;; esac
cargo build --release --quiet -p smae-train "${features[@]}"
bin=target/release/smae-train

# Curate the wheel's imagery into 256 px chips, holding out the OSBS_029
# scene (the evaluation image) and anything near-duplicate to it.
mkdir -p data/heldout
[ -e data/heldout/OSBS_029.tif ] || ln -s "$(realpath data/deepforest/OSBS_029.tif)" data/heldout/OSBS_029.tif
"$bin" curate --input neon=data/deepforest --license "neon=NEON AOP CC0; DeepForest MIT" \
  --output data/neon-chips --crop 256 --max-side 512 --exclude-near data/heldout --shard-size 500
images=data/neon-chips

epochs=${SMAE_EPOCHS:-40}
run=runs/neon-selective-${SMAE_MODEL:-vit-tiny}-e$epochs
if [ -f "$run/config.json" ]; then
  "$bin" pretrain --output "$run" --resume
else
  "$bin" pretrain --data "$images" --output "$run" --method selective \
    --model "${SMAE_MODEL:-vit-tiny}" --img-size 64 --patch-size 8 \
    --decoder-dim 256 --decoder-depth 4 --decoder-heads 8 \
    --epochs "$epochs" --batch-size 16 --lr 1e-3 --warmup-epochs 3 \
    --device "${SMAE_DEVICE:-cpu}" --log-every 10
fi

"$bin" explain --image data/deepforest/OSBS_029.png --run "$run" --epoch-fraction 0.5 --output "$run/explain"
echo
echo "run directory: $run (config.json, log.jsonl, checkpoint/model.safetensors)"
echo "selection picture: $run/explain/selection.png"
python3 - "$run/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"loss: {rows[0]['loss']:.3f} at step {rows[0]['step']} -> {rows[-1]['loss']:.3f} at step {rows[-1]['step']}")
PY
