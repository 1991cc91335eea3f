#!/usr/bin/python3
"""Issue 12, item 1: no platform user id leaves the daemon in clear.

Every source's private-message and comment samples go through the real path
(HTTP -> spool -> pipeline -> Kafka) with the users' ids chosen so that they
cannot occur by chance.  No published message carries one of them, nor a
mentioned person's name, outside the fields documented as personal data
(docs/consuming-appeals.md, section 6: author.id, author.name and item.link
on the topics of organisations with personal_data = yes): not in the Kafka
key, the appeal id, the thread, the link or the text, on any topic.  Neither
does the daemon's log (at debug level) nor the operators' tail.  The
pseudonymous ids are the keyed pseudonyms computed here, outside the daemon,
and a private chat's later messages, edits and answers map to its appeal."""

import json
import socket

import apd
from apd import h, vk_comment, vk_event
import sources as s

VK_USER, VK_MENTIONED, VK_PEER = 731337001, 731337002, 731337003
TG_PRIVATE, TG_COMMENTER = 5550001234, 5550001235
MAX_DIALOG, MAX_USER, MAX_COMMENTER = 9007199254799001, 300100777, 300100778
OK_USER, OK_CHAT = "123456789777", "C9aa77bb66"
GEN_AUTHOR = "esia-1001777"
USER_IDS = [str(x) for x in (VK_USER, VK_MENTIONED, VK_PEER, TG_PRIVATE, TG_COMMENTER,
                             MAX_DIALOG, MAX_USER, MAX_COMMENTER)] + [OK_USER, OK_CHAT,
                                                                     GEN_AUTHOR]
# names only the mention markup and the authors' profiles carry
NAMES = ["Ковалёва", "Белова", "Хачемизов", "Петренко", "Шхалахова", "Тлехас", "Мамий"]

OVERRIDES = {
    "daemon.log_level": "debug",
    "source.telegram.direct_page": str(s.TG_CHANNEL),
    "source.max.direct_page": str(s.MAX_CHAT),
    "source.ok.allow_from": "127.0.0.1/32",
    # maykop receives personal data: its topic shows where clear ids may be
    "org.maykop.personal_data": "yes",
}


def vk_message(cmid, text, event_type="message_new", **extra):
    m = dict({"id": 0, "date": 1795900000 + cmid, "peer_id": VK_PEER, "from_id": VK_PEER,
              "out": 0, "text": text, "conversation_message_id": cmid}, **extra)
    obj = m if event_type == "message_edit" else {"message": m, "client_info": {}}
    return vk_event(100001, event_type, obj, "pm-%s-%d" % (event_type, cmid))


def tg_private(msg_id, text, kind="message"):
    m = {"message_id": msg_id, "date": 1795900200,
         "from": {"id": TG_PRIVATE, "is_bot": False, "first_name": "Тимур",
                  "last_name": "Хачемизов", "username": "timur_kh"},
         "chat": {"id": TG_PRIVATE, "first_name": "Тимур", "username": "timur_kh",
                  "type": "private"}, "text": text}
    if kind == "edited_message":
        m["edit_date"] = 1795900260
    return s.tg_post(300 + msg_id + (50 if kind != "message" else 0), kind, m)


def max_dialog(update_type, mid, text, ts=1795900300000):
    msg = {"sender": {"user_id": MAX_USER, "first_name": "Зарема", "last_name": "Шхалахова",
                      "is_bot": False},
           "recipient": {"chat_id": MAX_DIALOG, "chat_type": "dialog"}, "timestamp": ts,
           "body": {"mid": mid, "seq": 116327994376978688, "text": text}, "url": None}
    return s.max_post({"update_type": update_type, "timestamp": ts, "message": msg})


