#!/usr/bin/env bash
# The method study (issue #18), one command: does SelectiveMAE reach MAE's
# downstream score in half of MAE's pre-training time, does HOG selection
# beat uniform, and what does InfoBatch change? On the main job's corpus (the
# deepforest wheel's NEON imagery curated into chips, OSBS_029 and its near
# duplicates held out) and its encoder (vit-tiny, 64 px, patch 8, pixel
# targets), it pre-trains
#
#   mae                     MAE for E epochs: its time T is the budget
#   {topk,uniform,sample}-e SelectiveMAE (hog-topk / uniform / hog-sample) for E epochs
#   {topk,uniform,sample}-t the same for MAE's time T (epochs scaled by the step times)
#   topk-half               hog-topk for T/2
#   topk-infobatch-e        hog-topk with --infobatch for E epochs
#
# then fine-tunes each (and scratch) on the downstream tasks per seed:
# tree-crown detection at the main job's setting (held-out OSBS_029, mAP50),
# and the canopy/open classification and crown segmentation sets cut from
# OSBS_029 (tests/src/lib.rs, the finetune_neon bench's settings).
#
# Time is measured, not assumed: `smae-train bench` on the real chips gives
# each method's seconds per step on this machine, before anything else runs;
# a run's pre-training time is its steps times that step (so that other work
# on the machine does not bend the comparison); its wall time is recorded too.
#
# Knobs (the defaults are the full study):
#   SMAE_STUDY_EPOCHS      MAE's pre-training epochs E (default 40, the main job's)
#   SMAE_STUDY_SEEDS       fine-tuning seeds (default 0,1,2,3,4)
#   SMAE_STUDY_TASKS       detect,classify,segment (default all three); none: pre-train only;
#                          detect-val: the detector on a validation split of its training
#                          scenes (YELL -> SOAP_061, neon_data.sh), for choosing a recipe
#                          without OSBS_029
#   SMAE_STUDY_VARIANTS    a subset of the runs above, plus scratch (default all)
#   SMAE_STUDY_DET_EPOCHS  detector fine-tuning epochs (default 3, the main job's)
#   SMAE_STUDY_BENCH_ROUNDS  rounds of the step-time bench (default 5; median per method)
#   SMAE_STUDY_PRETRAIN_SEED  the pre-training seed (default 0); another seed's runs
#                          live under runs/study/E<epochs>-<model>-p<seed>/
#   SMAE_MODEL, SMAE_DEVICE as in scripts/main.sh (vit-tiny, cpu)
#   SMAE_STUDY_OUT         the results folder (default results/study)
#   SMAE_BIN               a folder with a built smae-train (e.g. a release build, or the
#                          test build's target/debug); default: build it here. The dev
#                          build's smae-train crate is unoptimised since 2026-12-07 (SelectiveMAE
#                          steps 15% slower, MAE 5%): the step times of a results folder
#                          (step_seconds.csv) hold for the binary that measured them, so
#                          compare equal-time variants within one folder
# Runs live under runs/study/E<epochs>-<model>/; a second call reuses finished ones.
#
# A call adds to its results folder: the rows of runs.csv and downstream.csv
# that it computes (its variants, tasks and seeds) replace those of an earlier
# call, the others stay, so a folder grows by variant, task or seed a call at a
# time. The folder also keeps the step times (step_seconds.csv; a fresh
# checkout's call reuses them, so equal-time variants get the same epochs, and
# benches only the methods that lack one) and each pre-training's loss log
# (logs/), so that it redraws without runs/.
set -euo pipefail
cd "$(dirname "$0")/.."

E=${SMAE_STUDY_EPOCHS:-40}
seeds=${SMAE_STUDY_SEEDS:-0,1,2,3,4}
tasks=${SMAE_STUDY_TASKS:-detect,classify,segment}
[ "$tasks" = none ] && tasks=
det_epochs=${SMAE_STUDY_DET_EPOCHS:-3}
model=${SMAE_MODEL:-vit-tiny}
device=${SMAE_DEVICE:-cpu}
out=${SMAE_STUDY_OUT:-results/study}
all="mae topk-e uniform-e sample-e topk-t uniform-t sample-t topk-half topk-infobatch-e scratch"
variants=${SMAE_STUDY_VARIANTS:-$all}
variants=${variants//,/ }
bench_rounds=${SMAE_STUDY_BENCH_ROUNDS:-5}
# a misspelt variant or task stops the call before any work
case $bench_rounds in '' | *[!0-9]* | 0) echo "error: SMAE_STUDY_BENCH_ROUNDS must be a whole number >= 1" >&2; exit 1 ;; esac
for v in $variants; do
  case " $all " in *" $v "*) ;; *) echo "error: unknown variant $v (of: $all)" >&2; exit 1 ;; esac
