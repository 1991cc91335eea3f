#!/usr/bin/python3
"""Harness for appealsd's integration tests. Standard library only.

A test is a plain script run with /usr/bin/python3:

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
    import harness as h

    def test_post_is_acked():
        with h.Services() as svc, h.Daemon(config_text=..., overrides={...}) as d:
            d.wait_ready()
            status, headers, body = h.http_post(url, b"{}")
            assert status == 200, (status, body)

    if __name__ == "__main__":
        h.main(globals())

main() runs the test_* functions in definition order and prints TAP
("1..N", "ok - name", "not ok - name" and "# " diagnostics), so meson can read it
with protocol 'exitcode' (the default) or 'tap'. Exit status: 1 if a test failed,
77 (meson's SKIP) when every test that ran was skipped for a missing external
binary, else 0.

Each test gets its own directory, tmpdir(); the run's directories are removed when
every test passed and kept (and named) otherwise, or always with APD_KEEP_TMP=1.
Whatever a test starts (daemons, services, notify sockets) is registered and torn
down after the test, at exit, and on SIGTERM/SIGINT/SIGHUP.

Environment read here:
  APD_REDIS_URL, APD_KAFKA_BROKERS   shared services (scripts/test.sh sets them);
                                     unset: each Services() starts private ones
  APD_SERVICES_DIR                   the shared services' dir (informational)
  APPEALSD                           the daemon binary
  APPEALSCTL                         the control tool binary
  APD_BUILD_DIR                      build dir (default: <repo>/build)
  APD_DAEMON_WRAPPER                 command prefix for the daemon, e.g. "valgrind -q"
  APD_TEST_TMPDIR                    where test directories go (default: $TMPDIR or /tmp)
  APD_KEEP_TMP=1                     keep test directories even when all passed
  APD_TEST_FILTER                    run only tests whose name contains this
"""

import atexit
import http.client
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES_SH = REPO / "scripts" / "services.sh"


# ---- skipping ------------------------------------------------------------------

class Skip(Exception):
    """Raised to skip the current test (reported as '# SKIP reason')."""


def require(*binaries):
    """Skip the current test unless every named executable is on PATH."""
    absent = [b for b in binaries if shutil.which(b) is None]
    if absent:
        raise Skip("missing binary: " + ", ".join(absent))


# ---- cleanup registry ----------------------------------------------------------
#
# Everything that starts a process or binds a socket registers a close function in
# the innermost scope; main() opens one scope per test. The outermost scope is run
# at exit. Cleanups run newest first.

_scopes = [[]]
_cleanup_lock = threading.RLock()


def _register(fn):
    with _cleanup_lock:
        _scopes[-1].append(fn)
    return fn


def _unregister(fn):
    with _cleanup_lock:
        for scope in _scopes:
            if fn in scope:
                scope.remove(fn)
                return


def _run_scope(scope):
    errors = []
    while True:
        with _cleanup_lock:
            if not scope:
                break
            fn = scope.pop()
        try:
            fn()
        except BaseException as e:  # keep cleaning up
            errors.append(e)
    return errors


def cleanup_all():
    """Tear down everything the harness started (also runs at exit)."""
    with _cleanup_lock:
        scopes = list(reversed(_scopes))
    for scope in scopes:
        _run_scope(scope)


def _at_exit():
    cleanup_all()
    if _run_dir is not None and not _keep_run_dir and os.environ.get("APD_KEEP_TMP") != "1":
        shutil.rmtree(_run_dir, ignore_errors=True)


atexit.register(_at_exit)


def _on_signal(signum, _frame):
    # Unwinds through the test's with-blocks and main(), then atexit cleans up.
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) == signal.SIG_DFL:
            signal.signal(_sig, _on_signal)


# ---- small helpers -------------------------------------------------------------

_run_dir = None
_keep_run_dir = False
_test_dir = None
_counter = itertools.count(1)


