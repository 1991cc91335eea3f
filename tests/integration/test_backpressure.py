#!/usr/bin/python3
"""Memory bounded by configuration, not by load (issue 14): with a tiny
[pipeline] ceiling and a slow broker, webhooks are still answered 200 (the
spool holds them on disk), the records in flight never pass the ceiling (the
gauges say so, the peak included), and once the broker is fast again every
accepted appeal arrives."""

import threading

import apd
from apd import h, vk_appeal_id, vk_comment

RECORDS, BYTES = 4, 65536
COUNT = 120


def gauges(a):
    names = ["appealsd_pipeline_inflight_records", "appealsd_pipeline_inflight_bytes",
             "appealsd_pipeline_inflight_records_peak", "appealsd_pipeline_inflight_bytes_peak",
             "appealsd_spool_waiting_records"]
    return {n: a.metric(n + " ") for n in names}


def test_a_slow_broker_leaves_the_backlog_on_disk_and_loses_nothing():
    over = {"pipeline.max_inflight_records": str(RECORDS),
            "pipeline.max_inflight_bytes": str(BYTES)}
    with h.Services() as svc, apd.Apd(svc, overrides=over) as a:
        h.set_produce_quota(svc.kafka_brokers, 1024)
        try:
            ids, seen, stop = [], [], threading.Event()

            def watch():
                while not stop.is_set():
                    seen.append(gauges(a))
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            for c in range(COUNT):
                st, _, body = a.post("/webhook/vk", vk_comment(
                    100001, 2000 + c, "Яма на дороге у дома %d, колесо пробил" % c))
                assert (st, body) == (200, b"ok"), (c, st, body)
                ids.append(vk_appeal_id(100001, 2000 + c))
            h.wait_until(lambda: gauges(a)["appealsd_spool_waiting_records"] > 0,
                         what="records waiting in the spool")
            g = gauges(a)
        finally:
            h.set_produce_quota(svc.kafka_brokers, None)
        a.wait_idle(timeout=120)
        stop.set()
        watcher.join()
        seen.append(gauges(a))
        assert max(s["appealsd_pipeline_inflight_records"] for s in seen) <= RECORDS, seen
        assert g["appealsd_pipeline_inflight_records_peak"] == RECORDS, g
        assert seen[-1]["appealsd_pipeline_inflight_records_peak"] == RECORDS, seen[-1]
        # a record is taken while the bytes are below the ceiling: one may go past it
        assert seen[-1]["appealsd_pipeline_inflight_bytes_peak"] < BYTES + 8192, seen[-1]
        assert seen[-1]["appealsd_pipeline_inflight_records"] == 0, seen[-1]
        assert seen[-1]["appealsd_spool_waiting_records"] == 0, seen[-1]
        got = {m["json"]["appeal_id"] for m in a.consume("all", COUNT, timeout=60)}
        assert set(ids) <= got, sorted(set(ids) - got)[:5]


if __name__ == "__main__":
    h.main(globals())
