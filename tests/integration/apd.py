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
SCHEMA_DIR = REPO / "docs" / "schemas" / "v1"


# ---- the Kafka contract: JSON Schemas of docs/schemas/v1 ------------------------

_schema_store = None


def _schemas():
    """{$id: schema} of every file in docs/schemas/v1 (loaded once)."""
    global _schema_store
    if _schema_store is None:
        _schema_store = {}
        for f in sorted(SCHEMA_DIR.glob("*.json")):
            doc = json.loads(f.read_text())
            _schema_store[doc["$id"]] = doc
    return _schema_store


def _schema_id(event_type):
    """'created' -> appeal.created; 'appeal.created', 'sla.breach', 'status',
    'dead_letter' as they are."""
    name = event_type if "." in event_type or event_type in ("status", "dead_letter") \
        else "appeal." + event_type
    sid = "urn:appealsd:schema:v1:" + name
    if sid not in _schemas():
        raise AssertionError("no schema for event type %r (docs/schemas/v1/%s.json)"
                             % (event_type, name))
    return sid


_validators = {}


def _validator(sid):
    """The compiled validator of one schema (built once: tests validate thousands)."""
    if sid not in _validators:
        _validators[sid] = _new_validator(sid)
    return _validators[sid]


def _new_validator(sid):
    import jsonschema
    store = _schemas()
    try:  # jsonschema >= 4.18 resolves references through a registry
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            [(k, Resource.from_contents(v)) for k, v in store.items()])
        return jsonschema.Draft7Validator(store[sid], registry=registry,
                                          format_checker=jsonschema.FormatChecker())
    except ImportError:
        resolver = jsonschema.RefResolver(sid, store[sid], store=store)
        return jsonschema.Draft7Validator(store[sid], resolver=resolver,
                                          format_checker=jsonschema.FormatChecker())


def _resolve(schema):
    ref = schema.get("$ref")
    if ref is None:
        return schema
    base, _, pointer = ref.partition("#")
    node = _schemas()[base]
    for part in [p for p in pointer.split("/") if p]:
        node = node[part]
    return _resolve(node)


def _declared(schema):
    """{property: [subschemas]} declared by schema, through $ref and allOf."""
    schema = _resolve(schema)
    out = {}
    for k, v in schema.get("properties", {}).items():
        out.setdefault(k, []).append(v)
    for sub in schema.get("allOf", []):
        for k, v in _declared(sub).items():
            out.setdefault(k, []).extend(v)
    return out


def _undeclared(value, schemas, path, errors):
    """Members the schemas do not declare: the daemon must not send what its
    contract does not describe (consumers may still receive additions from a
    later minor revision; the daemon under test may not)."""
    if isinstance(value, dict):
        declared = {}
        for s in schemas:
            for k, v in _declared(s).items():
                declared.setdefault(k, []).extend(v)
        if not declared:
            return   # a free-form object (classification evidence ...)
        for k, v in value.items():
            if k not in declared:
                errors.append("%s.%s is not in the schema" % (path, k))
            else:
                _undeclared(v, declared[k], path + "." + k, errors)
    elif isinstance(value, list):
        items = [_resolve(s).get("items") for s in schemas]
        items = [i for i in items if isinstance(i, dict)]
        for i, v in enumerate(value):
            _undeclared(v, items, "%s[%d]" % (path, i), errors)


_valid = {}


def validate_message(message, event_type, strict=True):
    """Validate one message (dict or JSON text) against the schema of its event
    type ('created', 'appeal.rerouted', 'sla.breach', 'status', 'dead_letter').
    strict: also refuse members the schema does not declare.  Returns the dict;
    raises AssertionError naming every problem."""
    memo = None
    if isinstance(message, (bytes, str)):
        # Tests read topics again and again; each distinct message is checked once.
        memo = (message, event_type, strict)
        if memo in _valid:
            return json.loads(message)
        message = json.loads(message)
    sid = _schema_id(event_type)
    errors = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
              for e in _validator(sid).iter_errors(message)]
    if strict:
        _undeclared(message, [_schemas()[sid]], "$", errors)
    if errors:
        raise AssertionError("message does not match %s:\n  %s\n%s"
                             % (sid, "\n  ".join(errors), json.dumps(message, ensure_ascii=False)))
    if memo is not None:
        _valid[memo] = True
    return message


