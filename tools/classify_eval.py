#!/usr/bin/python3
"""Evaluate the classifier on a labelled JSON-lines file.

Each input line: {"id", "text", "kind", "category" (null for non-appeals),
"municipality" (null when unknown), "priority", optional "page"}.

    classify_eval.py DATA.jsonl [-c CONFIG] [--appealsd BIN] [--set K=V]...
    classify_eval.py DATA.jsonl --predictions OUT.jsonl   (output of appealsd classify)
    classify_eval.py --real [DIR] [-c CONFIG] [--appealsd BIN] [--set K=V]...

--real evaluates on the real texts of shared/data/appeals-train instead, on
what tools/classify_train held out of training, per source: the dev split of
the hand-labelled VK comments, the held-out portal appeals, the held-out
tweets and the telecom tweets (hard cases, never trained on); with the
calibration of confidences (of decisions with confidence >= 0.9, the share
right).  The --min-* gates then apply to the VK comments.

Prints accuracy, macro-F1 and a confusion matrix for kind and for category
(on the texts labelled as appeals), appeal recall, noise rejection, and the
accuracy of municipality and priority.  With --min-* thresholds it exits 1
when a target is missed, naming it (a quality gate for the test suite).
Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

APPEAL_KINDS = ("complaint", "question", "request")
KINDS = ("complaint", "question", "request", "gratitude", "noise")
NONE = "(none)"


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    sys.exit("%s:%d: not JSON: %s" % (path, n, e))
    return rows


def run_classifier(args, rows):
    cmd = [args.appealsd, "classify"]
    if args.config:
        cmd += ["-c", args.config]
    for s in args.set or []:
        cmd += ["--set", s]
    feed = "".join(json.dumps({k: r[k] for k in ("id", "text", "page") if k in r},
                              ensure_ascii=False) + "\n" for r in rows)
    p = subprocess.run(cmd, input=feed.encode(), capture_output=True, timeout=600)
    if p.returncode not in (0, 1):
        sys.exit("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                               p.stderr.decode(errors="replace")))
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def f1_table(pairs, labels):
    """Per-label precision, recall, F1 and the macro average over labels."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for gold, pred in pairs:
        if gold == pred:
            tp[gold] += 1
        else:
            fp[pred] += 1
            fn[gold] += 1
    per = {}
    for l in labels:
        p = tp[l] / (tp[l] + fp[l]) if tp[l] + fp[l] else 0.0
        r = tp[l] / (tp[l] + fn[l]) if tp[l] + fn[l] else 0.0
        per[l] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, tp[l] + fn[l])
    present = [l for l in labels if per[l][3] > 0]
    macro = sum(per[l][2] for l in present) / len(present) if present else 0.0
    return per, macro


def confusion(pairs, labels, out, title):
    cols = list(labels) + ([NONE] if any(p == NONE for _, p in pairs) else [])
    m = defaultdict(Counter)
    for g, p in pairs:
        m[g][p] += 1
    short = {c: c[:6] for c in cols}
    out.write("\n%s confusion (rows: gold, columns: predicted)\n" % title)
    out.write("%-16s" % "" + "".join("%7s" % short[c] for c in cols) + "\n")
    for g in labels:
        if sum(m[g].values()) == 0:
            continue
        out.write("%-16s" % g + "".join("%7s" % (m[g][c] or ".") for c in cols) + "\n")


