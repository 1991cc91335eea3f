#!/usr/bin/python3
"""The SLA engine end to end, with policies in seconds: warnings, breaches and
escalations up the chain on the SLA topic exactly once (also with two daemons on
one Redis), the page's reply and the operators' commands stopping and pausing
clocks, agency statuses (a re-route, refusals on the dead-letter topic), a
Redis restart that keeps timers, and a Redis that comes back empty, detected and
rebuilt from Kafka."""

import datetime
import json
import os
import subprocess
import time
from pathlib import Path

import apd
from apd import h, vk_appeal_id, vk_comment

CONF_D = apd.REPO / "config" / "conf.d"

# Every body works around the clock here, so seconds of policy are seconds of
# real time; the working-time arithmetic has its own unit tests.
SLA_CONFIG = """
[daemon]
instance = sla-test
[sla]
calendar = none
hours = always
policy = fast
formal_policy = formal
tick = 100ms
[hours "always"]
time = 00:00-24:00
[hours "duty"]
time = 00:00-24:00
[hours "standard"]
time = 09:00-18:00
[policy "fast"]
first_response = 3s
resolution = 60s
warning = 50%
pause = waiting
escalate = after=1s to=up
escalate = after=2s to=up:2
[policy "formal"]
regime = 59fz
resolution = 30d
time = calendar
warning = 5d
extension = 30d
escalate = after=0 to=up
[source "vk"]
include {conf_d}/10-organisations.conf
include {conf_d}/20-pages.conf
include {conf_d}/30-rules.conf
# a page of a service organisation: its chain is vodokanal -> maykop -> cur
[page "vk:100006"]
name = Майкопский водоканал
org = maykop-vodokanal
secret = vodokanal-secret
confirmation = 11223344
{extra}
"""

SECRETS = {**apd.VK_SECRETS, 100006: "vodokanal-secret"}


def sla_apd(svc, extra="", overrides=None, name="appealsd", **kw):
    text = SLA_CONFIG.format(conf_d=CONF_D, extra=extra)
    return apd.Apd(svc, config_text=text, overrides=overrides, name=name, **kw)


def comment(group, cid, text, **kw):
    ev = vk_comment(group, cid, text, **kw)
    ev["secret"] = SECRETS[group]
    return ev


def post(a, group, cid, text="Во дворе на Пионерской не горит свет третью ночь", **kw):
    st, _, body = a.post("/webhook/vk", comment(group, cid, text, **kw))
    assert (st, body) == (200, b"ok"), (st, body)
    return vk_appeal_id(group, cid)


def sla_events(a, count, appeal=None, timeout=30):
    msgs = a.consume("sla", count, timeout=timeout)
    out = [m["json"] for m in msgs]
    return [e for e in out if appeal is None or e["appeal_id"] == appeal]


def wait_record(a, aid, pred, what, timeout=15):
    return h.wait_until(lambda: (lambda r: r if r and pred(r) else None)(a.appeal(aid)),
                        timeout=timeout, what=what)


def audit(a, aid):
    with a.redis() as r:
        return [json.loads(x) for x in r.cmd("LRANGE", a.rkey("a:{%s}:audit" % aid), 0, -1)]


def missed(msgs, org):
    """The consuming guide's loss check, as written there: on an
    organisation's topic, per appeal it owns, each seq is the previous + 1
    from the first one seen (created, or rerouted to it).  -> [(last, got)]."""
    last, gaps = {}, []
    for m in msgs:
        if m["org"]["code"] != org:
            continue                      # an escalation of another body's appeal
        prev = last.get(m["appeal_id"])
        if prev is not None and m["seq"] != prev + 1:
            gaps.append((prev, m["seq"]))
        last[m["appeal_id"]] = m["seq"]
    return gaps


def kinds(events):
    return [(e["event"], e.get("timer"), e.get("level")) for e in events]


