#!/usr/bin/python3
"""Bad input of every class gets its status and nothing else happens; broken
text inside an authenticated event is acknowledged and quarantined; unknown
event types are acknowledged and counted; a flood of bad requests costs a few
log lines; a full spool answers 503 with Retry-After; `appealsd parse`; a
plugin built for another ABI is refused with a clear line."""

import json
import re
import subprocess
from pathlib import Path

import apd
from apd import h, vk_comment, vk_event
import sources as s

OK_LOOPBACK = {"source.ok.allow_from": "127.0.0.1/32"}
DEEP = json.loads("[" * 40 + "]" * 40)


def test_every_bad_input_class():
    with h.Services() as svc, apd.Apd(svc, overrides=dict(OK_LOOPBACK, **{
            "http.max_body": "64k"})) as a:
        tg_hdr = {"X-Telegram-Bot-Api-Secret-Token": s.TG_SECRET}
        max_hdr = {"X-Max-Bot-Api-Secret": s.MAX_SECRET}
        cases = [
            # 400: not JSON (after authentication where it is a header)
            ("vk not JSON", "/webhook/vk", b"{\"type\":", {}, 400),
            ("tg not JSON", "/webhook/telegram", b"<xml/>", tg_hdr, 400),
            ("max not JSON", "/webhook/max", b"\xff\xfe", max_hdr, 400),
            ("ok not JSON", "/webhook/ok/" + s.OK_TOKEN, b"nope", {}, 400),
            ("generic not JSON", *s.gen_post(None, raw=b"{]"), 400),
            # 400: JSON nested deeper than the cap
            ("vk too deep", "/webhook/vk", json.dumps(vk_event(
                100001, "like_add", {"x": DEEP}, "deep")).encode(), {}, 400),
            # 403: authentication
            ("vk wrong secret", "/webhook/vk", vk_comment(100001, 1, "x") | {"secret": "no"},
             {}, 403),
            ("tg no header", "/webhook/telegram", b"{}", {}, 403),
            ("max wrong header", "/webhook/max", b"{}", {"X-Max-Bot-Api-Secret": "nope-nope"},
             403),
            ("generic unsigned", *s.gen_post(s.gen_appeal("1", "x"), key=None), 403),
            # VK: an unknown community gets the wrong secret's answer (no probing)
            ("vk unknown community", "/webhook/vk", vk_comment(999999, 1, "x"), {}, 403),
            # 404: unknown pages
            ("ok unknown token", *s.ok_post("C.1", "x", token="guessed"), 404),
            ("generic unknown page", *s.gen_post(s.gen_appeal("1", "x", page="nowhere")), 404),
            ("unknown source", "/webhook/facebook", b"{}", {}, 404),
            # 413: larger than http.max_body
            ("oversize", "/webhook/vk", b"x" * (65 * 1024), {}, 413),
        ]
        answers = {}
        for what, path, body, hdrs, want in cases:
            st, _, resp = a.post(path, body, hdrs)
            assert st == want, (what, st, resp)
            answers[what] = resp
        assert answers["vk unknown community"] == answers["vk wrong secret"], answers
        st, hdrs, _ = h.http_request("PUT", a.url("/webhook/telegram"), b"{}")
        assert st == 405 and hdrs.get("allow") == "POST", (st, hdrs)
        st, _, _ = h.http_get(a.url("/webhook/ok/" + s.OK_TOKEN))
        assert st == 405, st
        raw = h.http_raw("127.0.0.1", a.port, b"POST /webhook/max HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 999999999\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 413"), raw[:60]
        # nothing of that reached the pipeline
        a.wait_idle()
        st = a.ctl("status")["result"]
        assert st["pipeline"]["published"] == 0 and st["spool"]["unreleased"] == 0, st
        assert a.consume("all", None, timeout=2) == []