def send_everything(a):
    """Each source's private messages and comments; -> number of records."""
    posts = [
        # VK: a wall comment naming another resident, and a private dialog
        ("/webhook/vk", vk_comment(100001, 701, "[id%d|Анна Ковалёва], согласна: яма у дома 5 "
                                   "на ул. Пионерской" % VK_MENTIONED, from_id=VK_USER)),
        ("/webhook/vk", vk_message(15, "Нет воды в доме на ул. Пушкина")),
        ("/webhook/vk", vk_message(16, "И в соседнем доме [id%d|Анна Ковалёва] тоже нет воды"
                                   % VK_MENTIONED)),
        ("/webhook/vk", vk_message(15, "Нет воды на ул. Пушкина, 5", "message_edit",
                                   update_time=1795900100)),
        ("/webhook/vk", vk_event(100001, "message_reply",
                                 {"id": 0, "date": 1795900200, "peer_id": VK_PEER,
                                  "from_id": -100001, "out": 1, "conversation_message_id": 17,
                                  "text": "[id%d|Ирина Белова], воду дадут к вечеру" % VK_PEER},
                                 "pm-reply-17")),
        # Telegram: a private chat with the bot (and its edit), a channel comment
        tg_private(1, "Не вывозят мусор на ул. Гагарина"),
        tg_private(1, "Не вывозят мусор на ул. Гагарина, 12", "edited_message"),
        s.tg_post(401, "message", s.tg_copy(post_id=42, copy_id=100)),
        s.tg_post(402, "message", dict(s.tg_comment(101, "Когда починят дорогу у рынка?",
                                                     s.tg_copy(42, 100), 100,
                                                     user=TG_COMMENTER),
                                       **{"from": {"id": TG_COMMENTER, "is_bot": False,
                                                   "first_name": "Руслан",
                                                   "last_name": "Тлехас"}})),
        # MAX: a dialog with the bot (edited, then deleted by its author), a chat message
        max_dialog("message_created", "mid.dlg1", "Не горит фонарь во дворе"),
        max_dialog("message_edited", "mid.dlg1", "Не горит фонарь у дома 7", ts=1795900360000),
        s.max_post({"update_type": "message_removed", "timestamp": 1795900400000,
                    "message_id": "mid.dlg1", "chat_id": MAX_DIALOG, "user_id": MAX_USER}),
        s.max_post(s.max_message("message_created", "mid.chat1", "Когда уберут снег на ул. Ленина?",
                                 user=MAX_COMMENTER)),
        # OK: a private message to the group's bot
        ("/webhook/ok/" + s.OK_TOKEN, s._json({
            "webhookType": "MESSAGE_CREATED",
            "sender": {"user_id": "user:" + OK_USER, "name": "Аслан Мамий"},
            "recipient": {"chat_id": "chat:" + OK_CHAT},
            "message": {"text": "Когда дадут отопление?", "mid": "mid:" + OK_CHAT + ".1"},
            "timestamp": 1795900500000}), {"Content-Type": "application/json"}),
        # generic: an export naming its author
        s.gen_post(dict(s.gen_appeal("pd-1", "Прошу убрать свалку у школы №3",
                                     event_id="pd-ev-1"),
                        author={"id": GEN_AUTHOR, "name": "Мария Петренко"})),
    ]
    for p in posts:
        path, body = p[0], p[1]
        hdrs = p[2] if len(p) > 2 else None
        st, _, resp = a.post(path, body, hdrs)
        assert (st, resp) == (200, b"ok"), (path, st, resp)
    return len(posts)


def leaks(text):
    return [x for x in USER_IDS + NAMES if x in text]


def without_personal(msg):
    """The message minus the fields documented as personal data."""
    m = json.loads(json.dumps(msg))
    author = m.get("author") or {}
    author.pop("id", None)
    author.pop("name", None)
    if "item" in m:
        m["item"].pop("link", None)
    return m


def read_tail(f, until):
    got = []
    try:
        while len(got) < until:
            line = f.readline()
            if not line:
                break
            got.append(json.loads(line))
    except socket.timeout:
        pass
    return got


def test_no_user_id_leaves_in_clear():
    with h.Services() as svc, apd.Apd(svc, overrides=OVERRIDES) as a:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(a.overrides["control.socket"])
        sock.sendall(b'{"cmd":"tail","args":{}}\n')
        tail = sock.makefile("rb")
        assert json.loads(tail.readline())["result"]["streaming"] is True
        send_everything(a)
        a.wait_idle()

        topics = [t for t in h.kafka_topics(svc.kafka_brokers, a.u + ".")
                  if ".status" not in t]
        records = h.kafka_consume_topics(svc.kafka_brokers, topics, a.u + ".pd-check")
        assert len(records) >= 12, [r["topic"] for r in records]
        personal_topic = a.topic("org.maykop")
        for rec in records:
            msg = json.loads(rec["payload"])
            where = "%s@%s %s" % (rec["topic"], rec["offset"], rec["key"])
            assert not leaks(rec["key"] or ""), where
            if rec["topic"] != personal_topic:
                # no topic but a personal-data organisation's gets even those fields
                assert not leaks(rec["payload"]), (where, leaks(rec["payload"]))
            else:
                clean = json.dumps(without_personal(msg), ensure_ascii=False)
                assert not leaks(clean), (where, leaks(clean))

        # the personal topic does get the clear author (it is configured so)
        mine = [json.loads(r["payload"]) for r in records if r["topic"] == personal_topic]
        authors = {m["author"]["id"] for m in mine if "id" in m.get("author", {})}
        assert str(VK_PEER) in authors and str(MAX_USER) in authors, authors
        dialog = [m for m in mine if m["appeal_id"].startswith("vk:-100001:msg:")]
        assert any(m.get("item", {}).get("link") ==
                   "https://vk.com/gim100001?sel=%d" % VK_PEER for m in dialog), dialog

        # the daemon's log, at debug level, names no user either
        log = a.daemon.log()
        assert not leaks(log), [l for l in log.splitlines() if leaks(l)][:5]

        # nor does the operators' tail (ids, links, texts)
        events = read_tail(tail, 40)
        sock.close()
        assert len(events) >= 10, events
        for e in events:
            text = json.dumps(e, ensure_ascii=False)
            assert not leaks(text), (leaks(text), e)


