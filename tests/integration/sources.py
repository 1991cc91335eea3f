"""Payloads of every webhook source, written from the documented formats
(shared/domain/webhooks.md), with the secrets of the shipped example config.

    st, hdrs, body = a.post(*tg_post(update_id, "message", tg_comment(...)))

Each *_post() returns (path, body, headers) for Apd.post().
"""

import hashlib
import hmac
import http.client
import json
import time

# config/appealsd.conf and config/conf.d/20-pages.conf
TG_SECRET = "adygea-telegram-example-secret"
TG_CHANNEL = -1001987654321          # Администрация Майкопа, org maykop
TG_GROUP = -1002087654321            # its discussion group (linked_chats)
MAX_SECRET = "adygea-max-example-secret"
MAX_CHAT = -68805384306771           # org maykop
OK_GROUP = "70000001234567"          # org maykop
OK_TOKEN = "maykop-ok-Zq8LrT0pXw3nY6vB1cKd"
GEN_KEY = "adygea-generic-example-key"
GEN_PAGE = "pos-adygea"              # org cur


# apd.base_overrides: the key every test daemon pseudonymises with
PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"


def pseudonym(source, user_id, key=PSEUDONYM_KEY):
    """author.pseudonym of user_id on source, computed here (not by the
    daemon): the first 16 hex digits of HMAC-SHA256(key, "SOURCE:ID")."""
    return hmac.new(key.encode(), ("%s:%s" % (source, user_id)).encode(),
                    hashlib.sha256).hexdigest()[:16]


def private(source, user_id):
    """How a private conversation's user appears in ids and threads."""
    return "p" + pseudonym(source, user_id)


def vk_message_id(group_id, peer, cmid):
    return "vk:-%d:msg:%s:%d" % (group_id, private("vk", peer), cmid)


def _json(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


# ---- Telegram ----------------------------------------------------------------

def tg_post(update_id, kind, message, secret=TG_SECRET):
    body = _json({"update_id": update_id, kind: message})
    hdrs = {"Content-Type": "application/json"}
    if secret is not None:
        hdrs["X-Telegram-Bot-Api-Secret-Token"] = secret
    return "/webhook/telegram", body, hdrs


def tg_copy(post_id, copy_id):
    """The discussion group's automatic copy of channel post post_id."""
    return {"message_id": copy_id, "date": 1795900000,
            "from": {"id": 777000, "is_bot": False, "first_name": "Telegram"},
            "sender_chat": {"id": TG_CHANNEL, "type": "channel", "title": "Майкоп",
                            "username": "maykop_official"},
            "chat": {"id": TG_GROUP, "type": "supergroup", "title": "Майкоп: обсуждение"},
            "is_automatic_forward": True,
            "forward_origin": {"type": "channel", "message_id": post_id, "date": 1795900000,
                               "chat": {"id": TG_CHANNEL, "type": "channel",
                                        "username": "maykop_official"}},
            "text": "Новость администрации"}


def tg_comment(msg_id, text, reply_to, thread, user=5001, sender_chat=None):
    m = {"message_id": msg_id, "date": 1795900100, "message_thread_id": thread,
         "from": {"id": user, "is_bot": False, "first_name": "Анна"},
         "chat": {"id": TG_GROUP, "type": "supergroup"},
         "reply_to_message": reply_to, "text": text}
    if sender_chat is not None:
        m["sender_chat"] = {"id": sender_chat, "type": "channel"}
        m["from"] = {"id": 136817688, "is_bot": True, "first_name": "Channel"}
    return m


def tg_appeal_id(msg_id):
    return "tg:%d:%d" % (TG_GROUP, msg_id)


# ---- MAX ---------------------------------------------------------------------

def max_post(update, secret=MAX_SECRET):
    hdrs = {"Content-Type": "application/json"}
    if secret is not None:
        hdrs["X-Max-Bot-Api-Secret"] = secret
    return "/webhook/max", _json(update), hdrs


def max_message(update_type, mid, text, ts=1795900000123, user=300100, link=None):
    msg = {"sender": {"user_id": user, "first_name": "Ирина", "is_bot": False},
           "recipient": {"chat_id": MAX_CHAT, "chat_type": "chat"},
           "timestamp": ts,
           "body": {"mid": mid, "seq": 116327994376978687, "text": text, "attachments": []},
           "url": "https://max.ru/c/%d/%s" % (MAX_CHAT, mid)}
    if link:
        msg["link"] = link
    return {"update_type": update_type, "timestamp": ts, "message": msg}


def max_removed(mid, ts=1795900500000):
    return {"update_type": "message_removed", "timestamp": ts, "message_id": mid,
            "chat_id": MAX_CHAT, "user_id": 300100}


def max_appeal_id(mid):
    return "max:%d:%s" % (MAX_CHAT, mid)


# ---- OK ----------------------------------------------------------------------

def ok_post(mid, text, token=OK_TOKEN, chat="C3ecb9d02a600"):
    body = {"webhookType": "MESSAGE_CREATED",
            "sender": {"user_id": "user:123456789012", "name": "Пётр Иванов"},
            "recipient": {"chat_id": "chat:" + chat},
            "message": {"text": text, "seq": 98211023614189660, "mid": "mid:" + mid},
            "timestamp": 1795900000941}
    return "/webhook/ok/" + token, _json(body), {"Content-Type": "application/json;charset=utf-8"}


def ok_appeal_id(mid, chat="C3ecb9d02a600"):
    """Every OK webhook chat is one user's with the group: pseudonymous, and
    the mid loses the chat id it starts with."""
    if mid.startswith(chat + "."):
        mid = mid[len(chat) + 1:]
    return "ok:%s:%s" % (private("ok", chat), mid)


# ---- generic -----------------------------------------------------------------

def gen_post(obj, key=GEN_KEY, raw=None, ts=None, timestamp=True):
    """A signed generic request: HMAC over TIMESTAMP "." BODY (ts: the Unix
    seconds to sign, default now; timestamp=False: the body alone)."""
    body = raw if raw is not None else _json(obj)
    hdrs = {"Content-Type": "application/json"}
    if key is not None:
        signed = body
        if timestamp:
            ts = int(time.time()) if ts is None else ts
            hdrs["X-Appealsd-Timestamp"] = str(ts)
            signed = str(ts).encode() + b"." + body
        sig = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        hdrs["X-Appealsd-Signature"] = "sha256=" + sig
    return "/webhook/generic", body, hdrs


def gen_appeal(item_id, text, event="created", event_id=None, **extra):
    obj = {"schema": "appealsd.generic/1", "system": "pos", "event": event, "id": item_id,
           "page": GEN_PAGE, "author": {"id": "esia-1001", "name": "Мария С."},
           "text": text, "created_at": "2026-11-29T09:15:02+03:00"}
    if event_id:
        obj["event_id"] = event_id
    obj.update(extra)
    return obj


# ---- HTTP from a chosen source address ----------------------------------------

def post_from(source_ip, port, path, body, headers=None, timeout=10.0):
    """POST from a given loopback address (127.0.0.0/8 all routes locally),
    for allow-list tests.  -> (status, body bytes)"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source_ip, 0))
    try:
        conn.request("POST", path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()
