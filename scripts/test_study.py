"""Tests of scripts/study.sh's bookkeeping (run by scripts/test.sh): which
methods it benches, the epochs of the equal-time variants, whose step times
win, which finished runs it reuses and which it redoes. study.sh runs for
real, in a copy of the repository's scripts, against a stub smae-train
that logs its calls and writes the files a real run leaves (config.json,
log.jsonl, metrics.json); the study's data folders are empty stand-ins.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent

# The stub: `bench` prints the step time of STUB_STEP_MS (method:selection=ms,...),
# `pretrain` and `finetune` write what study.sh reads; every call is logged.
STUB = """#!{python}
import json, os, sys
args = sys.argv[1:]
opt = lambda name: args[args.index(name) + 1]
with open(os.environ["STUB_CALLS"], "a") as f:
    f.write(" ".join(args) + "\\n")
if args[0] == "bench":
    # a method's figures (ms/ms/...) are given out one per call, round by round
    table = dict(kv.split("=") for kv in os.environ["STUB_STEP_MS"].split(","))
    key = opt("--method") + ":" + opt("--selection")
    calls = [c for c in open(os.environ["STUB_CALLS"]) if c.startswith("bench") and
             f"--method {{opt('--method')}} --selection {{opt('--selection')}}" in c]
    figures = table[key].split("/")
    print(json.dumps({{"step_ms": float(figures[(len(calls) - 1) % len(figures)])}}))
elif args[0] == "pretrain":
    out, epochs = opt("--output"), int(opt("--epochs"))
    os.makedirs(out)
    json.dump({{"epochs": epochs}}, open(out + "/config.json", "w"))
    with open(out + "/log.jsonl", "w") as f:
        for step in range(1, 8 * epochs + 1):
            f.write(json.dumps({{"step": step, "loss": 1.0 / step}}) + "\\n")
elif args[0] == "finetune":
    if opt("--task") not in ("classify", "segment", "detect", "detect-obb"):
        sys.exit(f"error: invalid value '{{opt('--task')}}' for '--task <TASK>'")
    out = opt("--output")
    os.makedirs(out)
    key = {{"detect": "map50", "classify": "overall_accuracy", "segment": "miou"}}[opt("--task")]
    value = 0.1 + 0.01 * int(opt("--seed")) + 0.001 * len(os.listdir(os.path.dirname(out)))
    json.dump({{"metrics": {{key: value}}}}, open(out + "/metrics.json", "w"))
