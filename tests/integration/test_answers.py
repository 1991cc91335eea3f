#!/usr/bin/python3
"""Answer quality and the citizen's follow-up, end to end: VK webhooks over
HTTP, the pipeline and the lifecycle in Redis, the events on Kafka (checked
against the contract when each daemon stops) and the control socket.

- a formal page answer meets the first response and opens the rework clock;
  a substantive one meets the clock (and a later one meets rework);
- under a policy with answer_quality = required a formal answer leaves the
  first-response clock running to its breach;
- the author's «до сих пор не сделали» under the answer reopens the appeal
  (by: citizen), «спасибо, всё сделали» confirms it, another resident's
  comment in the thread is an appeal of its own."""

import json
import socket

import apd
from apd import h, vk_appeal_id, vk_comment

CONF_D = apd.REPO / "config" / "conf.d"
CONFIG = apd.REPO / "config"

# Seconds of policy are seconds of real time: every body works around the clock.
ANSWER_CONFIG = """
[daemon]
instance = answers-test
[sla]
calendar = none
hours = always
policy = fast
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
warning = none
rework = 4s
escalate = none
[policy "strict"]
org = maykop-vodokanal
first_response = 3s
resolution = 60s
warning = none
answer_quality = required
escalate = none
[answer]
lexicon = {config}/classifier/ru/05-common.lex, {config}/answer/ru.lex
[source "vk"]
[source "telegram"]
secret_token = adygea-telegram-example-secret
linked_chats = -1002087654321=-1001987654321
include {conf_d}/10-organisations.conf
include {conf_d}/20-pages.conf
include {conf_d}/30-rules.conf
[page "vk:100006"]
name = Майкопский водоканал
org = maykop-vodokanal
secret = vodokanal-secret
confirmation = 11223344
"""

SECRETS = {**apd.VK_SECRETS, 100006: "vodokanal-secret"}

COMPLAINT = "Во дворе на Пионерской не горит свет третью ночь"
FORMAL = "Здравствуйте! Ваше обращение передано в профильное ведомство для рассмотрения."
SUBSTANTIVE = "Здравствуйте! Бригада выедет в понедельник, освещение восстановят до 15 мая."


def answers_apd(svc):
    text = ANSWER_CONFIG.format(conf_d=CONF_D, config=CONFIG)
    return apd.Apd(svc, config_text=text)


def send(a, group, cid, text, root=None, **kw):
    """A comment; root: the first comment of its thread (VK's parents_stack),
    when it replies to another comment of that thread (reply_to)."""
    ev = vk_comment(group, cid, text, **kw)
    if root:
        ev["object"]["parents_stack"] = [root]
    ev["secret"] = SECRETS[group]
    st, _, body = a.post("/webhook/vk", ev)
    assert (st, body) == (200, b"ok"), (st, body)
    return vk_appeal_id(group, cid)


def page_answer(a, group, cid, to, text):
    return send(a, group, cid, text, from_id=-group, reply_to=to)


def wait_record(a, aid, pred, what, timeout=15):
    return h.wait_until(lambda: (lambda r: r if r and pred(r) else None)(a.appeal(aid)),
                        timeout=timeout, what=what)


def events_of(a, aid, count, timeout=30):
    return [m["json"] for m in a.consume("all", count, timeout=timeout)
            if m["json"]["appeal_id"] == aid]


