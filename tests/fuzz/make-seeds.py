#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/).

Source targets: the first byte selects how the harness calls the plugin
(bit 0 no authentication, bit 1 the right secret headers, bit 2 the page
token path); the rest is a webhook body from the documented formats.
Spool target: the records of a segment written in the spool's format with
the harness's salt, optionally preceded by a release log (first byte < 0x40 =
number of 8-byte entries).

    tests/fuzz/make-seeds.py      # rewrites the corpus directories
"""

import json
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = "fuzz-Secret_0"
SALT = 0x5eed5eed5eed5eed


def j(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def vk(typ, obj, secret=SECRET, group=100001):
    return j({"type": typ, "event_id": "08c7a3b598c159427a79421fa51e60423066c5c6", "v": "5.199",
              "group_id": group, "secret": secret, "object": obj})


VK = [
    vk("confirmation", None),
    vk("wall_reply_new", {"id": 501, "from_id": 7001, "date": 1795900000, "text": "Яма \\u2014 😀",
                          "post_id": 42, "owner_id": -100001, "parents_stack": [],
                          "thread": {"count": 0}}),
    vk("wall_reply_new", {"id": 602, "from_id": -100001, "date": 1, "text": "[id7001|Анна], да",
                          "post_id": 42, "post_owner_id": -100001, "parents_stack": [601],
                          "reply_to_comment": 601}),
    vk("wall_reply_delete", {"owner_id": -100001, "id": 7, "deleter_id": 5, "post_id": 3}),
    vk("photo_comment_new", {"id": 9, "from_id": 5, "date": 3, "text": "ф", "photo_id": 77,
                             "photo_owner_id": -100001}),
    vk("video_comment_edit", {"id": 4, "from_id": 5, "date": 3, "text": "в", "video_id": 88,
                              "video_owner_id": -100001}),
    vk("market_comment_restore", {"id": 6, "from_id": 5, "date": 3, "text": "м", "photo_id": 99,
                                  "market_owner_id": -100001}),
    vk("board_post_new", {"id": 13, "from_id": -100001, "date": 2, "text": "[post12|Иван], ok",
                          "topic_id": 5, "topic_owner_id": -100001}),
    vk("wall_post_new", {"id": 900, "owner_id": -100001, "from_id": 7001, "created_by": 7001,
                         "date": 5, "text": "Предлагаю", "post_type": "suggest"}),
    vk("message_new", {"message": {"id": 1015, "date": 10, "peer_id": 7001, "from_id": 7001,
                                   "text": "привет", "conversation_message_id": 15, "out": 0,
                                   "fwd_messages": [{"text": "x"}]},
                       "client_info": {"lang_id": 0}}),
    vk("message_reply", {"id": 2000, "date": 11, "peer_id": 7001, "from_id": -100001,
                         "text": "Ответ", "out": 1, "conversation_message_id": 17,
                         "reply_message": {"from_id": 7001, "conversation_message_id": 15}}),
    vk("like_add", {"liker_id": 1, "object_type": "post"}),
    # a moderator's delete (deleter_id is not the author), a citizen's message_edit
    # (object = the message), a group-chat message (peer_id >= 2000000000)
    vk("photo_comment_delete", {"owner_id": -100001, "id": 9, "user_id": 5,
                                "deleter_id": -100001, "photo_id": 77}),
    vk("message_edit", {"id": 0, "date": 10, "peer_id": 7001, "from_id": 7001, "out": 0,
                        "text": "привет!", "conversation_message_id": 15,
                        "update_time": 12}),
    vk("message_new", {"message": {"id": 0, "date": 10, "peer_id": 2000000004, "from_id": 7001,
                                   "text": "в чате", "conversation_message_id": 311, "out": 0},
                       "client_info": {"lang_id": 0}}),
    vk("message_new", {"message": {"id": 0, "date": 10, "peer_id": 2000000004, "from_id": 7001,
                                   "text": "в чате", "conversation_message_id": 312, "out": 0}},
       group=100003),   # the harness's page that takes group chats
]

COPY = {"message_id": 100, "sender_chat": {"id": -1001234567890, "type": "channel",
                                           "username": "maykop"},
        "chat": {"id": -1009876543210, "type": "supergroup"}, "date": 1,
        "is_automatic_forward": True,
        "forward_origin": {"type": "channel", "chat": {"id": -1001234567890}, "message_id": 42},
        "text": "Новость"}
USER = {"id": 5001, "is_bot": False, "first_name": "Анна", "last_name": "К"}
TG = [
    j({"update_id": 1, "message": COPY}),
    j({"update_id": 2, "message": {"message_id": 101, "from": USER, "date": 1,
                                   "chat": {"id": -1009876543210, "type": "supergroup"},
                                   "message_thread_id": 100, "reply_to_message": COPY,
                                   "text": "Когда?"}}),
    j({"update_id": 3, "message": {"message_id": 103, "sender_chat": {"id": -1001234567890},
                                   "from": {"id": 1, "is_bot": True}, "date": 1,
                                   "chat": {"id": -1009876543210, "type": "supergroup"},
                                   "reply_to_message": {"message_id": 101, "chat": {"id": 1}},
                                   "text": "Ответ"}}),
    j({"update_id": 4, "edited_message": {"message_id": 101, "from": USER, "date": 1,
                                          "edit_date": 2, "caption": "фото",
                                          "chat": {"id": 5001, "type": "private"}}}),
    j({"update_id": 5, "channel_post": {"message_id": 43, "date": 1,
                                        "chat": {"id": -1001234567890, "username": "maykop"}}}),
    j({"update_id": 6, "my_chat_member": {"chat": {"id": 1}}}),
    # a private chat whose user has a username: no t.me link may be made of it
    j({"update_id": 7, "message": {"message_id": 52, "from": dict(USER, username="anna_k"),
                                   "date": 1, "text": "мусор",
                                   "chat": {"id": 5001, "type": "private",
                                            "username": "anna_k"}}}),
]

MSG = {"sender": {"user_id": 300100, "name": "Ирина", "is_bot": False},
       "recipient": {"chat_id": -68805384306771, "chat_type": "chat"},
       "timestamp": 1795900000123,
       "body": {"mid": "mid.0000000000000001a", "seq": 116327994376978687, "text": "фонарь"},
       "url": "https://max.ru/x"}
MAX = [
    j({"update_type": "message_created", "timestamp": 1795900000123, "message": MSG}),
    j({"update_type": "message_edited", "timestamp": 1795900009000, "message": MSG}),
    j({"update_type": "message_removed", "timestamp": 1, "message_id": "mid.1",
       "chat_id": -68805384306771, "user_id": 1}),
    j({"update_type": "message_created", "timestamp": 1, "message": dict(
        MSG, sender={"user_id": 1, "is_bot": True},
        link={"type": "reply", "message": {"mid": "mid.0000000000000001a"}})}),
    j({"update_type": "bot_started", "timestamp": 1, "chat_id": 1, "user": {}}),
]

OK = [
    j({"sender": {"user_id": "user:123456789012", "name": "Пётр"},
       "recipient": {"chat_id": "chat:C3ecb9d02a600"},
       "message": {"text": "вода", "seq": 98211023614189660,
                   "mid": "mid:C3ecb9d02a600.15cea67d78d2059"}, "timestamp": 1498581292941}),
    j({"webhookType": "MESSAGE_CREATED", "sender": {"user_id": "user:1"},
       "recipient": {"chat_id": "chat:C1"}, "message": {"text": "x", "mid": "mid:C1.1"},
       "timestamp": 1}),
    j({"webhookType": "CHAT_SYSTEM", "recipient": {"chat_id": "chat:C1"}}),
]

GEN = [
    j({"schema": "appealsd.generic/1", "system": "pos", "event": "created", "id": "2026-000123",
       "event_id": "d-77", "page": "adygea", "author": {"id": "esia-1001", "name": "Мария"},
       "text": "Крыша", "created_at": "2026-11-29T09:15:02+03:00", "link": "https://x.ru/1",
       "kind": "appeal", "thread": "t-5"}),
    j({"system": "pos", "event": "answer", "id": "a-1", "reply_to": "2026-000123",
       "page": "adygea", "text": "Ответ", "created_at": 1795932999000}),
    j({"system": "pos", "event": "deleted", "id": "1", "page": "adygea", "author": "x"}),
]


def write(name, bodies, selectors=(0, 3, 6)):
    d = HERE / "corpus" / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    n = 0
    for b in bodies:
        for sel in selectors:
            (d / ("seed-%03d" % n)).write_bytes(bytes([sel]) + b)
            n += 1


def record(idx, body, source=b"vk", path=b""):
    rid = (1 << 32) | idx
    total = 40 + len(source) + 1 + len(path) + 1 + len(body) + 1
    rest = struct.pack("<IQqHHI", 0, rid, 1795900000000, len(source), len(path), len(body))
    rest += source + b"\0" + path + b"\0" + body + b"\0"
    crc = zlib.crc32(rest, zlib.crc32(struct.pack("<Q", SALT)))
    return struct.pack("<III", 0x31445041, total, crc) + rest


def ack(idx):
    return struct.pack("<II", idx, idx ^ 0xFFFFFFFF)


def spool_seeds():
    recs = [record(i, b) for i, b in enumerate(VK[:4])]
    segs = [
        b"".join(recs),
        b"".join(recs)[:-7],                              # torn tail
        recs[0] + b"\0" * 50 + recs[1] + recs[2],          # zeroed hole
        recs[0] + recs[1] + recs[0] + recs[2],             # stale copy
        bytes([2]) + ack(1) + ack(3) + b"".join(recs),      # with a release log
        bytes([1]) + b"\0" * 8 + b"".join(recs),            # zero-filled release entry
        record(0, b"", b"telegram", b"/tok") + record(1, TG[1]),
    ]
    d = HERE / "corpus" / "spool"
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    for i, s in enumerate(segs):
        (d / ("seed-%03d" % i)).write_bytes(s)


# The daemon's own parsers (fuzz_text.c, fuzz_control.c, fuzz_status.c,
# fuzz_ini.c).  Texts are written for these seeds, not taken from real appeals.
TEXTS = [
    "Третью неделю во дворе на ул. Пролетарской, 12 не вывозят мусор, контейнеры переполнены!!!",
    "[id123|Ольга], спасибо большое за помощь)))",
    "Когда починят освещение в переулке Школьном? Вечером совсем темно 😡",
    "Продам гараж недорого, звоните +7 900 123-45-67 https://example.org/ad",
    "<b>Нет воды</b> &amp; &quot;света&quot; в мкр Восход&nbsp;с утра &#1103;",
    "пoдъeзд нe убирaют, вМайкопе зa\u0301мок сломан, и\u0306од ",
    "Сообщаем, что ваше обращение передано в управление ЖКХ. В соответствии с 59-ФЗ "
    "ответ будет дан в течение 30 дней.",
    "Яму на дороге заделали 15.05.2026, бригада выехала утром.",
    "В Адыгейске автобус №5 не ходит, школа № 3 без отопления??? @mayor_press write@example.org",
]
TEXT_BYTES = [t.encode() for t in TEXTS] + [
    b"\xd0\xff\xfe \xe2\x80\x8b\xe2\x80\x8b \xef\xb8\x8f\xd0\xb9 \x00\x01\x7f",
    "не не не нет воды воды нет".encode() * 40,
]

STATUS_ID = "vk:-100001:wall:42:c501"


def status(**kw):
    msg = {"schema": "appealsd.status/1", "appeal_id": STATUS_ID, "org": "maykop",
           "status": "accepted", "at": "2026-11-30T10:15:00+03:00"}
    msg.update(kw)
    return j({k: v for k, v in msg.items() if v is not None})


# first byte: bit 0 the Kafka key is the appeal id, bit 1 times in UTC
STATUS = [
    b"\x01" + status(),
    b"\x00" + status(status="rejected", comment="не наша территория", reroute_to="minzdrav"),
    b"\x02" + status(status="answered", answer_link="https://vk.com/wall-100001_42?reply=9",
                      message_id="m-77", executor="Отдел благоустройства",
                      at="2026-12-01T08:00:00Z"),
    b"\x00" + status(status="need_info", comment="уточните адрес", at="2026-12-01 08:00"),
    b"\x01" + status(appeal_id="tg:5:6"),
    b"\x00" + status(schema="appealsd.status/2", org="Bad Org"),
    b"\x00" + status(status="", at=None),
    b"\x00" + b'{"appeal_id": ',
    b"\x03" + b"\xff\xfe" + status()[:20],
    b"\x00" + b'[{"org": [1, 2, {"a": null}]}]',
]

CONTROL = [
    b'{"cmd": "status"}\n',
    b'{"cmd": "tail", "args": {"org": "maykop, minzdrav", "types": ["appeal", "sla"], '
    b'"last": 10}}\n',
    b'{"cmd": "list", "args": {"overdue": true, "due_within_s": 3600, "limit": 20, '
    b'"category": ["roads", "water,power"]}}\n',
    b'{"cmd": "show", "args": {"id": "vk:-100001:wall:42:c501"}}\n{"cmd": "help"}\n',
    '{"cmd": "answer", "args": {"id": "x", "text": "Ответ дан по телефону \\u001b[31m"}}\n'
    .encode(),
    b'{"cmd": 1}\n{"cmd": "tail", "args": []}\nnot json\n\n{"cmd": "list", "args": '
    b'{"types": "appeal", "state": ""}}\n',
    b'{"cmd": "tail", "args": {"types": "nothing", "last": -1}}\n{"cmd": "tail"',
]

INI = [
    "[daemon]\ninstance = fuzz-1\nlog_level = info\n[http]\nlisten = 127.0.0.1:8080\n"
    "max_body = 1MiB\n[kafka]\nbrokers = 127.0.0.1:9092\npartitions = 3\n",
    "# organisations\n[org \"cur\"]\nname = ЦУР\ntype = cur\ncalendar = none\nhours = duty\n"
    "[org \"maykop\"]\nname = \"Администрация \\\"города\\\"\\n\"\ntype = municipal\n"
    "parent = cur\nmunicipality = maykop\n"
    "[page \"vk:100001\"]\nname = Страница\norg = maykop\nsecret = seed-secret-0123456789\n",
    "\ufeff[sla]\ncalendar = adygea\nstatus_max_bytes = 64KiB\n; comment\n[redis]\n"
    "prefix = apd:\n",
    "!http.max_body=2MiB\n[http]\nmax_body = 1KiB\n",
    "!org.maykop.parent=cur\n[org maykop]\nname = x\n[org maykop]\nname = y\n",
    "key = outside\n[bad section\n[ok]\n= no key\nvalue \"unterminated\n[x \"\"]\n",
    "include *\n[daemon]\nlog_level = debug\n",
    "include missing.conf\n[control]\nmode = 0660\nmax_output = 4MiB\n",
]


def write_plain(name, inputs):
    """Seeds named seed-NNN; other files there (inputs that once failed) are
    kept."""
    d = HERE / "corpus" / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for i, b in enumerate(inputs):
        (d / ("seed-%03d" % i)).write_bytes(b if isinstance(b, bytes) else b.encode())


if __name__ == "__main__":
    write("source_vk", VK + [b"{\"type\":", b"[]", b"{}"])
    write("source_telegram", TG + [b"{\"update_id\":1}"])
    write("source_max", MAX)
    write("source_ok", OK)
    write("source_generic", GEN)
    spool_seeds()
    write_plain("text", TEXT_BYTES)
    write_plain("status", STATUS)
    write_plain("control", CONTROL)
    write_plain("ini", INI)
