#!/usr/bin/python3
"""Helpers of the end-to-end load benchmark (bench/run-load.sh).

    load_report.py stamp OUT          < kcat -f '%k %T %s\\n' output
        Writes "ARRIVAL_US KEY EVENT CREATE_MS" per Kafka message to OUT:
        ARRIVAL_US is time.time() when the message's last byte was read,
        CREATE_MS its Kafka timestamp (the daemon's producer call).
    load_report.py join ACKED ARRIVALS [TIMEOUT_S]
        Waits (at most TIMEOUT_S, default 120) until every appeal loadgen saw
        acknowledged as new with 200 has its "created" message in ARRIVALS,
        then prints one JSON object: counts, missing ids, and the latency
        request sent -> message consumed, in ms.
    load_report.py drained            < appealsctl status --json
        Exit 0 when nothing is left in the spool or the pipeline.
    load_report.py threads SERVER_PID KAFKA_PID
        CPU ticks of both processes' threads, summed by what they do, as
        JSON: {"server": {"loop": N, ...}, "kafka": {"JIT": N, ...}}.
    load_report.py jit KAFKA_PID
        CPU ticks of the JVM's JIT compiler threads so far.
    load_report.py report RESULTS.jsonl [NOTE]
        The markdown tables of bench/README.md and one PASS/FAIL line per
        target of issue 14 (for "daemon"; "base", the build run-load.sh
        --base names, is shown beside it); exit 1 when an acknowledged appeal
        never reached Kafka or a target is missed.
"""

import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict

EVENT = re.compile(rb'"event":"([a-z_.]+)"')
MODES = {"fast": "as fast as possible", "rate": "open loop"}
SERVERS = (("bare", "evhttp_ok (bare)"), ("daemon", "appealsd"),
           ("base", "appealsd, base build"))
APDS = ("daemon", "base")
# issue 14, "Why": as fast as possible, c=16, real Kafka and Redis
TARGETS = {"ratio_min_fast": 0.30, "e2e_p99_max_ms_fast": 100.0, "rss_max_mib": 48.0}


