#!/usr/bin/python3
"""Every source end to end: a webhook over HTTP is stored in the spool, becomes
an appeal event on the owning organisation's Kafka topic and a record in Redis;
the page's answer stops the clock; redelivery never makes a second appeal."""

import json
import socket
import subprocess
import time

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event
import sources as s

OK_LOOPBACK = {"source.ok.allow_from": "127.0.0.1/32"}


def events(msgs):
    # SLA events (the first response met by an answer) are the SLA tests' business
    return [(m["key"], m["json"]["event"]) for m in msgs
            if m["json"]["event"] not in ("met", "warning", "breach", "escalation")]


def test_vk_every_comment_kind_and_private_messages():
    with h.Services() as svc, apd.Apd(svc) as a:
        posts = [
            ("photo_comment_new", {"id": 9, "from_id": 7001, "date": 1795900000,
                                   "text": "Фото ямы у школы", "photo_id": 77,
                                   "photo_owner_id": -100001}, "vk:-100001:photo:77:c9"),
            ("video_comment_new", {"id": 4, "from_id": 7001, "date": 1795900000,
                                   "text": "Когда уберут мусор?", "video_id": 88,
                                   "video_owner_id": -100001}, "vk:-100001:video:88:c4"),
            ("market_comment_new", {"id": 6, "from_id": 7001, "date": 1795900000,
                                    "text": "Вопрос", "item_id": 99,
                                    "market_owner_id": -100001}, "vk:-100001:market:99:c6"),
            ("board_post_new", {"id": 12, "from_id": 7001, "date": 1795900000,
                                "text": "Нет отопления", "topic_id": 5,
                                "topic_owner_id": -100001}, "vk:-100001:topic:5:c12"),
            ("wall_post_new", {"id": 900, "owner_id": -100001, "from_id": 7001,
                               "date": 1795900000, "text": "Предлагаю новость: сквер",
                               "post_type": "suggest"}, "vk:-100001:wall:900"),
            ("message_new", {"message": {"id": 1015, "date": 1795900000, "peer_id": 7001,
                                         "from_id": 7001, "text": "Добрый день, вопрос",
                                         "conversation_message_id": 15, "out": 0},
                             "client_info": {}}, s.vk_message_id(100001, 7001, 15)),
        ]
        for i, (typ, obj, _) in enumerate(posts):
            st, _, body = a.post("/webhook/vk", vk_event(100001, typ, obj, "k%d" % i))
            assert (st, body) == (200, b"ok"), (typ, st, body)
        # the page answers the board post and the private message
        a.post("/webhook/vk", vk_event(100001, "board_post_new",
                                       {"id": 13, "from_id": -100001, "date": 1795900100,
                                        "text": "[post12|Иван], подключат завтра",
                                        "topic_id": 5, "topic_owner_id": -100001}, "k10"))
        a.post("/webhook/vk", vk_event(100001, "message_reply",
                                       {"id": 1016, "date": 1795900100, "peer_id": 7001,
                                        "from_id": -100001, "text": "Здравствуйте!", "out": 1,
                                        "conversation_message_id": 16}, "k11"))
        msgs = a.consume("all", 10)   # + two "met" (first response)
        want = [(aid, "created") for _, _, aid in posts] + \
            [("vk:-100001:topic:5:c12", "answered"), (s.vk_message_id(100001, 7001, 15), "answered")]
        # the two answers are about different appeals: either may be published first
        got = events(msgs)
        assert got[:6] == want[:6] and sorted(got[6:]) == sorted(want[6:]), got
        kinds = [m["json"]["item"]["kind"] for m in msgs[:6]]
        assert kinds == ["comment"] * 4 + ["suggested_post", "message"], kinds
        a.wait_idle()
        assert a.appeal(s.vk_message_id(100001, 7001, 15))["state"] == "answered"
        assert a.appeal("vk:-100001:photo:77:c9")["state"] == "open"


