#!/usr/bin/python3
"""Routing end to end: rules decide which Kafka topic a VK comment lands on, with
the evidence in the message and in Redis; copies, drops, personal data per topic,
`appealsd route --explain`, topics made by --create-topics, and a reload with a
broken rules file.  Every message read back is validated against docs/schemas."""

import json
import re
import signal
import subprocess

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event

# Keyword and pattern rules stand in for the classifier here: the pipeline
# routes on whatever the rules can see.
RULES = r"""
[rule "noise"]
pattern = ^[[:space:][:punct:]+]*$
action = drop

[rule "health"]
keywords = поликлиник, больниц, врач
org = minzdrav

[rule "roads-local"]
pattern = (^|[^[:alpha:]])(ям[аыуе]|выбоин)
org = @municipality

[rule "roads"]
pattern = (^|[^[:alpha:]])(ям[аыуе]|выбоин)
org = minstroy

[rule "water"]
keywords = водопровод, канализац
org = maykop-vodokanal
copy = maykop, minstroy
"""


def routed_config():
    return apd.directory_config(RULES)


def test_roads_health_and_unroutable_land_on_their_topics():
    with h.Services() as svc, apd.Apd(svc, config_text=routed_config()) as a:
        # a pothole on Maykop's page: the municipality comes from the page
        a.post("/webhook/vk", vk_comment(100001, 11, "Огромная ЯМА на ул. Пионерской"))
        # a clinic question on the ЦУР's page: the ministry by keyword
        a.post("/webhook/vk", vk_comment(100005, 12, "Когда откроют поликлинику в Яблоновском?"))
        # a pothole on the ЦУР's page: no municipality known, so the next rule
        a.post("/webhook/vk", vk_comment(100005, 13, "выбоина на трассе"))
        # nothing any rule knows: the ЦУР's triage queue
        a.post("/webhook/vk", vk_comment(100005, 14, "Почему не отвечаете на письма?"))

        m = a.consume("org.maykop", 1)[0]["json"]
        assert m["appeal_id"] == vk_appeal_id(100001, 11) and m["org"]["code"] == "maykop", m
        r = m["route"]
        assert r["rule"] == "roads-local" and r["action"] == "org" and not r["triage"], r
        why = {w["key"]: w["value"] for w in r["why"]}
        assert why["pattern"].endswith('яма"'), why
        assert m["municipality"] == "maykop", m
        assert m["classification"]["municipality_from"] == "page", m
        assert m["page"]["owner"] == "maykop" and m["state"] == "open", m
        assert re.fullmatch(r"\d{5}-\d{5}", m["number"]), m

        m = a.consume("org.minzdrav", 1)[0]["json"]
        assert m["route"]["rule"] == "health", m
        assert {"key": "keyword", "value": "поликлиник"} in m["route"]["why"], m

        m = a.consume("org.minstroy", 1)[0]["json"]
        assert m["appeal_id"] == vk_appeal_id(100005, 13) and m["route"]["rule"] == "roads", m
        assert "roads-local: no municipality is known" in m["route"]["skipped"], m

        t = a.consume("triage", 1)
        assert len(t) == 1, t
        m = t[0]["json"]
        assert m["appeal_id"] == vk_appeal_id(100005, 14), m
        assert m["route"]["triage"] and m["route"]["rule"] == "triage", m
        assert m["org"]["code"] == "cur", m

        everything = a.consume("all", 4)
        assert sorted(x["json"]["appeal_id"] for x in everything) == sorted(
            vk_appeal_id(g, c) for g, c in [(100001, 11), (100005, 12), (100005, 13),
                                            (100005, 14)]), everything
        a.wait_idle()
        rec = a.appeal(vk_appeal_id(100001, 11))
        assert rec["rule"] == "roads-local" and rec["org"] == "maykop", rec
        with a.redis() as r:   # the routing reason is the audit trail's first entry
            created = json.loads(r.cmd("LINDEX", a.rkey("a:{%s}:audit" % vk_appeal_id(100001, 11)),
                                       0))
        assert "pattern=" in created["reason"] and rec.get("triage", "0") == "0", (rec, created)
        assert a.appeal(vk_appeal_id(100005, 14))["triage"] == "1"
        # the same decision offline
        line = json.dumps({"id": "x", "text": "Огромная ЯМА на ул. Пионерской",
                           "page": "vk:100001"}, ensure_ascii=False)
        out = json.loads(a.run_tool("route", "--explain", input=line.encode()).stdout)
        assert out["rule"] == "roads-local" and out["topic"] == a.topic("org.maykop"), out