def test_warning_breach_escalations_up_the_chain_exactly_once():
    with h.Services() as svc, sla_apd(svc) as a:
        t0 = time.time()
        aid = post(a, 100006, 901)
        # warning at 1.5 s, breach at 3 s, level 1 at 4 s, level 2 at 5 s
        evs = [e for e in sla_events(a, 4, timeout=30) if e["timer"] == "first_response"]
        assert kinds(evs) == [("warning", "first_response", None),
                              ("breach", "first_response", None),
                              ("escalation", "first_response", 1),
                              ("escalation", "first_response", 2)], kinds(evs)
        assert time.time() - t0 >= 5
        assert [r["code"] for r in evs[2]["recipients"]] == ["maykop"], evs[2]
        assert [r["code"] for r in evs[3]["recipients"]] == ["cur"], evs[3]
        for e in evs:
            assert e["schema"] == "appealsd.sla/1" and e["appeal_id"] == aid, e
            assert e["org"]["code"] == "maykop-vodokanal", e
            assert e["due_at"].endswith("+03:00") and e.get("late_ms", 0) < 1000, e
        ids = [e["event_id"] for e in evs]
        assert len(set(ids)) == len(ids), ids
        # each escalation also reaches the recipient's own topic
        esc = [m["json"] for m in a.consume("org.maykop", 1)]
        assert esc and esc[0]["event"] == "escalation" and esc[0]["level"] == 1, esc
        # the owner's topic carries every event of the appeal, SLA ones too,
        # so seq runs without a gap there: the consuming guide's loss check
        # (docs/consuming-appeals.md, section 5) holds (issue 15)
        own = [m["json"] for m in a.consume("org.maykop-vodokanal", 5)
               if m["json"]["appeal_id"] == aid]
        assert [(m["event"], m["seq"]) for m in own] == [
            ("created", 1), ("warning", 2), ("breach", 3), ("escalation", 4),
            ("escalation", 5)], own
        assert missed(own, "maykop-vodokanal") == [], own
        # the supervisor's topic has the escalation alone: not its appeal, no check
        assert missed([esc[0]], "maykop") == [], esc
        assert missed([m for m in own if m["seq"] != 3], "maykop-vodokanal") == [(2, 4)]
        # and appeals.all carries them with the state and the clocks
        all_ = [m["json"] for m in a.consume("all", 5)]
        assert [m["event"] for m in all_][:5] == ["created", "warning", "breach",
                                                  "escalation", "escalation"], all_
        assert all_[4]["sla"]["clocks"]["first_response"]["breached"] is True
        time.sleep(1.5)
        assert len([e for e in sla_events(a, 4) if e["timer"] == "first_response"]) == 4
        actions = [(x["action"], x.get("level")) for x in audit(a, aid)]
        assert actions == [("created", None), ("warning", None), ("breach", None),
                           ("escalation", 1), ("escalation", 2)], actions
        rec = a.appeal(aid)
        assert rec["fr"] == "r" and rec["fr_st"] == "15", rec    # all four stages fired
        # nothing claimed is left behind: no lease, no unpublished event
        with a.redis() as r:
            h.wait_until(lambda: r.cmd("ZCARD", a.rkey("outbox")) == 0, what="outbox empty")
            assert r.cmd("ZCARD", a.rkey("sla:lease")) == 0
        text = h.http_get(a.url("/metrics"))[2].decode()
        assert 'appealsd_sla_stages_total{event="breach"} 1' in text, text



def test_page_reply_meets_the_first_response_and_stops_its_clock():
    with h.Services() as svc, sla_apd(svc) as a:
        aid = post(a, 100001, 911)
        # the administration answers in the thread within a second
        st, _, _ = a.post("/webhook/vk", comment(100001, 912, "[id7001|Анна], заявка передана",
                                                 from_id=-100001, reply_to=911))
        assert st == 200
        met = sla_events(a, 1)
        assert kinds(met) == [("met", "first_response", None)], met
        assert met[0]["link"].endswith("reply=912&thread=911"), met[0]
        rec = wait_record(a, aid, lambda r: r.get("fr") == "m", "the first response met")
        assert rec["state"] == "answered" and rec["res"] == "r", rec
        assert int(rec["fr_used"]) < 3000, rec
        time.sleep(4)   # past the 3 s deadline: nothing more for this clock
        assert kinds(sla_events(a, 1)) == [("met", "first_response", None)]
        # the met event is part of the owner's gap-free sequence (issue 15)
        changes = [(m["json"]["event"], m["json"]["seq"]) for m in a.consume("org.maykop", 3)]
        assert changes == [("created", 1), ("answered", 2), ("met", 3)], changes
        st = a.ctl("stats", {"by": "org"})["result"]
        row = [r for r in st["rows"] if r["key"] == "maykop"][0]
        assert row["open"] == 1 and row["answered"] == 1, row
        assert row["first_response_compliance"] == 1.0 and row["median_first_response_s"] <= 3


