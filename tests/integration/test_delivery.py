#!/usr/bin/python3
"""HTTP delivery to organisations without Kafka, and acknowledgements to citizens,
against local fake endpoints: signed requests, retries with backoff until a 2xx,
exactly one successful delivery across failures and restarts, bounded concurrency,
per-appeal order, and the platform API calls with their pacing and give-up rules.
Every body is validated against docs/schemas."""

import json
import signal
import threading
import time

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event

SECRET = "hook-secret-0123456789"
VK_TOKEN = "vk1.a.community-token"


def config(endpoint, delivery="", ack="", concurrency=4):
    return apd.directory_config("""
[org "hook"]
name = Водоотведение (HTTP only)
type = service
parent = maykop
kafka = no
http_url = %s
http_secret = %s
http_concurrency = %d

[rule "sewage"]
keywords = канализац
org = hook

[rule "roads"]
keywords = яма
org = maykop

[delivery]
poll_interval = 50ms
retry_min = 300ms
retry_max = 2s
%s
%s
""" % (endpoint, SECRET, concurrency, delivery, ack))


def outbox(a):
    """The outbox's keys in Redis for this daemon's prefix."""
    with a.redis() as r:
        return sorted(r.keys(a.rkey("{out}:*")))


def outbox_empty(a):
    keys = outbox(a)
    return all(":done:" in k or k.endswith(":dead") for k in keys)


def delivered(ep):
    return [r for r in ep.requests if 200 <= (r.get("answered") or 0) < 300]


def test_fails_twice_then_delivers_exactly_once_without_holding_kafka():
    def respond(req):
        return (500, {"error": "busy"}) if req["n"] <= 2 else (200, {"ok": True})

    with apd.FakeHTTP(respond) as ep, h.Services() as svc, \
            apd.Apd(svc, config_text=config(ep.url("/appeals"))) as a:
        aid = vk_appeal_id(100001, 61)
        a.post("/webhook/vk", vk_comment(100001, 61, "Канализация течёт во двор"))
        a.post("/webhook/vk", vk_comment(100001, 62, "яма у подъезда"))
        # the Kafka-only appeal is published while the endpoint keeps failing
        assert len(a.consume("org.maykop", 1)) == 1
        reqs = ep.wait_for(3)
        h.wait_until(lambda: outbox_empty(a), what="the outbox to empty")
        assert len(ep.requests) == 3 and len(delivered(ep)) == 1, ep.requests
        ids = {r["headers"]["x-appealsd-delivery"] for r in reqs}
        assert ids == {"org:hook|%s#1" % aid}, ids
        assert [r["headers"]["x-appealsd-attempt"] for r in reqs] == ["1", "2", "3"]
        assert len({r["body"] for r in reqs}) == 1, "every attempt sends the same body"
        verify = apd.guide_verify()   # the code docs/consuming-appeals.md gives agencies
        for r in reqs:
            assert r["path"] == "/appeals" and r["headers"]["content-type"] == "application/json"
            assert r["headers"]["x-appealsd-event"] == "created"
            assert r["headers"]["x-appealsd-schema"] == "appealsd.appeal/1"
            apd.check_signature(SECRET, r)
            assert verify(SECRET.encode(), r["headers"], r["body"])
            assert not verify(b"another-secret-000", r["headers"], r["body"])
            assert not verify(SECRET.encode(), r["headers"], r["body"] + b" ")
        # backoff: the retries did not come at once
        assert reqs[2]["time"] - reqs[0]["time"] > 0.2, [r["time"] for r in reqs]
        body = apd.validate_message(reqs[0]["body"], "created")
        assert body["appeal_id"] == aid and body["org"]["code"] == "hook", body
        assert "id" not in body["author"], body["author"]
        # an HTTP-only organisation has no topic; appeals.all still has everything
        assert len(a.consume("all", 2)) == 2
        with a.redis() as r:
            assert r.get(a.rkey("{out}:done:org:hook|%s#1" % aid)) == "1"
        _, _, m = h.http_get(a.url("/metrics"))
        m = m.decode()
        assert 'appealsd_http_deliveries_total{org="hook",result="failed"} 2' in m, m
        assert 'appealsd_http_deliveries_total{org="hook",result="delivered"} 1' in m, m
        a.wait_idle()
        assert a.appeal(aid)["org"] == "hook"


