#!/usr/bin/python3
"""The control socket end to end: the line protocol and its errors, read-only
versus admin peers, tail streams with filters, show and list over the real
records in Redis, appealsctl's output and exit codes, and a stalled tail that
must not slow the daemon down or make it grow."""

import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import apd
from apd import h, vk_appeal_id, vk_comment

ID_MAYKOP = vk_appeal_id(100001, 501)
ID_MINZDRAV = vk_appeal_id(100002, 601)


def raw_lines(sock_path, payload, want, timeout=10):
    """Send payload bytes as is; return the first `want` reply lines as dicts."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(payload)
        buf, out = b"", []
        while len(out) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and len(out) < want:
                line, buf = buf.split(b"\n", 1)
                out.append(json.loads(line))
        return out


def test_protocol_framing_and_errors():
    with h.Services() as svc, apd.Apd(svc) as a:
        sock = str(a.tmp / "ctl.sock")
        # several requests in one write are answered one by one, in order
        r = raw_lines(sock, b'{"cmd":"status"}\n{"cmd":"help"}\n{"cmd":"nope"}\n'
                            b'not json\n{"args":{}}\n{"cmd":"status","args":[1]}\n\n'
                            b'{"cmd":"show","args":{}}\n{"cmd":"list","args":{"limit":0}}\n'
                            b'{"cmd":"tail","args":{"orgg":"x"}}\n', 9)
        assert r[0]["ok"] and r[0]["result"]["state"] == "running", r[0]
        names = [c["name"] for c in r[1]["result"]["commands"]]
        assert {"status", "reload", "help", "tail", "show", "list"} <= set(names), names
        assert r[1]["result"]["admin"] is True, r[1]
        codes = [x.get("code") for x in r[2:]]
        assert codes == ["unknown_command", "bad_request", "bad_request", "bad_request",
                         "bad_args", "bad_args", "bad_args"], r[2:]
        assert "unknown argument 'orgg'" in r[8]["error"], r[8]
        # an over-long line is refused, skipped to its end, and the connection goes on
        r = raw_lines(sock, b'{"cmd":"status","x":"' + b"x" * 200000 + b'"}\n'
                            b'{"cmd":"status"}\n', 2)
        assert r[0]["code"] == "too_long", r[0]
        assert r[1]["ok"], r[1]
        st = a.ctl("status")["result"]["control"]
        assert st["clients"] >= 1 and st["requests"] >= 11, st


def _world_dir():
    d = tempfile.mkdtemp(prefix="apd-ctl-")
    os.chmod(d, 0o755)
    return d


def _as_nobody(ctl, *args):
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", ctl] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_read_only_peer_is_refused_admin_commands():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        raise h.Skip("needs root and setpriv to run a client as another user")
    d = _world_dir()
    try:
        ctl = os.path.join(d, "appealsctl")
        shutil.copy(h.ctl_binary(), ctl)
        os.chmod(ctl, 0o755)
        sock = os.path.join(d, "ctl.sock")
        with h.Services() as svc, apd.Apd(svc, overrides={"control.socket": sock,
                                                          "control.mode": "0666"}) as a:
            assert os.stat(sock).st_mode & 0o777 == 0o666
            p = _as_nobody(ctl, "-s", sock, "status")
            assert p.returncode == 0 and "running" in p.stdout, (p.returncode, p.stdout, p.stderr)
            p = _as_nobody(ctl, "-s", sock, "help")
            assert "this connection is read-only" in p.stdout, p.stdout
            p = _as_nobody(ctl, "-s", sock, "reload", "--wait")
            assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
            assert "forbidden" in p.stderr and "read-only" in p.stderr, p.stderr
            p = _as_nobody(ctl, "-s", sock, "--json", "reload")
            assert p.returncode == 1 and json.loads(p.stdout)["code"] == "forbidden", p.stdout
            st = h.control(sock, {"cmd": "status"})["result"]
            assert st["config_generation"] == 1 and st["control"]["forbidden"] == 2, st
            # root (the daemon's own user here) may
            assert a.appealsctl("-s", sock, "reload", "--wait").returncode == 0
            # a configuration the operator may not read: appealsctl says so
            conf = os.path.join(d, "secret.conf")
            with open(conf, "w") as f:
                f.write("[control]\nsocket = %s\n" % sock)
            os.chmod(conf, 0o600)
            p = _as_nobody(ctl, "-c", conf, "status")
            assert p.returncode == 3 and "secret.conf is not readable" in p.stderr, p.stderr
            assert h.appealsctl("-c", conf, "status").returncode == 0
        # members of control.admin_group may steer too
        with h.Services() as svc, apd.Apd(svc, overrides={"control.socket": sock,
                                                          "control.mode": "0666",
                                                          "control.admin_group": "nogroup"}):
            p = _as_nobody(ctl, "-s", sock, "reload", "--wait")
            assert p.returncode == 0 and "generation" in p.stdout, (p.stdout, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _tail(sock, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock)
    s.sendall(json.dumps({"cmd": "tail", "args": args}).encode() + b"\n")
    f = s.makefile("rb")
    first = json.loads(f.readline())
    assert first == {"ok": True, "result": {"streaming": True, "max_output": 1048576}}, first
    return s, f


def _next_event(f):
    return json.loads(f.readline())


def test_tail_show_list_end_to_end():
    # the example's social policy, first response in 3 s of calendar time, nothing else
    over = {"policy.social.first_response": "3s", "policy.social.time": "calendar",
            "policy.social.resolution": "none", "policy.social.warning": "none",
            "policy.social.escalate": "none"}
    with h.Services() as svc, apd.Apd(svc, overrides=over) as a:
        sock = str(a.tmp / "ctl.sock")
        s1, maykop = _tail(sock, {"org": "maykop"})
        s2, minzdrav = _tail(sock, {"org": ["minzdrav"], "types": "appeal"})
        s3, soon = _tail(sock, {"due_within_s": 60, "state": "open"})
        ctl = subprocess.Popen([str(h.ctl_binary()), "-s", sock, "tail", "--count", "2",
                                "--org", "minzdrav"], stdout=subprocess.PIPE, text=True)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 4,
                     what="four tail subscribers")
        a.post("/webhook/vk", vk_comment(100001, 501, "На ул. Пионерской яма\nна дороге"))
        a.post("/webhook/vk", vk_comment(100002, 601, "Когда откроют поликлинику?"))
        a.post("/webhook/vk", vk_comment(100002, 602, "В марте", from_id=-100002, reply_to=601))

        e = _next_event(maykop)["event"]
        assert (e["event"], e["appeal_id"], e["org"], e["state"]) == \
            ("created", ID_MAYKOP, "maykop", "open"), e
        assert e["municipality"] == "maykop" and e["seq"] == 1 and e["due"].endswith("+03:00"), e
        assert e["text"] == "На ул. Пионерской яма\nна дороге", e
        got = [_next_event(minzdrav)["event"] for _ in range(2)]
        assert [(x["event"], x["state"]) for x in got] == [("created", "open"),
                                                           ("answered", "answered")], got
        assert "due" not in got[1], got[1]
        got = [_next_event(soon)["event"]["appeal_id"] for _ in range(2)]
        assert sorted(got) == sorted([ID_MAYKOP, ID_MINZDRAV]), got
        out, _ = ctl.communicate(timeout=20)
        assert ctl.returncode == 0, out
        lines = out.splitlines()
        assert len(lines) == 2 and "created" in lines[0] and "answered" in lines[1], out
        assert ID_MINZDRAV in lines[0] and "minzdrav" in lines[0], out
        for s in (s1, s2, s3):
            s.close()

        a.wait_idle()
        r = a.ctl("show", {"id": ID_MINZDRAV})["result"]
        assert r["appeal"]["state"] == "answered" and r["appeal"]["seq"] == 3, r   # + "met"
        assert r["appeal"]["first_response"].endswith("+03:00"), r
        assert [x["action"] for x in r["audit"]] == ["created", "answered", "met"], r["audit"]
        assert r["timers"] == [], r["timers"]
        r = a.ctl("show", {"id": ID_MAYKOP})["result"]
        assert [t["timer"] for t in r["timers"]] == ["first_response"], r
        out = a.appealsctl("show", ID_MAYKOP).stdout
        assert "На ул. Пионерской яма" in out and "first_response" in out, out
        assert "rule local-roads" in out, out
        created = a.ctl("show", {"id": ID_MAYKOP})["result"]["audit"][0]
        assert created["org"] == "maykop" and "-> maykop" in created["reason"], created

        rows = a.ctl("list")["result"]["appeals"]
        assert [x["id"] for x in rows] == [ID_MINZDRAV, ID_MAYKOP], rows
        rows = a.ctl("list", {"org": "maykop"})["result"]["appeals"]
        assert [x["id"] for x in rows] == [ID_MAYKOP], rows
        rows = a.ctl("list", {"state": "answered"})["result"]["appeals"]
        assert [x["id"] for x in rows] == [ID_MINZDRAV], rows
        rows = a.ctl("list", {"municipality": "maykop", "limit": 1})["result"]
        assert [x["id"] for x in rows["appeals"]] == [ID_MAYKOP] and not rows["truncated"], rows
        rows = a.ctl("list", {"limit": 1})["result"]
        assert len(rows["appeals"]) == 1 and rows["truncated"], rows
        assert a.ctl("list", {"due_within_s": 60})["result"]["appeals"][0]["id"] == ID_MAYKOP
        # the first response is due 3 s after receipt: the open appeal turns overdue,
        # the answered one does not
        h.wait_until(lambda: a.ctl("list", {"overdue": True})["result"]["appeals"],
                     timeout=10, what="the maykop appeal to be overdue")
        rows = a.ctl("list", {"overdue": True})["result"]["appeals"]
        assert [(x["id"], x["overdue"]) for x in rows] == [(ID_MAYKOP, True)], rows
        out = a.appealsctl("list", "--overdue").stdout
        assert "OVERDUE" in out and "1 appeal" in out, out
        out = a.appealsctl("--json", "list", "--org", "minzdrav").stdout
        assert json.loads(out)["result"]["appeals"][0]["id"] == ID_MINZDRAV, out


def _redis_up(a):
    h.wait_until(lambda: a.ctl("status")["result"]["redis"]["connected"],
                 what="the daemon's Redis connection")


def test_lifecycle_events_reach_the_tail_in_the_compact_shape():
    """SLA and change events (built by the lifecycle from the Kafka payload)
    reach the tail as the protocol's compact event: org a code, the local time
    with its zone, the timer, the citizen-facing number; appealsctl prints
    them with time, organisation and category (issue 15: '--:--:--' and '-'
    on every line)."""
    over = {"policy.social.first_response": "2s", "policy.social.time": "calendar",
            "policy.social.resolution": "none", "policy.social.warning": "none",
            "policy.social.escalate": "none"}
    with h.Services() as svc, apd.Apd(svc, overrides=over) as a:
        sock = str(a.tmp / "ctl.sock")
        s, sla = _tail(sock, {"types": "sla"})
        ctl = subprocess.Popen([str(h.ctl_binary()), "-s", sock, "tail", "--count", "1",
                                "--type", "sla"], stdout=subprocess.PIPE, text=True)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 2,
                     what="two tail subscribers")
        a.post("/webhook/vk", vk_comment(100001, 501, "На ул. Пионерской яма на дороге"))
        e = _next_event(sla)["event"]
        assert (e["type"], e["event"], e["appeal_id"]) == ("sla", "breach", ID_MAYKOP), e
        assert e["org"] == "maykop" and e["timer"] == "first_response", e
        assert e["at"].endswith("+03:00") and e["number"], e
        assert e["category"] == "roads" and e["state"] == "open", e
        out, _ = ctl.communicate(timeout=20)
        assert ctl.returncode == 0, out
        line = out.splitlines()[0]
        assert "+03  breach" in line and ID_MAYKOP in line, line
        assert " maykop " in line and " roads " in line and "--:--:--" not in line, line
        s.close()


def test_tail_n_shows_the_last_events_then_stops_or_follows():
    """tail -n N is journalctl's: the last N events the daemon remembers that
    pass the filters, oldest first, then exit; with -f it goes on live
    (issue 15: -n used to wait for N new events)."""
    with h.Services() as svc, apd.Apd(svc) as a:
        sock = str(a.tmp / "ctl.sock")
        for cid, page in ((801, 100001), (802, 100002), (803, 100001)):
            a.post("/webhook/vk", vk_comment(page, cid, "На ул. Пионерской яма на дороге"))
        a.wait_idle()
        out = a.appealsctl("tail", "-n", "2", "--org", "maykop", "--type", "appeal").stdout
        lines = [l for l in out.splitlines() if l.strip()]
        assert len(lines) == 2, out
        assert vk_appeal_id(100001, 801) in lines[0] and vk_appeal_id(100001, 803) in lines[1], out
        s, f = _tail(sock, {"last": 10, "types": "appeal"})
        got = []
        while True:
            line = json.loads(f.readline())
            if "caught_up" in line:
                break
            got.append(line["event"]["appeal_id"])
        assert line == {"caught_up": len(got)} and len(got) >= 3, (line, got)
        assert got.index(vk_appeal_id(100001, 801)) < got.index(vk_appeal_id(100001, 803)), got
        a.post("/webhook/vk", vk_comment(100002, 804, "Когда откроют поликлинику?"))
        assert _next_event(f)["event"]["appeal_id"] == vk_appeal_id(100002, 804)
        s.close()
        ctl = subprocess.Popen([str(h.ctl_binary()), "-s", sock, "tail", "-f", "-n", "1",
                                "--count", "2", "--type", "appeal"], stdout=subprocess.PIPE,
                               text=True)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 1,
                     what="a tail subscriber")
        a.post("/webhook/vk", vk_comment(100001, 805, "Не горит фонарь у дома 5"))
        out, _ = ctl.communicate(timeout=20)
        lines = out.splitlines()
        assert len(lines) == 2 and vk_appeal_id(100002, 804) in lines[0], out
        assert vk_appeal_id(100001, 805) in lines[1], out


def test_show_finds_an_appeal_by_the_number_a_citizen_is_told():
    """The number on every message (86137-07491), which a citizen quotes on
    the phone, finds the appeal in show; an unknown one is not_found
    (issue 15: the number found nothing)."""
    with h.Services() as svc, apd.Apd(svc) as a:
        a.post("/webhook/vk", vk_comment(100001, 501, "На ул. Пионерской яма на дороге"))
        number = a.consume("all", 1)[0]["json"]["number"]
        a.wait_idle()
        r = a.ctl("show", {"id": number})
        assert r.get("ok") and r["result"]["id"] == ID_MAYKOP, r
        assert r["result"]["number"] == number and r["result"]["appeal"]["org"] == "maykop", r
        out = a.appealsctl("show", number).stdout
        assert ID_MAYKOP in out and "На ул. Пионерской яма" in out, out
        other = "00000-00001" if number != "00000-00001" else "00000-00002"
        r = a.ctl("show", {"id": other})
        assert r.get("ok") is False and r["code"] == "not_found", r
        assert r["error"] == "no appeal '%s'" % other, r
        with a.redis() as rd:
            got = rd.cmd("GET", a.rkey("num:" + number))
            assert got in (ID_MAYKOP, ID_MAYKOP.encode()), got


def test_appealsctl_exit_codes_and_errors():
    with h.Services() as svc, apd.Apd(svc) as a:
        sock = str(a.tmp / "ctl.sock")
        _redis_up(a)
        p = h.appealsctl("-s", sock, "show", "vk:-1:wall:1:c1", check=False)
        assert p.returncode == 1 and "no appeal 'vk:-1:wall:1:c1' (not_found)" in p.stderr, p
        p = h.appealsctl("-s", sock, "list", "--state", "closed", check=False)
        assert p.returncode == 1 and "bad_args" in p.stderr, p
        p = h.appealsctl("-s", sock, "show", check=False)
        assert p.returncode == 2 and "missing the appeal ID" in p.stderr, p
        p = h.appealsctl("-s", sock, "frobnicate", check=False)
        assert p.returncode == 2 and "unknown command" in p.stderr, p
        p = h.appealsctl("-s", str(a.tmp / "nothing.sock"), "status", check=False)
        assert p.returncode == 3 and "cannot connect" in p.stderr, p
        p = h.appealsctl("-s", sock, "--json", "status")
        assert json.loads(p.stdout)["ok"] is True
        p = h.appealsctl("-s", sock, "status", "--json")
        assert json.loads(p.stdout)["result"]["state"] == "running"
        # commands whose daemon side arrives with the SLA work: until then the
        # daemon says so, and appealsctl explains
        for args in (["answer", ID_MAYKOP], ["close", ID_MAYKOP, "--reason", "x"],
                     ["stats", "--by", "category"]):
            p = h.appealsctl("-s", sock, *args, check=False)
            if p.returncode == 1 and "unknown_command" in p.stderr:
                assert "does not implement '%s'" % args[0] in p.stderr, p.stderr
            else:
                assert p.returncode in (0, 1), p
        # a daemon that does not answer: exit 3 after --timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
            path = str(a.tmp / "mute.sock")
            mute.bind(path)
            mute.listen(1)
            t0 = time.monotonic()
            p = h.appealsctl("-s", path, "-t", "500ms", "status", check=False)
            assert p.returncode == 3 and "no reply within 500 ms" in p.stderr, p
            assert time.monotonic() - t0 < 10


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


WEBHOOKS = 2000
STALLED = 100


def test_stalled_tails_cost_neither_pace_nor_memory():
    """A hundred tail clients that never read while two thousand webhooks flow:
    every webhook is acknowledged and published, the socket answers, each
    client's backlog stays within control.max_output (unbounded, these
    clients would hold ~150 MiB), and a client that reads again learns how
    many events it lost."""
    with h.Services() as svc, apd.Apd(svc, overrides={"control.max_output": "16k"}) as a:
        sock = str(a.tmp / "ctl.sock")
        stalled = []
        for _ in range(STALLED):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.sendall(b'{"cmd":"tail","args":{"org":"maykop"}}\n')
            stalled.append(s)
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == STALLED,
                     what="the stalled subscribers")
        rss0 = _rss_kib(a.daemon.pid)
        text = ("Во дворе дома №5 по ул. Пионерской третий день не вывозят мусор, "
                "контейнерная площадка переполнена, запах на весь двор. ") * 2

        def post(i):
            return a.post("/webhook/vk", vk_comment(100001, 10000 + i, text))[0]

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            statuses = list(ex.map(post, range(WEBHOOKS)))
        assert set(statuses) == {200}, set(statuses)
        a.wait_idle(timeout=120)
        st = a.ctl("status")["result"]
        assert st["pipeline"]["published"] == WEBHOOKS, st["pipeline"]
        c = st["control"]
        # every event was either queued for a client or counted as lost
        assert c["events_sent"] + c["events_dropped"] == WEBHOOKS * STALLED, c
        assert c["events_dropped"] > 0, c
        # no client's backlog ever exceeded the bound by more than one event
        assert c["buffered_high_water"] <= 16 * 1024, c
        grown = _rss_kib(a.daemon.pid) - rss0
        with open("/proc/%d/maps" % a.daemon.pid) as maps:
            sanitized = "libasan" in maps.read()   # ASan's quarantine holds freed memory
        # The exact bound is buffered_high_water above; RSS also holds the
        # pipeline's own working set (Kafka queues, allocator arenas), so this
        # only tells bounded (~2 MiB of backlog) from unbounded (~150 MiB).
        assert sanitized or grown < 96 * 1024, "RSS grew by %d KiB with stalled tails" % grown
        h._diag("stalled tails: %d sent, %d dropped, high water %d bytes, RSS +%d KiB"
                % (c["events_sent"], c["events_dropped"], c["buffered_high_water"], grown))

        # list pages through two thousand records: each read once, none twice
        r = a.ctl("list", {"limit": 1000})["result"]
        ids = [x["id"] for x in r["appeals"]]
        assert len(ids) == 1000 == len(set(ids)) and r["truncated"], (len(ids), r["truncated"])
        r = a.ctl("list", {"category": "roads"})["result"]
        assert r["appeals"] == [] and r["scanned"] == WEBHOOKS and not r["truncated"], r

        # one client reads again: its queued events and, after each gap, the
        # number it lost; together they are every event, none twice
        f = stalled[0].makefile("rb")
        stalled[0].settimeout(20)
        assert json.loads(f.readline())["result"]["streaming"] is True
        seen, dropped, notices = set(), 0, 0
        while len(seen) + dropped < WEBHOOKS:
            line = json.loads(f.readline())
            if "dropped" in line:
                dropped += line["dropped"]
                notices += 1
                continue
            assert line["event"]["event"] == "created", line
            assert line["event"]["appeal_id"] not in seen, line
            seen.add(line["event"]["appeal_id"])
        assert len(seen) + dropped == WEBHOOKS and notices >= 1, (len(seen), dropped, notices)
        a.post("/webhook/vk", vk_comment(100001, 99999, "Опять яма"))
        line = json.loads(f.readline())
        assert line["event"]["appeal_id"] == vk_appeal_id(100001, 99999), line
        f.close()
        for s in stalled:
            s.close()
        h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 0,
                     what="closed subscribers to be gone")


_STEERING = ["\x1b", "\x9b", "\x7f", "\r", "\u202e", "\u2066"]


def test_terminal_controls_in_a_citizens_text_reach_no_terminal():
    """A webhook whose text clears the screen (ESC [2J), reverses the line
    (U+202E) or hides in C1 and DEL: appealsctl's show, tail and list print
    visible escapes, human or --json, never the characters themselves."""
    text = "Яма\x1b[2J на \u202eдороге\u2066 и\x9b\x7f\rконец"
    with h.Services() as svc, apd.Apd(svc) as a:
        a.post("/webhook/vk", vk_comment(100001, 501, text))
        a.wait_idle()
        h.wait_until(lambda: a.ctl("list")["result"]["appeals"], what="the appeal stored")
        # the daemon keeps what the citizen wrote; only the display escapes it
        assert a.ctl("show", {"id": ID_MAYKOP})["result"]["appeal"]["text"] == text
        outs = {" ".join(args): a.appealsctl(*args).stdout
                for args in (("show", ID_MAYKOP), ("--json", "show", ID_MAYKOP),
                             ("tail", "-n", "5"), ("--json", "tail", "-n", "5"),
                             ("list",), ("--json", "list"))}
        for name, out in outs.items():
            bad = [c for c in _STEERING if c in out]
            assert not bad, (name, bad, out)
        assert "\\x1b[2J на \\u202eдороге\\u2066" in outs["show " + ID_MAYKOP], outs
        assert "\\x1b[2J" in outs["tail -n 5"], outs["tail -n 5"]
        # --json still means the same text
        shown = json.loads(outs["--json show " + ID_MAYKOP])["result"]["appeal"]["text"]
        assert shown == text, shown


# Run as another user: opens N connections (the first a tail when asked),
# says which were refused busy, then, on a line on stdin, which of them the
# daemon has closed since.
_HOLDER = r"""
import json, socket, sys, time
sock, n, tail = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tail"
conns, refused = [], []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    if i == 0 and tail:
        s.sendall(b'{"cmd":"tail"}\n')
        s.settimeout(5)
        assert b"streaming" in s.recv(4096)
    s.settimeout(0.3)
    try:
        got = s.recv(4096)
        refused.append(b'"busy"' in got)
    except socket.timeout:
        refused.append(False)
    conns.append(s)
print(json.dumps(refused), flush=True)
sys.stdin.readline()
closed = []
for s in conns:
    s.settimeout(0.2)
    try:
        closed.append(s.recv(4096) == b"")
    except socket.timeout:
        closed.append(False)
print(json.dumps(closed), flush=True)
"""


def _holder(user, group, sock, n, tail):
    p = subprocess.Popen(["setpriv", "--reuid=" + user, "--regid=" + group, "--clear-groups",
                          sys.executable, "-c", _HOLDER, sock, str(n), "tail" if tail else "idle"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def _closed(p):
    p.stdin.write("check\n")
    p.stdin.flush()
    out = json.loads(p.stdout.readline())
    p.wait(timeout=10)
    return out


def test_operators_cannot_lock_the_admins_out():
    """Per-uid caps, a reserve only admins may use and an idle timeout for
    request/reply clients: idle connections of read-only users never keep
    root (or systemctl reload) out, and a tail is never idle."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        raise h.Skip("needs root and setpriv to run clients as other users")
    d = _world_dir()
    try:
        sock = os.path.join(d, "ctl.sock")
        with h.Services() as svc, apd.Apd(svc, overrides={
                "control.socket": sock, "control.mode": "0666", "control.max_clients": "10",
                "control.admin_reserve": "3", "control.max_clients_per_uid": "5",
                "control.idle_timeout": "5s"}) as a:
            t0 = time.monotonic()
            # nobody: a tail and four idle ones, the sixth over its cap
            nobody, refused = _holder("nobody", "nogroup", sock, 6, tail=True)
            assert refused == [False] * 5 + [True], refused
            # daemon (uid 1): 7 open now, the admins' 3 left, so its third is refused
            other, refused = _holder("daemon", "daemon", sock, 3, tail=False)
            assert refused == [False, False, True], refused
            opened = time.monotonic()
            # root still gets in, several times over, while the others idle
            for _ in range(3):
                assert a.ctl("status")["result"]["state"] == "running"
            assert time.monotonic() - t0 < 5, "the check ran past the idle timeout"
            st = a.ctl("status")["result"]["control"]
            assert st["refused_per_uid"] == 1 and st["refused_busy"] == 1, st
            time.sleep(max(0.0, opened + 6.5 - time.monotonic()))
            # the idle ones are closed, the tail stays
            assert _closed(nobody) == [False] + [True] * 4 + [True], "nobody"
            assert _closed(other) == [True, True, True], "daemon"
            st = a.ctl("status")["result"]["control"]
            assert st["idle_closed"] == 6 and st["tail_subscribers"] == 0, st
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    h.main(globals())