def test_pause_and_resume_move_the_deadline():
    with h.Services() as svc, sla_apd(svc) as a:
        aid = post(a, 100001, 921)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the record")
        r = a.ctl("pause", {"id": aid, "reason": "уточняем адрес у заявителя"})["result"]
        assert r["state"] == "waiting" and r["id"] == aid, r
        paused = a.appeal(aid)
        assert paused["fr"] == "p" and paused["prev_state"] == "open", paused
        left = int(paused["fr_left"])
        assert 0 < left <= 3000, paused
        time.sleep(4)   # longer than the whole allowance: no breach while waiting
        assert [e["event"] for e in sla_events(a, 1, timeout=3)] in ([], ["warning"])
        again = a.ctl("pause", {"id": aid, "reason": "ещё раз"})
        assert again["ok"] is False and again["code"] == "conflict", again
        t = time.time()
        r = a.ctl("resume", {"id": aid, "reason": "адрес получен"})["result"]
        assert r["state"] == "open", r
        rec = a.appeal(aid)
        assert rec["fr"] == "r" and abs(int(rec["fr_due"]) - (t * 1000 + left)) < 500, rec
        evs = sla_events(a, 2, timeout=10)
        assert ("breach", "first_response", None) in kinds(evs), evs
        breach = [e for e in evs if e["event"] == "breach"][0]
        assert breach["due_at"] == apd.iso_local(int(rec["fr_due"])), (breach, rec)
        assert [x["action"] for x in audit(a, aid)][:3] == ["created", "paused", "resumed"]


def test_two_daemons_on_one_redis_fire_every_stage_exactly_once():
    with h.Services() as svc, sla_apd(svc, name="one") as a:
        shared = {k: v for k, v in a.overrides.items()
                  if k.startswith("kafka.topic") or k == "redis.prefix"}
        shared["control.socket"] = str(a.tmp / "two.sock")
        shared["spool.dir"] = str(a.tmp / "spool-two")
        with sla_apd(svc, name="two", overrides=shared, create_topics=False) as b:
            ids = []
            for i in range(12):
                ids.append(post(a if i % 2 else b, 100001, 1000 + i))
            # per appeal: warning, breach and two escalations of the first response
            evs = sla_events(a, 48, timeout=40)
            time.sleep(2)
            evs = sla_events(a, 48)
            firsts = [e for e in evs if e["timer"] == "first_response"]
            assert len(firsts) == 48, kinds(firsts)
            ids_seen = [e["event_id"] for e in firsts]
            assert len(set(ids_seen)) == 48, "an event was published twice"
            for aid in ids:
                assert sorted(kinds([e for e in firsts if e["appeal_id"] == aid])) == sorted(
                    [("warning", "first_response", None), ("breach", "first_response", None),
                     ("escalation", "first_response", 1),
                     ("escalation", "first_response", 2)]), aid
            fired = []
            for d in (a, b):
                text = h.http_get(d.url("/metrics"))[2].decode()
                fired.append(sum(int(float(l.split()[-1])) for l in text.splitlines()
                                 if l.startswith("appealsd_sla_stages_total{")))
            assert sum(fired) == 48, fired
            print("# stages fired per daemon: %s" % fired)



def status_sender(svc, a):
    """send(body): an agency's status on its own status topic (appeals.status.ORG,
    by the body's org; topic= another one, e.g. to act as someone else)."""
    def send(body, key=None, topic=None):
        value = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        if key is None and isinstance(body, dict):
            key = body.get("appeal_id")
        org = body.get("org") if isinstance(body, dict) else None
        if topic is None:
            topic = "status." + (org if isinstance(org, str) and org.isidentifier() else "maykop")
        h.kafka_produce(svc.kafka_brokers, a.topic(topic), key, value)
    return send