FAMILIES = {"appealsd.appeal": "appeal", "appealsd.sla": "sla",
            "appealsd.dead_letter": "dead_letter"}
FAMILIES["appealsd.incident"] = "incident"


def validate_record(rec):
    """A consumed Kafka record (apd.Apd.consume / harness.kafka_consume): its
    headers name the family and event type, the key is the appeal id, and the
    value validates against that event's schema.  Returns the value as a dict."""
    hdr = rec["headers"]
    for name in ("event-type", "schema", "schema-version", "content-type"):
        assert name in hdr, "header %s missing: %r" % (name, hdr)
    assert hdr["schema-version"] == "1" and hdr["content-type"] == "application/json", hdr
    family = FAMILIES.get(hdr["schema"])
    assert family, "unknown schema header %r" % hdr["schema"]
    event = hdr["event-type"]
    msg = validate_message(rec["payload"], "dead_letter" if family == "dead_letter"
                           else "%s.%s" % (family, event))
    assert msg["schema"] == hdr["schema"] + "/1" and msg["event"] == event, (hdr, msg)
    if family != "dead_letter":
        assert rec["key"] == msg["appeal_id"], (rec["key"], msg["appeal_id"])
    return msg


def check_contract(brokers, u):
    """Every message the daemon wrote on the topics of run u, whether a test
    read it or not, validates against docs/schemas/v1 (validate_record);
    the status topics are the agencies' input, not ours, and are left out.
    Raises AssertionError naming each message that does not."""
    topics = [t for t in h.kafka_topics(brokers, u + ".")
              if t != u + ".status" and not t.startswith(u + ".status.")]
    if not topics:
        return 0
    bad = []
    records = h.kafka_consume_topics(brokers, topics, u + ".contract-check")
    for rec in records:
        try:
            validate_record(rec)
        except (AssertionError, ValueError, KeyError) as e:
            bad.append("%s@%s: %s" % (rec["topic"], rec["offset"], str(e).splitlines()[0][:300]))
    assert not bad, "%d of %d messages break the contract:\n  %s" % (
        len(bad), len(records), "\n  ".join(bad[:20]))
    return len(records)


# the key every test daemon pseudonymises with (tests compute ids with it)
PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"


def base_overrides(svc, tmp, u):
    return {
        "daemon.plugin_dir": str(h.build_dir() / "plugins"),
        "daemon.pseudonym_key": PSEUDONYM_KEY,
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
        # one status consumer group per test: members of one group on other
        # topics would make each other rebalance
        "sla.status_group": u + ".status-group",
        # OK's webhooks are allowed only from OK's networks; tests post from loopback
        "source.ok.allow_from": "127.0.0.1/32",
    }


class Apd:
    """One appealsd with its own names; a context manager that stops it."""

    def __init__(self, svc, config=None, config_text=None, overrides=None, create_topics=True,
                 name="appealsd", start=True, watchdog_usec=None, env=None, u=None,
                 check_contract=True):
        """u: share topic names and the Redis prefix with another Apd (several
        daemons of one deployment); each still has its own spool and socket.
        check_contract: on a clean exit, every message on the run's topics
        must keep the contract (check_contract below)."""
        self.svc = svc
        self.check_contract_on_exit = check_contract
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

    def __exit__(self, exc_type, *exc):
        self.daemon.close()
        if exc_type is None and self.check_contract_on_exit:
            check_contract(self.svc.kafka_brokers, self.u)

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

    def consume(self, suffix, count, timeout=30, validate=True):
        """Records of topic SUFFIX ('all', 'org.maykop', ...); each one's value is
        validated against the contract (validate_record) and parsed into 'json'."""
        msgs = h.kafka_consume(self.svc.kafka_brokers, self.topic(suffix), expect_count=count,
                               timeout=timeout)
        for m in msgs:
            m["json"] = validate_record(m) if validate else (
                json.loads(m["payload"]) if m.get("payload") else None)
        return msgs

    def ctl(self, cmd, args=None):
        req = {"cmd": cmd}
        if args is not None:
            req["args"] = args
        return h.control(self.overrides["control.socket"], req)

    def metric(self, line_start):
        """The value of the first /metrics line that starts with line_start
        (a family with its labels), 0 when there is none."""
        st, _, body = h.http_get(self.url("/metrics"))
        assert st == 200, st
        for line in body.decode().splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def appealsctl(self, *args, check=True):
        return h.appealsctl("-s", self.overrides["control.socket"], *args, check=check)

    def redis(self):
        """A client of the Redis this daemon uses (its redis.url)."""
        return h.Redis(self.overrides["redis.url"])

    def rkey(self, rest):
        return self.u + ":" + rest

    def appeal(self, appeal_id):
        """The appeal's record hash, with its text (kept in a:{ID}:text so
        the hash stays a listpack) under "text"."""
        with self.redis() as r:
            rec = r.hgetall(self.rkey("a:{%s}" % appeal_id))
            text = r.get(self.rkey("a:{%s}:text" % appeal_id))
            if rec and text is not None and "text" not in rec:
                rec["text"] = text
            return rec

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


