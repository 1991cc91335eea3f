#!/usr/bin/python3
"""A three-broker Kafka (KRaft, three JVMs with small heaps): --create-topics
makes every topic with replication 3 and min.insync.replicas 2; one broker is
killed under load and brought back; the idempotent acks=all producer loses
and doubles nothing.  Ends with the fault tests' verdict."""

import time

import ha
from ha import FULL, Load, apd, fault, h

# CI: one broker outage in a 30 s load.  Full: a broker killed every minute
# for ten minutes, each time another one, each back before the next.
ROUNDS = 10 if FULL else 1
PERIOD = 60 if FULL else 15
DOWN = 30 if FULL else 6


class ClusterServices:
    """h.Services' attributes for a daemon on the cluster and a private Redis."""

    def __init__(self, cluster, redis_svc):
        self.kafka_brokers = cluster.brokers
        self.redis_url = redis_svc.redis_url
        self.shared = False
        self.dir = None


def test_broker_killed_under_load():
    cluster = ha.KafkaCluster()
    with h.Services(private=True, kafka=False) as rsvc:
        svc = ClusterServices(cluster, rsvc)
        over = dict(fault.FAST_SLA, **{"kafka.partitions": "3", "kafka.replication": "0"})
        a = apd.Apd(svc, overrides=over, create_topics=False)
        out = a.run_tool("--create-topics").stdout.decode()
        assert "replication 3, min.insync.replicas 2" in out, out
        # the brokers learn of a new topic's partitions a moment after it is made
        h.wait_until(lambda: sorted(cluster.topic_replication(a.topic("all"))) == [0, 1, 2],
                     timeout=30, interval=0.5, what="the new topic's partitions in the metadata")
        made = cluster.topic_replication(a.topic("all"))
        assert all(r == 3 for r, _ in made.values()), made
        load = Load(a.url(""), rate=200, seconds=ROUNDS * PERIOD + 10, conns=8)
        t_start = time.monotonic()
        for i in range(ROUNDS):
            time.sleep(max(0.0, t_start + 5 + i * PERIOD - time.monotonic()))
            victim = i % cluster.N
            cluster.kill(victim)
            h._diag("broker %d killed" % (victim + 1))
            time.sleep(DOWN)
            assert a.ctl("status")["result"]["kafka"]["connected"]
            t0 = time.monotonic()
            cluster.start(victim, wait=FULL)
        summary = load.wait()
        cluster.wait_brokers(cluster.N)
        h._diag("the last broker killed was back and registered %.1fs after its start"
                % (time.monotonic() - t0))
        recs = load.records()
        assert summary["status"]["2xx"] == summary["answered"], summary
        fault.wait_drained(a, timeout=180)
        fault.verdict(a, recs)
        with a.redis() as r:
            n_open = ha.assert_open_with_timers(a, r)
        isr = cluster.topic_replication(a.topic("all"))
        assert all(r == 3 for r, _ in isr.values()), isr
        h._diag("%d broker outages; %d requests answered 200; %d open appeals with their "
                "timers; replicas/in-sync per partition of appeals.all: %s"
                % (ROUNDS, len(recs), n_open, isr))
        a.daemon.close()


if __name__ == "__main__":
    h.main(globals())