def test_a_crash_mid_retry_still_delivers_once():
    def respond(req):
        return (503, {"error": "maintenance"}) if req["n"] <= 2 else (200, {"ok": True})

    delivery = "retry_min = 2s\nretry_max = 4s\n"
    with apd.FakeHTTP(respond) as ep, h.Services() as svc, \
            apd.Apd(svc, config_text=config(ep.url("/in"), delivery)) as a:
        aid = vk_appeal_id(100001, 63)
        a.post("/webhook/vk", vk_comment(100001, 63, "канализация"))
        ep.wait_for(2, timeout=30)
        a.daemon.kill9()
        with a.redis() as r:
            d = r.hgetall(a.rkey("{out}:d:org:hook|%s#1" % aid))
        assert d["attempts"] == "2" and "HTTP 503" in d["last_error"], d
        a.start()
        ep.wait_for(3, timeout=30)
        h.wait_until(lambda: outbox_empty(a), what="the outbox to empty")
        assert len(delivered(ep)) == 1 and len(ep.requests) == 3, ep.requests
        assert ep.requests[2]["headers"]["x-appealsd-attempt"] == "3"
        apd.validate_message(ep.requests[2]["body"], "created")


def test_shutdown_hands_a_running_request_back():
    release = threading.Event()

    def respond(req):
        if req["n"] == 1:
            release.wait(10)        # still sending when the daemon stops
            return (503, {"error": "too late"})
        return (200, {"ok": True})

    delivery = "http_timeout = 10s\nretry_min = 5s\nretry_max = 10s\n"   # lease 25 s
    with apd.FakeHTTP(respond) as ep, h.Services() as svc, \
            apd.Apd(svc, config_text=config(ep.url("/in"), delivery)) as a:
        a.post("/webhook/vk", vk_comment(100001, 64, "канализация"))
        ep.wait_for(1)
        a.wait_idle()
        t0 = time.monotonic()
        assert a.daemon.stop(timeout=15) == 0
        assert time.monotonic() - t0 < 5, "shutdown waited for the HTTP request"
        assert "1 HTTP request interrupted by shutdown; back in the outbox" in a.daemon.log()
        release.set()
        t0 = time.monotonic()
        a.start()
        ep.wait_for(2, timeout=20)
        # handed back as due now: not after the lease (25 s) or a backoff
        assert time.monotonic() - t0 < 5, time.monotonic() - t0
        h.wait_until(lambda: outbox_empty(a), what="the outbox to empty")
        assert len(delivered(ep)) == 1, ep.requests


def test_concurrency_is_bounded_and_an_appeals_events_stay_in_order():
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    failed_once = set()

    def respond(req):
        body = json.loads(req["body"])
        key = (body["appeal_id"], body["seq"])
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        # every appeal's first event fails once: its update must wait for it
        if body["seq"] == 1 and key not in failed_once:
            failed_once.add(key)
            return (500, {"error": "once"})
        return (200, {"ok": True})

    with apd.FakeHTTP(respond) as ep, h.Services() as svc, \
            apd.Apd(svc, config_text=config(ep.url("/in"), concurrency=2)) as a:
        for c in range(70, 76):
            a.post("/webhook/vk", vk_comment(100001, c, "канализация №%d" % c))
        edit = vk_event(100001, "wall_reply_edit", {"id": 70, "from_id": 7001,
                        "date": 1795900300, "text": "канализация, уже неделя", "post_id": 42,
                        "owner_id": -100001}, "edit70")
        a.post("/webhook/vk", edit)
        ep.wait_for(6 * 2 + 1, timeout=60)
        h.wait_until(lambda: outbox_empty(a), timeout=30, what="the outbox to empty")
        assert state["max"] == 2, state
        seen = [(json.loads(r["body"])["seq"], r.get("answered"))
                for r in ep.requests if json.loads(r["body"])["appeal_id"] ==
                vk_appeal_id(100001, 70)]
        assert seen == [(1, 500), (1, 200), (2, 200)], seen
        updated = [r for r in ep.requests if r["headers"]["x-appealsd-event"] == "updated"]
        apd.validate_message(updated[0]["body"], "updated")
        assert len(delivered(ep)) == 7, len(delivered(ep))


SLA_FAST = """
[sla]
calendar = none
hours = always
policy = fast
tick = 100ms
[hours "always"]
time = 00:00-24:00
[policy "fast"]
first_response = 2s
resolution = 60s
warning = 50%
escalate = after=1s to=up
"""


def http_only_config(endpoint):
    """hook (HTTP only) under hookboss (HTTP only) under maykop (Kafka)."""
    return apd.directory_config("""
[org "hookboss"]
name = Дирекция водоотведения (HTTP only)
type = service
parent = maykop
kafka = no
http_url = %s/boss
http_secret = %s

[org "hook"]
name = Водоотведение (HTTP only)
type = service
parent = hookboss
kafka = no
http_url = %s/hook
http_secret = %s

[rule "sewage"]
keywords = канализац
org = hook

[delivery]
poll_interval = 50ms
%s
""" % (endpoint, SECRET, endpoint, SECRET, SLA_FAST))


