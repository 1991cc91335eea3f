#!/usr/bin/env python3
"""How well the answer judge agrees with the hand labels.

Runs `appealsd answer-check` over the page answers labelled in
tools/train/answer-labels.tsv (their texts are read from shared/data, never
copied here) and prints accuracy, a confusion matrix and per-class
precision and recall.  Rows labelled not_answer are left out.

  tools/answer_eval.py --appealsd build/daemon/appealsd -c config/appealsd.conf \\
      --set daemon.plugin_dir=build/plugins [--errors] [--written]

--errors lists the ids the judge got wrong with its reasons (never the
texts), to study the rules on the data.  --min-accuracy makes the exit
status 1 below that share (for CI).
"""

import argparse
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import appeals_data  # noqa: E402

CLASSES = ("substantive", "formal", "refusal")


def written():
    """The answers written for the tests (tests/data/answers-written.tsv)."""
    path = os.path.join(os.path.dirname(appeals_data.HERE), "tests", "data",
                        "answers-written.tsv")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.strip() and not line.startswith("#"):
                label, text = line.rstrip("\n").split("\t", 1)
                yield "written:%d" % n, text, label


def labelled(data):
    labels = {r[0]: r[1] for r in appeals_data.read_tsv("answer-labels.tsv")}
    for r in appeals_data.page_answers(data):
        lab = labels.get(r["id"])
        if lab in CLASSES:
            yield r["id"], r["text"], lab


def judge(args, rows):
    cmd = [args.appealsd, "answer-check", "-c", args.config]
    for s in args.set or []:
        cmd += ["--set", s]
    lines = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                    for i, t, _ in rows)
    p = subprocess.run(cmd, input=lines, capture_output=True, text=True, check=False)
    if p.returncode not in (0, 1):
        sys.exit("answer-check failed: " + p.stderr[-2000:])
    return {o["id"]: o for o in map(json.loads, p.stdout.splitlines())}


def report(rows, got, show_errors):
    conf = collections.Counter()
    for i, _, lab in rows:
        conf[(lab, got.get(i, {}).get("quality"))] += 1
    n = len(rows)
    ok = sum(conf[(c, c)] for c in CLASSES)
    print(f"answers: {n}, agree: {ok}, accuracy: {ok / n:.3f}")
    print("label \\ judge  " + "  ".join(f"{c:>11}" for c in CLASSES))
    for a in CLASSES:
        print(f"{a:>13}  " + "  ".join(f"{conf[(a, b)]:>11}" for b in CLASSES))
    for c in CLASSES:
        tp = conf[(c, c)]
        pp = sum(conf[(a, c)] for a in CLASSES)
        ap = sum(conf[(c, b)] for b in CLASSES)
        print(f"{c:>13}: precision {tp / pp if pp else 0:.3f}  recall {tp / ap if ap else 0:.3f}"
              f"  (labelled {ap})")
    formal = [(lab, got.get(i, {}).get("quality")) for i, _, lab in rows]
    flagged = sum(1 for lab, q in formal if q == "formal")
    print(f"formal answers: labelled {sum(1 for lab, _ in formal if lab == 'formal')}, "
          f"judged {flagged}")
    if show_errors:
        for i, _, lab in rows:
            o = got.get(i, {})
            if o.get("quality") != lab:
                print(f"  {i}\tlabel {lab}\tjudge {o.get('quality')}\t{','.join(o.get('reasons', []))}")
    return ok / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appealsd", default="build/daemon/appealsd")
    ap.add_argument("-c", "--config", default="config/appealsd.conf")
    ap.add_argument("--set", action="append")
    ap.add_argument("--data", help="shared/data/appeals-train (default: next to the project)")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--written", action="store_true",
                    help="the written test answers instead of the labelled page answers")
    ap.add_argument("--min-accuracy", type=float, default=0)
    args = ap.parse_args()
    rows = list(written() if args.written else labelled(args.data))
    if not rows:
        sys.exit("no labelled answers found: is shared/data/appeals-train there?")
    acc = report(rows, judge(args, rows), args.errors)
    sys.exit(1 if acc < args.min_accuracy else 0)


if __name__ == "__main__":
    main()
