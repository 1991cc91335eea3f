#!/usr/bin/python3
"""The daemon's health as an administrator's Prometheus and load balancer see
it: every health family in /metrics from the first scrape (counters at 0),
moving sensibly with traffic; the SLA gauges read from the shared Redis
exported by exactly one of two daemons, and taken over when it stops; and
/healthz naming each check, turning 503 with the reason while Kafka is down
longer than configured and the spool backlog is older than configured, and
200 again once the broker is back."""

import re
import subprocess
import time

import apd
from apd import h
from test_sla import post, sla_apd

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def scrape(a):
    """{'name{labels}': value} and {family: type} of one /metrics answer."""
    st, _, body = h.http_get(a.url("/metrics"))
    assert st == 200, st
    samples, types = {}, {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            types[name] = typ
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line)
            assert m, "not a sample line: %r" % line
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples, types


def family_samples(samples, family):
    return {k: v for k, v in samples.items()
            if k == family or k.startswith(family + "{") or k.startswith(family + "_")}


def health_only(samples, a):
    """The samples worth showing in a failure: no histogram buckets, no
    series of other organisations' topics."""
    return {k: v for k, v in samples.items() if "_bucket{" not in k and (
        "topic=" not in k or 'topic="%s"' % a.topic("all") in k) and 'org="' not in k
            or 'org="maykop"' in k}


def healthz(a):
    st, hdrs, body = h.http_get(a.url("/healthz"))
    lines = body.decode().splitlines()
    return st, hdrs, lines[0], {l.split(":", 1)[0]: l for l in lines[1:]}


AT_ZERO = [
    "appealsd_spool_appended_total", "appealsd_spool_released_total",
    "appealsd_spool_write_errors_total", "appealsd_spool_rejected_total",
    "appealsd_spool_records", "appealsd_spool_oldest_unreleased_seconds",
    "appealsd_kafka_queue_messages",
    'appealsd_sla_breaches_total{org="maykop"}',
    'appealsd_sla_breaches_by_municipality_total{municipality="maykop"}',
    'appealsd_first_responses_total{org="maykop"}',
    'appealsd_first_responses_on_time_total{org="maykop"}',
    'appealsd_redis_errors_total{kind="timeout"}',
    'appealsd_http_requests_total{source="vk",status="200"}',
    'appealsd_appeals_total{org="maykop",event="created"}',
    'appealsd_sla_stages_total{event="breach"}',
    'appealsd_quarantined_total{source="vk"}',
]
LABELLED_AT_USE = sorted([
    "appealsd_acks_total", "appealsd_dropped_total", "appealsd_first_response_working_seconds",
    "appealsd_http_deliveries_total", "appealsd_http_delivery_seconds", "appealsd_ignored_total",
    "appealsd_kafka_delivery_errors_total", "appealsd_lifecycle_conflicts_total",
    "appealsd_lifecycle_refused_total"] + [
    "appealsd_appeal_events_total", "appealsd_incidents_total"] + [
    # by quality or outcome and organisation (the answer judge), and the
    # replica waits of a Sentinel setup (by outcome)
    "appealsd_answers_by_quality_total", "appealsd_rework_opened_total",
    "appealsd_citizen_followups_total", "appealsd_redis_replica_waits_total"] + [
    # the report's figures by organisation and municipality, incident sizes,
    # and the incidents' clock syncs and replies (by outcome)
    "appealsd_report_figures_total", "appealsd_incident_size",
    "appealsd_incident_clock_syncs_total", "appealsd_incident_replies_total"])
PRESENT = [
    "appealsd_spool_bytes", "appealsd_spool_max_bytes", "appealsd_spool_segments",
    "appealsd_spool_fsyncs_total", "appealsd_kafka_brokers_up", "appealsd_kafka_up",
    "appealsd_kafka_unreachable_seconds", "appealsd_kafka_queue_bytes", "appealsd_redis_up",
    "appealsd_redis_last_ping_seconds", "appealsd_redis_ping_seconds_count",
    "appealsd_sla_gauges_exporter", "process_cpu_seconds_total",
    "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
    "process_max_fds", "process_start_time_seconds",
]