def test_a_formal_page_answer_opens_rework_and_a_substantive_one_meets_it():
    with h.Services() as svc, answers_apd(svc) as a:
        aid = send(a, 100001, 1001, COMPLAINT)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal with its clock")
        page_answer(a, 100001, 1002, 1001, FORMAL)
        rec = wait_record(a, aid, lambda r: r.get("rw") == "r", "the rework clock")
        assert rec["fr"] == "m" and rec["state"] == "answered", rec
        assert rec["answer_quality"] == "formal" and "redirect" in rec["answer_reasons"], rec
        assert 3500 <= int(rec["rw_due"]) - int(rec["fr_at"]) <= 4500, rec
        page_answer(a, 100001, 1003, 1001, SUBSTANTIVE)
        rec = wait_record(a, aid, lambda r: r.get("rw") == "m", "rework met")
        assert rec["answer_quality"] == "substantive", rec
        evs = events_of(a, aid, 6)
        answered = [e for e in evs if e["event"] == "answered"]
        assert [e["answer"]["quality"] for e in answered] == ["formal", "substantive"], answered
        assert "redirect" in answered[0]["answer"]["reasons"], answered[0]
        assert {"term", "action"} <= set(answered[1]["answer"]["reasons"]), answered[1]
        met = [(e["event"], e["timer"]) for e in evs if e["schema"] == "appealsd.sla/1"]
        assert met == [("met", "first_response"), ("met", "rework")], met
        # a substantive first answer meets the clock and opens nothing
        other = send(a, 100001, 1011, COMPLAINT)
        wait_record(a, other, lambda r: r.get("fr") == "r", "the second appeal")
        page_answer(a, 100001, 1012, 1011, SUBSTANTIVE)
        rec = wait_record(a, other, lambda r: r.get("fr") == "m", "its first response")
        assert "rw" not in rec and rec["answer_quality"] == "substantive", rec
        show = a.ctl("show", {"id": aid})["result"]
        assert show["appeal"]["answer_quality"] == "substantive", show
        m = 'appealsd_answers_by_quality_total{quality="%s",org="maykop"}'
        assert a.metric(m % "formal") == 1 and a.metric(m % "substantive") == 2
        assert a.metric('appealsd_rework_opened_total{org="maykop"}') == 1


def test_rework_breaches_when_no_substantive_answer_follows():
    with h.Services() as svc, answers_apd(svc) as a:
        aid = send(a, 100001, 1021, COMPLAINT)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        page_answer(a, 100001, 1022, 1021, FORMAL)
        sla = [m["json"] for m in a.consume("sla", 2, timeout=15)]
        assert [(e["event"], e["timer"]) for e in sla] == [("met", "first_response"),
                                                           ("breach", "rework")], sla


def test_with_answer_quality_required_a_formal_answer_does_not_stop_the_clock():
    with h.Services() as svc, answers_apd(svc) as a:
        aid = send(a, 100006, 1031, "Нет воды на Пионерской с утра")
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        page_answer(a, 100006, 1032, 1031, FORMAL)
        rec = wait_record(a, aid, lambda r: r.get("answer_quality") == "formal", "the verdict")
        assert rec["fr"] == "r" and rec.get("rw") is None, rec
        sla = [m["json"] for m in a.consume("sla", 1, timeout=15)]
        assert [(e["event"], e["timer"]) for e in sla] == [("breach", "first_response")], sla
        page_answer(a, 100006, 1033, 1031, SUBSTANTIVE)
        rec = wait_record(a, aid, lambda r: r.get("fr") == "m", "met by the substantive one")
        assert int(rec["fr_left"]) < 0, rec          # late: after the breach
        audit = [x for x in apd_audit(a, aid) if x["action"] == "answered"]
        assert "requires a substantive answer" in audit[0]["reason"], audit


def apd_audit(a, aid):
    with a.redis() as r:
        return [json.loads(x) for x in r.cmd("LRANGE", a.rkey("a:{%s}:audit" % aid), 0, -1)]