def test_broken_text_is_acknowledged_and_quarantined():
    with h.Services() as svc, apd.Apd(svc) as a:
        bad_utf8 = json.dumps(vk_comment(100001, 11, "PLACEHOLDER")).encode().replace(
            b"PLACEHOLDER", b"\xd0\xff\xfe")
        st, _, body = a.post("/webhook/vk", bad_utf8)
        assert (st, body) == (200, b"ok"), (st, body)
        copy = s.tg_copy(42, 100)
        lone = json.dumps({"update_id": 7, "message": s.tg_comment(
            101, "PLACEHOLDER", copy, 100)}).encode().replace(b"PLACEHOLDER", b"a\\ud800b")
        st, _, _ = a.post("/webhook/telegram", lone,
                          {"X-Telegram-Bot-Api-Secret-Token": s.TG_SECRET})
        assert st == 200
        path, body, hdrs = s.max_post(s.max_message("message_created", "mid.nul", "PLACEHOLDER"))
        st, _, _ = a.post(path, body.replace(b"PLACEHOLDER", b"a\\u0000b"), hdrs)
        assert st == 200
        # unknown event types are acknowledged and counted, never errors
        assert a.post("/webhook/vk", vk_event(100001, "like_add", {"liker_id": 1}, "l1"))[0] \
            == 200
        assert a.post(*s.tg_post(8, "chat_member", {"chat": {"id": 1}}))[0] == 200
        # and the daemon goes on
        assert a.post("/webhook/vk", vk_comment(100001, 12, "Нормальный текст"))[0] == 200
        assert len(a.consume("all", 1)) == 1
        a.wait_idle()
        st = a.ctl("status")["result"]["pipeline"]
        assert st["quarantined"] == 3 and st["ignored"] >= 2, st
        qfile = a.tmp / "spool" / "quarantine.jsonl"
        # written off the loop: on disk moments after the pipeline is idle
        h.wait_until(lambda: qfile.exists() and len(qfile.read_text().splitlines()) == 3,
                     what="three quarantined lines on disk")
        lines = [json.loads(x) for x in qfile.read_text().splitlines()]
        reasons = sorted((q["source"], q["reason"]) for q in lines)
        assert reasons == [("max", "text holds a NUL character"),
                           ("telegram", "text holds an unpaired UTF-16 surrogate escape"),
                           ("vk", "text is not valid UTF-8")], reasons
        metrics = h.http_get(a.url("/metrics"))[2].decode()
        assert 'appealsd_ignored_total{source="vk",type="like_add"} 1' in metrics, metrics
        assert 'appealsd_ignored_total{source="telegram",type="chat_member"} 1' in metrics
        assert 'appealsd_quarantined_total{source="vk"} 1' in metrics


def test_a_flood_of_bad_requests_costs_a_few_log_lines():
    with h.Services() as svc, apd.Apd(svc) as a:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        body = json.dumps(vk_comment(100001, 1, "x") | {"secret": "wrong"})
        n = 3000
        for _ in range(n):
            conn.request("POST", "/webhook/vk", body=body)
            r = conn.getresponse()
            r.read()
            assert r.status == 403
        conn.close()
        metrics = h.http_get(a.url("/metrics"))[2].decode()
        assert 'appealsd_http_requests_total{source="vk",status="403"} %d' % n in metrics
        refused = [x for x in a.daemon.log().splitlines() if "refused with 403" in x]
        # at most 10 per 10 s window (the flood may straddle two windows)
        assert 1 <= len(refused) <= 20, len(refused)
        # what was refused, whose secret to check, and what happens next
        assert all("vk webhook from 127.0.0.1 refused with 403: wrong secret for community "
                   "100001; nothing stored; if the sender is the platform, its secret differs"
                   in x for x in refused), refused[:2]


