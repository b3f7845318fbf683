"""Tables and plots of scripts/study.sh: `study_report.py WORK OUT`.

Reads OUT/runs.csv (one pre-training run per variant), OUT/downstream.csv
(one fine-tuning per variant, task and seed) and the runs' log.jsonl, and
writes OUT/summary.md (per variant and task: mean, sample standard
deviation, min-max over seeds; Welch's t-test of the study's questions),
OUT/score_vs_time.png (downstream score against pre-training time, mean
with min-max bars) and OUT/loss_curves.png. A run's loss log is read from
OUT/logs/pre-VARIANT.jsonl (study.sh copies it there, so a results folder
redraws without its runs), else WORK/pre-VARIANT/log.jsonl.
"""

import csv
import json
import statistics
import sys
from pathlib import Path

import matplotlib

from welch import welch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The study's questions as pairs (a, b): is a's mean above b's?
# SelectiveMAE against MAE (half, equal epochs, equal time), HOG selection
# against uniform and hog-sample at equal budgets, InfoBatch against none,
# and every start against scratch.
QUESTIONS = [("topk-half", "mae"), ("topk-e", "mae"), ("topk-t", "mae"), ("uniform-e", "mae"),
             ("uniform-t", "mae"), ("sample-e", "mae"), ("sample-t", "mae"),
             ("topk-e", "uniform-e"), ("topk-t", "uniform-t"), ("topk-e", "sample-e"),
             ("topk-t", "sample-t"), ("topk-infobatch-e", "topk-e"), ("topk-infobatch-e", "topk-half"),
             ("mae", "scratch"), ("topk-e", "scratch"), ("uniform-e", "scratch")]

work, out = Path(sys.argv[1]), Path(sys.argv[2])
runs = {r["variant"]: r for r in csv.DictReader(open(out / "runs.csv"))}
rows = list(csv.DictReader(open(out / "downstream.csv")))
tasks = list(dict.fromkeys(r["task"] for r in rows))
variants = list(dict.fromkeys(r["variant"] for r in rows)) or list(runs)
t_mae = float(runs["mae"]["train_s"]) if "mae" in runs else None


by_run = {}
for r in rows:
    by_run.setdefault((r["variant"], r["task"]), {})[int(r["seed"])] = float(r["value"])


def scores(v, task, seeds=None):
    """v's scores on task, by seed; only those of `seeds` if given."""
    return [x for seed, x in sorted(by_run.get((v, task), {}).items()) if seeds is None or seed in seeds]


def shared(a, b, task):
    """The scores of a and b over the seeds both have: a fine-tuning seed moves
    every variant together, so variants with other seed sets compare unfairly."""
    seeds = set(by_run.get((a, task), {})) & set(by_run.get((b, task), {}))
    return scores(a, task, seeds), scores(b, task, seeds), len(seeds)


lines = ["| variant | method | selection | InfoBatch | epochs | steps | s/step | pre-training s (x MAE) | wall s | final loss |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for v, r in runs.items():
    rel = f" ({float(r['train_s']) / t_mae:.2f}x)" if t_mae else ""
    lines.append(f"| {v} | {r['method']} | {r['selection']} | {'yes' if r['infobatch'] == '1' else 'no'} | "
                 f"{r['epochs']} | {r['steps']} | {r['step_s']} | {r['train_s']}{rel} | {r['wall_s']} | {r['final_loss']} |")
lines.append("")
for task in tasks:
    metric = next(r["metric"] for r in rows if r["task"] == task)
    lines.append(f"**{task}** ({metric}; per seed, mean, sample sd, min-max)\n")
    lines.append("| variant | pre-training x MAE | per seed | mean | sd | min-max |")
    lines.append("|---|---|---|---|---|---|")
    for v in variants:
        s = scores(v, task)
        if not s:
            continue
        # scratch has no pre-training; without MAE in the folder there is no ratio
        rel = "0" if v not in runs else f"{float(runs[v]['train_s']) / t_mae:.2f}" if t_mae else "-"
        sd = statistics.stdev(s) if len(s) > 1 else float("nan")
        lines.append(f"| {v} | {rel} | {' / '.join(f'{x:.4f}' for x in s)} | {statistics.mean(s):.4f} | "
                     f"{sd:.4f} | {min(s):.4f}-{max(s):.4f} |")
    lines.append("")
    tests = [(a, b, *shared(a, b, task)) for a, b in QUESTIONS]
    tests = [(a, b, sa, sb, n) for a, b, sa, sb, n in tests if n > 1]
    if tests:
        lines.append(f"Welch's t-test, {task}, over the seeds both variants have (difference of the means, "
                     "t, degrees of freedom, two-sided p)\n")
        lines.append("| comparison | seeds | difference | t | df | p |")
        lines.append("|---|---|---|---|---|---|")
        for a, b, sa, sb, n in tests:
            t, df, p = welch(sa, sb)
            diff = statistics.mean(sa) - statistics.mean(sb)
            lines.append(f"| {a} vs {b} | {n} | {diff:+.4f} | {t:.2f} | {df:.1f} | {p:.3f} |")
        lines.append("")
(out / "summary.md").write_text("\n".join(lines))
print("\n".join(lines))

colours = {"mae": "black", "scratch": "grey"}
markers = {"hog-topk": "o", "uniform": "s", "hog-sample": "^", "random": "D"}
if not tasks:
    print("study_report: no downstream results yet; score_vs_time.png is not drawn", file=sys.stderr)
else:
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for v in variants:
            s = scores(v, task)
            if not s:
                continue
            x = float(runs[v]["train_s"]) / 60 if v in runs else 0.0
            m = statistics.mean(s)
            sel = runs[v]["selection"] if v in runs else "random"
            if v in colours:
                colour = colours[v]
            elif "infobatch" in v:
                colour = "tab:orange"
            else:
                colour = {"hog-topk": "tab:blue", "uniform": "tab:green", "hog-sample": "tab:red"}[sel]
            ax.errorbar([x], [m], yerr=[[m - min(s)], [max(s) - m]], fmt=markers.get(sel, "o"),
                        color=colour, capsize=3, label=v)
            ax.annotate(v, (x, m), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if t_mae:
            ax.axvline(t_mae / 60, color="black", lw=0.5, ls=":")
            ax.axvline(t_mae / 120, color="black", lw=0.5, ls="--")
        ax.set_xlabel("pre-training time (min: steps x measured s/step)")
        ax.set_ylabel(next(r["metric"] for r in rows if r["task"] == task))
        counts = sorted({len(scores(v, task)) for v in variants} - {0})
        n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        ax.set_title(f"{task}: mean of {n} seeds, min-max bars")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(out / "score_vs_time.png", dpi=110)

fig, ax = plt.subplots(figsize=(7, 4.2))
drawn = 0
for v, r in runs.items():
    path = out / "logs" / f"pre-{v}.jsonl"
    if not path.exists():
        path = work / f"pre-{v}" / "log.jsonl"
    if not path.exists():
        print(f"study_report: no loss log for {v} ({path}); its curve is left out", file=sys.stderr)
        continue
    log = [json.loads(line) for line in open(path)]
    step_s = float(r["step_s"])
    ax.plot([e["step"] * step_s / 60 for e in log], [e["loss"] for e in log], lw=0.8, label=v)
    drawn += 1
if drawn:
    ax.set_xlabel("pre-training time (min)")
    ax.set_ylabel("reconstruction loss (pixel MSE on the reconstructed patches)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "loss_curves.png", dpi=110)