def test_telegram_comments_answers_and_auth():
    with h.Services() as svc, apd.Apd(svc) as a:
        copy = s.tg_copy(post_id=42, copy_id=100)
        st, _, _ = a.post(*s.tg_post(1, "message", copy))
        assert st == 200
        comment = s.tg_comment(101, "Когда починят дорогу на Пионерской?", copy, 100)
        st, _, body = a.post(*s.tg_post(2, "message", comment))
        assert (st, body) == (200, b"ok"), (st, body)
        # the channel answers in the thread
        a.post(*s.tg_post(3, "message", s.tg_comment(102, "Починим к пятнице", comment, 100,
                                                      sender_chat=s.TG_CHANNEL)))
        st, _, _ = a.post(*s.tg_post(4, "message", comment, secret="wrong"))
        assert st == 403
        st, _, _ = a.post(*s.tg_post(5, "message", comment, secret=None))
        assert st == 403
        msgs = a.consume("all", 2)
        assert events(msgs) == [(s.tg_appeal_id(101), "created"),
                                (s.tg_appeal_id(101), "answered")], events(msgs)
        j = msgs[0]["json"]
        assert j["source"] == "telegram" and j["page"]["id"] == str(s.TG_CHANNEL), j
        assert j["item"]["link"] == "https://t.me/maykop_official/42?comment=101", j["item"]
        assert j["item"]["thread"] == "tg:%d:42" % s.TG_CHANNEL, j["item"]
        a.wait_idle()
        assert a.appeal(s.tg_appeal_id(101))["state"] == "answered"


def test_max_created_edited_removed():
    with h.Services() as svc, apd.Apd(svc) as a:
        mid = "mid.0000000000000a1b"
        st, _, body = a.post(*s.max_post(s.max_message("message_created", mid,
                                                       "Не горит фонарь во дворе")))
        assert (st, body) == (200, b"ok"), (st, body)
        a.post(*s.max_post(s.max_message("message_edited", mid, "Не горит фонарь у дома 5",
                                          ts=1795900060000)))
        a.post(*s.max_post(s.max_removed(mid)))
        st, _, _ = a.post(*s.max_post(s.max_removed(mid), secret="wrong-secret"))
        assert st == 403
        msgs = a.consume("all", 3)
        aid = s.max_appeal_id(mid)
        assert events(msgs) == [(aid, "created"), (aid, "updated"), (aid, "withdrawn")], \
            events(msgs)
        assert msgs[0]["json"]["occurred_at"].startswith("2026-11-29T00:06:40.123"), msgs[0]
        a.wait_idle()
        rec = a.appeal(aid)
        assert rec["state"] == "withdrawn" and "у дома 5" in rec["text"], rec


def test_ok_token_and_network():
    with h.Services() as svc, apd.Apd(svc, overrides=OK_LOOPBACK) as a:
        st, _, body = a.post(*s.ok_post("C3ecb9d02a600.15cea67d78d2059", "Когда дадут воду?"))
        assert (st, body) == (200, b"ok"), (st, body)
        path, body, hdrs = s.ok_post("C3ecb9d02a600.1", "x", token="not-a-page-token")
        assert a.post(path, body, hdrs)[0] == 404
        # a peer outside allow_from is refused before anything else
        path, body, hdrs = s.ok_post("C3ecb9d02a600.2", "x")
        st, _ = s.post_from("127.0.0.2", a.port, path, body, hdrs)
        assert st == 403, st
        msgs = a.consume("all", 1)
        assert events(msgs) == [(s.ok_appeal_id("C3ecb9d02a600.15cea67d78d2059"), "created")]
        assert msgs[0]["json"]["page"]["id"] == s.OK_GROUP


