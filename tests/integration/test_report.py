#!/usr/bin/python3
"""`appealsctl report` end to end: appeals through HTTP, answers from the
page and an operator's reopen through the lifecycle, an incident of three;
the report over the test day gives the figures this test computes on its
own from each appeal's record in Redis; --csv and --by municipality; the
same counts on /metrics; and bad periods are refused."""

import csv
import datetime
import io
import json
import math
import time
import zoneinfo

import apd
from apd import h, vk_appeal_id, vk_comment

# calendar time: first responses take seconds whatever the hour of the run
ON = {"incidents.enabled": "yes", "policy.social.time": "calendar",
      "policy.critical.time": "calendar"}
MAYKOP = [
    (701, "Нет света на ул. Пролетарской с утра, когда включат?"),
    (702, "Пролетарская 12 — электричества нет уже два часа"),
    (703, "Когда дадут свет на Пролетарской? Отключение с утра"),
    (704, "На ул. Шовгенова яма на дороге, машины бьют колёса"),
    (705, "Во дворе на ул. Жуковского не вывозят мусор неделю"),
]
MINZDRAV = [
    (711, "В поликлинике № 2 невозможно записаться к терапевту"),
    (712, "Скорая ехала к бабушке полтора часа, разберитесь"),
]


def wait_for(fn, timeout=20, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def rank(values, q):
    """Nearest-rank percentile, as the report computes it."""
    v = sorted(values)
    return v[max(math.ceil(q * len(v)), 1) - 1] if v else None


def expected(a, ids):
    """The report's figures for each organisation, from the records alone."""
    rows = {}
    for i in ids:
        rec = a.appeal(i)
        r = rows.setdefault(rec["org"], {"appeals": 0, "answered": 0, "answered_on_time": 0,
                                         "formal_answers": 0, "frt": []})
        r["appeals"] += 1
        r["formal_answers"] += rec.get("answer_quality") == "formal"
        if rec.get("fr") == "m":
            r["answered"] += 1
            r["answered_on_time"] += int(rec.get("fr_left", "0")) >= 0
            r["frt"].append(int(rec.get("fr_used", "0")) // 1000)   # 0 is not stored
    for r in rows.values():
        frt = r.pop("frt")
        r["median_first_response_s"] = rank(frt, 0.5)
        r["p90_first_response_s"] = rank(frt, 0.9)
        r["on_time_share"] = round(r["answered_on_time"] / r["appeals"], 4)
    return rows


def test_report_over_a_test_day():
    with h.Services() as svc, apd.Apd(svc, overrides=ON) as a:
        ids = []
        for group, items in ((100001, MAYKOP), (100002, MINZDRAV)):
            for cid, text in items:
                st, _, _ = a.post("/webhook/vk", vk_comment(group, cid, text, from_id=7000 + cid,
                                                            date=int(time.time())))
                assert st == 200
                ids.append(vk_appeal_id(group, cid))
                a.wait_idle()
        wait_for(lambda: a.ctl("incident_show", {"id": ids[0]}).get("result", {}).get("size") == 3,
                 what="the incident of three")
        time.sleep(1.2)          # first responses of a second or more
        # the page answers one report of the outage (all three), the pothole and one of minzdrav's
        for group, parent, cid in ((100001, 702, 731), (100001, 704, 732), (100002, 711, 733)):
            a.post("/webhook/vk", vk_comment(group, cid, "Бригада выехала, сделаем сегодня",
                                             from_id=-group, reply_to=parent))
        # and a formal answer («отписка») to minzdrav's other appeal
        a.post("/webhook/vk", vk_comment(100002, 734, "Ваше обращение передано в профильное "
                                         "ведомство", from_id=-100002, reply_to=712))
        answered = [ids[k] for k in (0, 1, 2, 3, 5, 6)]
        wait_for(lambda: all(a.appeal(i).get("fr") == "m" for i in answered), what="answers")
        out = a.appealsctl("reopen", ids[5], "--reason", "ответ не по существу")
        assert out.returncode == 0, out.stderr
        a.wait_idle()
        tz = zoneinfo.ZoneInfo("Europe/Moscow")     # [daemon] timezone of the example
        day = datetime.datetime.now(tz).date().isoformat()

        def report(*args):
            out = a.appealsctl("--json", "report", "--from", day, "--to", day, *args)
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout)["result"]

        want = expected(a, ids)
        got = wait_for(lambda: (lambda r: r if sum(x["answered"] for x in r["rows"]) == 6
                                else None)(report()), what="the answers counted")
        rows = {r["key"]: r for r in got["rows"]}
        assert set(rows) == set(want), (rows, want)
        for org, w in want.items():
            for k, v in w.items():
                assert rows[org][k] == v, (org, k, rows[org][k], v)
        # the outage's three reports: one incident, under its lead's organisation
        lead = a.ctl("incident_show", {"id": ids[0]})["result"]
        assert lead["size"] == 3, lead
        assert rows[lead["org"]]["incidents"] == 1 and rows[lead["org"]]["incident_reports"] == 3
        assert rows[lead["org"]]["largest_incident"] == 3
        assert sum(r["incidents"] for r in rows.values()) == 1, rows
        assert rows["minzdrav"]["incidents"] == 0
        assert rows["minzdrav"]["reopened_by_operator"] == 1
        # the formal answer: counted, and it opened a rework clock (the default policy)
        assert rows["minzdrav"]["formal_answers"] == 1 and rows["minzdrav"]["reworks"] == 1
        assert rows["maykop"]["formal_answers"] == 0 and rows["maykop"]["reworks"] == 0
        assert rows["minzdrav"]["events"]["reopened"] == 1
        for org, w in want.items():     # every answer and creation counted by its event's name
            assert rows[org]["events"].get("answered", 0) == w["answered"], rows[org]
            assert rows[org]["events"]["created"] == w["appeals"], rows[org]
        # by municipality: every appeal is somewhere, the totals agree
        munis = report("--by", "municipality")["rows"]
        assert sum(r["appeals"] for r in munis) == len(ids), munis
        # --csv: a header and one line per organisation, the same numbers
        out = a.appealsctl("report", "--from", day, "--to", day, "--csv")
        table = list(csv.DictReader(io.StringIO(out.stdout)))
        assert {r["key"]: int(r["appeals"]) for r in table} == \
            {k: w["appeals"] for k, w in want.items()}, out.stdout
        # an empty day, and refusals
        assert report_day(a, "2020-01-01")["rows"] == []
        for bad in (("2026-02-30", day), (day, "2020-01-01"), ("2020-01-01", "2021-06-01")):
            r = a.ctl("report", {"from": bad[0], "to": bad[1]})
            assert r["code"] == "bad_args", r
        incidents = {a.ctl("incident_show", {"id": i})["result"]["incident"] for i in ids}
        series = [l for l in h.http_get(a.url("/metrics"))[2].decode().splitlines()
                  if l.startswith("appealsd_incidents_total{")]
        assert sum(float(l.rsplit(" ", 1)[1]) for l in series) == len(incidents), series
        assert a.metric('appealsd_appeal_events_total{event="reopened",org="minzdrav"') == 1
        # the report's figures as counters by organisation and municipality: summed
        # over municipalities they are the report's rows
        text = h.http_get(a.url("/metrics"))[2].decode()
        for org, w in want.items():
            for fig, col in (("appeals", "appeals"), ("fr_met", "answered"),
                             ("fr_ontime", "answered_on_time"),
                             ("formal_answers", "formal_answers"), ("reworks", "reworks"),
                             ("reopened_by_operator", "reopened_by_operator")):
                pre = 'appealsd_report_figures_total{figure="%s",org="%s",' % (fig, org)
                n = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                        if l.startswith(pre))
                assert n == rows[org][col], (org, fig, n, rows[org][col])
        # the incident of three was answered once: its size in the histogram
        pre = 'appealsd_incident_size_count{org="%s",' % lead["org"]
        assert [l.rsplit(" ", 1)[1] for l in text.splitlines() if l.startswith(pre)] == ["1"]


def report_day(a, day):
    return a.ctl("report", {"from": day, "to": day})["result"]


if __name__ == "__main__":
    h.main(globals())