def test_full_spool_answers_503_with_retry_after():
    # Kafka unreachable: nothing is released, so the 1 MiB quota fills up.
    with h.Services() as svc, apd.Apd(svc, create_topics=False, overrides={
            "kafka.brokers": "127.0.0.1:9", "spool.max_size": "1MiB",
            "http.retry_after": "17", "daemon.shutdown_timeout": "1s"}) as a:
        text = "Очень длинное обращение. " * 2500   # ~115 KB of UTF-8
        statuses = []
        for i in range(40):
            st, hdrs, body = a.post("/webhook/vk", vk_comment(100001, 2000 + i, text))
            statuses.append(st)
            if st == 503:
                assert hdrs.get("retry-after") == "17", hdrs
                assert b"spool full" in body, body
                break
        assert statuses[:-1] == [200] * (len(statuses) - 1) and statuses[-1] == 503, statuses
        assert 10 <= len(statuses) <= 20, statuses
        st, hdrs, body = h.http_get(a.url("/healthz"))
        assert (st, body.split(b"\n")[0]) == (503, b"spool full"), body
        assert b"\nspool: FAIL: " in body and hdrs.get("retry-after") == "17"
        st = a.ctl("status")["result"]["spool"]
        assert st["unreleased"] == len(statuses) - 1, st


def parse(source, body, *args):
    """appealsd parse on the shipped example config (no services needed)."""
    cmd = [str(h.daemon_binary()), "parse", "--source", source, "-c", str(apd.EXAMPLE_CONFIG),
           "--set", "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")] + list(args)
    return subprocess.run(cmd, input=body, capture_output=True, timeout=30)


def test_parse_prints_the_normalised_event():
    body = json.dumps(vk_comment(100001, 501, "Яма на дороге")).encode()
    r = parse("vk", body)
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev == {"source": "vk", "event": "created", "appeal_id": "vk:-100001:wall:42:c501",
                  "page": "100001", "author": "7001", "author_name": None,
                  "text": "Яма на дороге", "created_at": "2026-11-29T00:06:40.000+03:00",
                  "link": "https://vk.com/wall-100001_42?reply=501", "reply_to": None,
                  "thread": "vk:-100001:wall:42", "item_kind": "comment",
                  "platform_type": "wall_reply_new", "dedup_key": "vk:ev:ev100001-42-501",
                  "quarantine": None}, ev
    # no authentication: a wrong secret parses the same
    r = parse("vk", json.dumps(vk_comment(100001, 501, "x") | {"secret": "no"}).encode())
    assert r.returncode == 0 and json.loads(r.stdout)["event"] == "created", r
    # every source, from a file or stdin
    f = h.tmpdir() / "tg.json"
    f.write_bytes(s.tg_post(3, "message", s.tg_comment(
        102, "Ответ", s.tg_comment(101, "q", None, 100), 100, sender_chat=s.TG_CHANNEL))[1])
    r = parse("telegram", b"", str(f))
    assert json.loads(r.stdout)["event"] == "answer", r.stdout
    assert json.loads(r.stdout)["reply_to"] == s.tg_appeal_id(101)
    r = parse("max", s.max_post(s.max_removed("mid.7"))[1])
    assert json.loads(r.stdout)["event"] == "deleted", r.stdout
    path, body, _ = s.ok_post("C1.2", "Вода")
    r = parse("ok", body, "--path", path[len("/webhook/ok"):])
    ev = json.loads(r.stdout)
    # the chat is one user's: its id is pseudonymous (docs/sources.md)
    assert re.fullmatch(r"ok:p[0-9a-f]{16}:C1\.2", ev["appeal_id"]), ev
    assert "C3ecb9d02a600" not in ev["appeal_id"] + ev["thread"] and ev["page"] == s.OK_GROUP, ev
    r = parse("generic", s.gen_post(s.gen_appeal("9", "Текст"))[1])
    assert json.loads(r.stdout)["created_at"] == "2026-11-29T09:15:02.000+03:00", r.stdout
    r = parse("vk", json.dumps(vk_event(100001, "like_add", {}, "z")).encode())
    assert json.loads(r.stdout)["event"] == "ignored", r.stdout
    # refusals: the reason, exit 1
    r = parse("vk", b"{\"type\": 1}")
    assert r.returncode == 1, r
    assert json.loads(r.stdout) == {"source": "vk", "rejected": {
        "status": 400, "reason": "not a VK Callback API event (no type or group_id)"}}
    assert b"refuses the body" in r.stderr
    r = parse("vk", b"not json")
    assert r.returncode == 1 and json.loads(r.stdout)["rejected"]["status"] == 400
    # usage errors: exit 2
    r = parse("facebook", b"{}")
    assert r.returncode == 2 and b"no enabled source 'facebook'" in r.stderr, r