def run_dir():
    """This process's directory for test files (created on first use)."""
    global _run_dir
    if _run_dir is None:
        base = os.environ.get("APD_TEST_TMPDIR") or None
        if base:
            os.makedirs(base, exist_ok=True)
        _run_dir = Path(tempfile.mkdtemp(prefix="apd-", dir=base))
    return _run_dir


def tmpdir():
    """The current test's own directory (the run's directory outside a test)."""
    return _test_dir or run_dir()


def unique(name="t"):
    """A name no other test or run uses: for topics, Redis key prefixes, etc.
    Only [A-Za-z0-9._-], valid for Kafka topic names."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", name)[:100]
    return "%s-%d-%d-%s" % (base, os.getpid(), next(_counter), os.urandom(3).hex())


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (bind to 0, close, return it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, what="condition", interval=0.05, ignore=(OSError,)):
    """Poll pred() until it returns something truthy, and return that.

    Exceptions listed in `ignore` count as 'not yet'. After `timeout` seconds raise
    TimeoutError naming `what` (and the last ignored error)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = pred()
            if value:
                return value
        except ignore as e:
            last_error = e
        if time.monotonic() >= deadline:
            msg = "timed out after %gs waiting for %s" % (timeout, what)
            if last_error is not None:
                msg += " (last error: %r)" % (last_error,)
            raise TimeoutError(msg)
        time.sleep(interval)


def _bytes(x):
    if x is None:
        return b""
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("utf-8")
    return str(x).encode("utf-8")


def _log_tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---- build products ------------------------------------------------------------

def build_dir():
    return Path(os.environ.get("APD_BUILD_DIR") or REPO / "build")


def daemon_binary():
    """$APPEALSD, else <build>/daemon/appealsd."""
    return Path(os.environ.get("APPEALSD") or build_dir() / "daemon" / "appealsd")


def ctl_binary():
    """$APPEALSCTL, else <build>/tools/appealsctl/appealsctl."""
    return Path(os.environ.get("APPEALSCTL")
                or build_dir() / "tools" / "appealsctl" / "appealsctl")


def plugin_path(name):
    """<build>/plugins/NAME/NAME.so"""
    return build_dir() / "plugins" / name / (name + ".so")


# ---- services ------------------------------------------------------------------

