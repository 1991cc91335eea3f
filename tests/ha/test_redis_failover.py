#!/usr/bin/python3
"""Redis with Sentinel: the daemon asks three sentinels (with a password) for
the master; the master is killed under load, the sentinels promote the
replica, the daemon follows, and nothing acknowledged is lost: a spool record
is released only once its writes are on a replica (WAIT), so the promoted one
has every appeal the daemon let go of.  Ends with the fault tests' verdict
plus every open appeal with its SLA timer on the new master."""

import signal
import time

import ha
from ha import FULL, Load, apd, fault, h

# CI: one failover in a 30 s load.  Full: a failover a minute for ten minutes,
# the killed node coming back each time as the new master's replica.
FAILOVERS = 10 if FULL else 1
PERIOD = 60 if FULL else 12


def master_of(a):
    return a.ctl("status")["result"]["redis"]


def test_sentinel_failover_under_load():
    rha = ha.RedisHA()
    with h.Services() as svc:
        over = dict(fault.FAST_SLA, **rha.overrides())
        a = apd.Apd(svc, overrides=over)
        first = master_of(a)
        assert first["master"] == "127.0.0.1:%d" % rha.master_port(), first
        assert first["min_replicas"] == 1, first
        seconds = FAILOVERS * PERIOD + 8
        load = Load(a.url(""), rate=200, seconds=seconds, conns=8)
        t_start = time.monotonic()
        outages = []
        for i in range(FAILOVERS):
            time.sleep(max(0.0, t_start + 5 + i * PERIOD - time.monotonic()))
            t0 = time.monotonic()
            old, new = rha.fail_master()
            want = "127.0.0.1:%d" % new
            h.wait_until(lambda: master_of(a)["master"] == want, timeout=60, interval=0.2,
                         what="the daemon to follow the failover to %s" % want)
            outages.append(time.monotonic() - t0)
            # With min_replicas 1 nothing is released until a replica has it:
            # the killed node comes back (empty) as the new master's replica.
            rha.restore(old)
        summary = load.wait()
        recs = load.records()
        assert summary["status"]["2xx"] == summary["answered"], summary
        st = master_of(a)
        # at least ours: on a loaded machine the sentinels may fail over once
        # more on their own, and the daemon must follow that one too
        assert st["failovers"] >= FAILOVERS, st
        assert st["master"] == "127.0.0.1:%d" % rha.master_port(), st
        assert a.metric("appealsd_redis_master{addr=\"%s\"}" % st["master"]) == 1
        assert a.metric("appealsd_redis_master_changes_total") == st["failovers"]
        fault.wait_drained(a, timeout=180)
        a.overrides["redis.url"] = "redis://127.0.0.1:%d/0" % rha.master_port()
        fault.verdict(a, recs)
        with a.redis() as r:
            n_open = ha.assert_open_with_timers(a, r)
        assert not st["came_back_empty"], st
        out = a.appealsctl("status").stdout
        assert "redis master" in out and st["master"] in out, out
        h._diag("\n".join(l for l in out.splitlines() if l.lstrip().startswith("redis")))
        h._diag("%d failovers made, %d followed (in %s s); %d requests answered 200; %d open "
                "appeals with their timers; %d records redone, %d replica waits short"
                % (FAILOVERS, st["failovers"], ", ".join("%.1f" % s for s in outages), len(recs), n_open,
                   a.ctl("status")["result"]["pipeline"]["redone"],
                   st["replica_waits_short"]))
        a.daemon.close()


def test_records_kept_while_no_replica_confirms():
    """The replica stops (SIGSTOP: alive, silent): webhooks are still answered
    200 from the spool, but no record is released while WAIT cannot reach
    min_replicas; once the replica answers again, everything drains.  Before
    WAIT, records were released as soon as the master alone had them."""
    rha = ha.RedisHA()
    with h.Services() as svc:
        a = apd.Apd(svc, overrides=dict(fault.FAST_SLA, **rha.overrides()))
        replica = [n for n in rha.data if n.port != rha.master_port()][0]
        h.wait_until(lambda: master_of(a)["connected"], timeout=20, what="Redis connected")
        replica.proc.send_signal(signal.SIGSTOP)
        try:
            load = Load(a.url(""), rate=100, seconds=6, conns=4)
            load.wait()
            time.sleep(1.5)
            st = a.ctl("status")["result"]
            assert st["spool"]["unreleased"] > 0, st["spool"]
            assert st["redis"]["replica_waits_short"] > 0, st["redis"]
        finally:
            replica.proc.send_signal(signal.SIGCONT)
        recs = load.records()
        assert all(s == 200 for _, _, s in recs), "intake must go on while WAIT falls short"
        fault.wait_drained(a, timeout=120)
        fault.verdict(a, recs)
        h._diag("%d records held while the replica was stopped, released after it resumed"
                % st["spool"]["unreleased"])
        a.daemon.close()


if __name__ == "__main__":
    h.main(globals())
