#!/usr/bin/python3
"""Turns run-intake.sh's JSON lines into the tables of bench/README.md and
checks the targets of issue 14 (one PASS/FAIL line each).  Exit 1 when a
target is missed.  With a "base" server (run-intake.sh --base) its figures
are shown beside the daemon's: before and after, same run.

    report.py RESULTS.jsonl [MACHINE NOTE]
"""

import json
import statistics
import sys
from collections import defaultdict

# issue 14, "Why": the full path against the bare server in the same run
TARGETS = {"ratio_min_c64": 0.45, "ratio_min_c256": 0.60, "p99_max_ms_c64": 20.0,
           "cpu_max_us_c64": 50.0, "rss_max_mib": 48.0}
NAMES = {"bare": "evhttp_ok (bare)", "daemon": "appealsd durable",
         "base": "appealsd durable, base build"}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def load(path):
    runs = defaultdict(dict)     # (item, conns) -> round -> record
    rss = defaultdict(list)
    for line in open(path):
        r = json.loads(line)
        if "rss_kb" in r:
            rss[r["item"]].append(r["rss_kb"] / 1024)
            continue
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["errors"] = sum(r[k] for k in r if k.startswith("err_"))
        r["cpu_us"] = r["cpu_s"] * 1e6 / max(r["requests"], 1)
        runs[(r["item"], r["conns"])][r["round"]] = r
    return runs, rss


def paired(runs, item, c, rounds):
    return [runs[(item, c)][rd]["rps"] / runs[("bare", c)][rd]["rps"]
            for rd in rounds if rd in runs[(item, c)] and rd in runs[("bare", c)]]


def check(item, runs, rss, ratios):
    """The targets for one server: PASS/FAIL lines; True when all pass."""
    ok, out = True, []

    def line(good, text):
        nonlocal ok
        ok &= good
        out.append("- %s %s: %s" % ("PASS" if good else "FAIL", item, text))
    for c, key in ((64, "ratio_min_c64"), (256, "ratio_min_c256")):
        if ratios.get((item, c)):
            v = med(ratios[(item, c)])
            line(v >= TARGETS[key], "c=%d req/s ratio to bare %.3f ≥ %.2f" % (c, v, TARGETS[key]))
    if runs.get((item, 64)):
        rs = runs[(item, 64)].values()
        p99 = med([x["p99_ms"] for x in rs])
        line(p99 <= TARGETS["p99_max_ms_c64"], "c=64 p99 %.3f ms ≤ %.0f ms"
             % (p99, TARGETS["p99_max_ms_c64"]))
        cpu = med([x["cpu_us"] for x in rs])
        line(cpu <= TARGETS["cpu_max_us_c64"], "c=64 CPU per request %.1f µs ≤ %.0f µs"
             % (cpu, TARGETS["cpu_max_us_c64"]))
    errs = sum(x["errors"] for (it, _), v in runs.items() if it == item for x in v.values())
    line(errs == 0, "errors %d" % errs)
    peak = max(rss[item]) if rss[item] else float("nan")
    line(peak <= TARGETS["rss_max_mib"], "peak RSS %.1f MiB ≤ %.0f MiB"
         % (peak, TARGETS["rss_max_mib"]))
    return ok, out


def main(path, note=""):
    runs, rss = load(path)
    items = [i for i in ("bare", "daemon", "base") if any(k[0] == i for k in runs)]
    conns = sorted({c for _, c in runs})
    rounds = sorted({rd for v in runs.values() for rd in v})
    print("Intake benchmark: %d rounds%s\n" % (len(rounds), (", " + note) if note else ""))
    print("| server | conns | req/s median (range) | p50 ms | p99 ms | CPU µs/req | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for item in items:
        for c in conns:
            rs = list(runs[(item, c)].values())
            rps = [x["rps"] for x in rs]
            print("| %s | %d | %s (%s–%s) | %.3f | %.3f | %.1f | %d |" % (
                NAMES[item], c, "{:,.0f}".format(med(rps)), "{:,.0f}".format(min(rps)),
                "{:,.0f}".format(max(rps)), med([x["p50_ms"] for x in rs]),
                med([x["p99_ms"] for x in rs]), med([x["cpu_us"] for x in rs]),
                sum(x["errors"] for x in rs)))
    print("\n| paired ratio to bare | " + " | ".join("c=%d" % c for c in conns) + " |")
    print("| --- |" + " ---: |" * len(conns))
    ratios = {}
    for item in items[1:]:
        for c in conns:
            ratios[(item, c)] = paired(runs, item, c, rounds)
        print("| %s req/s | " % item + " | ".join(
            "%.3f (%.3f–%.3f)" % (med(ratios[(item, c)]), min(ratios[(item, c)], default=0),
                                  max(ratios[(item, c)], default=0)) for c in conns) + " |")
    print("\n| server | peak RSS (VmHWM) median (range) |")
    print("| --- | ---: |")
    for item in items:
        print("| %s | %.1f MiB (%.1f–%.1f) |" % (item, med(rss[item]), min(rss[item]),
                                                 max(rss[item])))
    print("\nTargets (issue 14):")
    ok, lines = check("daemon", runs, rss, ratios)
    print("\n".join(lines))
    if "base" in items:
        print("\nThe base build against the same targets (before):")
        print("\n".join(check("base", runs, rss, ratios)[1]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