class Services:
    """Redis and Kafka for a test.

    With APD_REDIS_URL and APD_KAFKA_BROKERS in the environment (scripts/test.sh
    starts one pair for the whole suite) those are used and left alone: isolate
    with unique() topics and key prefixes, never FLUSHDB. Otherwise, or with
    private=True, a private pair is started by scripts/services.sh in the test's
    directory and stopped on exit. Fault tests (stop/start of one service) need
    private=True.

    redis=False or kafka=False leaves that one out of a private pair (shared
    services always have both).

    Attributes: redis_url, redis_host, redis_port, redis_db, kafka_brokers,
    dir (Path or None), shared (bool).
    """

    def __init__(self, private=False, redis=True, kafka=True, kafka_sasl=None):
        """kafka_sasl="USER:PASSWORD": the private Kafka also listens with
        SASL_PLAINTEXT (SCRAM-SHA-256/512, that user) on kafka_sasl_brokers."""
        self.kafka_sasl = kafka_sasl
        self.kafka_sasl_brokers = None
        if kafka_sasl:
            private = True
        self.private = private
        self.want = (redis, kafka)
        self.shared = False
        self.dir = None
        self.redis_url = None
        self.kafka_brokers = None
        self._cleanup = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self):
        env = os.environ
        if not self.private and env.get("APD_REDIS_URL") and env.get("APD_KAFKA_BROKERS"):
            self.shared = True
            self.redis_url = env["APD_REDIS_URL"]
            self.kafka_brokers = env["APD_KAFKA_BROKERS"]
            d = env.get("APD_SERVICES_DIR")
            self.dir = Path(d) if d else None
        else:
            self.dir = Path(tempfile.mkdtemp(prefix="services-", dir=tmpdir()))
            self._cleanup = _register(self.close)
            self._sh({(True, True): "start", (True, False): "start-redis",
                      (False, True): "start-kafka"}[self.want])
            self._load_env()
        return self

    def _sh(self, cmd, timeout=180):
        env = dict(os.environ, APD_KAFKA_SASL=self.kafka_sasl) if self.kafka_sasl else None
        r = subprocess.run([str(SERVICES_SH), cmd, str(self.dir)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, env=env)
        if r.returncode == 77:
            raise Skip(r.stdout.strip().splitlines()[-1])
        if r.returncode != 0:
            raise RuntimeError("scripts/services.sh %s failed (%d):\n%s"
                               % (cmd, r.returncode, r.stdout))
        return r.stdout

    def _load_env(self):
        values = read_env_file(self.dir / "env")
        self.redis_url = values.get("APD_REDIS_URL")
        self.kafka_brokers = values.get("APD_KAFKA_BROKERS")
        self.kafka_sasl_brokers = values.get("APD_KAFKA_SASL_BROKERS")

    @property
    def redis_host(self):
        return parse_redis_url(self.redis_url)[0]

    @property
    def redis_port(self):
        return parse_redis_url(self.redis_url)[1]

    @property
    def redis_db(self):
        return parse_redis_url(self.redis_url)[2]

    def redis(self, timeout=5.0):
        """A new Redis client connected to this Redis."""
        return Redis(self.redis_url, timeout=timeout)

    def _private_only(self, what):
        if self.shared or self.dir is None:
            raise RuntimeError("%s needs private services: use Services(private=True)" % what)

    def stop_kafka(self):
        self._private_only("stop_kafka")
        self._sh("stop-kafka")

    def start_kafka(self):
        """Restart Kafka on the same port with the same data."""
        self._private_only("start_kafka")
        self._sh("start-kafka")

    def stop_redis(self):
        """Stop Redis; it saves a snapshot first, so start_redis() has the data."""
        self._private_only("stop_redis")
        self._sh("stop-redis")

    def start_redis(self):
        self._private_only("start_redis")
        self._sh("start-redis")

    def create_topic(self, name, partitions=1, config=None):
        create_topic(self.kafka_brokers, name, partitions, config)

    def close(self):
        if self._cleanup is None:
            return
        _unregister(self._cleanup)
        self._cleanup = None
        self._sh("stop", timeout=120)


def read_env_file(path):
    """KEY=VALUE lines (as written by scripts/services.sh) -> dict."""
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            values[k] = v
    return values


# ---- sd_notify capture ---------------------------------------------------------

class NotifyCapture:
    """An AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET.

    Pass env() (or path) to the daemon; messages collects each datagram as text,
    e.g. 'READY=1\\nSTATUS=up'. Use mark() before an action and
    wait_for(..., since=mark) to see only what came after it."""

    def __init__(self, path=None):
        self._own_dir = None
        if path is None:
            d = tmpdir()
            if len(str(d)) > 80:  # sun_path is 108 bytes
                d = self._own_dir = Path(tempfile.mkdtemp(prefix="apdn-"))
            path = Path(tempfile.mktemp(prefix="notify-", suffix=".sock", dir=d))
        self.path = str(path)
        self._msgs = []
        self._times = []
        self._cv = threading.Condition()
        self._closed = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)
        self._thread.start()
        self._cleanup = _register(self.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _loop(self):
        while not self._closed:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            with self._cv:
                self._msgs.append(data.decode("utf-8", "replace"))
                self._times.append(time.monotonic())
                self._cv.notify_all()

    def env(self):
        return {"NOTIFY_SOCKET": self.path}

    @property
    def closed(self):
        return self._closed

    @property
    def messages(self):
        with self._cv:
            return list(self._msgs)

    @property
    def times(self):
        """time.monotonic() at which each message arrived."""
        with self._cv:
            return list(self._times)

    def mark(self):
        """The number of messages so far, for wait_for(since=...)."""
        with self._cv:
            return len(self._msgs)

    def wait_for(self, substring, timeout=10.0, since=0):
        """The first message from index `since` on that contains substring."""
        deadline = time.monotonic() + timeout
        with self._cv:
            i = since
            while True:
                while i < len(self._msgs):
                    if substring in self._msgs[i]:
                        return self._msgs[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no sd_notify message containing %r within %gs; got %r"
                                       % (substring, timeout, self._msgs[since:]))
                self._cv.wait(left)

    @staticmethod
    def fields(message):
        """'READY=1\\nSTATUS=up' -> {'READY': '1', 'STATUS': 'up'}"""
        out = {}
        for line in message.split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
        return out

    def close(self):
        if self._closed:
            return
        self._closed = True
        _unregister(self._cleanup)
        self._thread.join(2)
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)


