#!/usr/bin/env bash
# The int8 / f16 segmenter against ground truth on unseen ground: a crown
# segmenter (vit-tiny from scratch, UperNet 64 channels, 64 px tiles at
# 0.1 m) is fine-tuned on the tiles of OSBS_029's west half only, exported
# as f32, f16 and int8, run on the whole scene by smae-infer on ONNX Runtime
# and on tract, and each class map is scored against the scene's crown mask
# on the east half (mIoU over crown / other, and pixel accuracy). Prints one
# Markdown table row per weights format; the figures go to BENCHMARKS.md.
#   scripts/bench_seg_int8.sh            (SMAE_SEG_EPOCHS, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_common.sh
. scripts/bench_common.sh
CUDARC_CUDA_VERSION=13000 cargo build --quiet --workspace --features cuda --example neon_tasks
epochs=${SMAE_SEG_EPOCHS:-30}
dir=$work/seg-int8
rm -rf "$dir" && mkdir -p "$dir"
target/debug/examples/neon_tasks "$dir/tasks"
target/debug/smae-train finetune --task segment --data "$dir/tasks/seg-west" --output "$dir/run" \
  --init none --model vit-tiny --patch-size 8 --classes other,crown --img-size 64 \
  --epochs "$epochs" --batch-size 8 --lr 5e-4 --channels 64 --seed 0 --quiet
scene=$data/deepforest/OSBS_029.tif
echo "| weights | file (bytes) | parity vs Burn (rel) | east-half mIoU, ORT / tract | east-half pixel accuracy, ORT / tract | agreement with f32, ORT / tract | ORT s | tract s |"
echo "|---|---|---|---|---|---|---|---|"
for w in f32 f16 int8; do
  flag=()
  [ "$w" = f16 ] && flag=(--fp16)
  [ "$w" = int8 ] && flag=(--int8)
  model=$dir/seg-$w.onnx
  target/debug/smae-export --run "$dir/run" --output "$model" --gsd 0.1 --verify \
    --verify-image "$scene" "${flag[@]}" --json >"$dir/verify-$w.json"
  for rt in ort tract; do
    t0=$(date +%s.%N)
    $infer run --model "$model" --input "$scene" --output "$dir/map-$w-$rt.tif" \
      --backend "$rt" --threads 2 --quiet
    t1=$(date +%s.%N)
    "$py" -c "print($t1 - $t0)" >"$dir/seconds-$w-$rt"
  done
  "$py" - "$dir" "$w" "$model" <<'PY'
import json, os, sys
import numpy as np, rasterio
from PIL import Image
d, w, model = sys.argv[1:]
truth = np.array(Image.open(f"{d}/tasks/scene/crowns.png"))
east = np.zeros(truth.shape, bool)
east[:, truth.shape[1] // 2:] = True
def score(rt):
    with rasterio.open(f"{d}/map-{w}-{rt}.tif") as s:
        cls = s.read(1)
        nodata = s.nodata
    valid = east & (cls != nodata) if nodata is not None else east
    ious = []
    for c in (0, 1):
        p, t = (cls == c) & valid, (truth == c) & valid
        ious.append((p & t).sum() / max((p | t).sum(), 1))
    acc = (cls[valid] == truth[valid]).mean()
    with rasterio.open(f"{d}/map-f32-{rt}.tif") as s:
        ref = s.read(1)
    return float(np.mean(ious)), float(acc), float((cls[valid] == ref[valid]).mean())
(m_o, a_o, g_o), (m_t, a_t, g_t) = score("ort"), score("tract")
v = json.load(open(f"{d}/verify-{w}.json"))
worst = max(p["max_rel"] for p in v["parity"])
sec = lambda rt: float(open(f"{d}/seconds-{w}-{rt}").read())
print(f"| {w} | {os.path.getsize(model):,} | {worst:.1e} | {m_o:.4f} / {m_t:.4f} | {a_o:.4f} / {a_t:.4f} "
      f"| {g_o:.5f} / {g_t:.5f} | {sec('ort'):.3f} | {sec('tract'):.3f} |")
PY
done
echo "validation mIoU of the Burn model (west half, its own 20%): $("$py" -c "import json; print(round(json.load(open('$dir/run/metrics.json'))['metrics']['miou'], 4))")"
