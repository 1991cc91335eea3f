#!/usr/bin/python3
"""What was acknowledged is never lost: kill -9 under load from concurrent
clients, then a restart on the same spool, and every appeal that got its 200
reaches Kafka; records accepted while Kafka was away are replayed after a
restart."""

import http.client
import json
import threading
import time

import apd
from apd import h, vk_appeal_id, vk_comment


def load(a, clients, stop, acked, lock):
    """Each client posts distinct VK comments on its own keep-alive connection
    until told to stop or the connection fails; 200-acked ids go to acked."""
    def run(cid):
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        i = 0
        while not stop.is_set():
            cid_comment = cid * 1000000 + i
            body = json.dumps(vk_comment(100001, cid_comment, "Обращение №%d: не вывозят мусор"
                                         % cid_comment), ensure_ascii=False).encode()
            try:
                conn.request("POST", "/webhook/vk", body=body,
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                return
            if r.status == 200 and data == b"ok":
                with lock:
                    acked.add(vk_appeal_id(100001, cid_comment))
            i += 1
    threads = [threading.Thread(target=run, args=(c,), daemon=True)
               for c in range(1, clients + 1)]
    for t in threads:
        t.start()
    return threads


def test_kill9_under_load_loses_nothing_acknowledged():
    with h.Services() as svc, apd.Apd(svc) as a:
        acked, lock, stop = set(), threading.Lock(), threading.Event()
        threads = load(a, 4, stop, acked, lock)
        # kill once records are in every stage: published and released, in
        # flight between Redis and Kafka, and only in the spool
        h.wait_until(lambda: a.ctl("status")["result"]["pipeline"]["published"] >= 300,
                     timeout=60, what="300 published appeals")
        time.sleep(0.2)
        a.daemon.kill9()
        stop.set()
        for t in threads:
            t.join(15)
        with lock:
            acked = set(acked)
        assert "drained" not in a.daemon.log(), "the daemon must have died, not drained"
        h._diag("%d requests acknowledged before kill -9" % len(acked))
        # the same spool, the same listening socket
        a.start()
        a.wait_idle(timeout=120)
        msgs = a.consume("all", len(acked), timeout=120)
        delivered = {m["key"] for m in msgs if m["json"]["event"] == "created"}
        missing = acked - delivered
        assert not missing, "%d of %d acknowledged appeals lost, e.g. %s" % (
            len(missing), len(acked), sorted(missing)[:5])
        # replays publish again under the same seq, never as a second appeal
        for aid in sorted(acked)[:20]:
            assert a.appeal(aid)["seq"] == "1", a.appeal(aid)
        seqs = {(m["key"], m["json"]["seq"]) for m in msgs}
        assert all(s == 1 for _, s in seqs), [x for x in seqs if x[1] != 1][:5]


def with_overrides(a, **changes):
    """The daemon's --set list with some keys replaced (for the next start)."""
    merged = dict(a.overrides, **{k.replace("__", "."): v for k, v in changes.items()})
    a.daemon.overrides = ["%s=%s" % kv for kv in merged.items()]


def test_records_accepted_while_kafka_is_away_are_replayed_after_a_restart():
    with h.Services() as svc, apd.Apd(svc, start=False) as a:   # topics made, not started
        with_overrides(a, kafka__brokers="127.0.0.1:9", daemon__shutdown_timeout="500ms")
        a.start()
        ids = []
        for i in range(5):
            st, _, body = a.post("/webhook/vk", vk_comment(100003, 300 + i, "Нет воды, дом %d" % i))
            assert (st, body) == (200, b"ok"), (st, body)
            ids.append(vk_appeal_id(100003, 300 + i))
        assert a.daemon.stop() == 0
        with_overrides(a)
        a.start()
        assert "5 records from an earlier run were not finished; replaying them" in a.daemon.log()
        msgs = a.consume("all", 5)   # wherever the rules route them
        assert [m["key"] for m in msgs] == ids, [m["key"] for m in msgs]
        a.wait_idle()
        assert a.ctl("status")["result"]["spool"]["unreleased"] == 0


if __name__ == "__main__":
    h.main(globals())