def test_agency_statuses_reroute_and_dead_letters():
    with h.Services() as svc, sla_apd(svc) as a:
        aid = post(a, 100001, 931, text="Яма на дороге Майкоп — Адыгейск у поворота на Ханскую")
        wait_record(a, aid, lambda r: r.get("state") == "open", "the appeal")
        send = status_sender(svc, a)
        base = {"schema": "appealsd.status/1", "appeal_id": aid, "org": "maykop",
                "at": "2026-11-30T10:00:00+03:00"}
        send(dict(base, status="accepted"))
        wait_record(a, aid, lambda r: r["state"] == "accepted", "accepted", timeout=30)
        send(dict(base, status="in_progress", comment="бригада выехала",
                  executor="ЖКХ, участок № 3"))
        wait_record(a, aid, lambda r: r["state"] == "in_progress", "in progress")
        # the executor the agency named reaches its status event (issue 15)
        changed = [m["json"] for m in a.consume("org.maykop", 3)
                   if m["json"]["event"] == "status_changed"]
        assert changed[-1]["status"] == {"status": "in_progress", "comment": "бригада выехала",
                                         "executor": "ЖКХ, участок № 3"}, changed
        # refusals, each on the dead-letter topic of the organisation that sent
        # it: the owner of the status topic it came on, whatever it claims
        send(dict(base, org="minzdrav", status="resolved"), topic="status.maykop")
        send(dict(base, status="done"))
        send("{not json", key=aid)
        send(dict(base, appeal_id="vk:-1:wall:1:c1", status="accepted"), key="vk:-1:wall:1:c1")
        send(dict(base, org="minzdrav", status="resolved"))   # minzdrav as itself
        theirs = a.consume("dlq.minzdrav", 1)
        ours = a.consume("dlq.maykop", 4)
        assert [m["json"]["error"] for m in theirs] == ["not_allowed"], theirs
        by = {m["json"]["error"]: m for m in ours}
        assert sorted(by) == ["bad_json", "bad_message", "not_allowed", "unknown_appeal"], ours
        reasons = [theirs[0]["json"]["reason"]] + [by[e]["json"]["reason"] for e in (
            "bad_message", "unknown_appeal")]
        assert reasons[0].startswith("not_assigned: ") and "minzdrav" in reasons[0], reasons
        # minzdrav's name on maykop's topic: refused for the topic, before the appeal
        spoof = by["not_allowed"]["json"]
        assert "cannot send statuses on" in spoof["reason"] and "minzdrav" in spoof["reason"]
        assert "done" in reasons[1], reasons
        assert reasons[2].startswith("not_found: "), reasons
        send(dict(base, status="accepted", at=None))
        missing = [m["json"] for m in a.consume("dlq.maykop", 5)
                   if '"at" is missing' in m["json"]["reason"]]
        assert len(missing) == 1, missing
        assert by["bad_json"]["json"]["payload"] == "{not json", by["bad_json"]
        assert spoof["origin"]["offset"] == 2, spoof
        assert by["not_allowed"]["headers"]["dlq-reason"] == spoof["reason"], by["not_allowed"]
        assert theirs[0]["headers"]["dlq-reason"] == reasons[0], theirs[0]
        log = a.daemon.log()
        assert "not_assigned" in log and "sent to %s" % a.topic("dlq.minzdrav") in log
        # not ours: re-routed to the suggested body with the reason, time kept
        before = a.appeal(aid)
        send(dict(base, status="rejected", reroute_to="minstroy",
                  comment="дорога республиканского значения"))
        rec = wait_record(a, aid, lambda r: r["org"] == "minstroy", "the re-route")
        assert rec["state"] == "open" and rec["fr_due"] == before["fr_due"], (before, rec)
        moved = [m["json"] for m in a.consume("org.minstroy", 1)]
        assert moved[0]["event"] == "rerouted", moved
        assert moved[0]["previous_org"]["code"] == "maykop", moved
        assert moved[0]["text"].startswith("Яма на дороге"), moved
        assert "not ours: дорога республиканского значения" in moved[0]["reason"], moved
        assert "kept (policy fast)" in moved[0]["reason"], moved[0]
        assert moved[0]["actor"] == {"type": "agency", "id": "org:maykop"}, moved[0]
        # no gap on either topic: the old owner's sequence ends with the
        # re-route, the new owner's starts with it
        assert missed([m["json"] for m in a.consume("org.maykop", 4)], "maykop") == []
        assert missed(moved, "minstroy") == []
        last = [x for x in audit(a, aid) if x["action"] == "rerouted"][0]
        assert (last["actor"], last["prev_org"], last["org"]) == (
            "agency:maykop", "maykop", "minstroy"), last
        # the old owner can no longer change it; the new one resolves it
        send(dict(base, status="resolved"))
        send(dict(base, org="minstroy", status="resolved", comment="яма заделана"))
        rec = wait_record(a, aid, lambda r: r["state"] == "resolved", "resolved")
        assert rec["res"] == "m" and rec["fr"] == "s", rec
        with a.redis() as r:
            assert r.cmd("ZSCORE", a.rkey("idx:open"), aid) is None
            assert r.cmd("PTTL", a.rkey("a:{%s}" % aid)) > 0, "a closed appeal expires"
        counts = [1, 6, 0]   # minzdrav, maykop (and the old owner's late report), shared
        names = ("dlq.minzdrav", "dlq.maykop", "dlq")
        assert [len(a.consume(t, n)) for t, n in zip(names, counts)] == counts
        # offsets were stored: a restart does not handle (or dead-letter) anything again
        a.daemon.stop()
        a.start()
        time.sleep(6)
        assert [len(a.consume(t, n)) for t, n in zip(names, counts)] == counts
        assert [x["action"] for x in audit(a, aid)].count("resolved") == 1