def test_noise_is_dropped_and_recorded():
    with h.Services() as svc, apd.Apd(svc, config_text=routed_config()) as a:
        a.post("/webhook/vk", vk_comment(100001, 21, "+"))
        a.post("/webhook/vk", vk_comment(100001, 22, "яма во дворе"))
        assert len(a.consume("org.maykop", 1)) == 1
        a.wait_idle()
        # the drop went nowhere: appeals.all holds only the pothole
        assert [m["json"]["appeal_id"] for m in a.consume("all", 1)] == [
            vk_appeal_id(100001, 22)]
        rec = a.appeal(vk_appeal_id(100001, 21))
        assert rec["state"] == "dropped" and rec["rule"] == "noise", rec
        assert rec.get("org", "") == "", rec
        with a.redis() as r:
            assert r.cmd("ZSCORE", a.rkey("idx:open"), vk_appeal_id(100001, 21)) is None
            timers = [t for t in r.zrange(a.rkey("sla:due")) if "c21" in t]
            assert timers == [], timers
        # an edit of a dropped item stays dropped
        edit = vk_event(100001, "wall_reply_edit", {"id": 21, "from_id": 7001, "date": 1795900100,
                        "text": "++", "post_id": 42, "owner_id": -100001}, "edit21")
        a.post("/webhook/vk", edit)
        a.wait_idle()
        with a.redis() as r:   # the text has a key of its own (store/appeals.h)
            assert r.cmd("GET", a.rkey("a:{%s}:text" % vk_appeal_id(100001, 21))) == b"++"
        # deleted and restored, it is still noise
        ids = {"id": 21, "owner_id": -100001, "post_id": 42, "deleter_id": 7001}
        a.post("/webhook/vk", vk_event(100001, "wall_reply_delete", ids, "del21"))
        a.wait_idle()
        assert a.appeal(vk_appeal_id(100001, 21))["state"] == "withdrawn"
        a.post("/webhook/vk", vk_event(100001, "wall_reply_restore", dict(
            edit["object"], text="+"), "res21"))
        a.wait_idle()
        rec = a.appeal(vk_appeal_id(100001, 21))
        assert rec["state"] == "dropped" and rec["dropped"] == "1", rec
        assert len(a.consume("all", 1, timeout=2)) == 1
        assert a.consume("triage", 0, timeout=2) == []
        st = a.ctl("status")["result"]["pipeline"]
        assert st["published"] == 1, st
        _, _, body = h.http_get(a.url("/metrics"))
        assert 'appealsd_dropped_total{rule="noise"} 1' in body.decode(), body


