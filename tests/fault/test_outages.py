#!/usr/bin/python3
"""Broker and Redis outages under load: intake goes on (every webhook is still
answered 200 from the spool), the backlog drains when the service returns, and
every acknowledged appeal is delivered exactly once."""

import time

import fault
from fault import FULL, Load, apd, h

OUTAGE = 60 if FULL else 8


def test_kafka_stopped_under_load():
    with h.Services(private=True) as svc, apd.Apd(svc, overrides=fault.FAST_SLA) as a:
        load = Load(a.url(""), rate=200, seconds=OUTAGE + 8, conns=8)
        time.sleep(3)
        svc.stop_kafka()
        t0 = time.monotonic()
        time.sleep(OUTAGE)
        st = a.ctl("status")["result"]
        assert st["spool"]["unreleased"] > 0, st["spool"]
        svc.start_kafka()
        summary = load.wait()
        recs = load.records()
        assert summary["status"]["2xx"] == summary["answered"], summary
        assert all(s == 200 for _, _, s in recs), "intake must go on while Kafka is down"
        fault.wait_drained(a, timeout=180)
        fault.verdict(a, recs)
        print("# outage %.0fs, %d requests answered 200, backlog drained"
              % (time.monotonic() - t0, len(recs)))


def test_redis_stopped_under_load():
    with h.Services(private=True) as svc, apd.Apd(svc, overrides=fault.FAST_SLA) as a:
        load = Load(a.url(""), rate=200, seconds=OUTAGE + 8, conns=8)
        time.sleep(3)
        svc.stop_redis()
        time.sleep(OUTAGE)
        svc.start_redis()
        summary = load.wait()
        recs = load.records()
        assert summary["status"]["2xx"] == summary["answered"], summary
        fault.wait_drained(a, timeout=180)
        fault.verdict(a, recs)
        # every open, unanswered appeal has its timer: waiting in sla:due, or
        # claimed by the scheduler (sla:lease; a claim that Redis's outage
        # interrupted is taken again when its lease runs out) — none lost
        with a.redis() as r:
            timers = set(r.zrange(a.rkey("sla:due"))) | set(r.zrange(a.rkey("sla:lease")))
            open_ids = r.zrange(a.rkey("idx:open"))
            lost = [aid for aid in open_ids
                    if r.hgetall(a.rkey("a:{%s}" % aid)).get("state") == "open"
                    and aid not in timers]
        assert open_ids and not lost, "open appeals without their timer: %s" % lost[:5]
        st = a.ctl("status")["result"]
        assert st["redis"]["connected"] and not st["redis"]["came_back_empty"], st["redis"]


if __name__ == "__main__":
    h.main(globals())