def test_a_plugin_of_another_abi_is_refused_with_a_clear_line():
    plugins = h.build_dir() / "tests" / "plugins"
    for plugin, why in [("test_abi_major2", "built for plugin ABI 2.0, this appealsd speaks 1."),
                        ("test_abi_reserved", "reserved field 0 of its descriptor is set")]:
        conf = h.tmpdir() / (plugin + ".conf")
        conf.write_text("[daemon]\nplugin_dir = %s\n[source \"x\"]\nplugin = %s\n"
                        % (plugins, plugin))
        r = subprocess.run([str(h.daemon_binary()), "--check-config", "-c", str(conf)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r
        line = [x for x in r.stderr.splitlines() if plugin in x]
        assert line and why in line[0] and "%s:3:" % conf in line[0], r.stderr
        # the daemon itself refuses to start, saying the same
        d = h.Daemon(config=conf, overrides={"spool.dir": str(h.tmpdir() / (plugin + "-spool")),
                                             "control.socket": str(h.tmpdir() / "c.sock")})
        d.start()
        assert d.wait(30) == 1
        assert why in d.log(), d.log_tail()


def _quarantine_files(spool):
    return {p.name: p.stat().st_size for p in spool.glob("quarantine.jsonl*")}


def test_quarantine_shares_the_spool_quota_and_rotates():
    """quarantine.jsonl and its rotated copies count in [spool] max_size (an
    earlier run's copy filling the quota turns webhooks away with 503), the
    file is rotated at quarantine_max_size and only quarantine_files copies
    are kept, the oldest deleted, and the quota gets its bytes back."""
    spool = h.tmpdir() / "qspool"
    spool.mkdir()
    over = {"spool.dir": str(spool), "spool.max_size": "1MiB",
            "spool.quarantine_max_size": "4KiB", "spool.quarantine_files": "2"}
    (spool / "quarantine.jsonl.2").write_bytes(b"{}\n" * ((1 << 20) // 3 + 1))
    big = (spool / "quarantine.jsonl.2").stat().st_size
    with h.Services() as svc:
        with apd.Apd(svc, overrides=over) as a:
            st = a.ctl("status")["result"]["spool"]
            assert st["quarantine_bytes"] == big, st
            assert a.post("/webhook/vk", vk_comment(100001, 20, "яма"))[0] == 503
        with open(spool / "quarantine.jsonl.2", "r+b") as f:
            f.truncate(900 * 1024)
        with apd.Apd(svc, overrides=over) as a:
            assert a.post("/webhook/vk", vk_comment(100001, 21, "яма"))[0] == 200
            for i in range(8):
                body = json.dumps(vk_comment(100001, 100 + i, "PLACEHOLDER" + "x" * 1500))
                st, _, _ = a.post("/webhook/vk", body.encode().replace(b"PLACEHOLDER",
                                                                         b"\xd0\xff\xfe"))
                assert st == 200, st
            a.wait_idle()

            def settled():
                files = _quarantine_files(spool)
                st = a.ctl("status")["result"]["spool"]
                return st["quarantine_bytes"] == sum(files.values()) and \
                    "quarantine.jsonl.2" in files and files["quarantine.jsonl.2"] < 8192
            h.wait_until(settled, what="the quarantine to rotate past the old copy")
            files = _quarantine_files(spool)
            assert set(files) == {"quarantine.jsonl", "quarantine.jsonl.1",
                                  "quarantine.jsonl.2"}, files
            assert all(n <= 4096 + 8192 for n in files.values()), files
            lines = sum(len(p.read_text().splitlines()) for p in spool.glob("quarantine.jsonl*"))
            assert 3 <= lines <= 8, lines   # the oldest lines went with the deleted copies
            assert "rotated, 2 older files kept" in a.daemon.log()


if __name__ == "__main__":
    h.main(globals())
