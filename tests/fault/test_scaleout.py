#!/usr/bin/python3
"""Three daemons behind HAProxy, sharing one Redis and one Kafka: every appeal
reaches Kafka once under one id, and when one daemon is killed under load the
others go on and the killed one replays its spool when it comes back."""

import signal
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


def test_three_daemons_behind_haproxy():
    with h.Services() as svc:
        first = apd.Apd(svc, name="d0")
        ds = [first] + [apd.Apd(svc, name="d%d" % i, u=first.u, create_topics=False)
                        for i in (1, 2)]
        lb = HAProxy([d.port for d in ds])
        seconds = 60 if FULL else 12
        load = Load(lb.url(""), rate=300, seconds=seconds, conns=12)
        time.sleep(seconds / 3)
        victim = ds[1]
        victim.daemon.kill9()
        time.sleep(seconds / 4)
        victim.daemon.start()
        victim.daemon.wait_ready()
        load.wait()
        recs = load.records()
        ok = [r for r in recs if r[2] == 200]
        assert len(ok) > len(recs) * 0.8, "too few answered 200: %d of %d" % (len(ok), len(recs))
        for d in ds:
            fault.wait_drained(d, timeout=120)
        fault.assert_no_loss_no_dup(first, recs)
        fault.assert_sla_events_once(first)
        published = [d.ctl("status")["result"]["pipeline"]["published"] for d in ds]
        assert all(p > 0 for p in published), "a daemon took no work: %s" % published
        for d in ds:
            d.daemon.close()


if __name__ == "__main__":
    h.main(globals())