def test_every_health_family_from_the_first_scrape_and_after_traffic():
    with h.Services() as svc, sla_apd(svc, overrides={"sla.metrics_interval": "1s"}) as a:
        s, types = scrape(a)
        missing = [k for k in AT_ZERO + PRESENT if k not in s]
        assert not missing, "absent from the first scrape: %s" % missing
        nonzero = {k: s[k] for k in AT_ZERO if s[k] != 0}
        assert not nonzero, "not 0 at start: %s" % nonzero
        # no counter or histogram waits for its first use, except those whose
        # label values only traffic tells (an error name, a page, a rule)
        empty = [f for f, t in types.items()
                 if t in ("counter", "histogram") and not family_samples(s, f)]
        assert sorted(empty) == LABELLED_AT_USE, empty
        build = [k for k in s if k.startswith("appealsd_build_info{")]
        assert len(build) == 1 and s[build[0]] == 1, build
        version = subprocess.run([str(h.daemon_binary()), "--version"], capture_output=True,
                                 text=True, check=True).stdout.split()[-1]
        assert 'version="%s"' % version in build[0] and 'librdkafka="' in build[0], build
        proc = {k: v for k, v in s.items() if k.startswith("process_")}
        assert abs(proc["process_start_time_seconds"] - time.time()) < 120, proc
        assert 10 < proc["process_open_fds"] < proc["process_max_fds"], proc
        assert proc["process_resident_memory_bytes"] > 1 << 20, proc
        assert s["appealsd_spool_max_bytes"] > 0, s["appealsd_spool_max_bytes"]
        cpu0 = s["process_cpu_seconds_total"]

        ids = [post(a, 100001, 4100 + i) for i in range(3)]
        a.wait_idle()
        time.sleep(4)   # the first responses (3 s) are breached
        want = {'appealsd_sla_breaches_total{org="maykop"}': 3,
                'appealsd_sla_breaches_by_municipality_total{municipality="maykop"}': 3,
                'appealsd_appeals_total{org="maykop",event="created"}': 3,
                'appealsd_http_requests_total{source="vk",status="200"}': 3}
        h.wait_until(lambda: all(scrape(a)[0].get(k) == v for k, v in want.items()),
                     timeout=15, what="the counters after traffic: %s" % want)
        s = health_only(scrape(a)[0], a)
        assert s["appealsd_redis_up"] == 1, s
        assert s["appealsd_spool_appended_total"] == 3, s
        assert s["appealsd_spool_released_total"] == 3, s
        assert s["appealsd_spool_fsyncs_total"] >= 1 and s["appealsd_spool_bytes"] > 0, s
        assert s["appealsd_spool_records"] == 0, s
        assert s["appealsd_spool_oldest_unreleased_seconds"] == 0, s
        assert s['appealsd_kafka_messages_total{topic="%s"}' % a.topic("all")] >= 3, s
        assert s["appealsd_kafka_brokers_up"] >= 1 and s["appealsd_kafka_up"] == 1, s
        assert s["appealsd_kafka_unreachable_seconds"] == 0, s
        assert s['appealsd_sla_stages_total{event="breach"}'] == 3, s
        assert s["appealsd_redis_ping_seconds_count"] >= 1, s
        assert 0 < s["appealsd_redis_last_ping_seconds"] < 1, s
        assert s["process_cpu_seconds_total"] >= cpu0, s
        # one daemon: it holds the lease and exports the gauges from Redis
        h.wait_until(lambda: scrape(a)[0].get('appealsd_open_appeals{org="maykop",state="open"}')
                     == 3, timeout=10, what="the open-appeals gauge")
        assert scrape(a)[0]["appealsd_sla_gauges_exporter"] == 1
        st, _, first, checks = healthz(a)
        assert (st, first) == (200, "ok"), (st, first, checks)
        assert checks["spool"].startswith("spool: ok: 0 records unreleased"), checks
        assert checks["kafka"].startswith("kafka: ok: "), checks
        assert checks["redis"].startswith("redis: ok: round trip "), checks
        assert len(ids) == 3


def _exports(d):
    s, _ = scrape(d)
    return s.get("appealsd_sla_gauges_exporter") == 1 and any(
        k.startswith("appealsd_open_appeals{") for k in s)


def _silent(d):
    s, _ = scrape(d)
    return s.get("appealsd_sla_gauges_exporter") == 0 and not any(
        k.startswith(("appealsd_open_appeals{", "appealsd_overdue_appeals{",
                      "appealsd_sla_breached_today{")) for k in s)


