#!/usr/bin/python3
"""Self-test of tests/lib/harness.py; needs no appealsd build.

Runs against real Redis and Kafka: the shared pair when APD_REDIS_URL and
APD_KAFKA_BROKERS are set, private ones otherwise (scripts/deps.sh first).

    /usr/bin/python3 tests/lib/selftest_harness.py [name-filter...]
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402

# Stands in for appealsd: the sd_notify protocol and signal handling only.
FAKE_DAEMON = textwrap.dedent("""\
    #!/usr/bin/python3
    import os, signal, socket, sys, time
    args = sys.argv[1:]
    assert args[0] == "-c" and os.path.exists(args[1]), args
    print("fake daemon args:", " ".join(args[2:]), flush=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    def notify(msg):
        s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    def term(*_):
        notify("STOPPING=1")
        print("stopping", flush=True)
        sys.exit(0)
    def hup(*_):
        notify("RELOADING=1\\nMONOTONIC_USEC=%d" % (time.monotonic() * 1e6))
        notify("READY=1")
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGHUP, hup)
    if "--fail" in args:
        print("bad config", file=sys.stderr, flush=True)
        sys.exit(3)
    if "--ignore-term" in args:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(0.2)
    if os.environ.get("LISTEN_FDS"):
        assert os.environ["LISTEN_PID"] == str(os.getpid())
        names = os.environ["LISTEN_FDNAMES"].split(":")
        assert len(names) == int(os.environ["LISTEN_FDS"])
        http = socket.socket(fileno=3)
        notify("READY=1\\nSTATUS=up")
        while True:
            c, _ = http.accept()
            c.sendall(("fds %s pid %d" % (":".join(names), os.getpid())).encode())
            c.close()
    notify("READY=1\\nSTATUS=up")
    while True:
        time.sleep(1)
