#!/usr/bin/python3
"""The daemon as systemd and an admin see it: readiness, watchdog and reload
messages on NOTIFY_SOCKET; `appealsctl reload --wait` (the unit's ExecReload=)
failing on a broken configuration while the old one keeps serving; and a log
that reads well in journald and carries no secrets or personal data."""

import json
import re
import shutil
import signal
import subprocess
import time

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event


def _copy_config(tmp):
    """The example configuration in a directory the test may edit."""
    etc = tmp / "etc"
    shutil.copytree(apd.REPO / "config", etc)
    return etc / "appealsd.conf"


def _reload_pair(n, since):
    """The RELOADING=1 message after `since` and the READY=1 that follows it."""
    reloading = n.wait_for("RELOADING=1", timeout=10, since=since)
    i = n.messages.index(reloading, since)
    ready = n.wait_for("READY=1", timeout=10, since=i + 1)
    return n.fields(reloading), n.fields(ready)


def test_readiness_watchdog_and_reload_notifications():
    with h.Services() as svc, apd.Apd(svc, watchdog_usec=1000000) as a:
        n = a.daemon.notify
        ready = n.fields(n.wait_for("READY=1"))
        assert ready["STATUS"].startswith("running: kafka"), ready
        # at READY=1 the control socket already answers
        assert a.ctl("status")["result"]["state"] == "running"

        # WATCHDOG=1 every half of WATCHDOG_USEC, from the loop
        mark = n.mark()
        h.wait_until(lambda: sum("WATCHDOG=1" in m for m in n.messages[mark:]) >= 5,
                     timeout=10, what="five watchdog pings")
        times = [t for m, t in zip(n.messages[mark:], n.times[mark:]) if "WATCHDOG=1" in m]
        gaps = [b - a_ for a_, b in zip(times, times[1:])]
        assert max(gaps) < 1.0, "a watchdog gap reached WATCHDOG_USEC: %r" % gaps

        # appealsctl reload --wait (ExecReload=): RELOADING=1 with the monotonic
        # clock, then READY=1, and only then the command returns
        mark = n.mark()
        p = a.appealsctl("reload", "--wait")
        assert "generation 2 is active" in p.stdout, p.stdout
        rel, rdy = _reload_pair(n, mark)
        usec = int(rel["MONOTONIC_USEC"])
        assert abs(usec / 1e6 - time.monotonic()) < 60, (usec, time.monotonic())
        assert rdy["STATUS"].startswith("running"), rdy

        # SIGHUP does the same
        mark = n.mark()
        a.daemon.signal(signal.SIGHUP)
        _reload_pair(n, mark)
        h.wait_until(lambda: a.ctl("status")["result"]["config_generation"] == 3,
                     what="generation 3 after SIGHUP")


def test_reload_wait_refuses_a_broken_config_and_keeps_serving():
    tmp = h.tmpdir()
    conf = _copy_config(tmp)
    with h.Services() as svc, apd.Apd(svc, config=conf) as a:
        n = a.daemon.notify
        a.post("/webhook/vk", vk_comment(100001, 501, "Во дворе сломаны качели"))
        assert len(a.consume("org.maykop", 1)) == 1

        broken = conf.parent / "conf.d" / "99-broken.conf"
        broken.write_text("# a typo an operator might make\n[http]\nmax_body = lots\n")
        mark = n.mark()
        p = a.appealsctl("reload", "--wait", check=False)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "99-broken.conf:3" in p.stderr and "max_body" in p.stderr, p.stderr
        assert "reload_failed" in p.stderr, p.stderr
        _, rdy = _reload_pair(n, mark)
        assert rdy["STATUS"].startswith("reload failed, old config kept"), rdy
        st = a.ctl("status")["result"]
        assert st["config_generation"] == 1 and st["reload_failures"] == 1, st
        assert "99-broken.conf:3" in st["last_reload_error"], st
        # the old configuration still routes
        a.post("/webhook/vk", vk_comment(100002, 601, "Запись к врачу не работает"))
        assert len(a.consume("org.minzdrav", 1)) == 1

        # a setting that needs a restart is refused by name
        broken.write_text("[http]\nlisten = 127.0.0.1:1\n")
        p = a.appealsctl("reload", "--wait", check=False)
        assert p.returncode == 1 and "http.listen changed; that needs a restart" in p.stderr, p

        broken.unlink()
        p = a.appealsctl("reload", "--wait")
        assert "generation" in p.stdout, p.stdout
        st = a.ctl("status")["result"]
        assert st["reload_failures"] == 2 and "last_reload_error" not in st, st
        assert st["config_generation"] > 1, st


