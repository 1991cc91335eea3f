#!/usr/bin/python3
"""Learn category weights from a labelled corpus and write them as a lexicon.

    classify_train.py TRAIN.jsonl -c CONFIG [--appealsd BIN] [--set K=V]... -o OUT.lex
        [--scale S | --cv K] [--min-weight W] [--min-count N]

The hand-written lexicons decide from the words they list; this tool adds
what a labelled corpus says about the words they do not list.  It runs
`appealsd classify --analysis` to see each text's words as the classifier
does (stems), fits a multinomial logistic regression of the category of the
appeals on the stems of their content words (L2-regularised, AdaGrad, fixed
seed: the same corpus gives the same file), and writes the weights that
matter as `[learned CODE]` sections: each stem as the word form it was most
often written in, weight = scale x the learned weight.  The output is an
ordinary lexicon file: put it next to the others and it is read, like them,
on reload; classify_ru adds a `[learned CODE]` section to `[category CODE]`,
so it tips the balance where the hand-written lexicons are weak or silent
(and never replaces one of their weights).

--cv K picks the scale by K-fold cross-validation on the training corpus
itself (train on K-1 folds, classify the held-out fold with the daemon);
measure the result on data that was never used here.  Standard library only.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

APPEAL_KINDS = ("complaint", "question", "request")
TOK_CYRILLIC, TOK_NUMBER = 0x1, 0x4


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def run_classify(args, rows, extra_sets=(), analysis=False):
    cmd = [args.appealsd, "classify", "-c", args.config]
    for s in list(args.set or []) + list(extra_sets):
        cmd += ["--set", s]
    if analysis:
        cmd.append("--analysis")
    feed = "".join(json.dumps({k: r[k] for k in ("id", "text", "page") if k in r},
                              ensure_ascii=False) + "\n" for r in rows)
    p = subprocess.run(cmd, input=feed.encode(), capture_output=True, timeout=900)
    if p.returncode not in (0, 1):
        sys.exit("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                               p.stderr.decode(errors="replace")))
    return {str(o.get("id")): o for o in map(json.loads, p.stdout.decode().splitlines())}


def features(analysis):
    """The stems of content words (Cyrillic, three letters or more), once each."""
    out = {}
    for word, stem, flags in analysis:
        if flags & TOK_CYRILLIC and not flags & TOK_NUMBER and len(stem) >= 3:
            out.setdefault(stem, word)
    return out


def train(samples, classes, epochs, l2, seed):
    """Multinomial logistic regression: samples are (feature list, class index)."""
    rnd = random.Random(seed)
    w = defaultdict(lambda: [0.0] * len(classes))
    g2 = defaultdict(lambda: [1e-8] * len(classes))
    bias, bg2 = [0.0] * len(classes), [1e-8] * len(classes)
    order = list(range(len(samples)))
    for _ in range(epochs):
        rnd.shuffle(order)
        for i in order:
            feats, y = samples[i]
            z = [bias[c] + sum(w[f][c] for f in feats) for c in range(len(classes))]
            m = max(z)
            e = [math.exp(v - m) for v in z]
            s = sum(e)
            for c in range(len(classes)):
                grad = e[c] / s - (1.0 if c == y else 0.0)
                bg2[c] += grad * grad
                bias[c] -= 0.5 * grad / math.sqrt(bg2[c])
                for f in feats:
                    gf = grad + l2 * w[f][c]
                    g2[f][c] += gf * gf
                    w[f][c] -= 0.5 * gf / math.sqrt(g2[f][c])
    return w


def fit(rows, analyses, args):
    """Weights per (stem, category) and the written form of each stem."""
    forms = defaultdict(Counter)
    counts = Counter()
    docs = []
    for r in rows:
        if r["kind"] not in APPEAL_KINDS or str(r["id"]) not in analyses:
            continue
        f = features(analyses[str(r["id"])]["analysis"])
        for stem, word in f.items():
            forms[stem][word] += 1
            counts[stem] += 1
        docs.append((f, r["category"]))
    classes = sorted({c for _, c in docs})
    samples = [([s for s in f if counts[s] >= args.min_count], classes.index(c))
               for f, c in docs]
    w = train(samples, classes, args.epochs, args.l2, args.seed)
    table = {}
    for stem, ws in w.items():
        for c, v in zip(classes, ws):
            if abs(v) >= args.min_weight:
                table[(stem, c)] = v
    return table, {s: f.most_common(1)[0][0] for s, f in forms.items()}


def write_lexicon(path, table, forms, scale, source):
    by_cat = defaultdict(list)
    for (stem, cat), v in table.items():
        w = round(scale * v, 2)
        if w != 0:
            by_cat[cat].append((-abs(w), forms[stem], w))
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Learned by tools/classify_train.py from %s: do not edit by hand,\n"
                "# train again (weights are scale %.2f x a logistic regression's).\n"
                "# Words here add to what the hand-written lexicons say.\n" % (source, scale))
        for cat in sorted(by_cat):
            f.write("\n[learned %s]\n" % cat)
            for _, word, w in sorted(by_cat[cat]):
                f.write("%s = %s\n" % (word, w))


def accuracy(rows, preds):
    pairs = [(r["category"], preds.get(str(r["id"]), {}).get("category"))
             for r in rows if r["kind"] in APPEAL_KINDS]
    return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


def cross_validate(rows, analyses, args):
    """The scale that classifies held-out folds best, with this corpus's own folds."""
    rnd = random.Random(args.seed)
    idx = list(range(len(rows)))
    rnd.shuffle(idx)
    folds = [idx[k::args.cv] for k in range(args.cv)]
    scales = [float(s) for s in args.scales.split(",")]
    score = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k, held in enumerate(folds):
            held_set = set(held)
            train_rows = [rows[i] for i in idx if i not in held_set]
            test_rows = [rows[i] for i in held]
            table, forms = fit(train_rows, analyses, args)
            for s in scales:
                lex = os.path.join(tmp, "fold%d-%g.lex" % (k, s))
                write_lexicon(lex, table, forms, s, "fold %d" % k)
                preds = run_classify(args, test_rows, ["classifier.ru.lexicon=" + lex])
                score[s] += accuracy(test_rows, preds) / args.cv
            print("fold %d: %s" % (k, ", ".join("%g: %.3f" % (s, score[s] * args.cv / (k + 1))
                                                  for s in scales)), file=sys.stderr)
    best = max(scales, key=lambda s: (score[s], -s))
    print("cross-validated category accuracy by scale: %s; chosen %g" % (
        ", ".join("%g: %.3f" % (s, score[s]) for s in scales), best), file=sys.stderr)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("train", help="labelled JSON lines (tests/data/classify-dev.jsonl)")
    ap.add_argument("-c", "--config", required=True)
    ap.add_argument("--appealsd", default=os.environ.get("APPEALSD", "appealsd"))
    ap.add_argument("--set", action="append", help="SECTION.KEY=VALUE for appealsd")
    ap.add_argument("-o", "--output", required=True, help="the lexicon file to write")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--cv", type=int, default=0, help="pick the scale by K-fold validation")
    ap.add_argument("--scales", default="0,0.5,1,1.5,2,3")
    ap.add_argument("--min-weight", type=float, default=0.25)
    ap.add_argument("--min-count", type=int, default=2, help="stems seen in fewer texts are ignored")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--l2", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rows = read_jsonl(args.train)
    analyses = run_classify(args, rows, analysis=True)
    scale = cross_validate(rows, analyses, args) if args.cv > 1 else args.scale
    table, forms = fit(rows, analyses, args)
    write_lexicon(args.output, table, forms, scale, os.path.basename(args.train))
    print("%s: %d weights for %d categories, scale %g" % (
        args.output, len(table), len({c for _, c in table}), scale), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
