"""Replicated engines for the ha suite: a Redis master with a replica watched
by three Sentinels, and a three-broker Apache Kafka cluster (KRaft).  Each
test ends with the fault tests' verdict (tests/fault/fault.py).

APD_FAULT_FULL=1 (scripts/fault-full.sh) runs the full lengths: a failover
every minute for ten minutes under load; the default is the CI length.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fault"))
import fault  # noqa: E402
from fault import FULL, Load, apd, h  # noqa: E402,F401

MASTER_NAME = "appeals"
# The sentinels' requirepass: the daemon must authenticate to ask them.
SENTINEL_PASSWORD = "ha-test-sentinel-pass-7f3a"


def _redis_cli(port, *args, password=None, timeout=5):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if password:
        cmd += ["--no-auth-warning", "-a", password]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.stdout.strip()


class RedisNode:
    """One redis-server (data node or, with sentinel=True, a Sentinel)."""

    def __init__(self, root, name, port, conf):
        self.name = name
        self.port = port
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / ("%s.conf" % name)
        self.conf.write_text(conf)
        self.proc = None
        h._register(self.kill)

    def start(self, *extra):
        log = open(self.dir / "log", "ab")
        self.proc = subprocess.Popen(["redis-server", str(self.conf)] + list(extra),
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=str(self.dir))
        log.close()
        pw = SENTINEL_PASSWORD if "--sentinel" in extra else None
        h.wait_until(lambda: _redis_cli(self.port, "ping", password=pw) == "PONG",
                     timeout=20, what="%s to answer" % self.name)

    def kill(self):
        """SIGKILL: a crashed host, no goodbye to the replicas or sentinels."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class RedisHA:
    """A master, one replica and three Sentinels on free loopback ports."""

    def __init__(self):
        h.require("redis-server", "redis-cli")
        self.root = h.tmpdir() / h.unique("redis-ha")
        data = "bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\ndir {dir}\n"
        ports = [h.free_port() for _ in range(2)]
        self.data = [RedisNode(self.root, "redis%d" % i, p,
                               data.format(port=p, dir=self.root / ("redis%d" % i)))
                     for i, p in enumerate(ports)]
        self.data[0].start()
        self.data[1].start("--replicaof", "127.0.0.1", str(ports[0]))
        self.sentinels = []
        for i in range(3):
            p = h.free_port()
            conf = ("bind 127.0.0.1\nport %d\ndir %s\nrequirepass %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s 1000\n"
                    "sentinel failover-timeout %s 6000\n"
                    % (p, self.root / ("sentinel%d" % i), SENTINEL_PASSWORD, MASTER_NAME,
                       ports[0], MASTER_NAME, MASTER_NAME))
            node = RedisNode(self.root, "sentinel%d" % i, p, conf)
            node.start("--sentinel")
            self.sentinels.append(node)
        self.wait_settled()

    def sentinel(self, *args):
        for s in self.sentinels:
            if s.alive():
                out = _redis_cli(s.port, "sentinel", *args, password=SENTINEL_PASSWORD)
                if out:
                    return out
        return ""

    def master_port(self):
        out = self.sentinel("get-master-addr-by-name", MASTER_NAME).split()
        return int(out[1]) if len(out) == 2 else None

    def node(self, port):
        return next(n for n in self.data if n.port == port)

    def wait_settled(self, timeout=60):
        """Until every sentinel knows the other two and a replica in sync: a
        failover needs both (the quorum elects a leader, a replica is promoted)."""
        def settled():
            for s in self.sentinels:
                info = _redis_cli(s.port, "sentinel", "master", MASTER_NAME,
                                  password=SENTINEL_PASSWORD).split("\n")
                kv = dict(zip(info[::2], info[1::2]))
                if kv.get("num-other-sentinels") != "2" or kv.get("num-slaves") != "1":
                    return False
            m = self.master_port()
            link = [n for n in self.data if n.port != m][0]
            return "master_link_status:up" in _redis_cli(link.port, "info", "replication")
        h.wait_until(settled, timeout=timeout, interval=0.3,
                     what="the sentinels to know each other and an in-sync replica")

    def sentinel_list(self):
        return ", ".join("127.0.0.1:%d" % s.port for s in self.sentinels)

    def overrides(self):
        return {"redis.sentinels": self.sentinel_list(), "redis.master_name": MASTER_NAME,
                "redis.sentinel_password": SENTINEL_PASSWORD,
                # where the tests' own Redis clients look first; the daemon asks
                "redis.url": "redis://127.0.0.1:%d/0" % self.data[0].port}

    def fail_master(self, timeout=60):
        """Kill the master; return (old port, new port) once the sentinels
        promoted the replica."""
        old = self.master_port()
        self.node(old).kill()
        t0 = time.monotonic()
        h.wait_until(lambda: self.master_port() not in (None, old), timeout=timeout,
                     interval=0.2, what="the sentinels to promote the replica")
        new = self.master_port()
        h._diag("redis master %d killed; sentinels promoted %d in %.1fs"
                % (old, new, time.monotonic() - t0))
        return old, new

    def restore(self, port):
        """Bring a killed node back, empty, as a replica of the current master
        (the sentinels would demote it anyway), and wait until it is in sync."""
        n = self.node(port)
        n.start("--replicaof", "127.0.0.1", str(self.master_port()))
        self.wait_settled(timeout=90)