# ---- the daemon ----------------------------------------------------------------

def listen_tcp(host="127.0.0.1", port=0, backlog=128):
    """A bound, listening TCP socket (port 0: a free one) to hand to a Daemon as a
    socket-activated fd; its port is sock.getsockname()[1]."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    _register(s.close)
    return s


def listen_unix(path, backlog=16):
    """A bound, listening AF_UNIX stream socket, e.g. for the control socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(backlog)
    _register(s.close)
    return s


# Runs between fork and the daemon's exec when sockets are passed: moves them to
# fds 3.. and sets LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID as systemd does (LISTEN_PID
# must be the daemon's own pid, which only the exec'ing process knows).
_LISTEN_SHIM = """\
import fcntl, os, sys
fds = [int(x) for x in os.environ.pop("APD_LISTEN_FDS_IN").split(",")]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execvp(sys.argv[1], sys.argv[1:])
"""


class Daemon:
    """appealsd as a child process: `BINARY -c CONFIG ARGS... --set k=v...`.

    config: a path; or config_text: written to tmpdir()/<name>.conf.
    overrides: dict or list of 'key=value', each passed as --set key=value.
    env: extra environment (JOURNAL_STREAM="stderr": the log file's DEV:INODE,
    as when stderr is the journal); NOTIFY_SOCKET comes from self.notify, and
    watchdog_usec sets WATCHDOG_USEC. stdout and stderr go to self.log_path.
    listen: [(fdname, socket), ...] passed as socket activation does (fds 3..,
    LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID); see listen_tcp() and listen_unix().
    The sockets stay open here, so a restarted daemon gets the same ones.
    """

    def __init__(self, config=None, args=(), overrides=None, env=None, *, config_text=None,
                 binary=None, name="appealsd", watchdog_usec=None, cwd=None, listen=()):
        d = tmpdir()
        stem, n = name, 2
        while (d / (stem + ".log")).exists() or (d / (stem + ".conf")).exists():
            stem, n = "%s-%d" % (name, n), n + 1
        self.name = stem
        if config_text is not None:
            config = d / (stem + ".conf")
            Path(config).write_text(config_text)
        if config is None:
            raise ValueError("Daemon needs config or config_text")
        self.config = Path(config)
        self.args = [str(a) for a in args]
        if isinstance(overrides, dict):
            overrides = ["%s=%s" % kv for kv in overrides.items()]
        self.overrides = list(overrides or [])
        self.extra_env = dict(env or {})
        self.binary = Path(binary) if binary else daemon_binary()
        self.watchdog_usec = watchdog_usec
        self.cwd = cwd
        self.listen = list(listen)
        self.log_path = d / (stem + ".log")
        self.log_path.touch()
        self.notify = None
        self.proc = None
        self._cleanup = None
        self._ready_mark = 0

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self):
        cmd = []
        if self.listen:
            cmd = ["/usr/bin/python3", "-c", _LISTEN_SHIM]
        cmd += shlex.split(os.environ.get("APD_DAEMON_WRAPPER", ""))
        cmd += [str(self.binary), "-c", str(self.config)] + self.args
        for kv in self.overrides:
            cmd += ["--set", kv]
        return cmd

    def start(self):
        """Start the process (again, after stop(): the log file is appended to)."""
        if self.running():
            raise RuntimeError("%s is already running" % self.name)
        if not self.binary.exists():
            raise FileNotFoundError("daemon binary not built: %s (set APPEALSD or "
                                    "APD_BUILD_DIR)" % self.binary)
        if self.notify is None or self.notify.closed:
            self.notify = NotifyCapture()
        self._ready_mark = self.notify.mark()
        env = dict(os.environ)
        env.update(self.notify.env())
        if self.watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(int(self.watchdog_usec))
        if self.listen:
            env["APD_LISTEN_FDS_IN"] = ",".join(str(s.fileno()) for _, s in self.listen)
            env["LISTEN_FDNAMES"] = ":".join(n for n, _ in self.listen)
        env.update({k: str(v) for k, v in self.extra_env.items()})
        if env.get("JOURNAL_STREAM") == "stderr":
            # as systemd names the stream it connects to the journal: DEV:INODE
            st = os.stat(self.log_path)
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        cmd = self.command()
        with open(self.log_path, "ab") as log:
            shown = cmd[3:] if self.listen else cmd
            log.write(("# %s\n" % shlex.join(shown)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.cwd,
                                         pass_fds=[s.fileno() for _, s in self.listen])
        if self._cleanup is None:
            self._cleanup = _register(self.close)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def returncode(self):
        return self.proc.returncode if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=30.0):
        """Wait for READY=1 from this start; fail at once if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.notify.wait_for("READY=1", timeout=0.1, since=self._ready_mark)
            except TimeoutError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s before READY=1; log tail:\n%s"
                                     % (self.name, self.proc.returncode, self.log_tail()))
            if time.monotonic() >= deadline:
                raise TimeoutError("%s sent no READY=1 within %gs; notify: %r; log tail:\n%s"
                                   % (self.name, timeout, self.notify.messages[self._ready_mark:],
                                      self.log_tail()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30.0):
        """Wait for the process to exit by itself; return its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError("%s did not exit within %gs; log tail:\n%s"
                               % (self.name, timeout, self.log_tail())) from None

    def stop(self, timeout=30.0):
        """SIGTERM, wait up to timeout; return the exit code (negative: killed by a
        signal). If it does not exit in time it is killed and TimeoutError raised."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise TimeoutError("%s did not exit within %gs of SIGTERM; log tail:\n%s"
                                   % (self.name, timeout, self.log_tail())) from None
        return self.proc.returncode

    def kill9(self):
        """SIGKILL and reap; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return _log_tail(self.log_path, lines)

    def close(self):
        """Stop (SIGTERM, then SIGKILL after 10 s) and release the notify socket."""
        if self._cleanup is not None:
            _unregister(self._cleanup)
            self._cleanup = None
        try:
            if self.running():
                self.stop(timeout=10)
        except TimeoutError:
            pass
        finally:
            self.kill9()
            if self.notify is not None:
                self.notify.close()


