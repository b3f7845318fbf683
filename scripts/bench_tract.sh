#!/usr/bin/env bash
# tract against ONNX Runtime at equal threads (figures for BENCHMARKS.md):
#
# 1. scenes: the 2048 x 2048 drone GeoTIFF (0.1 m) through smae-infer with
#    the segmentation bench model (vit-tiny UperNet, 224 px tiles) and the
#    main job's tree-crown detector architecture (vit-tiny FCOS, 192 px
#    windows at 96 px), batches of 1 and 4 tiles, on 1 and 2 threads on
#    both runtimes: one JSON line per run (best of SMAE_BENCH_REPEATS kept),
#    then a table of tract / ONNX Runtime at equal threads, at equal batch
#    and at each runtime's faster batch;
# 2. profile: where one tile's time goes per op, 1 thread, on tract
#    (infer/examples/tract_profile.rs) and ONNX Runtime
#    (scripts/profile_ort.py), for both models.
#
#   SMAE_BENCH_DIR      work folder (default target/bench-infer)
#   SMAE_BENCH_REPEATS  runs per configuration, the fastest kept (default 2)
#   SMAE_BENCH_THREADS  thread counts (default "1 2")
#   SMAE_BENCH_BATCHES  batch sizes (default "1 4")
#   SMAE_BENCH_PARTS    which parts to run (default "scenes profile")
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_common.sh
. scripts/bench_common.sh
seg_model
det_model
scene=${SMAE_BENCH_SCENE:-$data/deepforest/5b90f92da0d7280005fab355_4310.tif}
repeats=${SMAE_BENCH_REPEATS:-2}
parts=${SMAE_BENCH_PARTS:-scenes profile}

if [[ $parts == *scenes* ]]; then
  runs=$work/tract-runs.jsonl
  : > "$runs"
  for model in seg det; do
    ext=tif
    [ $model = det ] && ext=geojson
    for threads in ${SMAE_BENCH_THREADS:-1 2}; do
      for batch in ${SMAE_BENCH_BATCHES:-1 4}; do
        for backend in ort tract; do
          for _ in $(seq "$repeats"); do
            "$infer" run --model "$work/$model.onnx" --input "$scene" --output "$work/tract-bench-$model-$backend.$ext" \
              --backend $backend --threads "$threads" --batch "$batch" --quiet --json | summary |
              "$py" -c 'import json,sys; r=json.loads(sys.stdin.read()); r.update(model=sys.argv[1], threads=int(sys.argv[2]), batch=int(sys.argv[3])); print(json.dumps(r))' \
                $model "$threads" "$batch" | tee -a "$runs"
          done
        done
      done
    done
  done
  "$py" - "$runs" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:
    k = (r["model"], r["threads"], r["batch"], "tract" if r["engine"] == "tract" else "ort")
    if k not in best or r["seconds"] < best[k]["seconds"]:
        best[k] = r
print("\n| model | threads | batch | ONNX Runtime s (MP/s) | tract s (MP/s) | tract / ONNX Runtime |\n|---|---|---|---|---|---|")
fmt = lambda r: f"{r['seconds']:.3f} ({r['megapixels_per_s']})"
for model, threads in sorted({(k[0], k[1]) for k in best}):
    batches = sorted({k[2] for k in best if k[:2] == (model, threads)})
    for b in batches:
        o, t = best.get((model, threads, b, "ort")), best.get((model, threads, b, "tract"))
        if o and t:
            print(f"| {model} | {threads} | {b} | {fmt(o)} | {fmt(t)} | {o['seconds'] / t['seconds']:.2f}x |")
    o = min((best[(model, threads, b, "ort")] for b in batches if (model, threads, b, "ort") in best), key=lambda r: r["seconds"])
    t = min((best[(model, threads, b, "tract")] for b in batches if (model, threads, b, "tract") in best), key=lambda r: r["seconds"])
    print(f"| {model} | {threads} | best: {o['batch']} / {t['batch']} | {fmt(o)} | {fmt(t)} | {o['seconds'] / t['seconds']:.2f}x |")
PY
fi

if [[ $parts == *profile* ]]; then
  for spec in "seg 224" "det 96"; do
    set -- $spec
    target/release/examples/tract_profile "$work/$1.onnx" --size "$2" --runs 5
    echo
    "$py" scripts/profile_ort.py "$work/$1.onnx" --size "$2" --runs 5 --threads 1
    echo
  done
fi