# ---- configs that reuse the example directory ------------------------------------

def directory_config(extra, sources=('vk',)):
    """A config with the example's organisations and pages (not its rules) and
    `extra` (rules, [delivery], [ack] ...) appended."""
    conf_d = REPO / "config" / "conf.d"
    head = "".join('[source "%s"]\n' % s for s in sources)
    head += "include %s\ninclude %s\n" % (conf_d / "10-organisations.conf",
                                         conf_d / "20-pages.conf")
    return head + extra


# ---- a local HTTP endpoint (an agency's receiver, a platform API) ----------------

class FakeHTTP:
    """A threaded HTTP server on 127.0.0.1:0 recording every request.

    respond(request) -> (status, body[, headers]) decides each answer; request is a
    dict with method, path, query (dict of lists), headers (lower-case names),
    body (bytes), form (parsed form body, if any), n (1-based arrival number) and
    time (monotonic).  requests holds them in arrival order."""

    def __init__(self, respond):
        import http.server
        import threading
        import time
        import urllib.parse
        self.respond = respond
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                url = urllib.parse.urlsplit(self.path)
                req = {"method": "POST", "path": url.path,
                       "query": urllib.parse.parse_qs(url.query),
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": body, "time": time.monotonic()}
                if "form-urlencoded" in req["headers"].get("content-type", ""):
                    req["form"] = {k: v[0] for k, v in
                                   urllib.parse.parse_qs(body.decode()).items()}
                with fake.lock:
                    fake.requests.append(req)
                    req["n"] = len(fake.requests)
                out = fake.respond(req)
                status, rbody = out[0], out[1]
                hdrs = out[2] if len(out) > 2 else {}
                rbody = rbody if isinstance(rbody, bytes) else json.dumps(rbody).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(rbody)))
                    for k, v in hdrs.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(rbody)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    req["answered"] = None     # the client had gone: not an answer
                    return
                req["answered"] = status

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def count(self):
        with self.lock:
            return len(self.requests)

    def wait_for(self, n, timeout=20, what=None):
        h.wait_until(lambda: self.count() >= n, timeout=timeout,
                     what=what or "%d requests at the fake endpoint" % n)
        with self.lock:
            return list(self.requests)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def check_signature(secret, req, max_skew_s=300):
    """The X-Appealsd-Signature of a delivery, as docs/consuming-appeals.md tells
    agencies to verify it: HMAC-SHA256 over TIMESTAMP "." BODY."""
    import hashlib
    import hmac
    import time
    ts = req["headers"]["x-appealsd-timestamp"]
    sig = req["headers"]["x-appealsd-signature"]
    assert sig.startswith("sha256="), sig
    want = hmac.new(secret.encode(), ts.encode() + b"." + req["body"], hashlib.sha256)
    assert hmac.compare_digest(sig[7:], want.hexdigest()), "bad signature"
    assert abs(time.time() - int(ts)) < max_skew_s, ts


# ---- docs/consuming-appeals.md: its examples and code are tested ------------------

GUIDE = REPO / "docs" / "consuming-appeals.md"


def guide_blocks(marker):
    """[(name, code)] of the fenced blocks preceded by '<!-- MARKER: NAME -->'."""
    import re
    text = GUIDE.read_text()
    return re.findall(r"<!-- %s: (\S+) -->\s*```\w*\n(.*?)```" % marker, text, re.S)


def guide_verify():
    """The signature check the guide gives agencies, as a function."""
    code = dict(guide_blocks("snippet"))["verify.py"]
    ns = {}
    exec(compile(code, str(GUIDE), "exec"), ns)
    return ns["verify"]