def http_events(ep, path, aid):
    """(event, seq, body) of the 2xx deliveries to path for appeal aid, by seq."""
    out = []
    for r in delivered(ep):
        body = json.loads(r["body"])
        if r["path"] == path and body["appeal_id"] == aid:
            out.append((r["headers"]["x-appealsd-event"], body.get("seq"), r))
    return sorted(out, key=lambda e: e[1] or 0)


def test_an_http_only_organisation_receives_every_event_without_a_gap():
    """Status, SLA, answers and closing reach an organisation with kafka = no
    at its endpoint, as appeals.all has them: seq 1..N with no gap (issue 14)."""
    with apd.FakeHTTP(lambda req: (200, {"ok": True})) as ep, h.Services() as svc, \
            apd.Apd(svc, config_text=http_only_config(ep.url(""))) as a:
        aid = vk_appeal_id(100001, 81)
        a.post("/webhook/vk", vk_comment(100001, 81, "Канализация течёт во двор"))
        # warning at 1 s, breach at 2 s, escalation to hookboss at 3 s
        h.wait_until(lambda: [e for e in http_events(ep, "/boss", aid)
                              if e[0] == "escalation"], timeout=30, what="the escalation")
        edit = vk_event(100001, "wall_reply_edit", {"id": 81, "from_id": 7001,
                        "date": 1795900300, "text": "канализация, уже неделя", "post_id": 42,
                        "owner_id": -100001}, "edit81")
        assert a.post("/webhook/vk", edit)[0] == 200
        status = {"schema": "appealsd.status/1", "appeal_id": aid, "org": "hook",
                  "status": "in_progress", "comment": "бригада выехала",
                  "at": "2026-11-30T10:00:00+03:00"}
        h.kafka_produce(svc.kafka_brokers, a.topic("status.hook"), aid,
                        json.dumps(status, ensure_ascii=False))
        h.wait_until(lambda: (a.appeal(aid) or {}).get("state") == "in_progress",
                     timeout=30, what="the agency's status")
        assert a.ctl("answer", {"id": aid, "link": "https://vk.com/wall-100001_42?reply=90",
                                "reason": "ответ в личных"})["ok"]
        assert a.ctl("close", {"id": aid, "reason": "прочищено"})["ok"]
        seen = []

        def on_all():
            seen[:] = [(m["json"]["event"], m["json"]["seq"]) for m in a.consume("all", 0)
                       if m["json"].get("appeal_id") == aid and "seq" in m["json"]]
            return seen if "closed" in [e for e, _ in seen] else None
        want = h.wait_until(on_all, timeout=30, what="the closing on appeals.all: %r" % seen)
        kinds = {e for e, _ in want}
        assert {"created", "warning", "breach", "escalation", "updated", "status_changed",
                "answered", "closed"} <= kinds, want
        assert [s for _, s in want] == list(range(1, len(want) + 1)), want
        got = h.wait_until(lambda: (lambda v: v if len(v) >= len(want) else None)(
            http_events(ep, "/hook", aid)), timeout=30, what="every event over HTTP")
        assert [(e, s) for e, s, _ in got] == want, (got, want)
        for event, _, r in got:
            family = r["headers"]["x-appealsd-schema"].split("/")[0].split(".")[1]
            apd.validate_message(r["body"], event if family == "appeal" else
                                 "%s.%s" % (family, event))
            apd.check_signature(SECRET, r)
        # the supervisor, HTTP only too, got the escalation it is named in
        boss = http_events(ep, "/boss", aid)
        assert [e for e, _, _ in boss] == ["escalation"], boss
        assert json.loads(boss[0][2]["body"])["recipients"][0]["code"] == "hookboss"
        h.wait_until(lambda: outbox_empty(a), what="the outbox to empty")


def vk_api(plan):
    """A fake VK API: plan(comment_id, attempt) -> the JSON answer."""
    attempts = {}
    lock = threading.Lock()

    def respond(req):
        assert req["path"] == "/method/wall.createComment", req["path"]
        cid = int(req["form"]["reply_to_comment"])
        with lock:
            attempts[cid] = attempts.get(cid, 0) + 1
            n = attempts[cid]
        return (200, plan(cid, n))
    return respond


