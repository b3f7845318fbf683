#!/usr/bin/env python3
"""Per-op profile of a model on ONNX Runtime (CPU, its own profiler): where a
run's time goes, by op kind, after ONNX Runtime's graph fusions. The tract
counterpart is `cargo run --release -p smae-infer --example tract_profile`.

    .venv/bin/python scripts/profile_ort.py MODEL.onnx --size 224 [--batch 1] [--runs 5] [--threads 1]
"""
import argparse
import collections
import json
import os
import signal
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=12, help="slowest nodes to list")
    a = ap.parse_args()

    b, c, s = a.batch, a.channels, a.size
    idx = np.indices((b, c, s, s))
    x = (((idx[0] * 7 + idx[1] * 5 + idx[2] * 3 + idx[3]) % 17) / 8.0 - 1.0).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        sess.run(None, {name: x})  # warm-up, not profiled below
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
        sess.run(None, {name: x})  # this session's own warm-up
        for _ in range(a.runs):
            sess.run(None, {name: x})
        events = json.load(open(sess.end_profiling()))

    runs = sorted((e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"),
                  key=lambda e: e["ts"])[1:]  # the first is this session's warm-up
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
               and e["ts"] >= runs[0]["ts"]]
    n_runs = len(runs)
    per_op = collections.defaultdict(lambda: [0, 0.0])
    nodes = collections.defaultdict(float)
    for e in kernels:
        op = e["args"].get("op_name", "?")
        per_op[op][1] += e["dur"]
        nodes[(e["name"][: -len("_kernel_time")], op)] += e["dur"]
    for (node, op) in nodes:
        per_op[op][0] += 1
    total = sum(v[1] for v in per_op.values()) / n_runs / 1e3
    wall = sum(e["dur"] for e in runs) / n_runs / 1e3
    print(f"model {a.model} input [{b}, {c}, {s}, {s}]: {len(nodes)} nodes, {total:.2f} ms per run in ops, "
          f"{wall:.2f} ms wall ({n_runs} runs after warm-up, {a.threads} thread(s))")
    print("\n| op | nodes | ms / run | share |\n|---|---|---|---|")
    for op, (n, d) in sorted(per_op.items(), key=lambda kv: -kv[1][1]):
        print(f"| {op} | {n} | {d / n_runs / 1e3:.2f} | {100 * d / n_runs / 1e3 / total:.1f}% |")
    if a.top > 0:
        print("\n| node | op | ms / run |\n|---|---|---|")
        for (node, op), d in sorted(nodes.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"| {node} | {op} | {d / n_runs / 1e3:.2f} |")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` is not an error
    main()
