#!/usr/bin/python3
"""contrib/monitoring: every metric the alert rules and the Grafana dashboard
use is exported by a running daemon (a live /metrics scrape after a webhook),
the checker notices a misspelt one, and the rules pass `promtool check rules`
and their unit tests (`promtool test rules`) when promtool is installed
(Debian's prometheus package; not in scripts/deps.sh: see
contrib/monitoring/README.md)."""

import json
import re
import shutil
import subprocess

import yaml

import apd
from apd import h, vk_comment

MON = apd.REPO / "contrib" / "monitoring"
RULES = MON / "appealsd-alerts.yml"
DASHBOARD = MON / "appealsd-dashboard.json"
# Series Prometheus itself adds to every target
PROMETHEUS_OWN = {"up"}
# PromQL words that look like names but are functions, keywords or labels
NOT_METRICS = {"sum", "by", "rate", "increase", "max", "min", "histogram_quantile", "le",
               "without", "on", "ignoring", "and", "or", "unless", "avg", "count", "bool"}


def rule_exprs():
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r["alert"]: r["expr"] for g in groups for r in g["rules"]}


def dashboard_exprs():
    d = json.loads(DASHBOARD.read_text())
    return {"%s/%s" % (p["title"], t["refId"]): t["expr"]
            for p in d["panels"] for t in p["targets"]}


def metric_names(expr):
    """Series names an expression selects: identifiers outside {...}, [...],
    strings and the `by (...)` lists, that are not PromQL's own words."""
    e = re.sub(r'"[^"]*"', "", expr)
    e = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", e)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e)) - NOT_METRICS
    return {n for n in names if not re.fullmatch(r"[0-9.e]+", n)}


def exported(text):
    """Family names from a scrape, and the series names a histogram adds."""
    fams = {}
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        fams[m.group(1)] = m.group(2)
    names = set(fams)
    for f, t in fams.items():
        if t == "histogram":
            names |= {f + "_bucket", f + "_sum", f + "_count"}
    return names


def unknown(exprs, names):
    return sorted("%s: %s" % (where, n) for where, e in exprs.items()
                  for n in metric_names(e) if n not in names and n not in PROMETHEUS_OWN)


def test_every_metric_of_the_rules_and_the_dashboard_is_exported():
    exprs = dict(rule_exprs(), **dashboard_exprs())
    assert len(rule_exprs()) >= 10 and len(dashboard_exprs()) >= 15, exprs
    with h.Services() as svc, apd.Apd(svc) as a:
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 501, "Во дворе сломаны качели"))
        assert st == 200
        a.consume("org.maykop", 1)
        h.wait_until(lambda: a.metric("appealsd_sla_gauges_exporter") == 1, timeout=30,
                     what="this instance exporting the SLA gauges")
        st, _, body = h.http_get(a.url("/metrics"))
        assert st == 200
        names = exported(body.decode())
    used = set().union(*(metric_names(e) for e in exprs.values()))
    h._diag("%d expressions use %d series: %s" % (len(exprs), len(used), ", ".join(sorted(used))))
    assert not unknown(exprs, names), "not exported by appealsd: %s" % unknown(exprs, names)
    # the checker would see a misspelt name (and does not mistake labels or functions)
    bad = {"planted": 'sum by (org) (rate(appealsd_sla_breach_total{org="x"}[5m]))'}
    assert unknown(bad, names) == ["planted: appealsd_sla_breach_total"]
    # the families the issue asks for are covered
    for family in ("appealsd_sla_breaches_total", "appealsd_spool_oldest_unreleased_seconds",
                   "appealsd_kafka_up", "appealsd_redis_up", "appealsd_http_requests_total"):
        assert any(family in e for e in rule_exprs().values()), family
        assert any(family in e for e in dashboard_exprs().values()), family


def test_rules_are_well_formed_and_pass_promtool():
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for g in groups:
        for r in g["rules"]:
            assert r["labels"]["severity"] in ("page", "ticket"), r
            assert r["annotations"]["summary"] and r["annotations"]["description"], r
    d = json.loads(DASHBOARD.read_text())
    for p in d["panels"]:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
    promtool = shutil.which("promtool")
    if promtool is None:
        h._diag("promtool is not installed (Debian package prometheus): only the checks above ran")
        return
    for args in (["check", "rules", RULES.name], ["test", "rules", "appealsd-alerts.test.yml"]):
        p = subprocess.run([promtool] + args, cwd=MON, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, "promtool %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
        h._diag("promtool %s: %s" % (" ".join(args), p.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    h.main(globals())