def evaluate(rows, preds):
    by_id = {}
    errors = []
    for p in preds:
        if "error" in p:
            errors.append(p)
        else:
            by_id[str(p.get("id"))] = p
    res = {"n": len(rows), "errors": len(errors)}
    kind_pairs, cat_pairs, cat_cond, mun_pairs, prio_pairs = [], [], [], [], []
    appeals = recalled = noise = noise_rej = nonapp = nonapp_rej = 0
    mistakes = []
    for r in rows:
        p = by_id.get(str(r["id"]))
        if p is None:
            mistakes.append((r, None, "no prediction"))
            continue
        kind_pairs.append((r["kind"], p.get("kind") or NONE))
        gold_appeal = r["kind"] in APPEAL_KINDS
        pred_appeal = bool(p.get("is_appeal"))
        if gold_appeal:
            appeals += 1
            recalled += pred_appeal
            if r["category"] is None:
                pass            # an appeal with no category label (real portal texts)
            else:
                cat_pairs.append((r["category"], p.get("category") or NONE))
            if pred_appeal and r["category"] is not None:
                cat_cond.append((r["category"], p.get("category") or NONE))
            if "priority" in r:       # labels may leave priority or municipality out
                prio_pairs.append((r["priority"], p.get("priority") or NONE))
        else:
            nonapp += 1
            nonapp_rej += not pred_appeal
            if r["kind"] == "noise":
                noise += 1
                noise_rej += not pred_appeal
        if "municipality" in r:
            mun_pairs.append((r["municipality"] or NONE, p.get("municipality") or NONE))
        wrong = [f for f, a, b in (("kind", r["kind"], p.get("kind")),
                                   ("category", r["category"], p.get("category")),
                                   ("municipality", r.get("municipality"), p.get("municipality")),
                                   ("priority", r.get("priority"), p.get("priority")))
                 if (a or None) != (b or None) and (f != "category" or gold_appeal)
                 and (f in ("kind", "category") or f in r)]
        if wrong:
            mistakes.append((r, p, ",".join(wrong)))
    acc = lambda pairs: sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0
    cats = sorted({g for g, _ in cat_pairs})
    res.update(
        kind_accuracy=acc(kind_pairs),
        kind_macro_f1=f1_table(kind_pairs, KINDS)[1],
        category_accuracy=acc(cat_pairs),
        category_accuracy_when_appeal=acc(cat_cond),
        category_macro_f1=f1_table(cat_pairs, cats)[1],
        appeal_recall=recalled / appeals if appeals else 0.0,
        noise_rejection=noise_rej / noise if noise else 0.0,
        non_appeal_rejection=nonapp_rej / nonapp if nonapp else 0.0,
        municipality_accuracy=acc(mun_pairs) if mun_pairs else None,
        priority_accuracy=acc(prio_pairs) if prio_pairs else None,
        appeals=appeals, noise=noise, non_appeals=nonapp,
    )
    return res, kind_pairs, cat_pairs, prio_pairs, mistakes


def report(res, kind_pairs, cat_pairs, prio_pairs, out):
    out.write("texts %d (appeals %d, noise %d, gratitude %d), error lines %d\n" % (
        res["n"], res["appeals"], res["noise"], res["non_appeals"] - res["noise"], res["errors"]))
    out.write("kind:         accuracy %.3f  macro-F1 %.3f\n" % (res["kind_accuracy"],
                                                              res["kind_macro_f1"]))
    out.write("category:     accuracy %.3f  macro-F1 %.3f  (on appeals; %.3f on those "
              "recognised as appeals)\n" % (res["category_accuracy"], res["category_macro_f1"],
                                            res["category_accuracy_when_appeal"]))
    out.write("appeal recall %.3f   noise rejected %.3f   non-appeals rejected %.3f\n" % (
        res["appeal_recall"], res["noise_rejection"], res["non_appeal_rejection"]))
    fmt = lambda v: "unlabelled" if v is None else "%.3f" % v
    out.write("municipality: accuracy %s   priority: accuracy %s (on appeals)\n" % (
        fmt(res["municipality_accuracy"]), fmt(res["priority_accuracy"])))
    per, _ = f1_table(kind_pairs, KINDS)
    out.write("\n%-16s %6s %6s %6s %5s\n" % ("kind", "prec", "recall", "F1", "n"))
    for k in KINDS:
        out.write("%-16s %6.3f %6.3f %6.3f %5d\n" % ((k,) + per[k]))
    confusion(kind_pairs, KINDS, out, "kind")
    cats = sorted({g for g, _ in cat_pairs})
    per, _ = f1_table(cat_pairs, cats)
    out.write("\n%-16s %6s %6s %6s %5s\n" % ("category", "prec", "recall", "F1", "n"))
    for c in cats:
        out.write("%-16s %6.3f %6.3f %6.3f %5d\n" % ((c,) + per[c]))
    confusion(cat_pairs, cats, out, "category")
    if prio_pairs:
        confusion(prio_pairs, ("critical", "high", "normal"), out, "priority")


TARGETS = (("min_category_accuracy", "category_accuracy"),
           ("min_appeal_recall", "appeal_recall"),
           ("min_noise_rejection", "noise_rejection"),
           ("min_kind_accuracy", "kind_accuracy"))