def test_private_chats_keep_one_thread():
    """The pseudonymous ids are the keyed pseudonyms (computed here with the
    test key); later messages, edits and answers of a chat map to it."""
    with h.Services() as svc, apd.Apd(svc, overrides=OVERRIDES) as a:
        send_everything(a)
        a.wait_idle()
        msgs = [m["json"] for m in a.consume("all", None)]
        by_id = {}
        for m in msgs:
            by_id.setdefault(m["appeal_id"], []).append(m["event"])
        vk15 = s.vk_message_id(100001, VK_PEER, 15)
        vk16 = s.vk_message_id(100001, VK_PEER, 16)
        tg = "tg:%s:1" % s.private("telegram", TG_PRIVATE)
        mx = "max:%s:mid.dlg1" % s.private("max", MAX_DIALOG)
        ok = s.ok_appeal_id(OK_CHAT + ".1", chat=OK_CHAT)
        assert ok == "ok:%s:1" % s.private("ok", OK_CHAT), ok
        assert by_id.get(vk15, [])[:2] == ["created", "updated"], by_id
        assert "answered" in by_id[vk15] and "answered" in by_id.get(vk16, []), by_id
        assert by_id.get(tg) == ["created", "updated"], by_id
        assert by_id.get(mx) == ["created", "updated", "withdrawn"], by_id
        assert by_id.get(ok) == ["created"], by_id
        threads = {m["item"]["thread"] for m in msgs
                   if m["appeal_id"] in (vk15, vk16) and "thread" in m.get("item", {})}
        assert threads == {"vk:-100001:msg:" + s.private("vk", VK_PEER)}, threads
        # the same person: the thread's pseudonym is the author's
        created = [m for m in msgs if m["appeal_id"] == vk15 and m["event"] == "created"][0]
        assert created["author"]["pseudonym"] == s.pseudonym("vk", VK_PEER), created
        assert "link" not in created["item"], created["item"]
        assert created["text"] == "Нет воды в доме на ул. Пушкина", created
        second = [m for m in msgs if m["appeal_id"] == vk16 and m["event"] == "created"][0]
        assert second["text"] == "И в соседнем доме [упоминание] тоже нет воды", second
        assert a.appeal(vk15)["state"] == "answered"
        # the author's own deletion withdraws (the lifecycle once read the
        # deleter's pseudonym from a stack buffer already gone, and saw a
        # moderator's removal when other records kept the pipeline busy)
        assert a.appeal(mx).get("state") == "withdrawn", a.appeal(mx)


def test_appeals_opened_under_clear_ids_keep_working():
    """Migration: an appeal stored under the clear-id format of before (its
    keys renamed here to that id, as an upgrade finds them) still receives
    its dialog's edits and the page's answers, under its old id."""
    with h.Services() as svc, apd.Apd(svc, overrides=OVERRIDES) as a:
        a.post("/webhook/vk", vk_message(15, "Нет воды в доме на ул. Пушкина"))
        a.wait_idle()
        new = s.vk_message_id(100001, VK_PEER, 15)
        old = "vk:-100001:msg:%d:15" % VK_PEER
        with a.redis() as r:
            keys = r.keys(a.rkey("a:{%s}*" % new))
            assert keys, "no record of %s" % new
            for k in keys:
                r.cmd("RENAME", k, k.replace(new, old))
        a.post("/webhook/vk", vk_message(15, "Нет воды на ул. Пушкина, 5", "message_edit"))
        a.post("/webhook/vk", vk_event(100001, "message_reply",
                                       {"id": 0, "date": 1795900200, "peer_id": VK_PEER,
                                        "from_id": -100001, "out": 1,
                                        "conversation_message_id": 16, "text": "Дадут"},
                                       "pm-old-reply"))
        a.wait_idle()
        msgs = [m for m in a.consume("all", None)]
        events = [(m["key"], m["json"]["event"]) for m in msgs
                  if m["json"]["event"] not in ("met", "warning", "breach", "escalation")]
        assert events == [(new, "created"), (old, "updated"), (old, "answered")], events
        rec = a.appeal(old)
        assert rec["state"] == "answered" and rec["text"] == "Нет воды на ул. Пушкина, 5", rec


if __name__ == "__main__":
    h.main(globals())