def test_generic_signed_exports():
    with h.Services() as svc, apd.Apd(svc) as a:
        st, _, body = a.post(*s.gen_post(s.gen_appeal("2026-000123", "Прошу отремонтировать "
                                                      "крышу школы №5", event_id="d-1")))
        assert (st, body) == (200, b"ok"), (st, body)
        assert a.post(*s.gen_post(s.gen_appeal("2026-000124", "x"), key="wrong"))[0] == 403
        assert a.post(*s.gen_post(s.gen_appeal("2026-000125", "x"), key=None))[0] == 403
        # a request captured ten minutes ago and replayed, and one signed the old way
        # (the body alone, no timestamp): both refused
        replay = s.gen_post(s.gen_appeal("2026-000127", "x"), ts=int(time.time()) - 600)
        assert a.post(*replay)[0] == 403
        assert a.post(*s.gen_post(s.gen_appeal("2026-000128", "x"), timestamp=False))[0] == 403
        a.post(*s.gen_post({"system": "pos", "event": "answer", "id": "a-1",
                            "reply_to": "2026-000123", "page": s.GEN_PAGE,
                            "text": "Ремонт запланирован"}))
        # routed by the rules (a school: the ministry of education), so read appeals.all
        msgs = a.consume("all", 2)
        assert events(msgs) == [("gen:pos:2026-000123", "created"),
                                ("gen:pos:2026-000123", "answered")], events(msgs)
        j = msgs[0]["json"]
        assert j["source"] == "generic" and j["page"]["id"] == s.GEN_PAGE, j
        assert j["item"]["kind"] == "message", j["item"]


def test_redelivery_never_makes_a_second_appeal():
    with h.Services() as svc, apd.Apd(svc, overrides=OK_LOOPBACK) as a:
        copy = s.tg_copy(post_id=50, copy_id=200)
        a.post(*s.tg_post(10, "message", copy))
        deliveries = [
            ("/webhook/vk", vk_comment(100001, 901, "Повтор VK"), {"X-Retry-Counter": "1"}),
            s.tg_post(11, "message", s.tg_comment(201, "Повтор TG", copy, 200)),
            s.max_post(s.max_message("message_created", "mid.dup1", "Повтор MAX")),
            s.ok_post("Cdup.1", "Повтор OK"),
            s.gen_post(s.gen_appeal("dup-1", "Повтор ПОС", event_id="dup-ev-1")),
        ]
        for _ in range(3):
            for path, body, hdrs in deliveries:
                st, _, resp = a.post(path, body, hdrs)
                assert (st, resp) == (200, b"ok"), (path, st, resp)
        # a retry whose first delivery was never finished still counts once
        a.wait_idle()
        want = {vk_appeal_id(100001, 901), s.tg_appeal_id(201), s.max_appeal_id("mid.dup1"),
                s.ok_appeal_id("Cdup.1", chat="C3ecb9d02a600"), "gen:pos:dup-1"}
        msgs = a.consume("all", len(want))
        time.sleep(0.5)
        msgs = a.consume("all", None)
        created = [m["key"] for m in msgs if m["json"]["event"] == "created"]
        assert sorted(created) == sorted(want), created
        for aid in want:
            assert a.appeal(aid)["seq"] == "1", (aid, a.appeal(aid))
        st = a.ctl("status")["result"]["pipeline"]
        assert st["duplicates"] == 2 * len(want), st



def _tail(a, subscribers):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(a.overrides["control.socket"])
    sock.sendall(b'{"cmd":"tail","args":{}}\n')
    f = sock.makefile("rb")
    assert json.loads(f.readline())["result"]["streaming"]
    h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] ==
                 subscribers, what="the tail subscribers")
    return sock, f


