#!/usr/bin/python3
"""Incidents end to end (HTTP -> spool -> classifier -> Redis -> Kafka ->
socket): five reports of one outage, under two posts and from five citizens,
become one incident; a report of another street stays apart; the page's one
reply to one of them answers all five; operators see, split and merge
incidents; every incident event keeps the contract."""

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


def test_off_by_default():
    with h.Services() as svc, apd.Apd(svc) as a:
        ids, _ = post_reports(a)
        assert a.ctl("incident_show", {"id": ids[0]})["code"] == "not_found"


if __name__ == "__main__":
    h.main(globals())