def real_groups(data_dir):
    """The held-out real texts by source group, as rows of this tool."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import appeals_data as D
    vk = [dict(r, category=r["category"]) for r in D.dedup(D.labelled_vk(data_dir))
          if D.split_of(r["id"]) == "dev"]
    portal = [dict(r, kind="complaint") for r in D.dedup(D.ryazan(data_dir))
              if D.portal_split(r["id"]) == "portal-dev"]
    for titles in (False, True):
        portal += [dict(r, kind=r["kind"] or "complaint")
                   for r in D.dedup(D.troitsk(data_dir, titles))
                   if D.portal_split(r["id"]) == "portal-dev"]
    tweets, telecom = [], []
    for r in D.dedup(D.tweets(data_dir)):
        r.update(kind="noise", category=None)
        if r["source"] == "telecom":
            telecom.append(r)
        elif D.tweet_split(r["id"]) == "dev":
            tweets.append(r)
    return [("VK community comments (dev split)", vk), ("portal appeals (held out)", portal),
            ("tweets (held out)", tweets), ("telecom tweets (hard cases)", telecom)]


def calibration(rows, preds):
    """Of appeal-or-not decisions with confidence >= 0.9: how many, the share right."""
    by_id = {str(p.get("id")): p for p in preds if "error" not in p}
    n = right = 0
    for r in rows:
        p = by_id.get(str(r["id"]))
        if p and p.get("confidences", {}).get("kind", 0) >= 0.9:
            n += 1
            right += p["is_appeal"] == (r["kind"] in APPEAL_KINDS)
    return n, (right / n if n else 0.0)


def real_main(args):
    results = {}
    for name, rows in real_groups(args.real if args.real != "-" else None):
        preds = run_classifier(args, rows)
        res = evaluate(rows, preds)[0]
        res["confident"], res["confident_right"] = calibration(rows, preds)
        results[name] = res
        appeals = sum(1 for r in rows if r["kind"] in APPEAL_KINDS)
        print("%-36s n=%-5d" % (name, len(rows)), end="")
        if appeals:
            print("  appeal recall %.3f" % res["appeal_recall"], end="")
        if appeals < len(rows):
            print("  non-appeals rejected %.3f" % res["non_appeal_rejection"], end="")
        if any(r.get("category") for r in rows):
            print("  category accuracy %.3f" % res["category_accuracy"], end="")
        print("  confidence>=0.9: %d, %.3f right" % (res["confident"], res["confident_right"]))
    if args.json:
        print(json.dumps(results, indent=1, sort_keys=True))
    return results["VK community comments (dev split)"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", help="labelled JSON lines")
    ap.add_argument("--real", nargs="?", const="-", metavar="DIR",
                    help="evaluate on the held-out real texts (shared/data/appeals-train)")
    ap.add_argument("-c", "--config", help="appealsd configuration")
    ap.add_argument("--appealsd", default=os.environ.get("APPEALSD", "appealsd"),
                    help="the appealsd binary (default $APPEALSD or appealsd)")
    ap.add_argument("--set", action="append", help="SECTION.KEY=VALUE for appealsd")
    ap.add_argument("--predictions", help="read this output of appealsd classify instead")
    ap.add_argument("--errors", type=int, default=0, metavar="N", help="show N mistakes")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    for opt, _ in TARGETS:
        ap.add_argument("--" + opt.replace("_", "-"), type=float, dest=opt)
    args = ap.parse_args(argv)
    if args.real:
        res = real_main(args)
        missed = [(opt, res[key], getattr(args, opt)) for opt, key in TARGETS
                  if getattr(args, opt) is not None and res[key] < getattr(args, opt)]
        for opt, got, want in missed:
            print("TARGET MISSED: %s is %.3f, needs %.3f" % (opt[4:], got, want))
        return 1 if missed else 0
    if not args.data:
        ap.error("give DATA.jsonl or --real")
    rows = read_jsonl(args.data)
    preds = read_jsonl(args.predictions) if args.predictions else run_classifier(args, rows)
    res, kind_pairs, cat_pairs, prio_pairs, mistakes = evaluate(rows, preds)
    if args.json:
        print(json.dumps(res, indent=1, sort_keys=True))
    else:
        report(res, kind_pairs, cat_pairs, prio_pairs, sys.stdout)
    for r, p, why in mistakes[:args.errors]:
        got = "-" if p is None else "%s/%s/%s/%s" % (p.get("kind"), p.get("category"),
                                                     p.get("municipality"), p.get("priority"))
        print("\n[%s] %s\n  gold %s/%s/%s/%s  got %s  (%s)" % (
            r["id"], r["text"], r["kind"], r["category"], r.get("municipality"), r.get("priority"),
            got, why))
    missed = [(opt, res[key], getattr(args, opt)) for opt, key in TARGETS
              if getattr(args, opt) is not None and res[key] < getattr(args, opt)]
    for opt, got, want in missed:
        print("TARGET MISSED: %s is %.3f, needs %.3f" % (opt[4:], got, want))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