SECRET = "maykop-example-secret"          # the page's VK secret (config)
WRONG_SECRET = "wr0ng-s3cret-value"       # what an attacker sent
AUTHOR = "7001234"                        # the citizen's VK id
TEXT = "Жалоба на подъезд дома 4242, соседка Ивановна"
REDIS_PASSWORD = "s3cr3t-redis-pw"


def test_log_reads_well_in_journald_and_keeps_secrets_out():
    # JOURNAL_STREAM is what systemd sets when stderr goes to the journal
    with h.Services() as svc, apd.Apd(svc, env={"JOURNAL_STREAM": "stderr"}) as a:
        a.post("/webhook/vk", vk_event(100001, "confirmation", None, "c1"))
        a.post("/webhook/vk", vk_comment(100001, 501, TEXT, from_id=int(AUTHOR)))
        bad = vk_comment(100001, 502, TEXT, from_id=int(AUTHOR), event_id="w1")
        bad["secret"] = WRONG_SECRET
        assert a.post("/webhook/vk", bad)[0] == 403
        assert a.post("/webhook/vk", b"{" + TEXT.encode())[0] == 400
        assert a.post("/webhook/vk", vk_comment(999999, 1, TEXT))[0] == 403
        # text that is not UTF-8: acknowledged, then quarantined
        raw = ('{"type":"wall_reply_new","group_id":100001,"secret":"%s","event_id":"q1",'
               '"object":{"id":503,"from_id":%s,"post_id":42,"owner_id":-100001,"date":1,'
               '"text":"' % (SECRET, AUTHOR)).encode() + TEXT.encode() + b'\xff"}}'
        assert a.post("/webhook/vk", raw)[0] == 200
        a.post("/webhook/vk", vk_comment(100001, 504, "Ответили", from_id=-100001, reply_to=501))
        a.wait_idle()
        a.appealsctl("reload", "--wait")
        a.appealsctl("show", vk_appeal_id(100001, 501))
        a.daemon.signal(signal.SIGTERM)
        assert a.daemon.wait(30) == 0
        log = a.daemon.log()

    # the harness writes the command line first; the rest is the daemon's
    lines = [l for l in log.splitlines() if not l.startswith("# ")]
    assert len(lines) > 5, log
    for line in lines:
        assert re.match(r"<[3-7]>[a-z]", line), "not a journald line: %r" % line
    for needle in (SECRET, WRONG_SECRET, "test-pseudonym-key", AUTHOR, TEXT, "4242",
                   "Ивановна"):
        hits = [l for l in lines if needle in l]
        assert not hits, "%r leaked into the log: %r" % (needle, hits)
    # and the lines an operator needs are there, with their ids
    assert any("quarantined" in l and "vk:-100001:wall:42:c503" in l and "vk:100001" in l
               for l in lines), lines
    assert any(re.search(r"control: operator:\S+ runs 'reload'", l) for l in lines), lines
    assert any(l.startswith("<6>daemon: configuration generation 2 is active") for l in lines)


