#!/usr/bin/python3
"""A slow broker (the broker throttles every producer to a trickle with a
client quota): intake goes on from the spool, the daemon's memory stays bounded
by its in-flight window however long the backlog on disk grows, and the backlog
drains without loss when the broker speeds up again."""

import time

import fault
from fault import FULL, Load, apd, h

SECONDS = 60 if FULL else 15


def test_slow_broker_memory_bounded():
    with h.Services(private=True) as svc:
        over = {"daemon.max_inflight": "256", **fault.FAST_SLA}
        with apd.Apd(svc, overrides=over) as a:
            pid = a.daemon.pid
            warm = Load(a.url(""), rate=200, seconds=3, conns=8)
            warm.wait()
            fault.wait_drained(a)
            rss0 = fault.rss_kb(pid)
            h.set_produce_quota(svc.kafka_brokers, 4096)
            load = Load(a.url(""), rate=300, seconds=SECONDS, conns=8)
            samples = []
            t_end = time.monotonic() + SECONDS
            while time.monotonic() < t_end:
                samples.append(fault.rss_kb(pid))
                time.sleep(1)
            load.wait()
            st = a.ctl("status")["result"]
            backlog = st["spool"]["unreleased"]
            recs = warm.records() + load.records()
            assert all(s == 200 for _, _, s in load.records()), "intake stopped"
            assert backlog > 1000, "the broker was not slow enough to build a backlog: %s" % st
            peak = max(samples)
            assert peak - rss0 < 24 * 1024, \
                "RSS grew from %d to %d kB with %d records waiting" % (rss0, peak, backlog)
            h.set_produce_quota(svc.kafka_brokers, None)
            fault.wait_drained(a, timeout=300)
            fault.verdict(a, recs)
            print("# backlog %d records on disk; RSS %d -> peak %d kB" % (backlog, rss0, peak))


if __name__ == "__main__":
    h.main(globals())
