"""`step_times.py SMAE_TRAIN ROUNDS METHOD:SELECTION... -- BENCH_ARGS`: the
seconds per pre-training step of each method, for scripts/study.sh's
equal-time budgets. One `smae-train bench` call is short (a few steps) and
moves 20-50% between calls on a shared machine, so the methods are benched
in ROUNDS rounds, alternating (a slow spell falls on all of them, not on
the one that happened to run then), and each method's median is kept.
Prints `method,selection,step_s` rows; each round's figures go to stderr.
"""

import json
import statistics
import subprocess
import sys


def step_times(smae_train, rounds, methods, bench_args):
    """{(method, selection): median seconds per step} over ROUNDS alternating rounds."""
    seen = {m: [] for m in methods}
    for r in range(rounds):
        for method, selection in methods:
            out = subprocess.run([smae_train, "bench", *bench_args, "--method", method, "--selection", selection],
                                 check=True, capture_output=True, text=True).stdout
            seconds = json.loads(out.strip().splitlines()[-1])["step_ms"] / 1000
            seen[(method, selection)].append(seconds)
            print(f"step_times: round {r + 1}/{rounds} {method} {selection} {seconds:.4f} s", file=sys.stderr)
    return {m: statistics.median(s) for m, s in seen.items()}


def main(argv):
    cut = argv.index("--") if "--" in argv else 0
    if cut < 4 or not argv[2].isdigit() or int(argv[2]) < 1:
        sys.exit("usage: step_times.py SMAE_TRAIN ROUNDS METHOD:SELECTION... -- BENCH_ARGS (ROUNDS >= 1)")
    smae_train, rounds, methods, bench_args = argv[1], int(argv[2]), argv[3:cut], argv[cut + 1:]
    methods = [tuple(m.split(":")) for m in methods]
    for (method, selection), s in step_times(smae_train, rounds, methods, bench_args).items():
        print(f"{method},{selection},{s:.4f}")


if __name__ == "__main__":
    main(sys.argv)