done
for t in ${tasks//,/ }; do
  case $t in detect | detect-val | classify | segment) ;;
    *) echo "error: unknown task $t (of: detect,detect-val,classify,segment)" >&2; exit 1 ;; esac
done

scripts/setup.sh

if [ -n "${SMAE_BIN:-}" ]; then
  bin=$SMAE_BIN
else
  # the build scripts/main.sh and the tests share (see main.sh)
  export CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}
  cargo build --quiet --workspace --features cuda --bins
  bin=target/debug
fi
pseed=${SMAE_STUDY_PRETRAIN_SEED:-0}
work=runs/study/E$E-$model
[ "$pseed" = 0 ] || work=$work-p$pseed
mkdir -p "$out/logs" "$work"
started=$(date +%s)
say() { echo "study: $*" >&2; }

# The corpus (the main job's curation) and the downstream data.
# shellcheck source=scripts/neon_data.sh
. scripts/neon_data.sh
neon_chips "$bin"
crown_sets
case ",$tasks," in *,classify,* | *,segment,*)
  if [ ! -d data/osbs-tasks/seg ]; then
    CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000} cargo build --quiet --workspace --features cuda --example neon_tasks
    target/debug/examples/neon_tasks data/osbs-tasks
  fi ;;
esac

arch=(--model "$model" --img-size 64 --patch-size 8 --decoder-dim 256 --decoder-depth 4
  --decoder-heads 8 --batch-size 16 --no-norm-pix --device "$device")

# Adds a call's rows (NEW) to the results folder's CSV (OLD): scripts/merge_rows.py.
merge_rows() { .venv/bin/python scripts/merge_rows.py "$1" "$2" "$3"; }

# Each pre-trained variant's method, selection mode and extra flag.
declare -A v_method v_sel v_extra
for v in $variants; do
  case $v in
    mae) v_method[$v]=mae v_sel[$v]=hog-topk ;;
    scratch) ;;
    *)
      v_method[$v]=selective
      case $v in topk-*) v_sel[$v]=hog-topk ;; uniform-*) v_sel[$v]=uniform ;; sample-*) v_sel[$v]=hog-sample ;; esac
      case $v in *infobatch*) v_extra[$v]=--infobatch ;; esac ;;
  esac
done

# 1. Seconds per step of each method on the real chips (before any run),
# measured once per folder: the results folder's (so folders that share
# runs/ keep their own), else the runs folder's, else `smae-train bench`
# here; the methods without one are benched now, in alternating rounds
# (scripts/step_times.py: the median of each).
steps_csv=$work/step_seconds.csv
[ ! -s "$out/step_seconds.csv" ] || cp "$out/step_seconds.csv" "$steps_csv"
[ -s "$steps_csv" ] || echo "method,selection,step_s" >"$steps_csv"
# the methods the listed variants use, MAE's always (it sets the time budget)
needed=$({
  echo mae:hog-topk
  for v in "${!v_method[@]}"; do echo "${v_method[$v]}:${v_sel[$v]}"; done
} | sort -u)
missing=$(for ms in $needed; do grep -q "^${ms%:*},${ms#*:}," "$steps_csv" || echo "$ms"; done)
if [ -n "$missing" ]; then
  say "bench" $missing "($bench_rounds rounds)"
  # shellcheck disable=SC2086
  .venv/bin/python scripts/step_times.py "$bin/smae-train" "$bench_rounds" $missing -- "${arch[@]}" \
    --steps 8 --warmup 2 --data data/neon-chips >>"$steps_csv"
fi
cp "$steps_csv" "$out/step_seconds.csv.tmp" && mv "$out/step_seconds.csv.tmp" "$out/step_seconds.csv"
step_of() { awk -F, -v m="$1" -v s="$2" '$1==m && $2==s {print $3}' "$steps_csv"; }
t_mae=$(step_of mae hog-topk)

# Epochs of selection mode SEL for FRACTION of MAE's time.
epochs_for() {
  .venv/bin/python -c "print(max(1, round($E * $2 * $t_mae / $(step_of selective "$1"))))"
}

# 2. Pre-training: epochs from the step times (equal time) or E.
declare -A v_epochs
for v in $variants; do
  case $v in
    mae | *-e) v_epochs[$v]=$E ;;
    *-t) v_epochs[$v]=$(epochs_for "${v_sel[$v]}" 1) ;;
    *-half) v_epochs[$v]=$(epochs_for "${v_sel[$v]}" 0.5) ;;
  esac
done

