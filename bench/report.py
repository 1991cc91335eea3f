#!/usr/bin/python3
"""Turns run-intake.sh's JSON lines into the tables of bench/README.md and
checks the targets.  Exit 1 when a target is missed.

    report.py RESULTS.jsonl [MACHINE NOTE]
"""

import json
import statistics
import sys
from collections import defaultdict

TARGETS = {"ratio_min": 0.55, "p99_max_ms_c64": 20.0, "rss_max_mib": 48.0}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main(path, note=""):
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
    conns = sorted({c for _, c in runs})
    rounds = sorted({rd for v in runs.values() for rd in v})
    print("Intake benchmark: %d rounds%s\n" % (len(rounds), (", " + note) if note else ""))
    print("| server | conns | req/s median (range) | p50 ms | p99 ms | CPU µs/req | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for item, name in (("bare", "evhttp_ok (bare)"), ("daemon", "appealsd durable")):
        for c in conns:
            rs = list(runs[(item, c)].values())
            rps = [x["rps"] for x in rs]
            print("| %s | %d | %s (%s–%s) | %.3f | %.3f | %.1f | %d |" % (
                name, c, "{:,.0f}".format(med(rps)), "{:,.0f}".format(min(rps)),
                "{:,.0f}".format(max(rps)), med([x["p50_ms"] for x in rs]),
                med([x["p99_ms"] for x in rs]), med([x["cpu_us"] for x in rs]),
                sum(x["errors"] for x in rs)))
    print("\n| paired ratio daemon / bare | " + " | ".join("c=%d" % c for c in conns) + " |")
    print("| --- |" + " ---: |" * len(conns))
    ratios = {}
    for c in conns:
        rr = [runs[("daemon", c)][rd]["rps"] / runs[("bare", c)][rd]["rps"]
              for rd in rounds if rd in runs[("daemon", c)] and rd in runs[("bare", c)]]
        ratios[c] = rr
    print("| req/s | " + " | ".join("%.3f (%.3f–%.3f)" % (med(ratios[c]), min(ratios[c]),
                                                          max(ratios[c])) for c in conns) + " |")
    print("\n| server | peak RSS (VmHWM) median (range) |")
    print("| --- | ---: |")
    for item in ("bare", "daemon"):
        print("| %s | %.1f MiB (%.1f–%.1f) |" % (item, med(rss[item]), min(rss[item]),
                                                 max(rss[item])))
    ok = True
    print("\nTargets:")
    for c in (64, 256):
        if c in ratios:
            good = med(ratios[c]) >= TARGETS["ratio_min"]
            ok &= good
            print("- %s c=%d: ratio %.3f ≥ %.2f" % ("PASS" if good else "FAIL", c,
                                                   med(ratios[c]), TARGETS["ratio_min"]))
    if 64 in conns:
        p99 = med([x["p99_ms"] for x in runs[("daemon", 64)].values()])
        good = p99 <= TARGETS["p99_max_ms_c64"]
        ok &= good
        print("- %s c=64: daemon p99 %.3f ms ≤ %.0f ms" % ("PASS" if good else "FAIL", p99,
                                                           TARGETS["p99_max_ms_c64"]))
    errs = sum(x["errors"] for (item, _), v in runs.items() if item == "daemon"
               for x in v.values())
    ok &= errs == 0
    print("- %s daemon errors: %d" % ("PASS" if errs == 0 else "FAIL", errs))
    peak = max(rss["daemon"]) if rss["daemon"] else float("nan")
    good = peak <= TARGETS["rss_max_mib"]
    ok &= good
    print("- %s daemon peak RSS %.1f MiB ≤ %.0f MiB" % ("PASS" if good else "FAIL", peak,
                                                       TARGETS["rss_max_mib"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
