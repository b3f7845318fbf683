#!/usr/bin/env bash
# Inference benchmarks (figures for BENCHMARKS.md):
#
# 1. throughput: one exported smae segmentation model (vit-tiny, patch 16,
#    224 px, UperNet 64 channels) on one real scene, through smae-infer on
#    ONNX Runtime and on tract, and through the Python reference loop
#    (scripts/infer_reference.py: rasterio + onnxruntime); megapixels/s and
#    the agreement of the class maps;
# 2. memory: peak RSS of smae-infer on 10,000^2, 20,000^2 and 40,000^2
#    scenes (GDAL VRT mosaics of a real scene) with a 512 px per-pixel model,
#    so the figure is the pipeline's own memory;
# 3. many scenes: one `smae-infer run` over 12 small scenes against 12 runs
#    of one scene each (the model loaded once against 12 times);
# 4. remote: peak RSS and bytes fetched of a run on a 20,000^2 COG (the
#    mosaic of 2. written by gdal_translate) served over HTTP with range
#    requests on 127.0.0.1 (infer/tests/range_server.py) and read through
#    /vsicurl/, against the same COG read from disk.
#
#   SMAE_BENCH_SCENE  the throughput scene (default: the 2048 px drone GeoTIFF of tests/data)
#   SMAE_BENCH_SIZES  scene sides for the memory runs (default "10000 20000 40000")
#   SMAE_BENCH_DIR    work folder (default target/bench-infer)
#   SMAE_BENCH_REMOTE_SIDE  the remote COG's side (default 20000)
#   SMAE_BENCH_PARTS  which parts to run (default "throughput memory many remote")
# Prints one JSON line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check rasterio==1.4.3
cargo build --quiet --release -p smae-infer
# the trainer and exporter as scripts/test.sh builds them (one build of Burn)
CUDARC_CUDA_VERSION=13000 cargo build --quiet --workspace --features cuda --bins
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"
work=${SMAE_BENCH_DIR:-target/bench-infer}
mkdir -p "$work"
py=.venv/bin/python
infer=target/release/smae-infer
data=${SMAE_TEST_DATA:-tests/data}
scene=${SMAE_BENCH_SCENE:-$data/deepforest/5b90f92da0d7280005fab355_4310.tif}

# A segmentation run to export: the architecture matters here, not training.
if [ ! -f "$work/seg.onnx" ]; then
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
fi

parts=${SMAE_BENCH_PARTS:-throughput memory many remote}

# 1. Throughput on the same model and scene.
if [[ $parts == *throughput* ]]; then
for backend in ort tract; do
  "$infer" run --model "$work/seg.onnx" --input "$scene" --output "$work/smae-$backend.tif" \
    --backend $backend --threads 2 --batch 4 --quiet --json |
    "$py" -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"engine": r["engine"], "seconds": round(r["seconds"],3), "width": r["width"], "height": r["height"], "tiles": r["tiles"], "megapixels_per_s": round(r["width"]*r["height"]/r["seconds"]/1e6, 4)}))'
done
"$py" -W ignore scripts/infer_reference.py --model "$work/seg.onnx" --input "$scene" --output "$work/python.tif" \
  --threads 2 --batch 4 --compare "$work/smae-ort.tif"
fi

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

# 2. Peak memory against scene size.
if [[ $parts == *memory* || $parts == *remote* ]]; then
  "$py" infer/tests/fixtures/make_models.py --size 512 --out "$work"
fi
if [[ $parts == *memory* ]]; then
for side in ${SMAE_BENCH_SIZES:-10000 20000 40000}; do
  mosaic "$side" "$work/mosaic-$side.vrt"
  /usr/bin/time -f '%M %e' -o "$work/time-$side.txt" "$infer" run --model "$work/pointwise_segment.onnx" \
    --input "$work/mosaic-$side.vrt" --output "$work/mosaic-$side.tif" --backend ort --threads 2 --batch 2 --quiet
  read -r kb secs < "$work/time-$side.txt"
  echo "{\"scene\": \"${side}x${side}\", \"tile\": 512, \"peak_rss_bytes\": $((kb * 1024)), \"seconds\": $secs, \"megapixels_per_s\": $("$py" -c "print(round($side*$side/$secs/1e6, 3))")}"
  rm -f "$work/mosaic-$side.tif"
