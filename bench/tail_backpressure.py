#!/usr/bin/python3
"""What stalled `appealsctl tail` clients cost the daemon, against a baseline
measured in the same run.

ROUNDS rounds of three runs, WEBHOOKS VK comments posted by 8 threads each,
each on a fresh daemon: no tail clients (baseline); STALLED tail clients that never read with
[control] max_output = 16k (the bound at work); and the same clients with
max_output = 1GiB (in effect unbounded).  Reported per run: wall time from
the first post until the pipeline is idle, and the daemon's RSS growth; then the
medians and their ratios against the baseline.

    APD_BUILD_DIR=build python3 bench/tail_backpressure.py [WEBHOOKS] [STALLED] [ROUNDS]

Needs Redis and Kafka (scripts/services.sh, exported as APD_REDIS_URL and
APD_KAFKA_BROKERS), like the integration tests."""

import concurrent.futures
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import apd  # noqa: E402
from apd import h, vk_comment  # noqa: E402

TEXT = ("Во дворе дома №5 по ул. Пионерской третий день не вывозят мусор, "
        "контейнеры переполнены, запах на весь двор. ") * 2


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def one_run(svc, webhooks, stalled, max_output):
    with apd.Apd(svc, overrides={"control.max_output": max_output}) as a:
        sock = str(a.tmp / "ctl.sock")
        clients = []
        for _ in range(stalled):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.sendall(b'{"cmd":"tail"}\n')
            clients.append(s)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"]
                     == stalled, what="subscribers")
        # warm up (connections to Kafka and Redis) before measuring
        a.post("/webhook/vk", vk_comment(100001, 1, "прогрев"))
        a.wait_idle(timeout=60)
        rss0 = rss_kib(a.daemon.pid)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            codes = set(ex.map(lambda i: a.post("/webhook/vk",
                                                vk_comment(100001, 10 + i, TEXT))[0],
                               range(webhooks)))
        a.wait_idle(timeout=300)
        took = time.monotonic() - t0
        grown = rss_kib(a.daemon.pid) - rss0
        c = a.ctl("status")["result"]["control"]
        for s in clients:
            s.close()
        assert codes == {200}, codes
        return took, grown, c


def main():
    webhooks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    stalled = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    runs = [("no tail clients", 0, "1MiB"),
            ("%d stalled, max_output 16k" % stalled, stalled, "16k"),
            ("%d stalled, max_output 1GiB" % stalled, stalled, "1GiB")]
    times = {name: [] for name, _, _ in runs}
    growth = {name: [] for name, _, _ in runs}
    with h.Services() as svc:
        # interleaved rounds: a busy neighbour slows every configuration alike
        for r in range(rounds):
            for name, n, mo in runs:
                took, grown, c = one_run(svc, webhooks, n, mo)
                times[name].append(took)
                growth[name].append(grown)
                print("round %d  %-30s %6.2f s  %6.0f webhooks/s  RSS +%7d KiB  sent %d "
                      "dropped %d  high water %d B" % (r + 1, name, took, webhooks / took,
                                                       grown, c["events_sent"],
                                                       c["events_dropped"],
                                                       c["buffered_high_water"]), flush=True)
    base = runs[0][0]
    bt, bg = statistics.median(times[base]), statistics.median(growth[base])
    print("median of %d rounds, %d webhooks:" % (rounds, webhooks))
    for name, _, _ in runs:
        t, g = statistics.median(times[name]), statistics.median(growth[name])
        print("  %-30s %6.2f s (x%.2f)  RSS +%d KiB (x%.1f)" % (name, t, t / bt, g,
                                                              g / max(bg, 1)))


if __name__ == "__main__":
    main()