runs_csv=$out/runs.csv
echo "variant,method,selection,infobatch,epochs,steps,step_s,train_s,wall_s,final_loss" >"$runs_csv.tmp"
for v in $variants; do
  [ "$v" = scratch ] && continue
  run=$work/pre-$v
  # a finished run is reused only with the epochs asked for (another
  # folder's step times can give an equal-time variant other epochs)
  if [ -f "$run/.done" ] && [ "$(.venv/bin/python -c 'import json, sys
print(json.load(open(sys.argv[1]))["epochs"])' "$run/config.json")" != "${v_epochs[$v]}" ]; then
    say "pre-train $v: the run has other epochs than ${v_epochs[$v]}, redoing it and its fine-tunings"
    rm -f "$run/.done"
    rm -rf "$work"/ft-*-"$v"-s*
  fi
  if [ ! -f "$run/.done" ]; then
    rm -rf "$run"
    say "pre-train $v (${v_method[$v]}, ${v_sel[$v]}, ${v_epochs[$v]} epochs ${v_extra[$v]:-})"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$bin/smae-train" pretrain --data data/neon-chips --output "$run" --method "${v_method[$v]}" \
      --selection "${v_sel[$v]}" "${arch[@]}" --epochs "${v_epochs[$v]}" --lr 1e-3 \
      --warmup-epochs 3 --seed "$pseed" --log-every 1 --quiet ${v_extra[$v]:-}
    t1=$(date +%s.%N)
    .venv/bin/python -c "print(round($t1 - $t0, 1))" >"$run/.done"
  fi
  cp "$run/log.jsonl" "$out/logs/pre-$v.jsonl"
  .venv/bin/python - "$run" "$v" "${v_method[$v]}" "${v_sel[$v]}" "${v_extra[$v]:-}" \
    "$(step_of "${v_method[$v]}" "${v_sel[$v]}")" >>"$runs_csv.tmp" <<'EOF'
import json, sys
run, v, method, sel, extra, step_s = sys.argv[1:]
log = [json.loads(l) for l in open(f"{run}/log.jsonl")]
cfg = json.load(open(f"{run}/config.json"))
steps = log[-1]["step"]
wall = float(open(f"{run}/.done").read())
print(f"{v},{method},{sel if method == 'selective' else 'random'},{int(bool(extra))},"
      f"{cfg['epochs']},{steps},{float(step_s):.4f},{steps * float(step_s):.1f},{wall:.1f},{log[-1]['loss']:.4f}")
EOF
done
merge_rows "$runs_csv" "$runs_csv.tmp" variant

# 3. Fine-tuning per task, start and seed.
ft_csv=$out/downstream.csv
# the main job's detector setting
det=(--merge-classes Tree --img-size 96 --tile 192 --epochs "$det_epochs" --batch-size 8 --lr 5e-4 --channels 64)
echo "variant,task,seed,metric,value,seconds" >"$ft_csv.tmp"
for task in ${tasks//,/ }; do
  ft_task=$task
  case $task in
    detect) data=data/crowns/train extra=(--val-data data/crowns/val "${det[@]}") ;;
    detect-val) data=data/crowns/split-train ft_task=detect extra=(--val-data data/crowns/split-val "${det[@]}") ;;
    classify) data=data/osbs-tasks/cls
      extra=(--img-size 32 --epochs 20 --batch-size 16 --lr 5e-4) ;;
    segment) data=data/osbs-tasks/seg
      extra=(--classes other,crown --img-size 64 --epochs 30 --batch-size 8 --lr 5e-4 --channels 64) ;;
  esac
  for v in $variants; do
    if [ "$v" = scratch ]; then init=(--init none --model "$model" --patch-size 8)
    else init=(--init "$work/pre-$v"); fi
    for seed in ${seeds//,/ }; do
      ft=$work/ft-$task-$v-s$seed
      if [ ! -f "$ft/metrics.json" ]; then
        rm -rf "$ft"
        say "fine-tune $task from $v, seed $seed"
        t0=$(date +%s.%N)
        "$bin/smae-train" finetune --task "$ft_task" --data $data --output "$ft" "${init[@]}" \
          --seed "$seed" --device "$device" "${extra[@]}" --quiet
        t1=$(date +%s.%N)
        .venv/bin/python -c "print(round($t1 - $t0, 1))" >"$ft/.seconds"
      fi
      .venv/bin/python - "$ft" "$v" "$task" "$seed" >>"$ft_csv.tmp" <<'EOF'
import json, sys
ft, v, task, seed = sys.argv[1:]
m = json.load(open(f"{ft}/metrics.json"))["metrics"]
key = next(k for k in ("map50", "miou", "overall_accuracy") if k in m)
print(f"{v},{task},{seed},{key},{m[key]:.4f},{open(f'{ft}/.seconds').read().strip()}")
EOF
    done
  done
done
merge_rows "$ft_csv" "$ft_csv.tmp" variant,task,seed

# 4. Tables and plots.
.venv/bin/python scripts/study_report.py "$work" "$out"
say "done in $(($(date +%s) - started)) s; results in $out"
