#!/usr/bin/env bash
# The main job: set up, pre-train a small SelectiveMAE on real NEON aerial
# imagery (from the deepforest wheel on PyPI), then explain what it selects.
#
#   SMAE_EPOCHS   pre-training epochs (default 300; more is better)
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

images=data/pretrain-images
mkdir -p "$images"
for f in data/deepforest/*.png data/deepforest/*.JPG; do
  [ -e "$images/$(basename "$f")" ] || ln -s "$(realpath "$f")" "$images/$(basename "$f")"
done

epochs=${SMAE_EPOCHS:-300}
run=runs/neon-selective-${SMAE_MODEL:-vit-tiny}-e$epochs
if [ -f "$run/config.json" ]; then
  "$bin" pretrain --output "$run" --resume
else
  "$bin" pretrain --data "$images" --output "$run" --method selective \
    --model "${SMAE_MODEL:-vit-tiny}" --img-size 64 --patch-size 8 \
    --decoder-dim 256 --decoder-depth 4 --decoder-heads 8 \
    --epochs "$epochs" --batch-size 6 --lr 1e-3 --warmup-epochs 10 \
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
