#!/usr/bin/python3
"""One tenant cannot act on another's appeals (issue 12, item 2).

A sender authenticates as one tenant — a VK community by its secret, a
generic exporter by its HMAC key — and every event it sends must stay inside
that tenant: an answer into another community's thread would stop that
community's clock, an edit or delete would change or withdraw its appeals.
Each attempt goes over HTTP to the real daemon (Redis and Kafka behind it)
and must be refused with 403, counted, and leave the other tenant's appeal
as it was."""

import json
import time

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event
import sources as s


def requests_403(a, source):
    return a.metric('appealsd_http_requests_total{source="%s",status="403"}' % source)


def test_a_community_cannot_answer_edit_or_withdraw_anothers_appeal():
    with h.Services() as svc, apd.Apd(svc) as a:
        victim = vk_appeal_id(100001, 600)
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 600, "Яма во дворе дома 5, "
                                                    "машины бьют колёса"))
        assert st == 200
        a.wait_idle()
        assert a.appeal(victim)["state"] == "open"
        before = requests_403(a, "vk")
        # community 100003 signs with its own, valid secret but names 100001's items
        foreign = {"post_id": 42, "owner_id": -100001, "date": 1795900100}
        attempts = [
            ("wall_reply_new", dict(foreign, id=601, from_id=-100003, text="Вопрос решён",
                                    reply_to_comment=600, parents_stack=[600])),
            ("wall_reply_edit", dict(foreign, id=600, from_id=7001, text="Всё хорошо")),
            ("wall_reply_delete", {"owner_id": -100001, "id": 600, "deleter_id": 7001,
                                   "post_id": 42}),
            ("wall_post_new", {"id": 903, "owner_id": -100001, "from_id": 7002,
                               "date": 1795900100, "text": "Чужая стена",
                               "post_type": "post"}),
        ]
        for i, (typ, obj) in enumerate(attempts):
            st, _, body = a.post("/webhook/vk", vk_event(100003, typ, obj, "x%d" % i))
            assert st == 403, (typ, st, body)
            assert b"another community" in body, body
        assert requests_403(a, "vk") == before + len(attempts)
        a.wait_idle()
        rec = a.appeal(victim)
        assert rec["state"] == "open" and rec["fr"] == "r", rec   # its clock runs on
        assert "Яма во дворе" in rec["text"], rec
        # the owner's own answer still stops it
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 602, "Бригада выедет завтра",
                                                    from_id=-100001, reply_to=600))
        assert st == 200
        h.wait_until(lambda: a.appeal(victim)["state"] == "answered",
                     what="the owner's answer to close the first response")
        assert [m["json"]["event"] for m in a.consume("all", 3)
                if m["json"]["event"] in ("created", "answered", "edited", "withdrawn")] == \
            ["created", "answered"]


def test_a_generic_key_signs_only_for_its_own_systems():
    with h.Services() as svc, apd.Apd(svc) as a:
        st, _, body = a.post(*s.gen_post(s.gen_appeal("7", "Не вывозят мусор третью неделю")))
        assert (st, body) == (200, b"ok"), (st, body)
        before = requests_403(a, "generic")
        # the key of the example's source signs for "pos" only
        for obj in (dict(s.gen_appeal("7", "Подделка"), system="crm"),
                    {"system": "crm", "event": "answer", "id": "a-1", "reply_to": "7",
                     "page": s.GEN_PAGE, "text": "Сделано"}):
            st, _, body = a.post(*s.gen_post(obj))
            assert st == 403 and b"system" in body, (st, body)
        assert requests_403(a, "generic") == before + 2
        a.wait_idle()
        assert a.appeal("gen:crm:7") == {}
        assert a.appeal("gen:pos:7")["state"] == "open"


def test_an_agency_speaks_only_on_its_own_status_topic():
    """Statuses come on appeals.status.ORG, which only ORG's principal may write
    (docs/consuming-appeals.md gives the ACLs); the shared topic is not read."""
    with h.Services() as svc, apd.Apd(svc) as a:
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 700, "Третий день нет света "
                                                    "во дворе на Пионерской"))
        assert st == 200
        aid = vk_appeal_id(100001, 700)
        h.wait_until(lambda: a.appeal(aid).get("state") == "open", what="the appeal")
        org = a.appeal(aid)["org"]
        other = "minzdrav" if org != "minzdrav" else "maykop"

        def send(topic, sender, status):
            body = {"schema": "appealsd.status/1", "appeal_id": aid, "org": sender,
                    "status": status, "at": "2026-11-30T10:00:00+03:00"}
            h.kafka_produce(svc.kafka_brokers, a.topic(topic), aid,
                            json.dumps(body, ensure_ascii=False))
        # the shared topic: whoever writes there is nobody in particular
        send("status", org, "resolved")
        # another organisation naming the owner, on its own topic
        send("status." + other, org, "resolved")
        # another organisation as itself, on its own topic: not its appeal
        send("status." + other, other, "resolved")
        # both refused to the sender's own dead-letter topic: the topic's owner
        dlq = [m["json"] for m in a.consume("dlq." + other, 2)]
        assert [d["error"] for d in dlq] == ["not_allowed", "not_allowed"], dlq
        assert "cannot send statuses on %s" % a.topic("status." + other) in dlq[0]["reason"], dlq
        assert dlq[1]["reason"].startswith("not_assigned: "), dlq
        # the owner, on its own topic
        send("status." + org, org, "accepted")
        h.wait_until(lambda: a.appeal(aid)["state"] == "accepted", what="the owner's status")
        time.sleep(2)   # the shared topic's "resolved" would have been read by now
        assert a.appeal(aid)["state"] == "accepted"
        assert len(a.consume("dlq." + other, 2, timeout=5)) == 2
        assert a.consume("dlq." + org, 0) == [] and a.consume("dlq", 0) == []


if __name__ == "__main__":
    h.main(globals())