def appealsctl(*args, timeout=30.0, check=True):
    """Run the control tool; returns CompletedProcess (text)."""
    r = subprocess.run([str(ctl_binary())] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("appealsctl %s exited %d:\n%s%s"
                             % (shlex.join(map(str, args)), r.returncode, r.stdout, r.stderr))
    return r


# ---- HTTP ----------------------------------------------------------------------

def http_request(method, url, body=None, headers=None, timeout=10.0):
    """-> (status, headers, body): headers is a dict with lower-case names
    (repeated headers joined with ', '), body is bytes."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        return r.status, hdrs, data
    finally:
        conn.close()


def http_post(url, body, headers=None, timeout=10.0):
    """POST bytes (str is UTF-8 encoded; dict/list is sent as JSON)."""
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    return http_request("POST", url, _bytes(body), headers, timeout)


def http_get(url, headers=None, timeout=10.0):
    return http_request("GET", url, None, headers, timeout)


def http_raw(host, port, data, timeout=5.0, shutdown_write=False):
    """Send raw bytes and return everything received until the server closes
    the connection or `timeout` seconds pass without data (no error either way)."""
    out = bytearray()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(_bytes(data))
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return bytes(out)


# ---- Redis ---------------------------------------------------------------------

class RedisError(Exception):
    """An error reply (-ERR ...) from Redis."""


def parse_redis_url(url):
    """redis://[[user]:password@]host[:port][/db] -> (host, port, db, password)"""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "redis":
        raise ValueError("not a redis:// URL: %r" % url)
    db = u.path.lstrip("/")
    return u.hostname or "127.0.0.1", u.port or 6379, int(db) if db else 0, u.password


class Redis:
    """A minimal RESP2 client: cmd(*args) returns str for simple strings, int,
    bytes or None for bulk strings, lists for arrays; error replies raise
    RedisError."""

    def __init__(self, url=None, host="127.0.0.1", port=6379, db=0, password=None,
                 timeout=5.0):
        if url:
            host, port, db, password = parse_redis_url(url)
        self.host, self.port, self.db = host, port, db
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._file = self._sock.makefile("rb")
        if password:
            self.cmd("AUTH", password)
        if db:
            self.cmd("SELECT", db)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self._file.close()
        finally:
            self._sock.close()

    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = _bytes(a)
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self._sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self):
        line = self._file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis connection closed")
        return line[:-2]

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._file.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("redis connection closed")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._reply() for _ in range(n)]
        raise ConnectionError("unexpected RESP line: %r" % line)

    # conveniences, decoded as UTF-8
    def ping(self):
        return self.cmd("PING") == "PONG"

    def keys(self, pattern="*"):
        return sorted(k.decode() for k in self.cmd("KEYS", pattern))

    def hgetall(self, key):
        flat = self.cmd("HGETALL", key)
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def get(self, key):
        v = self.cmd("GET", key)
        return None if v is None else v.decode()

    def zrange(self, key, start=0, stop=-1, withscores=False):
        if withscores:
            flat = self.cmd("ZRANGE", key, start, stop, "WITHSCORES")
            return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]
        return [m.decode() for m in self.cmd("ZRANGE", key, start, stop)]

    def delete_prefix(self, prefix):
        """Delete every key starting with prefix (SCAN, so fine on a shared Redis)."""
        cursor, n = b"0", 0
        while True:
            cursor, keys = self.cmd("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            if keys:
                n += self.cmd("DEL", *keys)
            if cursor == b"0":
                return n


# ---- Kafka ---------------------------------------------------------------------

def kafka_headers(raw):
    """kcat -J's header list ["k1", "v1", "k2", "v2"] -> {"k1": "v1", "k2": "v2"}
    (a repeated name keeps its last value; see 'headers_list' for all)."""
    raw = raw or []
    return {raw[i]: raw[i + 1] for i in range(0, len(raw) - 1, 2)}


def _kcat_record(line):
    rec = json.loads(line)
    raw = rec.get("headers") or []
    rec["headers_list"] = [(raw[i], raw[i + 1]) for i in range(0, len(raw) - 1, 2)]
    rec["headers"] = kafka_headers(raw)
    rec.setdefault("key", None)
    rec.setdefault("payload", None)
    return rec


def kafka_consume(brokers, topic, expect_count=None, timeout=30.0, partition=None,
                  offset="beginning"):
    """Read `topic` from `offset` to its end with kcat; -> list of dicts with
    topic, partition, offset, ts, key, payload (str or None), headers (dict),
    headers_list. With expect_count, read again until at least that many records
    are there or `timeout` passes, and return what was read (check its length).
    A topic that does not exist yet counts as empty."""
    require("kcat")
    cmd = ["kcat", "-C", "-b", brokers, "-t", topic, "-o", str(offset), "-e", "-J", "-q"]
    if partition is not None:
        cmd += ["-p", str(partition)]
    deadline = time.monotonic() + timeout
    records = []
    while True:
        left = deadline - time.monotonic()
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=max(2.0, min(left, 20.0)))
            if r.returncode == 0:
                records = [_kcat_record(line) for line in r.stdout.decode().splitlines()
                           if line.startswith("{")]
                if expect_count is None or len(records) >= expect_count:
                    return records
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            return records
        time.sleep(0.2)


