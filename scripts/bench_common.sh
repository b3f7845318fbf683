# Shared by the inference benchmarks (scripts/bench_infer.sh, bench_seg_int8.sh,
# scripts/bench_tract.sh); source it from the repository root. It sets up,
# builds smae-infer (release, with its tract profiler) and the trainer and
# exporter as scripts/test.sh builds them (one build of Burn), and defines
# the benchmark models and scenes.
scripts/setup.sh >/dev/null
cargo build --quiet --release -p smae-infer --bins --example tract_profile
CUDARC_CUDA_VERSION=13000 cargo build --quiet --workspace --features cuda --bins
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"
work=${SMAE_BENCH_DIR:-target/bench-infer}
mkdir -p "$work"
py=.venv/bin/python
infer=target/release/smae-infer
data=${SMAE_TEST_DATA:-tests/data}

# seg_model: $work/seg.onnx, a segmentation model (vit-tiny, patch 16,
# 224 px, UperNet 64 channels, 2 classes) after one step on random images:
# the architecture matters here, not training.
seg_model() {
  [ -f "$work/seg.onnx" ] && return
  "$py" - "$work/segdata" <<'PY'
import os, sys
import numpy as np, rasterio
out = sys.argv[1]
os.makedirs(f"{out}/images", exist_ok=True); os.makedirs(f"{out}/masks", exist_ok=True)
rng = np.random.default_rng(0)
for i in range(2):
    img = rng.integers(0, 255, (3, 224, 224), dtype=np.uint8)
    with rasterio.open(f"{out}/images/{i}.png", "w", driver="PNG", width=224, height=224, count=3, dtype="uint8") as d:
        d.write(img)
    with rasterio.open(f"{out}/masks/{i}.png", "w", driver="PNG", width=224, height=224, count=1, dtype="uint8") as d:
        d.write((img[:1] > 127).astype(np.uint8))
PY
  rm -rf "$work/segrun"
  target/debug/smae-train finetune --task segment --data "$work/segdata" --output "$work/segrun" --init none \
    --model vit-tiny --img-size 224 --patch-size 16 --classes other,bright --channels 64 \
    --batch-size 2 --stop-after-steps 1 --quiet
  target/debug/smae-export --run "$work/segrun" --output "$work/seg.onnx" >/dev/null
}

# det_model: $work/det.onnx, the main job's tree-crown detector architecture
# (scripts/main.sh: vit-tiny, 96 px input for 192 px windows at 0.1 m,
# FCOS 64 channels) after one step on the crown scenes.
det_model() {
  [ -f "$work/det.onnx" ] && return
  . scripts/neon_data.sh
  crown_sets
  rm -rf "$work/detrun"
  target/debug/smae-train finetune --task detect --data data/crowns/train --output "$work/detrun" \
    --init none --model vit-tiny --merge-classes Tree --img-size 96 --tile 192 --batch-size 2 \
    --channels 64 --stop-after-steps 1 --quiet
  target/debug/smae-export --run "$work/detrun" --output "$work/det.onnx" --gsd 0.1 >/dev/null
}

# mosaic SIDE OUT: a SIDE x SIDE GDAL VRT tiling the aerial scene test_tiled.tif.
mosaic() {
  "$py" - "$data/deepforest/test_tiled.tif" "$1" "$2" <<'PY'
import sys
from xml.sax.saxutils import escape
import rasterio
src, side, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with rasterio.open(src) as s:
    w, h, t, crs = s.width, s.height, s.transform, s.crs.to_wkt()
bands = []
for b in (1, 2, 3):
    srcs = []
    for y in range(0, side, h):
        for x in range(0, side, w):
            cw, ch = min(w, side - x), min(h, side - y)
            srcs.append(f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(src)}</SourceFilename>'
                        f'<SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{cw}" ySize="{ch}"/>'
                        f'<DstRect xOff="{x}" yOff="{y}" xSize="{cw}" ySize="{ch}"/></SimpleSource>')
    bands.append(f'<VRTRasterBand dataType="Byte" band="{b}">{"".join(srcs)}</VRTRasterBand>')
gt = f"{t.c}, {t.a}, {t.b}, {t.f}, {t.d}, {t.e}"
open(out, "w").write(f'<VRTDataset rasterXSize="{side}" rasterYSize="{side}"><SRS>{escape(crs)}</SRS>'
                     f'<GeoTransform>{gt}</GeoTransform>{"".join(bands)}</VRTDataset>')
PY
}

# summary: one JSON line from smae-infer's --json report on stdin.
summary() {
  "$py" -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"engine": r["engine"], "seconds": round(r["seconds"],3), "width": r["width"], "height": r["height"], "tiles": r["tiles"], "megapixels_per_s": round(r["width"]*r["height"]/r["seconds"]/1e6, 4)}))'
}