def test_two_daemons_on_one_redis_export_the_sla_gauges_once():
    over = {"sla.metrics_interval": "1s"}
    with h.Services() as svc, sla_apd(svc, name="one", overrides=over) as a:
        shared = dict(over, **{k: v for k, v in a.overrides.items()
                               if k.startswith("kafka.topic") or k == "redis.prefix"})
        shared["control.socket"] = str(a.tmp / "two.sock")
        shared["spool.dir"] = str(a.tmp / "spool-two")
        b = sla_apd(svc, name="two", overrides=shared, create_topics=False)
        try:
            post(a, 100001, 4200)
            post(b, 100001, 4201)
            h.wait_until(lambda: (_exports(a) and _silent(b)) or (_exports(b) and _silent(a)),
                         timeout=15, what="exactly one daemon exporting the SLA gauges")
            for _ in range(3):   # and it stays so over several refreshes
                time.sleep(1)
                assert (_exports(a) and _silent(b)) or (_exports(b) and _silent(a))
            holder, other = (a, b) if _exports(a) else (b, a)
            s = health_only(scrape(holder)[0], holder)
            assert s['appealsd_open_appeals{org="maykop",state="open"}'] == 2, s
            # the holder stops: its lease lapses (3 refresh intervals) and the
            # other daemon takes the gauges over
            holder.daemon.close()
            h.wait_until(lambda: _exports(other), timeout=15,
                         what="the other daemon to take the SLA gauges over")
        finally:
            b.daemon.close()


def test_healthz_names_each_check_and_fails_while_kafka_is_down_too_long():
    over = {"daemon.health_max_kafka_down": "3s", "daemon.health_max_spool_age": "4s"}
    with h.Services(private=True) as svc, apd.Apd(svc, overrides=over) as a:
        st, _, first, checks = healthz(a)
        assert (st, first) == (200, "ok"), (st, first, checks)
        assert set(checks) == {"spool", "kafka", "redis"}, checks
        svc.stop_kafka()
        t0 = time.monotonic()
        st, _, body = a.post("/webhook/vk", apd.vk_comment(100001, 4300, "Яма на Победы"))
        assert st == 200, (st, body)   # intake goes on into the spool

        def failing():
            st, hdrs, first, checks = healthz(a)
            return (st, hdrs, first, checks) if st == 503 and "spool" in first else None
        st, hdrs, first, checks = h.wait_until(failing, timeout=30,
                                               what="/healthz 503 for Kafka and the spool")
        assert time.monotonic() - t0 >= 3, "503 before the configured 3 s"
        assert set(first.split("; ")) == {"kafka unreachable", "spool backlog too old"}, first
        assert hdrs.get("retry-after"), hdrs
        assert checks["kafka"].startswith("kafka: FAIL: no broker up for "), checks
        assert "(limit 3s)" in checks["kafka"], checks
        assert checks["spool"].startswith("spool: FAIL: 1 records unreleased"), checks
        assert checks["redis"].startswith("redis: ok"), checks
        s = health_only(scrape(a)[0], a)
        assert s["appealsd_kafka_up"] == 0 and s["appealsd_kafka_brokers_up"] == 0, s
        assert s["appealsd_kafka_unreachable_seconds"] >= 3, s
        assert s["appealsd_spool_records"] == 1, s
        assert s["appealsd_spool_oldest_unreleased_seconds"] >= 4, s
        assert s["appealsd_kafka_queue_messages"] >= 1, s

        svc.start_kafka()
        h.wait_until(lambda: healthz(a)[:3:2] == (200, "ok"), timeout=90,
                     what="/healthz 200 again after Kafka came back")
        a.wait_idle(timeout=60)
        s = health_only(scrape(a)[0], a)
        assert s["appealsd_kafka_unreachable_seconds"] == 0, s
        assert s["appealsd_spool_oldest_unreleased_seconds"] == 0, s


def _free_port():
    s = h.listen_tcp()
    port = s.getsockname()[1]
    s.close()
    return port


def test_metrics_listen_takes_metrics_off_the_public_listener():
    """[metrics] listen set: /metrics answers there alone and the webhook
    listener says 404 for it (health stays public); unset, /metrics is on
    the webhook listener as before."""
    with h.Services() as svc:
        with apd.Apd(svc) as a:
            st, _, body = h.http_get(a.url("/metrics"))
            assert st == 200 and b"appealsd_" in body, st
        port = _free_port()
        with apd.Apd(svc, overrides={"metrics.listen": "127.0.0.1:%d" % port}) as a:
            st, _, _ = h.http_get(a.url("/metrics"))
            assert st == 404, st
            assert h.http_get(a.url("/healthz"))[0] == 200
            st, hdrs, body = h.http_get("http://127.0.0.1:%d/metrics" % port)
            assert st == 200 and b"appealsd_" in body, st
            assert hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs
            assert h.http_get("http://127.0.0.1:%d/healthz" % port)[0] == 404
            st, _, _ = h.http_request("POST", "http://127.0.0.1:%d/metrics" % port, b"x")
            assert st in (405, 413), st   # a scraper only GETs; no body is read
        p = subprocess.run([str(h.daemon_binary()), "--check-config",
                            "-c", str(apd.EXAMPLE_CONFIG), "--set", "metrics.listen=nonsense"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "[metrics] listen" in p.stderr, (p.returncode, p.stderr)


if __name__ == "__main__":
    h.main(globals())