def test_vk_deleted_by_the_page_is_not_withdrawn():
    """Finding 6: a moderator deleting a complaint (deleter_id is not its author)
    raises removed_by_page on the triage topic and the tail, keeps the clocks
    running, shows in `appealsctl show` and /metrics; the author's own
    deletion still withdraws."""
    with h.Services() as svc, apd.Apd(svc) as a:
        mod, own = vk_appeal_id(100001, 701), vk_appeal_id(100001, 702)
        ctl = subprocess.Popen([str(h.ctl_binary()), "-s", a.overrides["control.socket"],
                                "tail", "--count", "4"], stdout=subprocess.PIPE, text=True)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 1,
                     what="appealsctl tail")
        sock, tail = _tail(a, 2)
        for cid, text in ((701, "Третий день нет воды на ул. Пушкина, 5"),
                          (702, "Не горит фонарь у школы №3")):
            st, _, body = a.post("/webhook/vk", vk_comment(100001, cid, text, from_id=7001))
            assert (st, body) == (200, b"ok"), (st, body)
        a.wait_idle()
        # the page's moderator (user 90210) deletes the first, the author the second
        for cid, by, eid in ((701, 90210, "del-701"), (702, 7001, "del-702")):
            st, _, body = a.post("/webhook/vk", vk_event(
                100001, "wall_reply_delete",
                {"owner_id": -100001, "id": cid, "deleter_id": by, "post_id": 42}, eid))
            assert (st, body) == (200, b"ok"), (st, body)
        a.wait_idle()

        triage = [m for m in a.consume("triage", 1) if m["json"]["event"] == "removed_by_page"]
        assert [m["key"] for m in triage] == [mod], triage
        j = triage[0]["json"]
        assert j["state"] == "open" and j["appeal_id"] == mod and "text" not in j, j
        got = events(a.consume("all", 4))
        assert (mod, "removed_by_page") in got and (own, "withdrawn") in got, got

        rec = a.appeal(mod)
        assert rec["state"] == "open" and rec["fr"] == "r", rec          # clocks run on
        with a.redis() as r:
            assert mod in r.zrange(a.rkey("sla:due")), "no pending stage for %s" % mod
        assert a.appeal(own)["state"] == "withdrawn" and a.appeal(own)["fr"] != "r"

        seen = []
        while len(seen) < 4:
            seen.append(json.loads(tail.readline())["event"])
        sock.close()
        removed = [e for e in seen if e["event"] == "removed_by_page"]
        assert len(removed) == 1 and removed[0]["appeal_id"] == mod, seen
        assert removed[0]["state"] == "open" and "due" in removed[0], removed[0]
        out, _ = ctl.communicate(timeout=20)
        assert ctl.returncode == 0, out
        lines = [x for x in out.splitlines() if "removed_b" in x]   # a 10-column event name
        assert len(lines) == 1 and mod in lines[0] and "open" in lines[0], out

        audit = a.ctl("show", {"id": mod})["result"]["audit"]
        assert [x["action"] for x in audit] == ["created", "removed_by_page"], audit
        assert "not by its author" in audit[1]["reason"], audit[1]
        out = a.appealsctl("show", mod).stdout
        assert "removed_by_page" in out, out
        assert a.metric('appealsd_appeals_removed_by_page_total{source="vk"}') == 1.0


def test_vk_message_edit_and_group_chats():
    """Finding 6: message_edit updates a private-message appeal; a message in a
    community group chat is acknowledged and counted, not made an appeal."""
    with h.Services() as svc, apd.Apd(svc) as a:
        msg = {"date": 1795900000, "from_id": 7001, "id": 0, "out": 0, "peer_id": 7001,
               "text": "Нет воды", "conversation_message_id": 15, "attachments": []}
        a.post("/webhook/vk", vk_event(100001, "message_new",
                                       {"message": msg, "client_info": {}}, "m1"))
        st, _, body = a.post("/webhook/vk", vk_event(
            100001, "message_edit", dict(msg, text="Нет воды на ул. Пушкина, 5",
                                         update_time=1795900060), "m2"))
        assert (st, body) == (200, b"ok"), (st, body)
        chat = dict(msg, peer_id=2000000004, conversation_message_id=311,
                    text="Когда дадут свет?")
        st, _, body = a.post("/webhook/vk", vk_event(100001, "message_new",
                                                     {"message": chat, "client_info": {}}, "m3"))
        assert (st, body) == (200, b"ok"), (st, body)
        aid = s.vk_message_id(100001, 7001, 15)
        assert events(a.consume("all", 2)) == [(aid, "created"), (aid, "updated")]
        a.wait_idle()
        assert a.appeal(aid)["text"] == "Нет воды на ул. Пушкина, 5"
        assert a.appeal("vk:-100001:msg:2000000004:311") == {}
        assert a.metric('appealsd_ignored_total{source="vk",type="group_chat"}') == 1.0


if __name__ == "__main__":
    h.main(globals())
