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
# shellcheck source=scripts/bench_common.sh
. scripts/bench_common.sh
scene=${SMAE_BENCH_SCENE:-$data/deepforest/5b90f92da0d7280005fab355_4310.tif}
seg_model

parts=${SMAE_BENCH_PARTS:-throughput memory many remote}

# 1. Throughput on the same model and scene.
if [[ $parts == *throughput* ]]; then
for backend in ort tract; do
  "$infer" run --model "$work/seg.onnx" --input "$scene" --output "$work/smae-$backend.tif" \
    --backend $backend --threads 2 --batch 4 --quiet --json | summary
done
"$py" -W ignore scripts/infer_reference.py --model "$work/seg.onnx" --input "$scene" --output "$work/python.tif" \
  --threads 2 --batch 4 --compare "$work/smae-ort.tif"
fi

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
