#!/usr/bin/python3
"""The spine end to end: a VK comment over HTTP becomes a routed appeal on the
organisation's Kafka topic, a record with a first-response deadline in Redis, and
counters on the control socket; bad input gets its status and the daemon goes on."""

import json
import signal

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event


def test_confirmation_comment_kafka_redis_status():
    with h.Services() as svc, apd.Apd(svc) as a:
        st, _, body = a.post("/webhook/vk", vk_event(100001, "confirmation", None, "c1"))
        assert (st, body) == (200, b"6f1c2a9b"), (st, body)

        text = "Добрый день. На ул. Пионерской третий день яма на дороге, машины бьют колёса"
        st, hdrs, body = a.post("/webhook/vk", vk_comment(100001, 501, text))
        assert (st, body) == (200, b"ok"), (st, body)

        msgs = a.consume("org.maykop", 1)
        assert len(msgs) == 1, msgs
        m = msgs[0]
        aid = vk_appeal_id(100001, 501)
        assert m["key"] == aid, m["key"]
        hdr = m["headers"]
        assert hdr["event-type"] == "created" and hdr["schema-version"] == "1", hdr
        j = m["json"]
        assert j["event"] == "created" and j["seq"] == 1 and j["text"] == text, j
        assert j["org"]["code"] == "maykop" and j["source"] == "vk", j
        assert j["item"]["link"] == "https://vk.com/wall-100001_42?reply=501", j
        assert "id" not in j["author"] and len(j["author"]["pseudonym"]) == 16, j["author"]
        assert j["sla"]["first_response_due"].endswith("+03:00"), j["sla"]
        assert len(a.consume("all", 1)) == 1

        a.wait_idle()
        rec = a.appeal(aid)
        assert rec["state"] == "open" and rec["org"] == "maykop", rec
        # 8 working hours of Maykop's administration from receipt (docs/sla.md)
        due = int(rec["fr_due"])
        assert due == apd.deadline(a, "maykop", int(rec["received_ms"]), "8h"), rec
        with a.redis() as r:
            timers = r.zrange(a.rkey("sla:due"), withscores=True)
        assert timers and timers[0][0] == aid and timers[0][1] <= due, timers

        st = a.ctl("status")["result"]
        assert st["state"] == "running" and st["kafka"]["connected"], st
        assert st["redis"]["connected"] and st["pipeline"]["published"] == 1, st
        out = a.appealsctl("status").stdout
        assert "connected" in out and "1 published" in out, out


def test_page_reply_answers_and_redelivery_is_dropped():
    with h.Services() as svc, apd.Apd(svc) as a:
        aid = vk_appeal_id(100002, 601)
        a.post("/webhook/vk", vk_comment(100002, 601, "Когда откроют поликлинику в Яблоновском?"))
        # the same delivery again (VK retries with the same event_id)
        st, _, body = a.post("/webhook/vk", vk_comment(100002, 601, "Когда откроют?"))
        assert (st, body) == (200, b"ok")
        # the ministry's page answers in the thread
        a.post("/webhook/vk", vk_comment(100002, 602, "[id7001|Анна], откроют в марте",
                                         from_id=-100002, reply_to=601))
        # the first-response clock's "met" follows on the owner's topic: one
        # gap-free sequence of the appeal's events (issue 15)
        msgs = a.consume("org.minzdrav", 3)
        assert [m["json"]["event"] for m in msgs] == ["created", "answered", "met"], msgs
        assert [m["json"]["seq"] for m in msgs] == [1, 2, 3]
        a.wait_idle()
        rec = a.appeal(aid)
        assert rec["state"] == "answered", rec
        assert rec["fr_link"].endswith("reply=602&thread=601") and rec["fr"] == "m", rec
        # the reply stops the first-response clock; the resolution clock runs on
        assert rec["fr"] == "m" and rec["res"] == "r", rec
        st = a.ctl("status")["result"]["pipeline"]
        assert st["duplicates"] == 1 and st["answers"] == 1, st


def test_bad_input_gets_its_status_and_the_daemon_keeps_serving():
    with h.Services() as svc, apd.Apd(svc, overrides={"http.max_body": "64k"}) as a:
        cases = [
            ("wrong secret", vk_comment(100001, 1, "x", event_id="b1") | {"secret": "nope"}, 403),
            ("non-JSON", b"{not json", 400),
            ("unknown community", vk_comment(999999, 1, "x"), 403),
            ("no type", {"group_id": 100001}, 400),
        ]
        for what, body, want in cases:
            st, _, resp = a.post("/webhook/vk", body)
            assert st == want, (what, st, resp)
        st, _, _ = h.http_get(a.url("/webhook/vk"))
        assert st == 405, st
        st, _, _ = a.post("/webhook/unknown", b"{}")
        assert st == 404, st
        st, _, _ = a.post("/webhook/vk", b"x" * (65 * 1024))
        assert st == 413, st
        # a raw oversize declaration is refused from the headers alone
        raw = h.http_raw("127.0.0.1", a.port, b"POST /webhook/vk HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 10485760\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 413"), raw[:80]
        # and a good comment still goes through
        st, _, body = a.post("/webhook/vk", vk_comment(100001, 700, "Во дворе сломаны качели"))
        assert (st, body) == (200, b"ok")
        assert len(a.consume("org.maykop", 1)) == 1
        st, _, body = h.http_get(a.url("/healthz"))
        assert (st, body.split(b"\n")[0]) == (200, b"ok"), body
        st, _, body = h.http_get(a.url("/metrics"))
        text = body.decode()
        # the wrong secret and the unknown community
        assert 'appealsd_http_requests_total{source="vk",status="403"} 2' in text, text
        assert 'appealsd_appeals_total{org="maykop",event="created"} 1' in text, text
        assert "appealsd_kafka_delivery_seconds_bucket" in text


def test_sigterm_drains_and_exits_zero():
    with h.Services() as svc, apd.Apd(svc) as a:
        a.post("/webhook/vk", vk_comment(100001, 801, "Во дворе сломаны качели, дети поранятся"))
        a.daemon.signal(signal.SIGTERM)
        assert a.daemon.wait(30) == 0, a.daemon.log_tail()
        a.daemon.notify.wait_for("STOPPING=1", timeout=1)
        assert len(a.consume("org.maykop", 1)) == 1


if __name__ == "__main__":
    h.main(globals())