def test_the_authors_follow_up_reopens_or_confirms():
    with h.Services() as svc, answers_apd(svc) as a:
        aid = send(a, 100001, 1101, COMPLAINT, from_id=7001)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        page_answer(a, 100001, 1102, 1101, SUBSTANTIVE)
        wait_record(a, aid, lambda r: r.get("state") == "answered", "answered")
        # the author, in the thread: still not done
        send(a, 100001, 1103, "Прошла неделя, до сих пор не сделали", from_id=7001,
             reply_to=1102, root=1101)
        rec = wait_record(a, aid, lambda r: r.get("state") == "open", "reopened")
        assert rec["reopens"] == "1" and rec["res"] == "r", rec
        assert not a.appeal(vk_appeal_id(100001, 1103))      # no appeal of its own
        # a question under the answer is an update of the appeal, with its text
        send(a, 100001, 1107, "А во сколько приедет бригада?", from_id=7001, reply_to=1102,
             root=1101)
        # (comments of separate webhooks are applied as they reach the lifecycle:
        # wait for this one before the page answers again)
        h.wait_until(lambda: "updated" in [x["action"] for x in apd_audit(a, aid)],
                     what="the update")
        # answered again, then confirmed
        page_answer(a, 100001, 1104, 1101, "Светильники заменили сегодня, проверьте.")
        wait_record(a, aid, lambda r: r.get("state") == "answered", "answered again")
        send(a, 100001, 1105, "Спасибо, всё сделали!", from_id=7001, reply_to=1104,
             root=1101)
        rec = wait_record(a, aid, lambda r: int(r.get("confirmed_ms", 0)) > 0, "confirmed")
        assert rec["state"] == "answered", rec
        # someone else's complaint in the same thread is an appeal of its own
        other = send(a, 100001, 1106, "У нас в соседнем дворе до сих пор не горит свет",
                     from_id=7002, reply_to=1101)
        wait_record(a, other, lambda r: r.get("state") == "open", "the neighbour's appeal")
        assert a.appeal(aid)["state"] == "answered"
        evs = events_of(a, aid, 14)
        names = [e["event"] for e in evs if e["schema"] == "appealsd.appeal/1"]
        assert names == ["created", "answered", "reopened", "updated", "answered",
                         "confirmed"], names
        upd = [e for e in evs if e["event"] == "updated"][0]
        assert upd["text"] == "А во сколько приедет бригада?", upd
        reopened = [e for e in evs if e["event"] == "reopened"][0]
        assert reopened["by"] == "citizen" and reopened["actor"]["type"] == "citizen", reopened
        assert reopened["state"] == "open", reopened
        confirmed = [e for e in evs if e["event"] == "confirmed"][0]
        assert confirmed["by"] == "citizen", confirmed
        actors = [x["actor"] for x in apd_audit(a, aid) if x["action"] in ("reopened",
                                                                           "confirmed")]
        assert len(actors) == 2 and all(x.startswith("citizen:") for x in actors), actors
        m = 'appealsd_citizen_followups_total{outcome="%s",org="maykop"}'
        assert a.metric(m % "reopened") == 1 and a.metric(m % "confirmed") == 1


def test_the_authors_follow_up_on_telegram():
    """Telegram gives the author and the message a comment replies to: the
    author replying to their own answered comment in the channel's
    discussion thread reopens the appeal, then confirms it; another
    resident's reply to it is an appeal of its own."""
    import sources as s
    with h.Services() as svc, answers_apd(svc) as a:
        copy = s.tg_copy(post_id=42, copy_id=100)
        a.post(*s.tg_post(1, "message", copy))
        mine = s.tg_comment(101, COMPLAINT, copy, 100, user=5001)
        st, _, _ = a.post(*s.tg_post(2, "message", mine))
        assert st == 200
        aid = s.tg_appeal_id(101)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        a.post(*s.tg_post(3, "message", s.tg_comment(102, SUBSTANTIVE, mine, 100,
                                                      sender_chat=s.TG_CHANNEL)))
        wait_record(a, aid, lambda r: r.get("state") == "answered", "answered")
        a.post(*s.tg_post(4, "message", s.tg_comment(103, "Прошла неделя, до сих пор не "
                                                      "сделали", mine, 100, user=5001)))
        rec = wait_record(a, aid, lambda r: r.get("state") == "open", "reopened")
        assert rec["reopens"] == "1", rec
        assert not a.appeal(s.tg_appeal_id(103))             # no appeal of its own
        a.post(*s.tg_post(5, "message", s.tg_comment(104, "Светильники заменили сегодня.",
                                                      mine, 100, sender_chat=s.TG_CHANNEL)))
        wait_record(a, aid, lambda r: r.get("state") == "answered", "answered again")
        a.post(*s.tg_post(6, "message", s.tg_comment(105, "Спасибо, всё сделали!", mine, 100,
                                                      user=5001)))
        rec = wait_record(a, aid, lambda r: int(r.get("confirmed_ms", 0)) > 0, "confirmed")
        assert rec["state"] == "answered", rec
        other = s.tg_comment(106, "У нас в соседнем дворе до сих пор не горит свет", mine,
                             100, user=5002)
        a.post(*s.tg_post(7, "message", other))
        wait_record(a, s.tg_appeal_id(106), lambda r: r.get("state") == "open",
                    "the neighbour's appeal")
        names = [e["event"] for e in events_of(a, aid, 12)
                 if e["schema"] == "appealsd.appeal/1"]
        assert names == ["created", "answered", "reopened", "answered", "confirmed"], names
        m = 'appealsd_citizen_followups_total{outcome="%s",org="maykop"}'
        assert a.metric(m % "reopened") == 1 and a.metric(m % "confirmed") == 1


