#!/usr/bin/python3
"""Three daemons behind HAProxy, sharing one Redis and one Kafka: every appeal
reaches Kafka once under one id, every SLA event once; when one daemon is
killed under load the others go on, the agency status consumer group moves
the dead daemon's partitions to the survivors (statuses sent to every
partition meanwhile are applied), and the killed one replays its spool and
rejoins the group when it comes back."""

import json
import subprocess
import time

import fault
from fault import FULL, Load, apd, h

HAPROXY_CFG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend webhooks
    bind 127.0.0.1:{port}
    default_backend appealsd
backend appealsd
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""


class HAProxy:
    def __init__(self, ports):
        h.require("haproxy")
        self.port = h.free_port()
        servers = "\n".join("    server d%d 127.0.0.1:%d check inter 300ms fall 2 rise 2" % (i, p)
                            for i, p in enumerate(ports))
        cfg = h.tmpdir() / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(port=self.port, servers=servers))
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        h._register(self.stop)
        h.wait_until(lambda: h.http_get(self.url("/healthz"))[0] == 200, timeout=20,
                     what="haproxy to serve")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def partitions(d):
    return d.ctl("status")["result"]["agency_status"]["partitions"]


def wait_group(ds, what):
    """Until the live daemons share every status partition, none twice."""
    def shared():
        got = [p for d in ds for p in partitions(d)]
        return sorted(got) == list(range(NPART)) and all(partitions(d) for d in ds)
    h.wait_until(shared, timeout=90, interval=0.5, what=what)


NPART = 3   # kafka.partitions: what --create-topics made


def open_appeals(a, n):
    """n open appeals with their owners, from the shared Redis."""
    out = []
    with a.redis() as r:
        for aid in r.zrange(a.rkey("idx:open")):
            rec = a.appeal(aid)
            if rec.get("state") == "open" and rec.get("org"):
                out.append((aid, rec["org"]))
            if len(out) == n:
                break
    assert len(out) == n, "only %d open appeals" % len(out)
    return out


def accept_on_every_partition(svc, a, appeals):
    """One "accepted" status per partition, so whichever daemon owns it must act."""
    for p, (aid, org) in enumerate(appeals):
        body = {"schema": "appealsd.status/1", "appeal_id": aid, "org": org,
                "status": "accepted", "at": "2026-11-30T10:00:00+03:00"}
        h.kafka_produce(svc.kafka_brokers, a.topic("status." + org), aid,
                        json.dumps(body, ensure_ascii=False), partition=p)


def test_three_daemons_behind_haproxy():
    with h.Services() as svc:
        more = dict(fault.FAST_SLA, **{"kafka.partitions": str(NPART)})
        first = apd.Apd(svc, name="d0", overrides=more)
        ds = [first] + [apd.Apd(svc, name="d%d" % i, u=first.u, create_topics=False,
                                overrides=more)
                        for i in (1, 2)]
        wait_group(ds, "the status partitions spread over the three daemons")
        lb = HAProxy([d.port for d in ds])
        seconds = 90 if FULL else 30
        load = Load(lb.url(""), rate=300, seconds=seconds, conns=12)
        time.sleep(4)
        victim = ds[1]
        lost = partitions(victim)
        victim.daemon.kill9()
        survivors = [d for d in ds if d is not victim]
        # the group notices after sla.status_session_timeout (10 s)
        wait_group(survivors, "the survivors to take partitions %s of the killed daemon" % lost)
        appeals = open_appeals(first, NPART)
        accept_on_every_partition(svc, first, appeals)
        for aid, _ in appeals:
            h.wait_until(lambda: first.appeal(aid).get("state") == "accepted", timeout=60,
                         what="the status on a moved partition applied to %s" % aid)
        h._diag("partitions %s moved from the killed daemon to the survivors: %s"
                % (lost, [partitions(d) for d in survivors]))
        victim.daemon.start()
        victim.daemon.wait_ready()
        wait_group(ds, "the restarted daemon to rejoin the status group")
        load.wait()
        recs = load.records()
        ok = [r for r in recs if r[2] == 200]
        assert len(ok) > len(recs) * 0.8, "too few answered 200: %d of %d" % (len(ok), len(recs))
        for d in ds:
            fault.wait_drained(d, timeout=120)
        fault.verdict(first, recs)
        published = [d.ctl("status")["result"]["pipeline"]["published"] for d in ds]
        assert all(p > 0 for p in published), "a daemon took no work: %s" % published
        for aid, _ in appeals:
            audit = [x["action"] for x in first.ctl("show", {"id": aid})["result"]["audit"]]
            assert audit.count("accepted") == 1, (aid, audit)
        for d in ds:
            d.daemon.close()


if __name__ == "__main__":
    h.main(globals())
