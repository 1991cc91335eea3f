#!/usr/bin/python3
"""Incidents end to end (HTTP -> spool -> classifier -> Redis -> Kafka ->
socket): five reports of one outage, under two posts and from five citizens,
become one incident; a report of another street stays apart; the page's one
reply to one of them answers all five; operators see, split and merge
incidents; every incident event keeps the contract."""

import json
import time

import apd
from apd import h, vk_appeal_id, vk_comment

OUTAGE = [
    "Нет света на ул. Пролетарской с шести утра, когда включат?",
    "Майкоп, Пролетарская улица — электричества нет уже полтора часа",
    "Пролетарская 45, отключили свет без предупреждения. Сколько ждать?",
    "У нас на улице Пролетарской до сих пор нет электроэнергии",
    "Когда дадут свет на Пролетарской? С утра отключение",
]
OTHER = "На ул. Шовгенова яма на дороге, машины бьют колёса"
ON = {"incidents.enabled": "yes", "incidents.high_at": "3", "incidents.urgent_at": "5"}


def wait_for(fn, timeout=20, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def post_reports(a, base_date=1795900000):
    ids = []
    for i, text in enumerate(OUTAGE):
        post = 42 if i % 2 == 0 else 43
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 801 + i, text, post_id=post,
                                                    from_id=7001 + i, date=base_date + 60 * i))
        assert st == 200, st
        ids.append(vk_appeal_id(100001, 801 + i, post_id=post))
        a.wait_idle()          # in time order, as citizens wrote them
    a.post("/webhook/vk", vk_comment(100001, 820, OTHER, date=base_date + 400))
    a.wait_idle()
    return ids, vk_appeal_id(100001, 820)


def incident_of(a, appeal):
    r = a.ctl("incident_show", {"id": appeal})
    return r["result"] if r.get("ok") else None


def test_five_reports_one_incident_answered_once():
    with h.Services() as svc, apd.Apd(svc, overrides=ON) as a:
        ids, other = post_reports(a)
        inc = wait_for(lambda: (lambda r: r if r and r["size"] == 5 else None)(
            incident_of(a, ids[0])), what="one incident of five")
        assert [x["id"] for x in inc["appeals"]] == ids, inc
        assert inc["lead"] == ids[0] and inc["priority"] == "urgent", inc
        assert inc["municipality"] == "maykop", inc
        for i in ids[1:]:
            assert incident_of(a, i)["incident"] == inc["incident"]
        lone = wait_for(lambda: incident_of(a, other), what="the pothole's incident")
        assert lone["incident"] != inc["incident"] and lone["size"] == 1, lone
        # every join is on Kafka, keyed by its appeal, with the size it made
        joined = [m["json"] for m in a.consume("triage", 40)
                  if m["json"]["event"] == "incident_joined"]
        sizes = {m["appeal_id"]: m["size"] for m in joined}
        assert sizes == {**{ids[k]: k + 1 for k in range(5)}, other: 1}, sizes
        assert {m["incident"] for m in joined if m["appeal_id"] in ids} == {inc["incident"]}
        assert [m.get("priority") for m in joined if m["appeal_id"] in ids] == \
            [None, None, "high", "high", "urgent"], joined
        # the page answers one of them, in its thread: all five are answered
        a.post("/webhook/vk", vk_comment(100001, 830, "Бригада выехала, свет дадут к 14:00",
                                         from_id=-100001, reply_to=803, post_id=42))
        wait_for(lambda: all(a.appeal(i).get("state") == "answered" for i in ids),
                 what="every appeal of the incident answered")
        assert a.appeal(other).get("state") == "open"
        for i in ids:
            assert a.appeal(i)["fr"].startswith("m"), (i, a.appeal(i))
        assert incident_of(a, ids[0])["state"] == "answered"
        assert a.metric("appealsd_incident_answers_total") == 4
        # the report's figures as series, by organisation and municipality
        org = a.appeal(ids[0])["org"]
        lbl = '{org="%s",municipality="maykop"}' % org
        assert a.metric("appealsd_incident_size_count" + lbl) == 1
        assert a.metric("appealsd_incident_size_sum" + lbl) == 5
        assert a.metric('appealsd_incident_size_bucket{org="%s",municipality="maykop",le="3"}'
                        % org) == 0
        assert a.metric('appealsd_incident_size_bucket{org="%s",municipality="maykop",le="5"}'
                        % org) == 1
        same = [i for i in ids + [other] if a.appeal(i)["org"] == org]
        assert a.metric('appealsd_report_figures_total{figure="appeals",org="%s",'
                        'municipality="maykop"}' % org) == len(same)
        met = [l for l in h.http_get(a.url("/metrics"))[2].decode().splitlines()
               if l.startswith('appealsd_report_figures_total{figure="fr_met"')]
        assert sum(float(l.rsplit(" ", 1)[1]) for l in met) == 5, met   # one per answer

        answered = wait_for(lambda: [m["json"] for m in a.consume("all", 60)
                                     if m["json"]["event"] == "answered"
                                     and m["json"]["appeal_id"] in ids] or None,
                            what="answered events")
        assert sorted(m["appeal_id"] for m in answered) == sorted(ids), answered
        # a sixth report after the answer joins the answered incident and is answered at once
        a.post("/webhook/vk", vk_comment(100001, 840, "Пролетарская, света так и нет!",
                                         from_id=7300, date=1795900000 + 900))
        late = vk_appeal_id(100001, 840)
        wait_for(lambda: a.appeal(late).get("state") == "answered", what="the late report answered")
        assert incident_of(a, late)["incident"] == inc["incident"]
        # the contract check runs at exit (apd.Apd.__exit__)