def tail(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(str(a.tmp / "ctl.sock"))
    s.sendall(json.dumps({"cmd": "tail", "args": {"types": "appeal"}}).encode() + b"\n")
    f = s.makefile("rb")
    assert json.loads(f.readline())["ok"] is True
    h.wait_until(lambda: a.ctl("status")["result"]["control"]["tail_subscribers"] == 1,
                 what="the tail subscriber")
    return s, f


def test_operators_answers_are_judged_and_the_tail_shows_the_quality():
    with h.Services() as svc, answers_apd(svc) as a:
        s, f = tail(a)
        aid = send(a, 100001, 1201, COMPLAINT)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        r = a.ctl("answer", {"id": aid, "reason": "ответили по телефону",
                             "text": "Рекомендуем обратиться в управляющую компанию."})
        assert r["ok"], r
        rec = wait_record(a, aid, lambda r: r.get("rw") == "r", "rework after a formal answer")
        assert rec["answer_quality"] == "formal" and "elsewhere" in rec["answer_reasons"], rec
        # while rework runs the operator may answer again, substantively
        r = a.ctl("answer", {"id": aid, "reason": "выезд", "text": "Двор очищен сегодня утром."})
        assert r["ok"], r
        wait_record(a, aid, lambda r: r.get("rw") == "m", "rework met")
        r = a.ctl("answer", {"id": aid, "text": "ещё раз"})
        assert r["ok"] is False and r["code"] == "conflict", r
        seen = []
        while len(seen) < 3:
            e = json.loads(f.readline())["event"]
            seen.append((e["event"], e.get("quality")))
        assert seen == [("created", None), ("answered", "formal"),
                        ("answered", "substantive")], seen
        evs = [e for e in events_of(a, aid, 5) if e["event"] == "answered"]
        assert [e["answer"].get("meets_first_response") for e in evs] == [True, None], evs
        s.close()


def test_an_agencys_answered_status_is_judged_by_its_comment():
    with h.Services() as svc, answers_apd(svc) as a:
        aid = send(a, 100001, 1301, COMPLAINT)
        wait_record(a, aid, lambda r: r.get("fr") == "r", "the appeal")
        status = {"schema": "appealsd.status/1", "appeal_id": aid, "org": "maykop",
                  "status": "answered", "at": "2026-11-30T10:00:00+03:00",
                  "comment": "Информация доведена до сведения подрядчика, вопрос на контроле."}
        h.kafka_produce(svc.kafka_brokers, a.topic("status.maykop"), aid,
                        json.dumps(status, ensure_ascii=False))
        rec = wait_record(a, aid, lambda r: r.get("rw") == "r", "rework after the agency's",
                          timeout=30)
        assert rec["answer_quality"] == "formal" and rec["fr"] == "m", rec
        evs = [e for e in events_of(a, aid, 3) if e["event"] == "answered"]
        assert evs[0]["answer"]["by"] == "agency" and evs[0]["answer"]["quality"] == "formal"
        assert evs[0]["answer"]["meets_first_response"] is True, evs


if __name__ == "__main__":
    h.main(globals())