def test_copies_updates_and_personal_data_per_topic():
    overrides = {"org.maykop-vodokanal.personal_data": "yes"}
    with h.Services() as svc, apd.Apd(svc, config_text=routed_config(),
                                      overrides=overrides) as a:
        aid = vk_appeal_id(100001, 31)
        a.post("/webhook/vk", vk_comment(100001, 31, "Прорвало водопровод", from_id=7777))
        own = a.consume("org.maykop-vodokanal", 1)[0]["json"]
        assert own["author"]["id"] == "7777", own["author"]
        assert own["route"]["copies"] == ["maykop", "minstroy"], own["route"]
        for suffix in ("org.maykop", "org.minstroy", "all"):
            m = a.consume(suffix, 1)[0]["json"]
            assert m["appeal_id"] == aid and m["org"]["code"] == "maykop-vodokanal", m
            assert "id" not in m["author"] and "name" not in m["author"], (suffix, m["author"])
            assert m["author"]["pseudonym"] == own["author"]["pseudonym"]
        a.wait_idle()
        assert a.appeal(aid)["copies"] == "maykop,minstroy"
        # an edit reaches the recipient and every copy, in seq order
        edit = vk_event(100001, "wall_reply_edit", {"id": 31, "from_id": 7777, "date": 1795900200,
                        "text": "Прорвало водопровод, течёт третий день", "post_id": 42,
                        "owner_id": -100001}, "edit31")
        a.post("/webhook/vk", edit)
        for suffix in ("org.maykop-vodokanal", "org.maykop", "org.minstroy", "all"):
            msgs = a.consume(suffix, 2)
            assert [m["json"]["event"] for m in msgs] == ["created", "updated"], suffix
            assert [m["json"]["seq"] for m in msgs] == [1, 2], suffix
            assert msgs[1]["json"]["text"].endswith("третий день")


def test_route_explain_tool():
    lines = [
        {"id": "1", "text": "яма на дороге", "page": "vk:100001", "category": "roads"},
        {"id": "2", "text": "нет воды", "source": "vk", "page": "100001",
         "category": "housing", "priority": "high"},
        {"id": "3", "text": "спасибо!", "kind": "gratitude"},
        {"id": "4", "text": "x", "page": "vk:999"},
        "not json",
        {"text": "no id"},
        {"id": "7", "text": "что-то", "category": "other"},
    ]
    data = "\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False)
                     for l in lines) + "\n"
    p = subprocess.run(_route_cmd("--explain"), input=data.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert b"3 of 7 lines were bad" in p.stderr, p.stderr
    out = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert len(out) == 7, out
    assert out[0]["rule"] == "local-roads" and out[0]["org"] == "maykop", out[0]
    assert out[0]["topic"] == "appeals.org.maykop", out[0]
    assert out[0]["classification"]["municipality_from"] == "page", out[0]
    assert out[1]["org"] == "maykop-vodokanal" and out[1]["recipients"] == [
        "maykop-vodokanal", "maykop"], out[1]
    assert out[1]["priority"] == "high", out[1]
    assert {"key": "keyword", "value": "воды"} in out[1]["why"], out[1]
    assert out[2]["action"] == "drop" and out[2]["org"] is None, out[2]
    assert out[3] == {"id": "4", "error": "page vk:999 is not in the directory"}, out[3]
    assert out[4]["id"] is None and "not valid JSON" in out[4]["error"], out[4]
    assert out[5]["error"] == '"id" is required', out[5]
    assert out[6]["rule"] == "triage" and out[6]["topic"] == "appeals.triage", out[6]
    assert out[6]["classification"]["given"] == ["category"], out[6]
    # without --explain: the decision only
    p = subprocess.run(_route_cmd(), input=(json.dumps(lines[0]) + "\n").encode(),
                       capture_output=True, timeout=30)
    o = json.loads(p.stdout)
    assert p.returncode == 0 and o["org"] == "maykop" and "why" not in o, (p, o)


def _route_cmd(*args):
    return [str(h.daemon_binary()), "route", "-c", str(apd.EXAMPLE_CONFIG), "--set",
            "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")] + list(args)