def test_acknowledgement_on_vk_with_pacing_retry_and_give_up():
    def plan(cid, n):
        if cid == 81 and n == 1:
            return {"error": {"error_code": 9, "error_msg": "Flood control"}}
        if cid == 83:
            return {"error": {"error_code": 15, "error_msg": "Access denied"}}
        return {"response": {"comment_id": 9000 + cid, "parents_stack": []}}

    with apd.FakeHTTP(vk_api(plan)) as api, h.Services() as svc:
        ack = ("[ack]\nenabled = yes\nmin_interval = 400ms\nmax_attempts = 3\n"
               "vk_api = %s\n" % api.url("/method"))
        overrides = {"page.vk:100001.ack_token": VK_TOKEN}
        with apd.Apd(svc, config_text=config("http://127.0.0.1:9/unused", ack=ack),
                     overrides=overrides) as a:
            for cid, text in [(81, "яма на Школьной"), (82, "яма на Садовой"),
                              (83, "яма на Лесной")]:
                a.post("/webhook/vk", vk_comment(100001, cid, text))
            # a page without a token gets no reply
            a.post("/webhook/vk", vk_comment(100002, 84, "яма у больницы"))
            reqs = api.wait_for(4)
            msgs = {m["json"]["appeal_id"]: m["json"] for m in a.consume("org.maykop", 4)}
            h.wait_until(lambda: outbox_empty(a), what="the acknowledgements to settle")
            assert len(api.requests) == 4, [r["form"]["reply_to_comment"] for r in api.requests]
            times = [r["time"] for r in api.requests]
            gaps = [b - t for t, b in zip(times, times[1:])]
            # one page: at most one call per min_interval (arrival times also carry
            # connection set-up, hence the slack)
            assert min(gaps) > 0.2 and times[-1] - times[0] > 1.1, gaps
            by_comment = {}
            for r in reqs:
                by_comment.setdefault(int(r["form"]["reply_to_comment"]), []).append(r["form"])
            assert sorted(by_comment) == [81, 82, 83], by_comment
            assert len(by_comment[81]) == 2 and len(by_comment[83]) == 1, by_comment
            f = by_comment[81][1]
            assert f["owner_id"] == "-100001" and f["post_id"] == "42", f
            assert f["from_group"] == "100001" and f["v"] == "5.199", f
            assert f["access_token"] == VK_TOKEN, f
            assert by_comment[81][0]["guid"] == f["guid"], "a retry must reuse the guid"
            number = msgs[vk_appeal_id(100001, 81)]["number"]
            assert number in f["message"], (number, f["message"])
            assert "Город Майкоп" in f["message"], f["message"]
            for r in reqs:
                assert VK_TOKEN not in r["path"] and not r["query"], r
            with a.redis() as r:
                dead = [json.loads(x) for x in r.cmd("LRANGE", a.rkey("{out}:dead"), 0, -1)]
            assert [d["appeal_id"] for d in dead] == [vk_appeal_id(100001, 83)], dead
            assert "VK error 15" in dead[0]["reason"], dead
            log = a.daemon.log()
            assert "reply to appeal %s on vk:100001 failed (VK error 9" % vk_appeal_id(
                100001, 81) in log, log
            assert "given up after 1 attempt (VK error 15: Access denied)" in log, log
            _, _, m = h.http_get(a.url("/metrics"))
            assert 'appealsd_acks_total{page="vk:100001",result="sent"} 2' in m.decode()


def test_a_refused_url_is_logged_without_its_credentials():
    """An organisation's URL that curl refuses (a space in its path) is
    logged with the reason, and its access_token, password and the sig
    parameter are "***" in the log; the delivery waits in the outbox."""
    url = "http://ops:PASSW0RD-XYZ@127.0.0.1:9/in box?access_token=TOPSECRET-123&sig=SIGSECRET"
    with h.Services() as svc, apd.Apd(svc, config_text=config(url)) as a:
        a.post("/webhook/vk", vk_comment(100001, 71, "Канализация течёт во двор"))
        h.wait_until(lambda: "fetch: cannot request" in a.daemon.log(), timeout=20,
                     what="the refused request to be logged")
        log = a.daemon.log()
        line = next(x for x in log.splitlines() if "fetch: cannot request" in x)
        assert "http://***@127.0.0.1:9/in box?access_token=***&sig=***" in line, line
        for secret in ("PASSW0RD-XYZ", "TOPSECRET-123", "SIGSECRET"):
            assert secret not in log, (secret, [x for x in log.splitlines() if secret in x])
        assert "waits in the outbox" in log, a.daemon.log_tail()


if __name__ == "__main__":
    h.main(globals())