def pct(sorted_xs, p):
    """Nearest-rank percentile, as loadgen computes its own."""
    if not sorted_xs:
        return float("nan")
    i = max(0, min(len(sorted_xs) - 1, -(-len(sorted_xs) * p // 100) - 1))
    return sorted_xs[int(i)]


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def stamp(out_path):
    # Whole chunks, not lines: one clock read per read(2) keeps the reader
    # cheap on a busy machine, and a line completed by a chunk arrived with it.
    fd = sys.stdin.fileno()
    pending = b""
    with open(out_path, "w") as out:
        while True:
            chunk = os.read(fd, 1 << 20)
            t_us = int(time.time() * 1e6)
            if not chunk:
                return 0
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                p = line.split(b" ", 2)
                if len(p) < 3:
                    continue
                m = EVENT.search(p[2], 0, 512)
                out.write("%d %s %s %s\n" % (t_us, p[0].decode(errors="replace"),
                                             m.group(1).decode() if m else "-",
                                             p[1].decode()))
            out.flush()


def acked_new(path):
    """appeal_id -> (SEND_US, ACK_US) of new items answered 200."""
    sent = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and p[1] == "new" and p[2] == "200":
                sent.setdefault(p[0], (int(p[3]), int(p[4])))
    return sent


class Arrivals:
    """The stamp file, read incrementally while it grows."""

    def __init__(self, path):
        self.path, self.offset, self.tail = path, 0, b""
        self.created = {}            # appeal_id -> (first arrival µs, Kafka timestamp µs)
        self.duplicates = 0          # "created" seen again for one appeal

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        for line in lines:
            p = line.split()
            if len(p) == 4 and p[2] == b"created":
                key = p[1].decode(errors="replace")
                if key in self.created:
                    self.duplicates += 1
                else:
                    self.created[key] = (int(p[0]), int(p[3]) * 1000)


def join(acked_path, arrivals_path, timeout_s=120.0):
    sent = acked_new(acked_path)
    arr = Arrivals(arrivals_path)
    t0 = time.monotonic()
    while True:
        arr.poll()
        missing = [a for a in sent if a not in arr.created]
        if not missing or time.monotonic() - t0 > timeout_s:
            break
        time.sleep(0.2)
    got = [(s, arr.created[a]) for a, (s, _) in sent.items() if a in arr.created]
    lat = sorted((t - s) / 1000.0 for s, (t, _) in got)
    # the split at the producer call; Kafka timestamps are whole ms
    to_produce = sorted((c - s) / 1000.0 for s, (_, c) in got)
    in_kafka = sorted((t - c) / 1000.0 for _, (t, c) in got)
    last_ack = max((k for _, k in sent.values()), default=0)
    last_arrival = max((t for _, (t, _) in got), default=0)
    print(json.dumps({
        "acked_new": len(sent), "arrived": len(sent) - len(missing),
        "missing": len(missing), "missing_ids": sorted(missing)[:5],
        "duplicates": arr.duplicates,
        # the tail after the last acknowledgement: the pipeline's backlog
        "drain_s": round(max(0, last_arrival - last_ack) / 1e6, 3),
        "e2e_ms": {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
                   "max": pct(lat, 100)},
        "to_produce_ms": {"p50": pct(to_produce, 50), "p99": pct(to_produce, 99)},
        "in_kafka_ms": {"p50": pct(in_kafka, 50), "p99": pct(in_kafka, 99)},
    }))
    return 0


def drained():
    # polled: an answer that is not (yet) a status counts as "not drained"
    try:
        st = json.load(sys.stdin)["result"]
        return 0 if st["pipeline"]["inflight"] == 0 and st["spool"]["unreleased"] == 0 else 1
    except (ValueError, KeyError, TypeError):
        return 1


def thread_group(pid, tid, comm):
    """What a thread of appealsd, evhttp_ok or the Kafka JVM does."""
    if comm.startswith("rdk:"):
        return "librdkafka"
    if comm.startswith(("C1 CompilerThre", "C2 CompilerThre")):
        return "JIT"
    if comm == "VM Thread" or comm.startswith("GC"):
        return "GC"              # the broker runs SerialGC in the VM thread
    if comm in ("appealsd", "evhttp_ok"):
        # appealsd's only other long-lived thread is the spool's fsync thread
        return "loop" if tid == pid else "spool fsync"
    return "broker"


def thread_ticks(pid):
    out = defaultdict(int)
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue             # the thread ended meanwhile
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[thread_group(pid, int(tid), comm)] += int(fields[11]) + int(fields[12])
    return out


def threads(server_pid, kafka_pid):
    print(json.dumps({"server": thread_ticks(server_pid), "kafka": thread_ticks(kafka_pid)}))
    return 0


# ---- the tables -------------------------------------------------------------

def load(path):
    runs = defaultdict(dict)     # (item, mode) -> round -> record
    for line in open(path):
        r = json.loads(line)
        lg = r["loadgen"]
        r["rps"] = lg["rps"]
        r["cpu_us_req"] = r["cpu_s"] * 1e6 / max(lg["answered"], 1)
        r["cpu_us_appeal"] = r["cpu_s"] * 1e6 / max(r["new_ok"], 1)
        runs[(r["item"], r["mode"])][r["round"]] = r
    return runs


def fmt(x, spec="%.1f"):
    return "–" if x != x else spec % x


def load_label(r):
    return "%s, c=%d" % (MODES[r["mode"]] if r["mode"] == "fast" else
                         "%g/s %s" % (r["rate"], MODES["rate"]), r["conns"])


def table_servers(runs, modes):
    print("| server | load | answered req/s median (range) | p50 ms | p90 ms | p99 ms "
          "| CPU µs/req | CPU µs/appeal | idle CPU ms/s | peak RSS MiB | 4xx | 5xx "
          "| conn errors |")
    print("| --- | --- |" + " ---: |" * 11)
    for item, name in SERVERS:
        for mode in modes:
            rs = list(runs[(item, mode)].values())
            if not rs:
                continue
            rps = [r["rps"] for r in rs]
            lat = lambda k: med([r["loadgen"]["latency_ms"][k] for r in rs])
            err = lambda k: sum(r["loadgen"]["status"][k] for r in rs)
            print("| %s | %s | %s (%s–%s) | %.2f | %.2f | %.2f | %.1f | %.1f | %.0f | %.1f "
                  "| %d | %d | %d |"
                  % (name, load_label(rs[0]), "{:,.0f}".format(med(rps)),
                     "{:,.0f}".format(min(rps)), "{:,.0f}".format(max(rps)),
                     lat("p50"), lat("p90"), lat("p99"),
                     med([r["cpu_us_req"] for r in rs]), med([r["cpu_us_appeal"] for r in rs]),
                     med([r["idle_cpu_s"] * 1e3 / r["idle_s"] for r in rs]),
                     med([r["rss_kb"] / 1024 for r in rs]), err("4xx"), err("5xx"),
                     err("conn_error")))


def paired(runs, mode, value, item="daemon"):
    d, b = runs[(item, mode)], runs[("bare", mode)]
    return [value(d[rd]) / value(b[rd]) for rd in sorted(d) if rd in b and value(b[rd])]


def table_ratios(runs, modes):
    cols = (("answered req/s", lambda r: r["rps"]),
            ("p50 latency", lambda r: r["loadgen"]["latency_ms"]["p50"]),
            ("p99 latency", lambda r: r["loadgen"]["latency_ms"]["p99"]),
            ("CPU per request", lambda r: r["cpu_us_req"]))
    print("| paired ratio appealsd / bare, median (range) | " +
          " | ".join(load_label(next(iter(runs[("daemon", m)].values()))) for m in modes) + " |")
    print("| --- |" + " ---: |" * len(modes))
    for item in (i for i in APDS if any(runs[(i, m)] for m in modes)):
        for name, value in cols:
            cells = []
            for m in modes:
                rr = paired(runs, m, value, item)
                cells.append("%.3f (%.3f–%.3f)" % (med(rr), min(rr), max(rr)) if rr else "–")
            label = name if item == "daemon" else "%s (base build)" % name
            print("| %s | %s |" % (label, " | ".join(cells)))


def table_e2e(runs, modes):
    print("| load | acked appeals | reached Kafka | missing | duplicates | p50 ms | p90 ms "
          "| p99 ms | max ms | request → producer call p50 / p99 ms "
          "| producer call → consumed p50 / p99 ms | tail after last ack s |")
    print("| --- |" + " ---: |" * 11)
    for item, m in ((i, m) for i in APDS for m in modes):
        rs = list(runs[(item, m)].values())
        if not rs:
            continue
        e = [r["e2e"] for r in rs]
        q = lambda part, k: med([x[part][k] for x in e])
        label = load_label(rs[0]) + ("" if item == "daemon" else ", base build")
        print("| %s | %d | %d | %d | %d | %s | %s | %s | %s | %s / %s | %s / %s | %s |" % (
            label, sum(x["acked_new"] for x in e), sum(x["arrived"] for x in e),
            sum(x["missing"] for x in e), sum(x["duplicates"] for x in e),
            fmt(q("e2e_ms", "p50")), fmt(q("e2e_ms", "p90")), fmt(q("e2e_ms", "p99")),
            fmt(max(x["e2e_ms"]["max"] for x in e)),
            fmt(q("to_produce_ms", "p50")), fmt(q("to_produce_ms", "p99")),
            fmt(q("in_kafka_ms", "p50")), fmt(q("in_kafka_ms", "p99")),
            fmt(med([x["drain_s"] for x in e]), "%.2f")))


def thread_us(r, proc, group):
    """µs of CPU per appeal of one thread group over a run."""
    t0, t1 = r["threads0"][proc], r["threads1"][proc]
    return (t1.get(group, 0) - t0.get(group, 0)) * 1e6 / r["hz"] / max(r["new_ok"], 1)


def table_cpu(runs, modes):
    cols = (("appealsd loop", lambda r: thread_us(r, "server", "loop")),
            ("appealsd spool fsync", lambda r: thread_us(r, "server", "spool fsync")),
            ("appealsd librdkafka", lambda r: thread_us(r, "server", "librdkafka")),
            ("redis-server", lambda r: r["redis_cpu_s"] * 1e6 / max(r["new_ok"], 1)),
            ("Kafka other threads", lambda r: thread_us(r, "kafka", "broker")),
            ("Kafka JIT", lambda r: thread_us(r, "kafka", "JIT")),
            ("Kafka GC", lambda r: thread_us(r, "kafka", "GC")),
            ("all three processes", lambda r: (r["cpu_s"] + r["redis_cpu_s"] + r["kafka_cpu_s"])
             * 1e6 / max(r["new_ok"], 1)))
    print("| load | " + " | ".join(c for c, _ in cols) + " |")
    print("| --- |" + " ---: |" * len(cols))
    for m in modes:
        rs = list(runs[("daemon", m)].values())
        if rs:
            print("| %s | %s |" % (load_label(rs[0]), " | ".join(
                "%.0f" % med([f(r) for r in rs]) for _, f in cols)))
    idle = ["%s %s" % (load_label(bs[0]), fmt(med([(b["redis_cpu_s"] + b["kafka_cpu_s"]) * 1e3
                                                   / b["window_s"] for b in bs])))
            for bs in (list(runs[("bare", m)].values()) for m in modes) if bs]
    if idle:
        print("\nRedis and the broker without the daemon (the bare runs), ms of CPU per "
              "second: " + "; ".join(idle) + ".")


def targets(runs, item):
    """PASS/FAIL lines of issue 14's load targets for one appealsd; -> (ok, lines)."""
    ok, out = True, []

    def line(good, text):
        nonlocal ok
        ok &= good
        out.append("- %s %s: %s" % ("PASS" if good else "FAIL", item, text))
    rs = list(runs[(item, "fast")].values())
    if rs:
        ratio = med(paired(runs, "fast", lambda r: r["rps"], item))
        line(ratio >= TARGETS["ratio_min_fast"], "as fast as possible, req/s ratio to bare "
             "%.3f ≥ %.2f" % (ratio, TARGETS["ratio_min_fast"]))
        p99 = med([r["e2e"]["e2e_ms"]["p99"] for r in rs])
        line(p99 <= TARGETS["e2e_p99_max_ms_fast"], "as fast as possible, end to end p99 "
             "%s ms ≤ %.0f ms" % (fmt(p99), TARGETS["e2e_p99_max_ms_fast"]))
    rss = [r["rss_kb"] / 1024 for m in MODES for r in runs[(item, m)].values()]
    if rss:
        line(max(rss) <= TARGETS["rss_max_mib"], "peak RSS %.1f MiB ≤ %.0f MiB"
             % (max(rss), TARGETS["rss_max_mib"]))
    return ok, out


def report(path, note=""):
    runs = load(path)
    modes = [m for m in MODES if runs[("daemon", m)] or runs[("bare", m)]]
    rounds = sorted({rd for v in runs.values() for rd in v})
    print("End to end under load: %d rounds%s\n" % (len(rounds), (", " + note) if note else ""))
    table_servers(runs, modes)
    print()
    table_ratios(runs, modes)
    print("\nRequest sent → `created` message consumed from the all topic (appealsd runs):\n")
    table_e2e(runs, modes)
    print("\nCPU µs per appeal by process and thread (appealsd runs, from the start of the "
          "load until the daemon had drained):\n")
    table_cpu(runs, modes)
    ok, lines = targets(runs, "daemon")
    print("\nTargets (issue 14):")
    print("\n".join(lines))
    if any(runs[("base", m)] for m in modes):
        print("\nThe base build against the same targets (before):")
        print("\n".join(targets(runs, "base")[1]))
    missing = sum(r["e2e"]["missing"] for (item, _), v in runs.items() if item in APDS
                  for r in v.values())
    if missing:
        ids = [i for (item, _), v in runs.items() if item in APDS
               for r in v.values() for i in r["e2e"]["missing_ids"]]
        print("\nERROR: %d acknowledged appeals never reached Kafka, e.g. %s"
              % (missing, ", ".join(ids[:5])))
        return 1
    return 0 if ok else 1


def main(argv):
    usage = __doc__.strip()
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "stamp" and len(args) == 1:
        return stamp(args[0])
    if cmd == "join" and len(args) in (2, 3):
        return join(args[0], args[1], float(args[2]) if len(args) == 3 else 120.0)
    if cmd == "drained" and not args:
        return drained()
    if cmd == "threads" and len(args) == 2:
        return threads(int(args[0]), int(args[1]))
    if cmd == "jit" and len(args) == 1:
        print(thread_ticks(int(args[0])).get("JIT", 0))
        return 0
    if cmd == "report" and len(args) in (1, 2):
        return report(args[0], args[1] if len(args) == 2 else "")
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
