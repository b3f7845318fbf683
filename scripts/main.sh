#!/usr/bin/env bash
# The main job, end to end on real data: set up, curate the NEON aerial
# imagery of the deepforest wheel (PyPI) into chips, pre-train a small
# SelectiveMAE on them, fine-tune a tree-crown detector from it (train: the
# YELL and SOAP scenes; held out: OSBS_029), export the detector to ONNX with
# its model card (verified on tract and ONNX Runtime), and run smae-infer on
# the georeferenced NEON scene OSBS_029.tif: crowns as GeoJSON in its CRS
# (EPSG:32617) and a PNG overlay.
#
#   SMAE_EPOCHS      pre-training epochs (default 40; 120 fine-tuned worse here)
#   SMAE_DET_EPOCHS  detector fine-tuning epochs (default 3)
#   SMAE_MODEL       encoder size (default vit-tiny)
#   SMAE_DEVICE      cpu (default) or cuda[:N]
# A second run reuses the data, the build and every finished step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The build the tests use (scripts/test.sh), so the two commands share one
# compilation: the dev profile with every dependency (Burn, tract, codecs)
# fully optimised, and the cuda feature, which needs no CUDA toolkit here
# (the driver is loaded at run time, API pinned to 13.0) and runs on the
# CPU unless SMAE_DEVICE asks for a GPU.
export CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}
cargo build --quiet --workspace --features cuda --bins
bin=target/debug
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"
# shellcheck source=scripts/neon_data.sh
. scripts/neon_data.sh

model=${SMAE_MODEL:-vit-tiny}
epochs=${SMAE_EPOCHS:-40}
det_epochs=${SMAE_DET_EPOCHS:-3}
device=${SMAE_DEVICE:-cpu}
wheel=data/deepforest

# 1. Curate the wheel's imagery into 256 px chips, holding out the OSBS_029
#    scene (the evaluation image) and anything near-duplicate to it.
neon_chips "$bin"

# 2. Pre-train SelectiveMAE. On a corpus this small the paper's per-patch
#    normalised target teaches the encoder nothing the detector can use
#    (fine-tuning from it is worse than from scratch); reconstructing the
#    pixels themselves keeps colour and brightness and transfers
#    (BENCHMARKS.md, Fine-tuning).
pre=runs/neon-selective-pix-$model-e$epochs
if [ -f "$pre/config.json" ]; then
  "$bin/smae-train" pretrain --output "$pre" --resume --quiet
else
  "$bin/smae-train" pretrain --data data/neon-chips --output "$pre" --method selective \
    --model "$model" --img-size 64 --patch-size 8 \
    --decoder-dim 256 --decoder-depth 4 --decoder-heads 8 \
    --epochs "$epochs" --batch-size 16 --lr 1e-3 --warmup-epochs 3 --no-norm-pix \
    --device "$device" --log-every 10 --quiet
fi
"$bin/smae-train" explain --image $wheel/OSBS_029.png --run "$pre" --epoch-fraction 0.5 --output "$pre/explain"

# 3. Fine-tune the tree-crown detector (DeepForest's VOC boxes), evaluated
#    on the held-out OSBS_029 scene: 192 px windows (0.1 m) seen at 96 px,
#    which the exported card records so smae-infer reads at the same scale.
crown_sets
det=runs/neon-crowns-pix-$model-e$epochs-d$det_epochs
if [ -f "$det/metrics.json" ]; then
  :
elif [ -f "$det/config.json" ]; then
  "$bin/smae-train" finetune --task detect --output "$det" --resume --quiet
else
  "$bin/smae-train" finetune --task detect --data data/crowns/train --val-data data/crowns/val \
    --init "$pre" --output "$det" --merge-classes Tree --img-size 96 --tile 192 \
    --epochs "$det_epochs" --batch-size 8 --lr 5e-4 --channels 64 --device "$device" --quiet
fi

# 4. Export with the model card (0.1 m NEON imagery), verified against Burn.
onnx=$det/crowns.onnx
if [ ! -f "$onnx" ] || [ "$det/metrics.json" -nt "$onnx" ]; then
  "$bin/smae-export" --run "$det" --output "$onnx" --gsd 0.1 --verify \
    --verify-image $wheel/OSBS_029.tif
fi

# 5. Tiled inference on the georeferenced scene.
out=runs/neon-crowns-OSBS_029
mkdir -p "$out"
"$bin/smae-infer" run --model "$onnx" --input $wheel/OSBS_029.tif \
  --output "$out/crowns.geojson" --overlay "$out/crowns.png" --quiet --json > "$out/report.json"

echo
echo "pre-training run:  $pre (loss: $(python3 - "$pre/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{rows[0]['loss']:.3f} at step {rows[0]['step']} -> {rows[-1]['loss']:.3f} at step {rows[-1]['step']}")
PY
))"
echo "selection picture: $pre/explain/selection.png"
echo "detector run:      $det (metrics.json)"
echo "model:             $onnx ($bin/smae-infer info --model $onnx)"
echo "crowns:            $out/crowns.geojson (EPSG:32617), overlay $out/crowns.png"
python3 - "$det/metrics.json" "$out/report.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
r = json.load(open(sys.argv[2]))
print(f"held-out OSBS_029 mAP50: {m['map50']:.4f}   crowns found by smae-infer: {r['detections']} "
      f"({r['tiles']} tiles on {r['engine']} in {r['seconds']:.1f} s)")
PY