def test_operators_split_and_merge():
    with h.Services() as svc, apd.Apd(svc, overrides=ON) as a:
        ids, other = post_reports(a)
        inc = wait_for(lambda: (lambda r: r if r and r["size"] == 5 else None)(
            incident_of(a, ids[0])), what="one incident of five")
        out = a.appealsctl("incident", "split", inc["incident"], ids[3], ids[4])
        assert out.returncode == 0, out.stderr
        new = incident_of(a, ids[3])
        assert new["size"] == 2 and new["split_from"] == inc["incident"], new
        assert [x["id"] for x in new["appeals"]] == ids[3:], new
        assert incident_of(a, ids[0])["size"] == 3
        # merging back by naming appeals of each
        out = a.appealsctl("incident", "merge", ids[0], ids[4])
        assert out.returncode == 0, out.stderr
        back = incident_of(a, ids[4])
        assert back["incident"] == inc["incident"] and back["size"] == 5, back
        gone = a.ctl("incident_show", {"id": new["incident"]})["result"]
        assert gone["state"] == "merged" and gone["merged_into"] == inc["incident"], gone
        # refusals: not in it, all of it, the same incident, unknown
        bad = a.ctl("incident_split", {"id": inc["incident"], "appeals": [other]})
        assert bad["code"] == "bad_args", bad
        bad = a.ctl("incident_split", {"id": inc["incident"], "appeals": ids})
        assert bad["code"] == "bad_args", bad
        bad = a.ctl("incident_merge", {"id": ids[0], "from": ids[1]})
        assert bad["code"] == "conflict", bad
        bad = a.ctl("incident_show", {"id": "inc-999"})
        assert bad["code"] == "not_found", bad
        events = [m["json"]["event"] for m in a.consume("triage", 40)]
        assert events.count("incident_split") == 1 and events.count("incident_merged") == 1