def kafka_produce(brokers, topic, key, value, headers=None, partition=None, timeout=30.0):
    """Produce one record with kcat -P (value: bytes or str, may hold newlines;
    key None: no key; headers: dict or list of (name, value))."""
    require("kcat")
    if isinstance(headers, dict):
        headers = list(headers.items())
    with tempfile.NamedTemporaryFile(dir=tmpdir(), prefix="kafka-value-") as f:
        f.write(_bytes(value))
        f.flush()
        cmd = ["kcat", "-P", "-b", brokers, "-t", topic]
        if key is not None:
            cmd += ["-k", key if isinstance(key, str) else _bytes(key).decode()]
        for name, v in headers or []:
            cmd += ["-H", "%s=%s" % (name, v)]
        if partition is not None:
            cmd += ["-p", str(partition)]
        cmd.append(f.name)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("kcat -P to %s failed (%d): %s" % (topic, r.returncode, r.stderr))


def kafka_topics(brokers, prefix="", timeout=10.0):
    """Names of the topics that start with prefix."""
    r = subprocess.run(["kcat", "-L", "-b", brokers, "-J", "-m", "5"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("kcat -L failed (%d): %s" % (r.returncode, r.stderr))
    return sorted(t["topic"] for t in json.loads(r.stdout).get("topics", [])
                  if t.get("topic", "").startswith(prefix) and not t.get("error"))


def kafka_consume_topics(brokers, topics, group, timeout=120.0):
    """Every record of several topics from their beginning, read once by one
    kcat in a consumer group of its own (one process and one group join
    instead of one per topic); -> records as kafka_consume gives them."""
    require("kcat")
    cmd = ["kcat", "-b", brokers, "-G", group, "-X", "auto.offset.reset=earliest",
           "-X", "enable.auto.commit=false", "-e", "-J", "-q"] + list(topics)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("kcat -G on %d topics failed (%d): %s"
                           % (len(topics), r.returncode, r.stderr.decode(errors="replace")))
    return [_kcat_record(line) for line in r.stdout.decode().splitlines()
            if line.startswith("{")]


def kafka_topic_partitions(brokers, topic, timeout=10.0):
    """Number of partitions with a leader, 0 if the topic is unknown."""
    r = subprocess.run(["kcat", "-L", "-b", brokers, "-t", topic, "-J", "-m", "5"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        return 0
    for t in json.loads(r.stdout).get("topics", []):
        if t.get("topic") == topic and not t.get("error"):
            return sum(1 for p in t.get("partitions", []) if p.get("leader", -1) >= 0)
    return 0


def create_topic(brokers, name, partitions=1, config=None, timeout=60.0):
    """Create a topic (if it does not exist) with Kafka's own TopicCommand and
    wait until every partition has a leader. config: dict of topic configs."""
    cmd = [str(SERVICES_SH), "create-topic", brokers, name, str(partitions)]
    cmd += ["%s=%s" % kv for kv in (config or {}).items()]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout + 10)
    if r.returncode == 77:
        raise Skip(r.stderr.strip())
    if r.returncode != 0:
        raise RuntimeError("creating topic %s failed (%d): %s%s"
                           % (name, r.returncode, r.stdout, r.stderr))
    wait_until(lambda: kafka_topic_partitions(brokers, name) >= partitions, timeout,
               "topic %s to have %d partition leaders" % (name, partitions))


def set_produce_quota(brokers, bytes_per_sec, timeout=60.0):
    """Throttle every client's produce rate on the broker (a slow broker);
    bytes_per_sec None removes the quota."""
    rate = "none" if bytes_per_sec is None else str(int(bytes_per_sec))
    r = subprocess.run([str(SERVICES_SH), "client-quota", brokers, rate],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout + 10)
    if r.returncode == 77:
        raise Skip(r.stderr.strip())
    if r.returncode != 0:
        raise RuntimeError("setting the produce quota failed (%d): %s%s"
                           % (r.returncode, r.stdout, r.stderr))


# ---- control socket ------------------------------------------------------------

def _control_connect(socket_path, request, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(str(socket_path))
        s.sendall(json.dumps(request).encode() + b"\n")
    except BaseException:
        s.close()
        raise
    return s


def _control_lines(s):
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            raise TimeoutError("control socket: no reply in time") from None
        if not chunk:
            if buf.strip():
                yield buf
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line


def control(socket_path, request, timeout=10.0):
    """Send one JSON request line, return the one JSON reply line as a dict."""
    with _control_connect(socket_path, request, timeout) as s:
        for line in _control_lines(s):
            return json.loads(line)
    raise ConnectionError("control socket closed without a reply")


def control_stream(socket_path, request, timeout=10.0):
    """Send one JSON request line and yield each JSON line that comes back (for
    'tail'-like requests) until the daemon closes; `timeout` bounds each wait.
    Close the generator to hang up."""
    with _control_connect(socket_path, request, timeout) as s:
        for line in _control_lines(s):
            yield json.loads(line)


# ---- the runner ----------------------------------------------------------------

def _diag(text):
    for line in str(text).rstrip("\n").splitlines():
        print("# " + line, flush=True)


def main(namespace, argv=None):
    """Run the test_* functions of `namespace` (pass globals()) in order and exit."""
    global _test_dir, _keep_run_dir
    argv = sys.argv[1:] if argv is None else argv
    filters = [a for a in argv if not a.startswith("-")]
    if os.environ.get("APD_TEST_FILTER"):
        filters.append(os.environ["APD_TEST_FILTER"])
    tests = [(n, f) for n, f in list(namespace.items())
             if n.startswith("test_") and callable(f)
             and (not filters or any(p in n for p in filters))]
    print("1..%d" % len(tests), flush=True)
    passed = failed = skipped = 0
    status = None
    for i, (name, fn) in enumerate(tests, 1):
        _test_dir = run_dir() / ("%02d-%s" % (i, name[5:][:40]))
        _test_dir.mkdir()
        _scopes.append([])
        t0 = time.monotonic()
        result, detail = "ok", None
        try:
            fn()
        except Skip as e:
            result, detail = "skip", str(e)
        except KeyboardInterrupt:
            result, detail, status = "not ok", "interrupted", 130
        except SystemExit as e:
            result, detail = "not ok", "exited (%s)" % (e.code,)
            status = e.code if isinstance(e.code, int) and e.code > 1 else 1
        except BaseException:
            result, detail = "not ok", traceback.format_exc()
        with _cleanup_lock:
            scope = _scopes.pop()
        for e in _run_scope(scope):
            if result == "ok":
                result = "not ok"
            detail = (detail or "") + "cleanup: %r\n" % (e,)
        _test_dir = None
        took = time.monotonic() - t0
        if result == "skip":
            skipped += 1
            print("ok - %s # SKIP %s" % (name, detail), flush=True)
        elif result == "ok":
            passed += 1
            print("ok - %s" % name, flush=True)
            _diag("%s took %.2fs" % (name, took))
        else:
            failed += 1
            print("not ok - %s" % name, flush=True)
            _diag(detail)
            _diag("%s failed after %.2fs" % (name, took))
        if status is not None:
            break
    cleanup_all()
    _diag("passed %d, failed %d, skipped %d" % (passed, failed, skipped))
    if _run_dir is not None and (failed or status is not None
                                 or os.environ.get("APD_KEEP_TMP") == "1"):
        _keep_run_dir = True
        _diag("test files kept in %s" % _run_dir)
    if status is not None:
        sys.exit(status)
    if failed:
        sys.exit(1)
    if skipped and not passed:
        sys.exit(77)
    sys.exit(0)