def test_route_explain_classifies_a_bare_text_as_the_daemon_does():
    """A line with only a text is classified by the configured chain first
    (issue 15 item 7): a pothole in Maykop goes to the city, a clinic to the
    health ministry, thanks are kept and routed nowhere; fields on the line
    win over the classifier's; --no-classify routes on the line alone."""
    lines = [
        {"id": "pothole", "text": "Огромная яма на дороге на ул. Пионерской в Майкопе, "
                                  "вчера пробил колесо"},
        {"id": "clinic", "text": "В поликлинике третью неделю нет талонов к терапевту"},
        {"id": "thanks", "text": "Спасибо большое за праздник, детям очень понравилось!"},
        {"id": "told", "text": "Огромная яма на дороге на ул. Пионерской в Майкопе",
         "category": "health"},
    ]
    data = "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines).encode()
    p = subprocess.run(_route_cmd("--explain"), input=data, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = {o["id"]: o for o in map(json.loads, p.stdout.decode().splitlines())}
    pot = out["pothole"]
    assert pot["org"] == "maykop" and pot["rule"] == "local-roads", pot
    c = pot["classification"]
    assert c["kind"] == "complaint" and c["category"] == "roads", c
    assert c["municipality"] == "maykop" and c["municipality_from"] == "text", c
    assert c["given"] == [] and c["classifier"]["evidence"], c
    assert out["clinic"]["org"] == "minzdrav", out["clinic"]
    th = out["thanks"]
    assert th["action"] == "kept" and th["org"] is None and th["recipients"] == [], th
    assert th["state"] == "feedback" and "not an appeal" in th["reason"], th
    told = out["told"]
    assert told["org"] == "minzdrav" and told["classification"]["given"] == ["category"], told
    assert told["classification"]["classifier"]["category"] == "roads", told
    # the old behaviour, without plugins: no classification, the line alone
    p = subprocess.run([str(h.daemon_binary()), "route", "--no-classify", "--explain", "-c",
                        str(apd.EXAMPLE_CONFIG)], input=data, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = {o["id"]: o for o in map(json.loads, p.stdout.decode().splitlines())}
    assert out["pothole"]["rule"] == "triage", out["pothole"]
    assert "classifier" not in out["pothole"]["classification"], out["pothole"]


def test_create_topics_makes_what_the_directory_needs():
    extra = RULES + """
[org "hook"]
name = Receives HTTP only
type = service
kafka = no
http_url = http://127.0.0.1:9/never
http_secret = 0123456789abcdef0123
"""
    with h.Services() as svc:
        a = apd.Apd(svc, config_text=apd.directory_config(extra), create_topics=False,
                    start=False, overrides={"kafka.partitions": "2",
                                            "org.minzdrav.topic": "custom.minzdrav"})
        with a:
            a.overrides["org.minzdrav.topic"] = a.u + ".custom.minzdrav"
            out = a.run_tool("--create-topics").stdout.decode()
            assert "organisation hook takes HTTP deliveries only: no topic" in out, out
            for suffix in ("all", "triage", "sla", "status", "dlq", "org.maykop", "custom.minzdrav",
                           "org.eco-operator", "dlq.maykop", "dlq.minzdrav"):
                assert h.kafka_topic_partitions(svc.kafka_brokers, a.topic(suffix)) == 2, suffix
            assert h.kafka_topic_partitions(svc.kafka_brokers, a.topic("org.hook")) == 0
            # an HTTP-only organisation reads no Kafka: its refusals go to the shared DLQ
            assert h.kafka_topic_partitions(svc.kafka_brokers, a.topic("dlq.hook")) == 0
            assert h.kafka_topic_partitions(svc.kafka_brokers, a.topic("org.minzdrav")) == 0
            again = a.run_tool("--create-topics").stdout.decode()
            assert "topic %s exists" % a.topic("all") in again, again


def test_missing_topic_is_not_auto_created_and_waits_in_the_spool():
    with h.Services() as svc:
        a = apd.Apd(svc, config_text=routed_config(), create_topics=False, start=False,
                    overrides={"kafka.delivery_timeout": "1s"})
        with a:
            a.start()
            a.post("/webhook/vk", vk_comment(100001, 41, "яма"))
            h.wait_until(lambda: "does not exist; create the configured topics" in
                         a.daemon.log(), timeout=20, what="the missing-topic hint")
            st = a.ctl("status")["result"]
            assert st["spool"]["unreleased"] == 1 and st["pipeline"]["published"] == 0, st
            assert h.kafka_topic_partitions(svc.kafka_brokers, a.topic("org.maykop")) == 0
            a.create_topics()
            assert len(a.consume("org.maykop", 1)) == 1
            a.wait_idle(timeout=30)


def _write_rules(a, text):
    (a.tmp / "rules.conf").write_text(text)


def test_reload_with_broken_rules_keeps_the_old_rules():
    with h.Services() as svc:
        tmp = h.tmpdir()
        conf = apd.directory_config("include %s\n" % (tmp / "rules.conf"))
        (tmp / "rules.conf").write_text('[rule "roads"]\nkeywords = яма\norg = minstroy\n')
        with apd.Apd(svc, config_text=conf) as a:
            a.post("/webhook/vk", vk_comment(100001, 51, "яма у дома"))
            assert a.consume("org.minstroy", 1)[0]["json"]["route"]["rule"] == "roads"
            # broken: an unknown organisation on line 3 of the rules file
            _write_rules(a, '[rule "roads"]\nkeywords = яма\norg = minstroi\n')
            r = a.ctl("reload")
            assert not r["ok"] and r["code"] == "reload_failed", r
            assert "rules.conf:3: [rule \"roads\"] org: no organisation 'minstroi'" in r["error"], r
            st = a.ctl("status")["result"]
            assert st["reload_failures"] == 1 and "minstroi" in st["last_reload_error"], st
            gen = st["config_generation"]
            a.post("/webhook/vk", vk_comment(100001, 52, "ещё одна яма"))
            msgs = a.consume("org.minstroy", 2)
            assert [m["json"]["appeal_id"] for m in msgs][1] == vk_appeal_id(100001, 52), msgs
            # a bad pattern is refused the same way, by SIGHUP too
            _write_rules(a, '[rule "roads"]\npattern = (яма\norg = maykop\n')
            mark = a.daemon.notify.mark()
            a.daemon.signal(signal.SIGHUP)
            a.daemon.notify.wait_for("READY=1", since=mark, timeout=10)
            assert a.ctl("status")["result"]["config_generation"] == gen
            assert "rules.conf:2: [rule \"roads\"] pattern: /(яма/" in a.daemon.log()
            # fixed: the new rule routes from now on
            _write_rules(a, '[rule "roads"]\nkeywords = яма\norg = maykop\n')
            assert a.ctl("reload")["ok"]
            a.post("/webhook/vk", vk_comment(100001, 53, "и снова яма"))
            m = a.consume("org.maykop", 1)[0]["json"]
            assert m["appeal_id"] == vk_appeal_id(100001, 53) and m["route"]["rule"] == "roads"
            assert len(a.consume("org.minstroy", 2, timeout=2)) == 2



def test_an_appeal_in_flight_keeps_the_rules_it_started_with():
    with h.Services() as svc:
        tmp = h.tmpdir()
        conf = apd.directory_config("include %s\n" % (tmp / "rules.conf"))
        (tmp / "rules.conf").write_text('[rule "roads"]\nkeywords = яма\norg = maykop\n')
        a = apd.Apd(svc, config_text=conf, create_topics=False, start=False,
                    overrides={"kafka.delivery_timeout": "1s"})
        with a:
            # every topic but Maykop's: its appeal cannot be published yet
            a.run_tool("--create-topics", "--set", "org.maykop.topic=%s.elsewhere" % a.u)
            a.start()
            a.post("/webhook/vk", vk_comment(100001, 61, "яма раз"))
            h.wait_until(lambda: "does not exist" in a.daemon.log(), timeout=20,
                         what="the first publish attempt to fail")
            _write_rules(a, '[rule "roads"]\nkeywords = яма\norg = minstroy\n')
            assert a.ctl("reload")["ok"]
            a.post("/webhook/vk", vk_comment(100001, 62, "яма два"))
            m = a.consume("org.minstroy", 1)[0]["json"]
            assert m["appeal_id"] == vk_appeal_id(100001, 62), m
            # the first appeal, still in flight, is routed by the rules it started with
            a.create_topics()
            m = a.consume("org.maykop", 1)[0]["json"]
            assert m["appeal_id"] == vk_appeal_id(100001, 61) and m["org"]["code"] == "maykop"
            a.wait_idle(timeout=30)
            assert len(a.consume("org.minstroy", 1, timeout=2)) == 1


if __name__ == "__main__":
    h.main(globals())