def test_two_daemons_grouping_race_free():
    """Two instances share Redis: reports posted to both at once still make
    one incident (the compare-and-set join decides again on a conflict)."""
    with h.Services() as svc, apd.Apd(svc, overrides=ON) as a, \
            apd.Apd(svc, overrides=ON, u=a.u, name="second", create_topics=False) as b:
        ids = []
        for i, text in enumerate(OUTAGE * 2):
            d = a if i % 2 == 0 else b
            d.post("/webhook/vk", vk_comment(100001, 901 + i, text, from_id=7101 + i,
                                             date=1795900000 + i))
            ids.append(vk_appeal_id(100001, 901 + i))
        a.wait_idle()
        b.wait_idle()
        inc = wait_for(lambda: (lambda r: r if r and r["size"] == 10 else None)(
            incident_of(a, ids[0])), what="one incident of ten")
        assert sorted(x["id"] for x in inc["appeals"]) == sorted(ids), inc


# First response in 6 s of calendar time, nothing else: the clocks of
# appeals in an incident are seen firing (or not) within a test.
SHORT = dict(ON, **{"policy.%s.%s" % (p, k): v for p in ("social", "critical")
                    for k, v in (("first_response", "6s"), ("time", "calendar"),
                                 ("resolution", "none"), ("warning", "none"),
                                 ("escalate", "none"))})


def due(a, appeal):
    """The appeal's next SLA stage in sla:due, or None: nothing of it fires."""
    with a.redis() as r:
        return r.cmd("ZSCORE", a.rkey("sla:due"), appeal)


def audit(a, appeal):
    with a.redis() as r:
        return [json.loads(x) for x in r.cmd("LRANGE", a.rkey("a:{%s}:audit" % appeal), 0, -1)]


def held_by(a, appeal, lead):
    r = a.appeal(appeal)
    return r if r.get("inc_lead") == lead else None


def test_the_sla_runs_on_the_incident():
    """Five reports, one incident: only the lead's clock fires, its one breach
    names the incident's appeals; a split-off report gets its own clock back
    (audited) and breaches on its own; an answer to the incident meets all."""
    with h.Services() as svc, apd.Apd(svc, overrides=SHORT) as a:
        ids, other = post_reports(a)
        inc = wait_for(lambda: (lambda r: r if r and r["size"] == 5 else None)(
            incident_of(a, ids[0])), what="one incident of five")
        for i in ids[1:]:
            wait_for(lambda: held_by(a, i, ids[0]), what="%s held by the lead" % i)
            assert a.appeal(i)["inc"] == inc["incident"]
            assert due(a, i) is None, i   # nothing of its own fires
        out = a.appealsctl("incident", "split", inc["incident"], ids[4])
        assert out.returncode == 0, out.stderr
        wait_for(lambda: held_by(a, ids[4], ids[4]), what="the split one leads its own")
        assert due(a, ids[4]) is not None, "its own clock is back"
        trail = audit(a, ids[4])
        acts = [(e["action"], e.get("actor")) for e in trail]
        assert acts[-2:] == [("incident_changed", "incident:" + inc["incident"]),
                             ("incident_changed", "incident:" + incident_of(a, ids[4])["incident"])
                             ], acts
        assert "own clocks run again from its receipt" in trail[-1]["reason"], trail[-1]
        # each clock that is its own breaches once: the lead's (for the
        # incident), the split one's, the lone pothole's; the held four never
        breaches = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(
            [m["json"] for m in a.consume("sla", 3, timeout=20)
             if m["json"]["event"] == "breach"]), timeout=40, what="three breaches")
        time.sleep(2)
        breaches = [m["json"] for m in a.consume("sla", 3) if m["json"]["event"] == "breach"]
        assert sorted(b["appeal_id"] for b in breaches) == sorted([ids[0], ids[4], other]), \
            breaches
        lead = [b for b in breaches if b["appeal_id"] == ids[0]][0]
        assert lead["sla"]["incident"] == {"id": inc["incident"], "lead": ids[0], "held": False,
                                           "appeals": ids[:4]}, lead["sla"]
        # one answer to the incident meets every member's clock
        r = a.ctl("answer", {"id": ids[2], "reason": "бригада выехала",
                             "text": "Свет дадут сегодня к 14:00, бригада на месте."})
        assert r.get("ok"), r
        wait_for(lambda: all(a.appeal(i).get("fr", "").startswith("m") for i in ids[:4]),
                 what="every member's first response met")
        assert not a.appeal(ids[4]).get("fr", "").startswith("m")
        changed = [m["json"] for m in a.consume("all", 60)
                   if m["json"]["event"] == "incident_changed"]
        assert {m["appeal_id"] for m in changed} >= set(ids), changed