def test_redis_password_stays_out_of_status_and_log():
    host, port = "127.0.0.1", 1   # nothing listens: the password is never even sent
    over = {"redis.url": "redis://:%s@%s:%d/0" % (REDIS_PASSWORD, host, port)}
    with h.Services() as svc, apd.Apd(svc, overrides=over, create_topics=False) as a:
        st = a.ctl("status")["result"]["redis"]
        assert st["url"] == "redis://***@127.0.0.1:1/0" and not st["connected"], st
        out = a.appealsctl("status").stdout
        assert REDIS_PASSWORD not in out, out
        h.wait_until(lambda: "redis: cannot connect" in a.daemon.log(), what="a redis error")
        a.daemon.stop()
        body = [l for l in a.daemon.log().splitlines() if not l.startswith("# ")]
        assert not [l for l in body if REDIS_PASSWORD in l], body
    # a broken URL names what is wrong, not the password
    p = subprocess.run([str(h.daemon_binary()), "--check-config", "-c", str(a.config)]
                       + a.set_args() + ["--set", "redis.url=redis://:%s@host:99999/0"
                                         % REDIS_PASSWORD], capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 1 and "bad port" in err and REDIS_PASSWORD not in err, err


def _debug_lines(a, since):
    return [l for l in a.daemon.log()[since:].splitlines() if " appealsd debug: " in l]


def test_log_level_at_runtime_survives_a_reload_until_the_file_changes():
    tmp = h.tmpdir()
    conf = _copy_config(tmp)
    with h.Services() as svc, apd.Apd(svc, config=conf) as a:
        a.post("/webhook/vk", vk_comment(100001, 501, "Во дворе сломаны качели"))
        a.wait_idle()
        assert not _debug_lines(a, 0), "debug lines at info"
        p = a.appealsctl("log-level", "debug")
        assert p.stdout.strip() == ("log level debug (was info; the configuration file says "
                                    "info)"), p.stdout
        st = a.ctl("status")["result"]
        assert st["log_level"] == "debug" and st["log_level_runtime"] is True, st
        assert "log level   " in a.appealsctl("status").stdout
        log = a.daemon.log()
        # audited: who asked, for what, and how it ended
        assert re.search(r"control: operator:\S+ runs 'log-level' to debug \(uid", log), log
        assert re.search(r"daemon: log level info -> debug, set by operator:\S+; reloads keep "
                         r"it while \[daemon\] log_level stays info", log), log
        assert re.search(r"control: 'log-level' to debug by operator:\S+: done", log), log
        mark = len(log)
        a.post("/webhook/vk", vk_comment(100001, 502, "Во дворе опять сломаны качели"))
        a.wait_idle()
        assert _debug_lines(a, mark), "no debug lines at debug"

        # a reload (SIGHUP or appealsctl) with the file unchanged keeps it
        a.daemon.signal(signal.SIGHUP)
        h.wait_until(lambda: a.ctl("status")["result"]["config_generation"] == 2,
                     what="generation 2 after SIGHUP")
        assert a.ctl("status")["result"]["log_level"] == "debug"
        assert "reload keeps the log level debug set at runtime" in a.daemon.log()

        # an edited log_level is the newer intention: it wins, and says so
        conf.write_text(conf.read_text().replace("log_level = info", "log_level = notice"))
        a.appealsctl("reload", "--wait")
        st = a.ctl("status")["result"]
        assert st["log_level"] == "notice" and st["log_level_runtime"] is False, st
        assert ("[daemon] log_level changed to notice in the file; it replaces the level debug "
                "set at runtime") in a.daemon.log()

        # a bad level is refused, audited, and changes nothing
        p = a.appealsctl("log-level", "loud", check=False)
        assert p.returncode != 0 and "'level' must be one of" in p.stderr, p
        assert re.search(r"control: 'log-level' to loud by operator:\S+: refused "
                         r"\(bad_request\)", a.daemon.log())
        assert a.ctl("status")["result"]["log_level"] == "notice"


def test_appealsd_socket_activation_with_systemd_socket_activate():
    """systemd-socket-activate listens as appealsd.socket does (one stream
    socket named "http") and starts the daemon at the first connection; that
    webhook waits in the backlog and is answered by the daemon it started."""
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        raise h.Skip("systemd-socket-activate is not installed (package systemd)")
    unit = (h.build_dir() / "systemd" / "appealsd.socket").read_text()
    assert "FileDescriptorName=http\n" in unit and "Service=appealsd.service" in unit, unit
    port = h.free_port()
    with h.Services() as svc:
        a = apd.Apd(svc, start=False)
        cmd = [tool, "-l", "127.0.0.1:%d" % port, "--fdname=http",
               str(h.daemon_binary()), "-c", str(a.config)] + a.set_args()
        # the daemon's own listen address is ignored once a socket is passed
        cmd += ["--set", "http.listen=127.0.0.1:1"]
        log = open(a.tmp / "activated.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            h.wait_until(lambda: "Listening on 127.0.0.1:%d" % port in
                         (a.tmp / "activated.log").read_text(), what="the listening socket")
            assert "appealsd" not in (a.tmp / "activated.log").read_text()
            st, _, body = h.http_post("http://127.0.0.1:%d/webhook/vk" % port, json.dumps(
                vk_comment(100001, 501, "Во дворе сломаны качели"), ensure_ascii=False))
            assert st == 200, (st, body)
            text = (a.tmp / "activated.log").read_text()
            assert re.search(r"http: webhooks on the socket passed by systemd \(LISTEN_FDS, "
                             r"\"http\", port %d\); \[http\] listen 127.0.0.1:1 is not used"
                             % port, text), text
            assert len(a.consume("org.maykop", 1)) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(30)
            log.close()
        assert rc == 0, (a.tmp / "activated.log").read_text()[-3000:]
        a.daemon.close()


if __name__ == "__main__":
    h.main(globals())