"""


class StudyFailed(Exception):
    """study.sh exited non-zero; the message is its standard error."""


def read_json(path):
    with open(path) as f:
        return json.load(f)


class Study(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        root = self.root = Path(self.dir.name)
        (root / "scripts").mkdir()
        for name in ("study.sh", "neon_data.sh", "merge_rows.py", "study_report.py", "welch.py",
                     "step_times.py"):
            shutil.copy(SCRIPTS / name, root / "scripts" / name)
        (root / "scripts" / "setup.sh").write_text("#!/bin/sh\n")
        (root / "scripts" / "setup.sh").chmod(0o755)
        # the python running the tests, with its packages (matplotlib)
        (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
        for d in ("data/deepforest", "data/osbs-tasks/seg"):
            (root / d).mkdir(parents=True)
        # the wheel's files that neon_data.sh links
        for scene in ("2019_YELL_2_541000_4977000_image_crop", "2019_YELL_2_528000_4978000_image_crop2",
                      "SOAP_061", "OSBS_029"):
            for ext in ("png", "tif", "xml"):
                (root / "data/deepforest" / f"{scene}.{ext}").touch()
        (root / "bin").mkdir()
        stub = root / "bin" / "smae-train"
        stub.write_text(STUB.format(python=sys.executable))
        stub.chmod(0o755)
        self.calls = root / "calls.log"

    def tearDown(self):
        self.dir.cleanup()

    def study(self, variants, out="results/a", tasks="detect", seeds="0", bench_rounds="1",
              step_ms="mae:hog-topk=2000,selective:hog-topk=1000,selective:uniform=800"):
        """Runs study.sh; returns the smae-train calls it made (curate left out)."""
        self.calls.write_text("")
        env = dict(os.environ, SMAE_BIN=str(self.root / "bin"), SMAE_STUDY_EPOCHS="10",
                   SMAE_STUDY_OUT=out, SMAE_STUDY_TASKS=tasks, SMAE_STUDY_SEEDS=seeds,
                   SMAE_STUDY_VARIANTS=variants, SMAE_STUDY_BENCH_ROUNDS=bench_rounds,
                   STUB_CALLS=str(self.calls), STUB_STEP_MS=step_ms, MPLBACKEND="Agg")
        run = subprocess.run(["bash", str(self.root / "scripts" / "study.sh")], env=env,
                             capture_output=True, text=True)
        if run.returncode:
            raise StudyFailed(run.stderr)
        return [c.split() for c in self.calls.read_text().splitlines() if not c.startswith("curate")]

    def rows(self, path):
        with open(self.root / path) as f:
            return list(csv.DictReader(f))

    def test_benches_the_methods_used_and_scales_the_epochs_by_the_step_times(self):
        # three rounds; the median of each method's figures is its step time
        calls = self.study("mae topk-t topk-half uniform-e", bench_rounds="3",
                           step_ms="mae:hog-topk=2000/9000/1500,selective:hog-topk=1000/400/1100,"
                                   "selective:uniform=800/800/800")
        benched = [(c[c.index("--method") + 1], c[c.index("--selection") + 1]) for c in calls if c[0] == "bench"]
        # MAE always (it sets the budget), hog-topk and uniform, never hog-sample;
        # the methods alternate round by round
        self.assertEqual(benched, [("mae", "hog-topk"), ("selective", "hog-topk"), ("selective", "uniform")] * 3)
        epochs = {c[c.index("--output") + 1].rsplit("pre-", 1)[1]: int(c[c.index("--epochs") + 1])
                  for c in calls if c[0] == "pretrain"}
        # MAE's time is 10 epochs x 2 s per step: hog-topk at 1 s per step runs 20
        # epochs in it, 10 in half of it; equal-epoch variants run 10
        self.assertEqual(epochs, {"mae": 10, "topk-t": 20, "topk-half": 10, "uniform-e": 10})
        runs = {r["variant"]: r for r in self.rows("results/a/runs.csv")}
        self.assertEqual(runs["topk-t"]["steps"], "160")
        self.assertEqual(float(runs["topk-t"]["train_s"]), float(runs["mae"]["train_s"]))
        self.assertEqual(self.rows("results/a/step_seconds.csv")[0],
                         {"method": "mae", "selection": "hog-topk", "step_s": "2.0000"})
        self.assertTrue((self.root / "results/a/logs/pre-topk-t.jsonl").exists())
        self.assertEqual(sorted(r["variant"] for r in self.rows("results/a/downstream.csv")),
                         ["mae", "topk-half", "topk-t", "uniform-e"])

    def test_a_second_call_reuses_finished_runs_and_adds_rows(self):
        self.study("mae topk-e scratch", seeds="0")
        calls = self.study("mae topk-e scratch", seeds="0,1")
        # no bench (the folder has the step times), no pre-training, only seed 1's fine-tunings
        self.assertEqual(sorted(c[0] for c in calls), ["finetune"] * 3)
        self.assertTrue(all(c[c.index("--seed") + 1] == "1" for c in calls))
        scratch = next(c for c in calls if "scratch" in c[c.index("--output") + 1])
        self.assertEqual(scratch[scratch.index("--init") + 1], "none")
        self.assertEqual(len(self.rows("results/a/downstream.csv")), 6)

    def test_the_results_folders_step_times_win_and_other_epochs_redo_a_run(self):
        self.study("mae topk-t topk-e", seeds="0")
        before = read_json(self.root / "runs/study/E10-vit-tiny/ft-detect-topk-e-s0/metrics.json")
        # a second folder sharing runs/ with its own step times: hog-topk at 0.5 s per step
        (self.root / "results/b").mkdir(parents=True)
        (self.root / "results/b/step_seconds.csv").write_text(
            "method,selection,step_s\nmae,hog-topk,2.0\nselective,hog-topk,0.5\n")
        calls = self.study("mae topk-t topk-e", out="results/b", seeds="0")
        self.assertFalse(any(c[0] == "bench" for c in calls))
        pre = [(c[c.index("--output") + 1].rsplit("pre-", 1)[1], c[c.index("--epochs") + 1])
               for c in calls if c[0] == "pretrain"]
        # topk-t now runs 40 epochs (MAE's 20 s x 10 epochs / 0.5 s): redone, with its
        # fine-tuning; mae and topk-e keep theirs
        self.assertEqual(pre, [("topk-t", "40")])
        ft = [c[c.index("--output") + 1].rsplit("/", 1)[1] for c in calls if c[0] == "finetune"]
        self.assertEqual(ft, ["ft-detect-topk-t-s0"])
        after = read_json(self.root / "runs/study/E10-vit-tiny/ft-detect-topk-e-s0/metrics.json")
        self.assertEqual(before, after)
        self.assertEqual(self.rows("results/b/step_seconds.csv")[1]["step_s"], "0.5")
        self.assertEqual({r["variant"]: r["epochs"] for r in self.rows("results/b/runs.csv")},
                         {"mae": "10", "topk-t": "40", "topk-e": "10"})
        # the first folder keeps its own rows and step times
        self.assertEqual({r["variant"]: r["epochs"] for r in self.rows("results/a/runs.csv")},
                         {"mae": "10", "topk-t": "20", "topk-e": "10"})

    def test_detect_val_trains_on_the_yell_scenes_and_validates_on_soap(self):
        calls = self.study("topk-e", tasks="detect-val")
        ft = next(c for c in calls if c[0] == "finetune")
        self.assertEqual((ft[ft.index("--task") + 1], ft[ft.index("--data") + 1], ft[ft.index("--val-data") + 1]),
                         ("detect", "data/crowns/split-train", "data/crowns/split-val"))
        self.assertEqual(ft[ft.index("--merge-classes"):ft.index("--merge-classes") + 4],
                         ["--merge-classes", "Tree", "--img-size", "96"])
        self.assertEqual(sorted(os.listdir(self.root / "data/crowns/split-val")), ["SOAP_061.png", "SOAP_061.xml"])
        self.assertEqual(len(os.listdir(self.root / "data/crowns/split-train")), 4)
        self.assertFalse(any(f.startswith("SOAP") for f in os.listdir(self.root / "data/crowns/split-train")))
        self.assertEqual([(r["task"], r["metric"]) for r in self.rows("results/a/downstream.csv")],
                         [("detect-val", "map50")])

    def test_welch_compares_over_the_seeds_both_variants_have(self):
        self.study("mae", seeds="0,1,2")
        self.study("topk-half", seeds="0,1")
        with open(self.root / "results/a/summary.md") as f:
            line = next(l for l in f if l.startswith("| topk-half vs mae |"))
        self.assertEqual(line.split("|")[2].strip(), "2")
        ds = {(r["variant"], r["seed"]): float(r["value"]) for r in self.rows("results/a/downstream.csv")}
        diff = (ds["topk-half", "0"] + ds["topk-half", "1"] - ds["mae", "0"] - ds["mae", "1"]) / 2
        self.assertEqual(line.split("|")[3].strip(), f"{diff:+.4f}")

    def test_a_misspelt_variant_or_task_stops_before_any_work(self):
        for variants, tasks, rounds, error in (
                ("mae topk-x", "detect", "1", "error: unknown variant topk-x"),
                ("mae topk-e", "detect,segmnet", "1", "error: unknown task segmnet"),
                ("mae topk-e", "detect", "0", "error: SMAE_STUDY_BENCH_ROUNDS must be a whole number >= 1")):
            with self.assertRaises(StudyFailed) as e:
                self.study(variants, tasks=tasks, bench_rounds=rounds)
            self.assertEqual(str(e.exception).splitlines()[0].split(" (of:")[0], error)
            self.assertEqual(self.calls.read_text(), "")
            self.assertFalse((self.root / "runs").exists())


if __name__ == "__main__":
    unittest.main()