def test_merge_gives_the_earliest_clocks():
    """Two incidents merged: the earlier lead's clocks run for all; the other
    lead's are held from then on."""
    with h.Services() as svc, apd.Apd(svc, overrides=ON) as a:
        ids, _ = post_reports(a)
        inc = wait_for(lambda: (lambda r: r if r and r["size"] == 5 else None)(
            incident_of(a, ids[0])), what="one incident of five")
        a.appealsctl("incident", "split", inc["incident"], ids[0], ids[1])
        wait_for(lambda: held_by(a, ids[2], ids[2]), what="the rest led by the third")
        wait_for(lambda: held_by(a, ids[1], ids[0]), what="the split pair led by the first")
        a.appealsctl("incident", "merge", ids[2], ids[0])
        for i in ids[1:]:
            wait_for(lambda: held_by(a, i, ids[0]), what="%s led by the earliest" % i)
        assert due(a, ids[0]) is not None and due(a, ids[2]) is None


def test_each_citizen_hears_the_answer_in_their_own_thread():
    """Acknowledgements on: an operator's answer to one report of an
    incident of five reaches each of the five citizens, once, in the thread
    of their own comment (the acknowledgements' path: the page's token, VK
    wall.createComment under their comment)."""
    token = "vk1.a.community-token"

    def respond(req):
        assert req["path"] == "/method/wall.createComment", req["path"]
        return (200, {"response": {"comment_id": 9000 + req["n"], "parents_stack": []}})

    with apd.FakeHTTP(respond) as api, h.Services() as svc:
        over = dict(ON, **{"ack.enabled": "yes", "ack.vk_api": api.url("/method"),
                           "ack.min_interval": "50ms", "page.vk:100001.ack_token": token})
        with apd.Apd(svc, overrides=over) as a:
            ids, other = post_reports(a)
            wait_for(lambda: (lambda r: r if r and r["size"] == 5 else None)(
                incident_of(a, ids[0])), what="one incident of five")
            api.wait_for(6)                      # the acknowledgements on open
            r = a.ctl("answer", {"id": ids[2], "reason": "ответ на инцидент",
                                 "text": "Линию восстановили, свет дали в 14:00."})
            assert r.get("ok"), r

            def replies():
                return [q["form"] for q in api.requests
                        if "рассмотрено вместе" in q["form"].get("message", "")]
            got = wait_for(lambda: (lambda x: x if len(x) >= 5 else None)(replies()),
                           what="a reply to each citizen")
            time.sleep(1)                        # and no more than one each
            got = replies()
            assert sorted(int(f["reply_to_comment"]) for f in got) == [801, 802, 803, 804, 805], \
                got
            numbers = {m["json"]["appeal_id"]: m["json"]["number"] for m in a.consume("all", 6)
                       if m["json"]["event"] == "created"}
            for f in got:
                assert "Линию восстановили" in f["message"] and f["access_token"] == token, f
                own = ids[int(f["reply_to_comment"]) - 801]
                assert numbers[own] in f["message"], (own, f["message"])
            assert a.metric('appealsd_incident_replies_total{outcome="queued"}') == 5


def test_off_by_default():
    with h.Services() as svc, apd.Apd(svc) as a:
        ids, _ = post_reports(a)
        assert a.ctl("incident_show", {"id": ids[0]})["code"] == "not_found"


if __name__ == "__main__":
    h.main(globals())
