"""Shared pieces of the fault tests: load from bench/loadgen while a fault is
injected, then the verdict every fault test ends with:

    acknowledged = delivered, no appeal under two ids, no SLA event twice.

The daemons run with FAST_SLA (first responses due in 3 s of real time), so
SLA warnings, breaches and escalations fire during every fault.

APD_FAULT_FULL=1 runs the full-length versions (a one-minute broker outage,
1,000,000 malformed requests, ...); the default is the shortened CI version.
"""

import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import apd  # noqa: E402
from apd import h  # noqa: E402

FULL = os.environ.get("APD_FAULT_FULL") == "1"


def loadgen_binary():
    return h.build_dir() / "bench" / "loadgen"


class Load:
    """bench/loadgen in the background against one daemon (or a balancer)."""

    def __init__(self, url, rate=300, seconds=10, conns=8, extra=()):
        self.acked = h.tmpdir() / ("acked-%s.txt" % h.unique("l"))
        cmd = [str(loadgen_binary()), "-u", url, "-c", str(conns), "-r", str(rate),
               "-d", str(seconds), "--acked", str(self.acked),
               # the ids it writes are the daemon's: OK chats are pseudonymous
               "--pseudonym-key", apd.PSEUDONYM_KEY] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._cleanup = h._register(self.kill)
        self.summary = None

    def wait(self, timeout=600):
        out, err = self.proc.communicate(timeout=timeout)
        h._unregister(self._cleanup)
        assert self.proc.returncode == 0, err.decode()
        self.summary = json.loads(out.decode().strip().splitlines()[-1])
        return self.summary

    def kill(self):
        """Stop early: SIGTERM lets loadgen wait for the answers in flight and
        write them all to the acked file; SIGKILL only if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        h._unregister(self._cleanup)

    def records(self):
        """(appeal_id, kind, status) of every answered request."""
        out = []
        for line in self.acked.read_text().splitlines():
            f = line.split()
            if len(f) >= 3:
                out.append((f[0], f[1], int(f[2])))
        return out


def acked_new(records):
    """Appeal ids of new comments the daemon answered 200."""
    return {aid for aid, kind, st in records if kind == "new" and st == 200}


def scan(a, suffix, timeout=600):
    """(key, headers, payload) of every record of a topic, read to its end by
    kcat as plain lines rather than JSON envelopes: the full soak leaves over a
    million records, which a.consume() cannot read and validate in time (the
    integration tests check the contract; these check counts)."""
    cmd = ["kcat", "-C", "-b", a.svc.kafka_brokers, "-t", a.topic(suffix), "-o", "beginning",
           "-e", "-q", "-f", "%k\t%h\t%s\n"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        return []   # no topic yet
    out = []
    for line in r.stdout.decode().splitlines():
        # JSON escapes tabs and newlines, so a record is one line of three fields
        f = line.split("\t", 2)
        if len(f) == 3:
            hdrs = dict(kv.split("=", 1) for kv in f[1].split(",") if "=" in kv)
            out.append((f[0], hdrs, f[2]))
    return out


SEQ = re.compile(r'"seq":(\d+)')


def created_on(a, topic="all"):
    """appeal_id -> list of seqs of 'created' messages on the topic."""
    seen = collections.defaultdict(list)
    for key, hdrs, payload in scan(a, topic):
        if hdrs.get("event-type") == "created":
            # the top-level seq comes before any nested object (message.c)
            seen[key].append(int(SEQ.search(payload).group(1)))
    return seen


def assert_no_loss_no_dup(a, records, timeout=180):
    """Every acknowledged new comment reached appeals.all exactly as one appeal;
    no appeal appears under a second id; a repeat carries the same seq."""
    acked = acked_new(records)
    assert acked, "no request was acknowledged"

    def all_there():
        return acked <= set(created_on(a))
    h.wait_until(all_there, timeout=timeout, what="every acknowledged appeal on Kafka",
                 interval=1.0)
    seen = created_on(a)
    missing = acked - set(seen)
    assert not missing, "acknowledged but not delivered: %s" % sorted(missing)[:10]
    answered = {aid for aid, kind, st in records if kind == "new"}
    extra = set(seen) - answered
    assert not extra, "appeals nobody sent: %s" % sorted(extra)[:10]
    for aid, seqs in seen.items():
        assert set(seqs) == {1}, "appeal %s created with seqs %s" % (aid, seqs)
    return seen


# Deadlines of seconds in real time, so SLA stages fire while a fault test runs
# and "no SLA event twice" is checked on real events.
FAST_SLA = {
    "policy.social.time": "calendar",
    "policy.social.first_response": "3s",
    "policy.social.resolution": "1h",
    "policy.critical.first_response": "3s",
    "policy.critical.resolution": "1h",
}


def assert_sla_events_once(a, expect_some=True):
    """No SLA stage fired twice: each (appeal, clock, event, level) is on the
    SLA topic under one event_id (a repeat of the same event_id after a crash
    is the contract's at-least-once, which consumers drop)."""
    msgs = [json.loads(payload) for _, _, payload in scan(a, "sla")]
    ids = collections.defaultdict(set)
    for j in msgs:
        ids[(j.get("appeal_id"), j.get("timer"), j.get("event"), j.get("level"))].add(
            j.get("event_id"))
    twice = [(k, sorted(v)) for k, v in ids.items() if len(v) > 1]
    assert not twice, "SLA stages fired twice: %s" % twice[:5]
    assert msgs or not expect_some, "no SLA event was published: nothing to check"
    return msgs


def verdict(a, records, timeout=180):
    """What every fault test ends with: acknowledged = delivered, no appeal
    under two ids, no SLA event twice."""
    seen = assert_no_loss_no_dup(a, records, timeout=timeout)
    sla = assert_sla_events_once(a)
    print("# verdict: %d appeals acknowledged and delivered once, %d SLA events once"
          % (len(acked_new(records)), len(sla)))
    return seen


def rss_kb(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_drained(a, timeout=180):
    a.wait_idle(timeout=timeout)
