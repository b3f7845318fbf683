"""`merge_rows.py OLD NEW KEY`: how scripts/study.sh adds a call's rows to a
results folder. The rows of CSV file NEW replace those of OLD with the same
values in the KEY columns (comma-separated) and keep their place; OLD's
other rows stay, NEW's other rows follow them. The result, grouped by task
and variant in the order they first appear and by seed ascending, replaces
OLD (NEW is renamed onto it, so OLD is never half-written).
"""

import csv
import os
import sys


def merge_rows(old, new, key):
    rows = list(csv.DictReader(open(new)))
    fields = next(csv.reader(open(new)))
    fresh = {tuple(r[k] for k in key): r for r in rows}
    if os.path.exists(old):
        merged = [fresh.pop(tuple(r[k] for k in key), r) for r in csv.DictReader(open(old))]
        rows = merged + list(fresh.values())
    order = {c: {} for c in ("task", "variant") if c in fields}
    for r in rows:
        for c, seen in order.items():
            seen.setdefault(r[c], len(seen))
    rows.sort(key=lambda r: tuple(order[c][r[c]] for c in order) + (int(r.get("seed", 0)),))
    with open(new, "w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(new, old)


if __name__ == "__main__":
    merge_rows(sys.argv[1], sys.argv[2], sys.argv[3].split(","))