done
fi

# 3. Many scenes in one run against one run per scene.
if [[ $parts == *many* ]]; then
  rm -rf "$work/many-in" "$work/many-out" "$work/one-out"
  mkdir -p "$work/many-in" "$work/one-out"
  for s in deepforest/OSBS_029 rasterio/RGB.byte rasterio/cogeo deepforest/test_tiled; do
    for k in 1 2 3; do
      ln -s "$(realpath "$data/$s.tif")" "$work/many-in/$(basename "$s")-$k.tif"
    done
  done
  t0=$(date +%s.%N)
  "$infer" run --model "$work/seg.onnx" --input "$work"/many-in/*.tif --output-dir "$work/many-out" \
    --backend ort --threads 2 --batch 4 --quiet --json > "$work/many.json"
  t1=$(date +%s.%N)
  for f in "$work"/many-in/*.tif; do
    "$infer" run --model "$work/seg.onnx" --input "$f" --output "$work/one-out/$(basename "$f")" \
      --backend ort --threads 2 --batch 4 --quiet
  done
  t2=$(date +%s.%N)
  "$py" - "$work/many.json" "$t0" "$t1" "$t2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t0, t1, t2 = map(float, sys.argv[2:])
scenes = s["scenes"]
mp = sum(x["report"]["width"] * x["report"]["height"] for x in scenes) / 1e6
print(json.dumps({"scenes": len(scenes), "megapixels": round(mp, 2),
                  "tiles": sum(x["report"]["tiles"] for x in scenes),
                  "one_run_s": round(t1 - t0, 2), "one_by_one_s": round(t2 - t1, 2),
                  "speedup": round((t2 - t1) / (t1 - t0), 2),
                  "scene_seconds_in_one_run": round(sum(x["seconds"] for x in scenes), 2)}))
PY
fi

# 4. A remote COG against the same COG on disk.
if [[ $parts == *remote* ]]; then
  side=${SMAE_BENCH_REMOTE_SIDE:-20000}
  cog=$work/remote/mosaic-$side.tif
  if [ ! -f "$cog" ]; then
    mkdir -p "$work/remote"
    mosaic "$side" "$work/remote/mosaic-$side.vrt"
    gdal_translate -q -of COG -co COMPRESS=JPEG -co BLOCKSIZE=512 -co NUM_THREADS=ALL_CPUS \
      "$work/remote/mosaic-$side.vrt" "$cog.part"
    mv "$cog.part" "$cog"
  fi
  size=$(stat -c %s "$cog")
  rm -f "$work/server.port"
  python3 infer/tests/range_server.py "$work/remote" > "$work/server.port" &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  while [ ! -s "$work/server.port" ]; do sleep 0.1; done
  port=$(cat "$work/server.port")
  for where in remote local; do
    input=$cog
    [ $where = remote ] && input=/vsicurl/http://127.0.0.1:$port/$(basename "$cog")
    curl -s "http://127.0.0.1:$port/__bytes" >/dev/null
    /usr/bin/time -f '%M %e' -o "$work/time-$where.txt" "$infer" run --model "$work/pointwise_segment.onnx" \
      --input "$input" --output "$work/remote-$where-out.tif" --backend ort --threads 2 --batch 2 --quiet
    fetched=$(curl -s "http://127.0.0.1:$port/__bytes")
    read -r kb secs < "$work/time-$where.txt"
    echo "{\"read\": \"$where\", \"scene\": \"${side}x${side}\", \"cog_bytes\": $size, \"bytes_fetched\": $fetched, \"peak_rss_bytes\": $((kb * 1024)), \"seconds\": $secs}"
  done
  cmp -s <(gdalinfo -checksum "$work/remote-remote-out.tif" | grep Checksum) \
    <(gdalinfo -checksum "$work/remote-local-out.tif" | grep Checksum) \
    && echo '{"remote_and_local_class_maps": "same checksums"}' \
    || echo '{"remote_and_local_class_maps": "DIFFER"}'
  rm -f "$work"/remote-*-out.tif
fi
