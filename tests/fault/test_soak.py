#!/usr/bin/python3
"""Soak: a steady webhook rate for a long time (30 minutes with
APD_FAULT_FULL=1, 2 minutes in CI) with the daemon's RSS and open file
descriptors sampled throughout: both must stay flat, and everything
acknowledged must be delivered."""

import os
import statistics
import time

import fault
from fault import FULL, Load, apd, h

SECONDS = 1800 if FULL else 120
RATE = 200


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_soak_rss_and_fds_flat():
    with h.Services() as svc, apd.Apd(svc, overrides=fault.FAST_SLA) as a:
        pid = a.daemon.pid
        load = Load(a.url(""), rate=RATE, seconds=SECONDS, conns=8)
        samples = []
        t_end = time.monotonic() + SECONDS
        while time.monotonic() < t_end:
            samples.append((fault.rss_kb(pid), open_fds(pid)))
            time.sleep(2)
        load.wait()
        # Compare the second quarter with the last one: the first quarter is warm-up
        # (caches, librdkafka buffers, metrics series).
        q = max(1, len(samples) // 4)
        early = statistics.median(s[0] for s in samples[q:2 * q])
        late = statistics.median(s[0] for s in samples[-q:])
        fds_early = statistics.median(s[1] for s in samples[q:2 * q])
        fds_late = statistics.median(s[1] for s in samples[-q:])
        assert late - early < max(4096, early * 0.10), \
            "RSS grew from %d to %d kB over the soak" % (early, late)
        assert abs(fds_late - fds_early) <= 4, \
            "open fds moved from %d to %d" % (fds_early, fds_late)
        fault.wait_drained(a, timeout=300)
        fault.verdict(a, load.records(), timeout=300)
        print("# %ds at %d/s: RSS %d -> %d kB, fds %d -> %d, %d requests"
              % (SECONDS, RATE, early, late, fds_early, fds_late, len(load.records())))


if __name__ == "__main__":
    h.main(globals())