def test_operator_commands_over_the_control_socket():
    with h.Services() as svc, sla_apd(svc) as a:
        aid = post(a, 100001, 951, text="Когда отремонтируют крышу школы № 5?")
        wait_record(a, aid, lambda r: r.get("state") == "open", "the appeal")

        def ok(cmd, **args):
            r = a.ctl(cmd, dict(args, id=aid))
            assert r["ok"], (cmd, r)
            return r["result"]

        def refused(cmd, code, **args):
            r = a.ctl(cmd, dict(args, id=aid))
            assert not r["ok"] and r["code"] == code, (cmd, r)
            return r["error"]

        r = ok("answer", link="https://vk.com/wall-100001_42?reply=960", reason="ответ в личных")
        assert r["state"] == "answered" and r["seq"] >= 2, r
        refused("answer", "conflict")
        assert "convert it first" in refused("extend", "conflict", days=10, reason="x")
        refused("close", "bad_args")                         # the reason is required
        refused("extend", "bad_args", days=31, reason="x")
        ok("convert", reason="заявитель указал ФИО и адрес, просит ответ по 59-ФЗ")
        rec = a.appeal(aid)
        reg = int(rec["registered_ms"])
        assert rec["fz"] == "r" and reg == int(rec["formal_ms"]), rec
        assert int(rec["fz_due"]) == fz_term(a, reg, 30), rec
        refused("convert", "conflict", reason="again")
        ok("extend", days=10, reason="нужен запрос в Росреестр; заявитель уведомлён")
        rec = a.appeal(aid)
        assert int(rec["fz_due"]) == fz_term(a, reg, 40) and rec["exts"] == "1", rec
        assert "allows 1" in refused("extend", "conflict", days=5, reason="ещё")
        evs = [m["json"] for m in a.consume("all", 5)
               if m["json"]["event"] in ("converted", "extended")]
        assert [e["event"] for e in evs] == ["converted", "extended"], evs
        assert evs[1]["extension"]["days"] == 10 and "уведомлён" in evs[1]["reason"], evs[1]
        assert evs[1]["actor"]["type"] == "operator", evs[1]
        refused("reroute", "not_found", org="nosuch", reason="x")
        ok("reroute", org="minobr", reason="школы — минобразования")
        moved = [m["json"] for m in a.consume("org.minobr", 1)]
        assert moved[0]["event"] == "rerouted" and moved[0]["text"].startswith("Когда"), moved
        r = ok("close", reason="крыша отремонтирована")
        assert r["state"] == "closed", r
        refused("close", "conflict", reason="again")
        with a.redis() as rd:
            assert rd.cmd("PTTL", a.rkey("a:{%s}" % aid)) > 0
            assert rd.cmd("ZSCORE", a.rkey("idx:org:minobr"), aid) is None
        st = a.ctl("stats", {"by": "org"})["result"]
        row = [x for x in st["rows"] if x["key"] == "minobr"][0]
        assert row["closed"] == 1 and row["open"] == 0, st
        r = ok("reopen", reason="протекает снова")
        assert r["state"] == "open", r
        rec = a.appeal(aid)
        assert rec["res"] == "r" and rec["fr"] == "m", rec
        with a.redis() as rd:
            assert rd.cmd("PTTL", a.rkey("a:{%s}" % aid)) == -1
            assert rd.cmd("ZSCORE", a.rkey("idx:org:minobr"), aid) is not None
        r = a.ctl("close", {"id": "vk:-1:wall:1:c1", "reason": "x"})
        assert r["code"] == "not_found", r
        entries = audit(a, aid)
        expected = ["created", "answered", "met", "converted", "extended", "rerouted", "closed",
                    "met", "met", "reopened"]
        assert [e["action"] for e in entries] == expected, entries
        assert [e.get("clock") for e in entries if e["action"] == "met"] == [
            "first_response", "resolution", "formal"], entries
        assert all(e["actor"].startswith("operator:") for e in entries[1:]), entries
        assert [e["seq"] for e in entries] == list(range(1, 11)), entries
        changes = [m["json"]["event"] for m in a.consume("all", 10)]
        assert changes == expected, changes


def fz_term(a, from_ms, days):
    """The 59-FZ term from from_ms as `appealsd deadline --policy formal` counts it."""
    p = a.run_tool("deadline", "--from", apd.iso_ms(from_ms), "--add", "%dd" % days,
                   "--policy", "formal")
    return apd.from_iso(p.stdout.decode())