def assert_open_with_timers(a, r):
    """Every open appeal has its SLA timer: waiting in sla:due, or claimed by a
    scheduler round (sla:lease)."""
    timers = set(r.zrange(a.rkey("sla:due"))) | set(r.zrange(a.rkey("sla:lease")))
    open_ids = r.zrange(a.rkey("idx:open"))
    lost = [aid for aid in open_ids
            if r.hgetall(a.rkey("a:{%s}" % aid)).get("state") == "open" and aid not in timers]
    assert open_ids and not lost, "open appeals without their timer: %s" % lost[:5]
    return len(open_ids)


# ---- a three-broker Kafka (KRaft) ------------------------------------------------

def _kafka_env():
    """(java, classpath) as scripts/services.sh finds them (scripts/common.sh)."""
    common = h.REPO / "scripts" / "common.sh"
    out = subprocess.run(["bash", "-c", '. "$1"; apd_find_java && apd_kafka_home && '
                          'test -f "$(apd_kafka_marker)"', "-", str(common)],
                         capture_output=True, text=True)
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        raise h.Skip("no java >= 17 or Kafka jars: run scripts/deps.sh")
    return lines[0], lines[1] + "/libs/*"


BROKER_PROPERTIES = """# written by tests/ha/ha.py
process.roles=broker,controller
node.id={id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
min.insync.replicas=2
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
"""


class KafkaCluster:
    """Three combined broker+controller JVMs with small heaps, one KRaft
    quorum; kill(i) and start(i) take one node down and bring it back with
    its data."""

    N = 3

    def __init__(self):
        h.require("kcat")
        self.java, self.cp = _kafka_env()
        self.root = h.tmpdir() / h.unique("kafka3")
        ports = [h.free_port() for _ in range(2 * self.N)]
        self.ports, self.cports = ports[:self.N], ports[self.N:]
        voters = ",".join("%d@127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(self.cports))
        cluster_id = self._java("kafka.tools.StorageTool", "random-uuid").strip()
        self.procs = [None] * self.N
        for i in range(self.N):
            d = self.root / ("node%d" % i)
            d.mkdir(parents=True)
            (d / "server.properties").write_text(BROKER_PROPERTIES.format(
                id=i + 1, voters=voters, port=self.ports[i], cport=self.cports[i],
                data=d / "data"))
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c",
                       str(d / "server.properties"))
        h._register(self.close)
        for i in range(self.N):
            self.start(i, wait=False)
        self.wait_brokers(self.N, timeout=240)

    def _jvm(self, heap="256m"):
        log4j = h.REPO / "scripts" / "kafka" / "log4j2.properties"
        return [self.java, "-Xms64m", "-Xmx" + heap, "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-Dlog4j2.configurationFile=%s" % log4j, "-cp", self.cp]

    def _java(self, *args):
        r = subprocess.run(self._jvm("128m") + list(args), capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    @property
    def brokers(self):
        return ",".join("127.0.0.1:%d" % p for p in self.ports)

    def start(self, i, wait=True):
        d = self.root / ("node%d" % i)
        log = open(d / "kafka.out", "ab")
        self.procs[i] = subprocess.Popen(
            self._jvm() + ["-Dkafka.logs.dir=%s" % d, "kafka.Kafka", str(d / "server.properties")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_brokers(self.N, timeout=180)

    def kill(self, i):
        """SIGKILL: a crashed broker (and controller)."""
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(30)

    def brokers_up(self):
        live = [i for i, p in enumerate(self.procs) if p and p.poll() is None]
        if not live:
            return 0
        r = subprocess.run(["kcat", "-b", "127.0.0.1:%d" % self.ports[live[0]], "-L", "-m", "3"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        for line in r.stdout.splitlines():
            line = line.strip()
            if line.endswith("brokers:"):
                return int(line.split()[0])
        return 0

    def wait_brokers(self, n, timeout=180):
        h.wait_until(lambda: self.brokers_up() == n, timeout=timeout, interval=1.0,
                     what="%d Kafka brokers registered" % n, ignore=(OSError, ValueError,
                                                                     subprocess.TimeoutExpired))

    def topic_replication(self, topic):
        """{partition: (replicas, in-sync replicas)} as kcat -L reports them."""
        r = subprocess.run(["kcat", "-b", self.brokers, "-L", "-t", topic, "-m", "5"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        out = {}
        for line in r.stdout.splitlines():
            f = line.split()
            if f[:1] == ["partition"]:
                reps = [x for x in f[f.index("replicas:") + 1].split(",") if x]
                isrs = [x for x in f[f.index("isrs:") + 1].split(",") if x]
                out[int(f[1].rstrip(","))] = (len(reps), len(isrs))
        return out

    def close(self):
        _unreg = getattr(self, "_closed", False)
        if _unreg:
            return
        self._closed = True
        for p in self.procs:
            if p and p.poll() is None:
                p.terminate()
        for p in self.procs:
            if p:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
