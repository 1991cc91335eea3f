#!/usr/bin/python3
"""Accuracy of `appealsd incidents` on a set of grouped reports.

    incidents_eval.py DATA.jsonl [-c CONFIG] [--appealsd BIN] [--set K=V]...
                      [--min-f1 X] [--show-errors]

DATA.jsonl: appeals in time order, each with "group", the incident it
belongs to (tests/data/incidents.jsonl).  The appeals go through `appealsd
incidents` (without "group"); the groups it returns are compared pairwise:
a pair of appeals is a true positive when both groupings put them together.
Prints pairwise precision, recall and F1, and how many incidents each side
has.  Exit 1 when F1 is below --min-f1."""

import argparse
import itertools
import json
import subprocess
import sys


def pairs(assign):
    by = {}
    for k, g in assign.items():
        by.setdefault(g, []).append(k)
    return {frozenset(p) for ids in by.values() for p in itertools.combinations(sorted(ids), 2)}


def run(args, rows):
    cmd = [args.appealsd, "incidents", "-c", args.config]
    for s in args.set:
        cmd += ["--set", s]
    inp = "".join(json.dumps({k: v for k, v in r.items() if k != "group"}, ensure_ascii=False)
                  + "\n" for r in rows)
    out = subprocess.run(cmd, input=inp, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit("appealsd incidents failed (%d): %s" % (out.returncode, out.stderr[-2000:]))
    got = [json.loads(line) for line in out.stdout.splitlines()]
    return {g["id"]: g["incident"] for g in got}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("-c", "--config", default="config/appealsd.conf")
    ap.add_argument("--appealsd", default="build/daemon/appealsd")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--min-f1", type=float, default=0.0)
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]
    want = {r["id"]: r["group"] for r in rows}
    got = run(args, rows)
    missing = set(want) - set(got)
    if missing:
        sys.exit("no incident for %s" % sorted(missing))
    pw, pg = pairs(want), pairs(got)
    tp = len(pw & pg)
    precision = tp / len(pg) if pg else 1.0
    recall = tp / len(pw) if pw else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print("appeals %d, incidents expected %d, found %d" % (
        len(rows), len(set(want.values())), len(set(got.values()))))
    print("pairwise precision %.3f (%d/%d), recall %.3f (%d/%d), F1 %.3f" % (
        precision, tp, len(pg), recall, tp, len(pw), f1))
    if args.show_errors:
        text = {r["id"]: r["text"] for r in rows}
        for p in sorted(pg - pw, key=sorted):
            a, b = sorted(p)
            print("joined, should not be: %s %s | %s" % (a, text[a][:60], text[b][:60]))
        for p in sorted(pw - pg, key=sorted):
            a, b = sorted(p)
            print("apart, should be one:  %s %s | %s" % (a, text[a][:60], text[b][:60]))
    return 1 if f1 < args.min_f1 else 0


if __name__ == "__main__":
    sys.exit(main())