def test_deadline_counts_a_59fz_term_as_the_law_does():
    """`appealsd deadline` with the shipped configuration: 30 days from
    registration on 2 December 2026 end on 1 January 2027, a holiday, and 31
    December is a transferred day off: the term ends with 30 December."""
    conf = apd.REPO / "config" / "appealsd.conf"

    def deadline(*args):
        p = subprocess.run([str(h.daemon_binary()), "deadline", "-c", str(conf)] + list(args),
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return p.stdout.decode().strip()

    base = ("--from", "2026-12-02T10:00", "--add", "30d")
    assert deadline(*base, "--policy", "59fz") == "2026-12-30T23:59:59.999+03:00"
    # plain calendar time stays what it says: the same time of day, 30 days on
    assert deadline(*base, "--calendar") == "2027-01-01T10:00:00.000+03:00"
    # art. 12 ch. 1.1: 20 days; art. 8 ch. 3: 7 days to forward
    assert deadline("--from", "2026-12-02T10:00", "--add", "20d", "--policy",
                    "59fz-migration") == "2026-12-22T23:59:59.999+03:00"
    assert deadline("--from", "2026-12-25T10:00", "--add", "7d", "--policy",
                    "59fz") == "2026-12-30T23:59:59.999+03:00"


def test_59fz_term_runs_from_registration_and_a_forward_starts_a_new_one():
    """A converted appeal's term runs from the day after its registration to
    the end of the last working day (31 Dec 2026 and 1 Jan 2027 are off in the
    shipped calendar); a 'not ours' starts the forward clock; the forward gives
    the receiving body a new term from its registration."""
    extra = '[calendar "ru"]\nfiles = %s\n' % (apd.REPO / "config" / "calendar" / "ru-2026.conf")
    with h.Services() as svc, sla_apd(svc, extra=extra, overrides={"sla.calendar": "ru"}) as a:
        aid = post(a, 100001, 971, text="Яма на дороге Майкоп — Адыгейск у поворота на Ханскую")
        rec = wait_record(a, aid, lambda r: r.get("state") == "open", "the appeal")
        a.appealsctl("convert", aid, "--reason", "письменное обращение с ФИО и адресом",
                     "--received", "2026-12-01T15:00", "--registered", "2026-12-02T10:00")
        rec = a.appeal(aid)
        reg = apd.from_iso("2026-12-02T10:00:00+03:00")
        assert int(rec["registered_ms"]) == reg and rec["rg"] == "m", rec
        assert int(rec["fz_received_ms"]) == apd.from_iso("2026-12-01T15:00:00+03:00"), rec
        # day 30 is 1 January 2027: the term ends with 30 December, Moscow time
        due = apd.from_iso("2026-12-30T23:59:59.999+03:00")
        assert int(rec["fz_due"]) == due == fz_term(a, reg, 30), rec
        shown = json.loads(a.appealsctl("--json", "show", aid).stdout)
        shown = shown.get("result", shown)
        formal = [t for t in shown["timers"] if t["timer"] == "formal"]
        assert formal and formal[0]["due"].startswith("2026-12-30T23:59:59.999"), shown
        conv = [m["json"] for m in a.consume("all", 2) if m["json"]["event"] == "converted"]
        assert conv[0]["sla"]["registered_at"].startswith("2026-12-02T10:00:00"), conv
        assert conv[0]["sla"]["formal_due"].startswith("2026-12-30T23:59:59.999"), conv
        # not ours, no competent body named: 7 days from registration to forward it
        send = status_sender(svc, a)
        send({"schema": "appealsd.status/1", "appeal_id": aid, "org": rec["org"],
              "status": "rejected", "comment": "дорога республиканская",
              "at": "2026-12-03T10:00:00+03:00"})
        rec = wait_record(a, aid, lambda r: r.get("fw") == "r", "the forward clock", timeout=30)
        assert int(rec["fw_due"]) == fz_term(a, reg, 7), rec
        assert int(rec["fw_due"]) == apd.from_iso("2026-12-09T23:59:59.999+03:00"), rec
        # forwarded to the ministry: the forward is met, the ministry's 30 days
        # run from its own registration
        a.appealsctl("reroute", aid, "minstroy", "--reason", "компетенция Минстроя")
        rec = wait_record(a, aid, lambda r: r.get("fw") == "m", "the forward met")
        fwd = int(rec["forwarded_ms"])
        assert int(rec["registered_ms"]) == fwd and rec["org"] == "minstroy", rec
        assert int(rec["fz_due"]) == fz_term(a, fwd, 30) and rec["fz"] == "r", rec
        moved = [m["json"] for m in a.consume("org.minstroy", 1)]
        assert moved[0]["event"] == "rerouted", moved
        assert "new term from registration by minstroy" in moved[0]["reason"], moved
        assert "forwarded_at" in moved[0]["sla"] and "forward_due" not in moved[0]["sla"], moved
        # converted with the registration left to the body: its own clock runs
        # (3 days from receipt), `register` starts the term
        bid = post(a, 100001, 972, text="Яма на дороге Майкоп — Адыгейск у поворота на Ханскую")
        wait_record(a, bid, lambda r: r.get("state") == "open", "the second appeal")
        a.appealsctl("convert", bid, "--reason", "письменное обращение",
                     "--received", "2026-12-01T15:00", "--registered", "pending")
        rec = a.appeal(bid)
        assert rec["rg"] == "r" and "fz" not in rec and "registered_ms" not in rec, rec
        assert int(rec["rg_due"]) == fz_term(a, int(rec["fz_received_ms"]), 3), rec
        # the registration is three days late by now: list --overdue shows it
        late = [x["id"] for x in a.ctl("list", {"overdue": True})["result"]["appeals"]]
        assert bid in late, late
        a.appealsctl("register", bid, "--at", "2026-12-02T10:00", "--reason", "вх. № 1187")
        rec = a.appeal(bid)
        assert rec["rg"] == "m" and int(rec["registered_ms"]) == reg, rec
        assert int(rec["fz_due"]) == due, rec
        assert "registered" in [x["action"] for x in audit(a, bid)]
        assert rec["org"] == "maykop", rec
        evs = [m["json"] for m in a.consume("org.maykop", 6)
               if m["json"]["appeal_id"] == bid and m["json"]["event"] == "registered"]
        assert evs and evs[0]["sla"]["formal_due"].startswith("2026-12-30T23:59:59.999"), evs


def test_redis_restart_keeps_the_timers():
    with h.Services() as svc, h.Services(private=True, kafka=False) as rsvc, \
            sla_apd(svc, overrides={"redis.url": rsvc.redis_url}) as a:
        aid = post(a, 100006, 961)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        rsvc.stop_redis()       # saves a snapshot
        time.sleep(1)
        rsvc.start_redis()      # and the script cache is gone: EVALSHA gets NOSCRIPT
        def fr_events():
            return [e for e in sla_events(a, 1, timeout=5) if e["timer"] == "first_response"]
        h.wait_until(lambda: ("escalation", "first_response", 2) in kinds(fr_events()), 30,
                     what="the last escalation after the Redis restart")
        evs = fr_events()
        want = [("breach", "first_response", None), ("escalation", "first_response", 1),
                ("escalation", "first_response", 2)]
        # The warning fires unless the outage lasted past the breach: a warning
        # that comes due together with its breach is not sent (transition.c),
        # which a slow restart on a loaded machine can cause.
        if ("warning", "first_response", None) in kinds(evs):
            want.append(("warning", "first_response", None))
        assert sorted(kinds(evs)) == sorted(want), kinds(evs)
        time.sleep(1.5)
        again = [e for e in sla_events(a, len(want)) if e["timer"] == "first_response"]
        assert sorted(kinds(again)) == sorted(want), kinds(again)
        st = a.ctl("status")["result"]["redis"]
        assert st["connected"] and not st["came_back_empty"], st
        assert "no reply for" not in a.daemon.log(), "a healthy connection was dropped"




def test_escalation_waits_for_the_recipients_working_hours():
    msk = datetime.timezone(datetime.timedelta(hours=3))
    start = (datetime.datetime.now(msk) + datetime.timedelta(minutes=2)).replace(
        second=0, microsecond=0)
    end = start + datetime.timedelta(hours=1)
    if end.date() != start.date():
        raise h.Skip("too close to midnight for a same-day working window")
    later = '[hours "later"]\ntime = %s-%s\n' % (start.strftime("%H:%M"), end.strftime("%H:%M"))
    # the service organisation's own policy: only a first-response clock
    later += ("[policy \"vodokanal\"]\norg = maykop-vodokanal\nfirst_response = 3s\n"
              "warning = 50%\nescalate = after=1s to=up\nescalate = after=2s to=up:2\n")
    with h.Services() as svc, sla_apd(svc, extra=later,
                                      overrides={"org.maykop.hours": "later"}) as a:
        aid = post(a, 100006, 981)
        # level 1 goes to Maykop's administration, whose day starts at `start`;
        # level 2 goes to the ЦУР's round-the-clock desk at its own time
        evs = [e for e in sla_events(a, 3, timeout=30) if e["timer"] == "first_response"]
        assert kinds(evs) == [("warning", "first_response", None),
                              ("breach", "first_response", None),
                              ("escalation", "first_response", 2)], kinds(evs)
        rec = a.appeal(aid)
        assert rec["fr_st"] == "11", rec     # warning, breach, level 2; level 1 pending
        with a.redis() as r:
            score = int(r.cmd("ZSCORE", a.rkey("sla:due"), aid))
        assert "res" not in rec, rec
        assert score == int(start.timestamp() * 1000), (score, start)



def test_gauges_by_organisation_state_and_municipality():
    with h.Services() as svc, sla_apd(svc, overrides={"sla.metrics_interval": "1s"}) as a:
        for i in range(3):
            post(a, 100001, 990 + i)
        aid = post(a, 100003, 995)
        wait_record(a, aid, lambda r: r.get("state") == "open", "the appeals")
        assert a.ctl("pause", {"id": aid, "reason": "ждём фото"})["ok"]
        time.sleep(5)    # breaches of the three others; then a refresh

        def metrics():
            return h.http_get(a.url("/metrics"))[2].decode()
        want = ['appealsd_open_appeals{org="maykop",state="open"} 3',
                'appealsd_open_appeals{org="takhtamukaysky",state="waiting"} 1',
                'appealsd_open_appeals_by_municipality{municipality="maykop",state="open"} 3',
                'appealsd_overdue_appeals{org="maykop"} 3',
                'appealsd_sla_breached_today{org="maykop"} 3',
                'appealsd_sla_breached_today_by_municipality{municipality="maykop"} 3']
        h.wait_until(lambda: all(w in metrics() for w in want), timeout=10,
                     what="the gauges: %s" % want)
        assert 'appealsd_sla_timer_lateness_seconds_count' in metrics()
        st = a.ctl("stats", {"by": "municipality"})["result"]
        row = [r for r in st["rows"] if r["key"] == "maykop"][0]
        assert (row["open"], row["overdue"], row["breached_today"]) == (3, 3, 3), row
        assert row["first_response_compliance"] is None, row
        assert a.ctl("stats", {"by": "nonsense"})["code"] == "bad_args"


SLOW = """
[policy "slow"]
org = minzdrav
first_response = 25s
resolution = 120s
warning = none
escalate = none
"""


def test_empty_redis_is_detected_and_rebuilt_from_kafka():
    with h.Services() as svc, h.Services(private=True, kafka=False) as rsvc, \
            sla_apd(svc, extra=SLOW, overrides={"redis.url": rsvc.redis_url}) as a:
        t0 = time.time()
        kept = post(a, 100002, 971, text="Нет записи к кардиологу в поликлинике Майкопа")
        gone = post(a, 100002, 972, text="Спасибо, вопрос решён")
        wait_record(a, gone, lambda r: r.get("state") == "open", "the second appeal")
        assert a.ctl("close", {"id": gone, "reason": "решено"})["ok"]
        assert a.ctl("pause", {"id": kept, "reason": "ждём номер полиса"})["ok"]
        assert a.ctl("resume", {"id": kept, "reason": "полис получен"})["ok"]
        before = a.appeal(kept)
        audit_before = audit(a, kept)
        with a.redis() as r:
            due_before = r.cmd("ZSCORE", a.rkey("sla:due"), kept)
        assert due_before is not None
        # Redis comes back without its data
        rsvc.stop_redis()
        (Path(rsvc.dir) / "redis" / "dump.rdb").unlink()
        rsvc.start_redis()
        h.wait_until(lambda: a.ctl("status")["result"]["redis"]["came_back_empty"], timeout=20,
                     what="the empty Redis to be noticed")
        assert "came back EMPTY" in a.daemon.log()
        assert "appealsd_redis_came_back_empty 1" in h.http_get(a.url("/metrics"))[2].decode()
        assert a.appeal(kept) == {}
        r = a.ctl("rebuild")
        assert r["ok"], r
        assert r["result"]["appeals"] == 1 and r["result"]["timers"] == 1, r
        after = a.appeal(kept)
        for k in ("state", "org", "fr", "fr_due", "fr_bud", "res", "res_due", "policy", "seq",
                  "received_ms", "link", "author", "municipality"):
            assert after.get(k) == before.get(k), (k, before, after)
        assert a.appeal(gone) == {}, "closed appeals are not re-armed"
        with a.redis() as rd:
            assert rd.cmd("GET", a.rkey("a:{%s}:text" % kept)).decode().startswith("Нет записи")
            assert rd.cmd("ZSCORE", a.rkey("sla:due"), kept) == due_before
            assert rd.cmd("ZSCORE", a.rkey("idx:org:minzdrav"), kept) is not None
        rebuilt = audit(a, kept)
        # every entry is back, in order (named by the events of the contract)
        assert [x["seq"] for x in rebuilt] == [x["seq"] for x in audit_before], rebuilt
        assert rebuilt[0]["action"] == "created" and rebuilt[-1]["state"] == "open", rebuilt
        # a second rebuild finds everything in place
        assert a.ctl("rebuild")["result"]["skipped"] == 1
        # and the clock goes on: the breach comes at the original deadline, once
        breach = h.wait_until(
            lambda: [e for e in sla_events(a, 0, appeal=kept) if e["event"] == "breach"],
            timeout=max(5, 40 - (time.time() - t0)), interval=0.5, what="the breach")
        time.sleep(1)
        breach = [e for e in sla_events(a, 0, appeal=kept) if e["event"] == "breach"]
        assert len(breach) == 1 and breach[0]["due_at"] == apd.iso_local(int(before["fr_due"]))
        assert time.time() * 1000 >= int(before["fr_due"])


if __name__ == "__main__":
    h.main(globals())