""")


def fake_daemon():
    path = h.tmpdir() / "fake-appealsd"
    path.write_text(FAKE_DAEMON)
    path.chmod(0o755)
    return path


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---- no services needed --------------------------------------------------------

def test_unique_and_free_port():
    a, b = h.unique("x y"), h.unique("x y")
    assert a != b and a.startswith("x-y-"), (a, b)
    p = h.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", p))


def test_wait_until_names_what():
    assert h.wait_until(lambda: 5, 1, "five") == 5
    t0 = time.monotonic()
    try:
        h.wait_until(lambda: False, 0.3, "the moon")
    except TimeoutError as e:
        assert "the moon" in str(e), e
        assert 0.25 < time.monotonic() - t0 < 2
    else:
        raise AssertionError("no TimeoutError")


def test_notify_capture():
    with h.NotifyCapture() as n:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"READY=1\nSTATUS=up", n.path)
        assert h.NotifyCapture.fields(n.wait_for("READY=1", 2)) == {"READY": "1", "STATUS": "up"}
        mark = n.mark()
        s.sendto(b"WATCHDOG=1", n.path)
        n.wait_for("WATCHDOG=1", 2, since=mark)
        try:
            n.wait_for("READY=1", 0.2, since=n.mark())
        except TimeoutError:
            pass
        else:
            raise AssertionError("saw an old message after mark()")
        assert n.messages == ["READY=1\nSTATUS=up", "WATCHDOG=1"], n.messages
        if h.shutil.which("systemd-notify"):
            subprocess.run(["systemd-notify", "STATUS=from-systemd-notify"],
                           env=dict(os.environ, **n.env()), check=True)
            n.wait_for("STATUS=from-systemd-notify", 2)


def test_daemon_lifecycle():
    d = h.Daemon(config_text="x = 1\n", args=["--foreground"], overrides={"a.b": "c"},
                 binary=fake_daemon())
    with d:
        assert "READY=1" in d.wait_ready(5)
        assert "--foreground --set a.b=c" in d.log(), d.log()
        mark = d.notify.mark()
        d.signal(signal.SIGHUP)
        reloading = d.notify.wait_for("RELOADING=1", 5, since=mark)
        assert int(h.NotifyCapture.fields(reloading)["MONOTONIC_USEC"]) > 0
        d.notify.wait_for("READY=1", 5, since=mark)
        assert d.stop(5) == 0
        d.notify.wait_for("STOPPING=1", 1)
        assert "stopping" in d.log()
        # a second start appends to the same log and waits for a new READY=1
        d.start()
        d.wait_ready(5)
        assert d.kill9() == -signal.SIGKILL
        assert d.log().count("fake daemon args") == 2


def test_daemon_socket_activation():
    http = h.listen_tcp()
    ctl = h.listen_unix(h.tmpdir() / "ctl.sock")
    port = http.getsockname()[1]
    with h.Daemon(config_text="", binary=fake_daemon(),
                  listen=[("http", http), ("control", ctl)]) as d:
        d.wait_ready(5)
        got = h.http_raw("127.0.0.1", port, b"", timeout=5).decode()
        assert got == "fds http:control pid %d" % d.pid, got
        # the same socket serves a restarted daemon
        d.stop(5)
        d.start()
        d.wait_ready(5)
        got = h.http_raw("127.0.0.1", port, b"", timeout=5).decode()
        assert got == "fds http:control pid %d" % d.pid, got


def test_daemon_exit_before_ready_is_reported():
    with h.Daemon(config_text="", args=["--fail"], binary=fake_daemon()) as d:
        try:
            d.wait_ready(5)
        except AssertionError as e:
            assert "exited with 3" in str(e) and "bad config" in str(e), e
        else:
            raise AssertionError("wait_ready passed")


def test_daemon_stop_is_bounded():
    with h.Daemon(config_text="", args=["--ignore-term"], binary=fake_daemon()) as d:
        d.wait_ready(5)
        pid = d.pid
        try:
            d.stop(timeout=0.5)
        except TimeoutError:
            pass
        else:
            raise AssertionError("stop() returned for a process that ignores SIGTERM")
        assert not alive(pid)


def test_http_helpers():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self._reply(200, b"path=" + self.path.encode())

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self._reply(201, body, [("X-Seen", self.headers.get("X-Test", ""))])

        def _reply(self, code, body, extra=()):
            self.send_response(code)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = "http://127.0.0.1:%d" % srv.server_port
        st, hd, body = h.http_get(base + "/a?b=1")
        assert (st, body) == (200, b"path=/a?b=1") and "content-length" in hd, (st, hd, body)
        st, hd, body = h.http_post(base + "/p", {"k": "v"}, {"X-Test": "1"})
        assert (st, hd["x-seen"], json.loads(body)) == (201, "1", {"k": "v"}), (st, hd, body)
        raw = h.http_raw("127.0.0.1", srv.server_port,
                         b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", timeout=3)
        assert raw.split(b"\r\n")[0].startswith(b"HTTP/1.0 431 "), raw[:200]
    finally:
        srv.shutdown()
        srv.server_close()


def test_control_socket_helpers():
    path = str(h.tmpdir() / "ctl.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen()

    def serve():
        for _ in range(2):
            c, _ = srv.accept()
            with c, c.makefile("rb") as f:
                req = json.loads(f.readline())
                if req["cmd"] == "tail":
                    for i in range(3):
                        c.sendall(b'{"n": %d}\n' % i)
                else:
                    c.sendall(json.dumps({"ok": True, "echo": req}).encode() + b"\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        assert h.control(path, {"cmd": "status"}) == {"ok": True, "echo": {"cmd": "status"}}
        assert [m["n"] for m in h.control_stream(path, {"cmd": "tail"})] == [0, 1, 2]
    finally:
        t.join(5)
        srv.close()


# ---- real Redis and Kafka ------------------------------------------------------

def test_services_redis_and_kafka():
    with h.Services() as svc:
        with svc.redis() as r:
            assert r.ping()
            p = h.unique("selftest") + ":"
            assert r.cmd("HSET", p + "h", "a", "1", "b", "é") == 2
            assert r.hgetall(p + "h") == {"a": "1", "b": "é"}
            r.cmd("ZADD", p + "z", 2, "two", 1, "one")
            assert r.zrange(p + "z") == ["one", "two"]
            assert r.zrange(p + "z", withscores=True) == [("one", 1.0), ("two", 2.0)]
            assert r.cmd("GET", p + "none") is None
            assert r.keys(p + "*") == [p + "h", p + "z"]
            assert r.cmd("EXISTS", p + "h") == 1
            try:
                r.cmd("NOSUCHCOMMAND")
            except h.RedisError as e:
                assert "unknown command" in str(e).lower(), e
            else:
                raise AssertionError("no RedisError")
            assert r.delete_prefix(p) == 2

        topic = h.unique("selftest")
        assert h.kafka_consume(svc.kafka_brokers, topic, timeout=1) == []
        svc.create_topic(topic, partitions=3)
        assert h.kafka_topic_partitions(svc.kafka_brokers, topic) == 3
        h.kafka_produce(svc.kafka_brokers, topic, "k1", b'{"a":1}\n{"b":2}',
                        {"appeal-id": "A-1", "source": "vk"}, partition=2)
        h.kafka_produce(svc.kafka_brokers, topic, None, "second", partition=2)
        got = h.kafka_consume(svc.kafka_brokers, topic, expect_count=2, timeout=30)
        assert len(got) == 2, got
        assert got[0]["key"] == "k1" and got[0]["payload"] == '{"a":1}\n{"b":2}', got[0]
        assert got[0]["headers"] == {"appeal-id": "A-1", "source": "vk"}, got[0]
        assert got[0]["partition"] == 2 and got[0]["offset"] == 0
        assert got[1]["key"] is None and got[1]["payload"] == "second", got[1]


def test_private_services_restart_keeps_data_and_port():
    with h.Services(private=True) as svc:
        assert not svc.shared
        brokers, redis_url = svc.kafka_brokers, svc.redis_url
        topic = h.unique("restart")
        svc.create_topic(topic)
        h.kafka_produce(svc.kafka_brokers, topic, "k", "before")
        with svc.redis() as r:
            r.cmd("SET", "kept", "yes")

        svc.stop_kafka()
        r = subprocess.run(["kcat", "-L", "-b", brokers, "-m", "1"], capture_output=True)
        assert r.returncode != 0, "broker still answers after stop_kafka"
        svc.start_kafka()
        assert svc.kafka_brokers == brokers
        got = h.kafka_consume(brokers, topic, expect_count=1, timeout=30)
        assert [m["payload"] for m in got] == ["before"], got
        h.kafka_produce(brokers, topic, "k", "after")
        assert len(h.kafka_consume(brokers, topic, expect_count=2)) == 2

        svc.stop_redis()
        try:
            h.Redis(redis_url, timeout=1).ping()
        except OSError:
            pass
        else:
            raise AssertionError("redis still answers after stop_redis")
        svc.start_redis()
        assert svc.redis_url == redis_url
        with svc.redis() as r:
            assert r.get("kept") == "yes"
        pids = [int((svc.dir / f).read_text()) for f in ("redis.pid", "kafka.pid")]
    assert not any(alive(p) for p in pids), pids


def test_sigterm_cleans_up():
    """A test process killed with SIGTERM leaves no service or daemon behind."""
    script = h.tmpdir() / "victim.py"
    script.write_text(textwrap.dedent("""\
        import sys, time
        sys.path.insert(0, %r)
        import harness as h
        svc = h.Services(private=True, kafka=False).start()
        d = h.Daemon(config_text="", binary=%r).start()
        d.wait_ready(10)
        print(svc.dir, d.pid, flush=True)
        time.sleep(60)
        """ % (str(Path(h.__file__).parent), str(fake_daemon()))))
    p = subprocess.Popen(["/usr/bin/python3", str(script)], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, APD_TEST_TMPDIR=str(h.tmpdir())))
    try:
        line = p.stdout.readline().split()
        assert len(line) == 2, "victim did not start (exit %s)" % p.poll()
        redis_pid = int((Path(line[0]) / "redis.pid").read_text())
        daemon_pid = int(line[1])
        assert alive(redis_pid) and alive(daemon_pid)
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 128 + signal.SIGTERM
        h.wait_until(lambda: not alive(redis_pid) and not alive(daemon_pid), 10,
                     "redis and the daemon to be gone")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    h.main(globals())
