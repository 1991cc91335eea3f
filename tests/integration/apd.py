"""appealsd-specific helpers for the integration tests, on top of tests/lib/harness.

    svc = h.Services()
    with Apd(svc) as a:                      # shipped example config, isolated names
        a.post("/webhook/vk", vk_comment(...))
        msgs = a.consume("org.maykop", 1)

Each Apd gets unique Kafka topic names and a unique Redis key prefix, so tests can
share one broker and one Redis.  The HTTP port is passed as a pre-bound socket
(socket activation), so there is no port race.
"""

import datetime
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import harness as h  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "config" / "appealsd.conf"


def base_overrides(svc, tmp, u):
    return {
        "daemon.plugin_dir": str(h.build_dir() / "plugins"),
        "daemon.pseudonym_key": "test-pseudonym-key",
        "kafka.brokers": svc.kafka_brokers,
        "redis.url": svc.redis_url,
        "redis.prefix": u + ":",
        "spool.dir": str(tmp / "spool"),
        "control.socket": str(tmp / "ctl.sock"),
        "kafka.topic_all": u + ".all",
        "kafka.topic_triage": u + ".triage",
        "kafka.topic_sla": u + ".sla",
        "kafka.topic_status": u + ".status",
        "kafka.topic_dlq": u + ".dlq",
        "kafka.topic_org_prefix": u + ".org.",
        "kafka.partitions": "1",
    }


class Apd:
    """One appealsd with its own names; a context manager that stops it."""

    def __init__(self, svc, config=None, config_text=None, overrides=None, create_topics=True,
                 name="appealsd", start=True, watchdog_usec=None, env=None, u=None):
        """u: share topic names and the Redis prefix with another Apd (several
        daemons of one deployment); each still has its own spool and socket."""
        self.svc = svc
        self.u = u or h.unique("t")
        self.tmp = h.tmpdir() if name == "appealsd" else h.tmpdir() / name
        self.tmp.mkdir(parents=True, exist_ok=True)
        if config_text is not None:
            config = self.tmp / (name + ".conf")
            config.write_text(config_text)
        self.config = Path(config or EXAMPLE_CONFIG)
        self.overrides = base_overrides(svc, self.tmp, self.u)
        self.overrides.update(overrides or {})
        self.sock = h.listen_tcp()
        self.port = self.sock.getsockname()[1]
        self.daemon = h.Daemon(config=self.config, overrides=self.overrides, name=name,
                               listen=[("http", self.sock)], watchdog_usec=watchdog_usec,
                               env=env)
        if create_topics:
            self.create_topics()
        if start:
            self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.daemon.close()

    def set_args(self):
        out = []
        for k, v in self.overrides.items():
            out += ["--set", "%s=%s" % (k, v)]
        return out

    def run_tool(self, *args, input=None, check=True, timeout=60):
        """appealsd ARGS -c CONFIG --set ... (one-shot modes)."""
        cmd = [str(h.daemon_binary())] + list(args) + ["-c", str(self.config)] + self.set_args()
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (cmd, p.returncode,
                                                         p.stderr.decode(errors="replace")))
        return p

    def create_topics(self):
        self.run_tool("--create-topics")

    def start(self):
        self.daemon.start()
        self.daemon.wait_ready()
        return self

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def post(self, path, body, headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        return h.http_post(self.url(path), body, headers)

    def topic(self, suffix):
        """Full topic name: 'all', 'triage', 'org.maykop', ..."""
        return "%s.%s" % (self.u, suffix)

    def consume(self, suffix, count, timeout=30):
        msgs = h.kafka_consume(self.svc.kafka_brokers, self.topic(suffix), expect_count=count,
                               timeout=timeout)
        for m in msgs:
            m["json"] = json.loads(m["payload"]) if m.get("payload") else None
        return msgs

    def ctl(self, cmd, args=None):
        req = {"cmd": cmd}
        if args is not None:
            req["args"] = args
        return h.control(self.overrides["control.socket"], req)

    def appealsctl(self, *args, check=True):
        return h.appealsctl("-s", self.overrides["control.socket"], *args, check=check)

    def redis(self):
        """A client of the Redis this daemon uses (its redis.url)."""
        return h.Redis(self.overrides["redis.url"])

    def rkey(self, rest):
        return self.u + ":" + rest

    def appeal(self, appeal_id):
        with self.redis() as r:
            return r.hgetall(self.rkey("a:{%s}" % appeal_id))

    def wait_idle(self, timeout=20):
        """Until every accepted record has left the pipeline."""
        def idle():
            st = self.ctl("status")["result"]
            return st["spool"]["unreleased"] == 0 and st["pipeline"]["inflight"] == 0
        h.wait_until(idle, timeout=timeout, what="the pipeline to drain")


def iso_ms(ms):
    """Unix milliseconds -> ISO 8601 in UTC with milliseconds."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(
        timespec="milliseconds")


def iso_local(ms):
    """Unix milliseconds -> ISO 8601 as the daemon prints it (Europe/Moscow, +03:00)."""
    tz = datetime.timezone(datetime.timedelta(hours=3))
    return datetime.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="milliseconds")


def from_iso(text):
    """ISO 8601 with offset (as the daemon prints it) -> Unix milliseconds."""
    return round(datetime.datetime.fromisoformat(text.strip()).timestamp() * 1000)


def deadline(a, org, from_ms, add, calendar=False):
    """`appealsd deadline` for an Apd's config: the due instant in Unix ms."""
    args = ["deadline", "--org", org, "--from", iso_ms(from_ms), "--add", add]
    if calendar:
        args.append("--calendar")
    return from_iso(a.run_tool(*args).stdout.decode())


VK_SECRETS = {100001: "maykop-example-secret", 100002: "minzdrav-example-secret",
              100003: "takht-example-secret", 100004: "minobr-example-secret",
              100005: "cur-example-secret"}


def vk_event(group_id, type_, obj, event_id, secret=None):
    ev = {"type": type_, "event_id": event_id, "v": "5.199", "group_id": group_id,
          "object": obj}
    ev["secret"] = VK_SECRETS.get(group_id, "") if secret is None else secret
    return ev


def vk_comment(group_id, comment_id, text, post_id=42, from_id=7001, event_id=None,
               reply_to=None, date=1795900000):
    obj = {"id": comment_id, "from_id": from_id, "date": date, "text": text,
           "post_id": post_id, "owner_id": -group_id,
           "parents_stack": [reply_to] if reply_to else []}
    if reply_to:
        obj["reply_to_comment"] = reply_to
    return vk_event(group_id, "wall_reply_new", obj,
                    event_id or "ev%d-%d-%d" % (group_id, post_id, comment_id))


def vk_appeal_id(group_id, comment_id, post_id=42):
    return "vk:-%d:wall:%d:c%d" % (group_id, post_id, comment_id)
