#!/usr/bin/python3
"""The spool's disk runs full: webhooks get 503 with Retry-After (never a 200
for something that could not be kept), and intake recovers when space returns.
The spool lives on a small tmpfs; Kafka is stopped so nothing drains while the
disk fills."""

import subprocess
import time

import fault
from fault import Load, apd, h


def mount_tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs",
                        str(path)], capture_output=True)
    if r.returncode != 0:
        raise h.Skip("cannot mount a tmpfs for the spool (needs root): %s"
                     % r.stderr.decode().strip())
    h._register(lambda: subprocess.run(["umount", "-l", str(path)], capture_output=True))


def test_disk_full_503_then_recovery():
    with h.Services(private=True) as svc:
        spool = h.tmpdir() / "small-spool"
        mount_tmpfs(spool, "1m")
        over = {"spool.dir": str(spool), "spool.segment_size": "128k", "spool.max_size": "1G",
                "http.retry_after": "7", **fault.FAST_SLA}
        with apd.Apd(svc, overrides=over) as a:
            svc.stop_kafka()
            load = Load(a.url(""), rate=400, seconds=8, conns=8)
            load.wait()
            recs = load.records()
            codes = {st for _, _, st in recs}
            assert 503 in codes, "the full disk was never reported: %s" % codes
            assert 200 in codes, codes
            st, hdrs, body = a.post("/webhook/vk", apd.vk_comment(100001, 999001, "Нет воды"))
            assert st == 503 and hdrs.get("retry-after") == "7", (st, hdrs, body)
            status = a.ctl("status")["result"]
            assert status["spool"]["write_errors"] > 0, status["spool"]
            # space returns: the broker is back, the backlog drains, segments go
            svc.start_kafka()
            fault.wait_drained(a, timeout=180)
            def accepted():
                return a.post("/webhook/vk", apd.vk_comment(100001, 999002, "Нет газа"))[0] == 200
            h.wait_until(accepted, timeout=60, what="intake to recover", interval=1.0)
            recs.append((apd.vk_appeal_id(100001, 999002), "new", 200))
            fault.verdict(a, recs)


if __name__ == "__main__":
    h.main(globals())
