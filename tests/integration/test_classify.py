#!/usr/bin/python3
"""Classification in the pipeline, end to end: a VK comment that is an appeal
reaches its organisation's topic with the classifiers' decision; noise and
thanks are counted and kept (appeals.all, a Redis record without a timer) but
never reach an organisation; an edit can make an appeal of a non-appeal; and
the lexicons and the trained model are read again on reload, and a broken
one is refused while the running one keeps serving."""

import json
import shutil

import apd
from apd import h, vk_appeal_id, vk_comment, vk_event



def test_appeal_carries_classification_noise_is_counted_not_routed():
    with h.Services() as svc, apd.Apd(svc) as a:
        noise = "Доброе утро всем! 😊"
        thanks = "Спасибо администрации за праздник, дети в восторге!"
        appeal = ("Здравствуйте! В Майкопе на ул. Пионерской третий день нет горячей воды, "
                  "в доме маленькие дети. Примите меры!")
        for cid, text in ((901, noise), (902, thanks), (903, appeal)):
            st, _, body = a.post("/webhook/vk", vk_comment(100001, cid, text))
            assert (st, body) == (200, b"ok"), (st, body)

        # hot water in Maykop: the water utility, the city in copy (30-rules.conf)
        org = a.consume("org.maykop-vodokanal", 1)
        assert len(org) == 1, [m["json"]["text"] for m in org]
        assert len(a.consume("org.maykop", 1)) == 1
        m = org[0]["json"]
        assert m["org"]["code"] == "maykop-vodokanal" and m["route"]["rule"] == "maykop-water", m
        assert m["appeal_id"] == vk_appeal_id(100001, 903), m
        c = m["classification"]
        assert c["is_appeal"] is True and c["kind"] == "complaint", c
        assert c["category"] == "housing" and c["municipality"] == "maykop", c
        assert c["priority"] == "high" and c["priority_reason"] == "нет воды", c
        assert c["confidences"]["category"] > 0.5 and 0 < c["confidence"] <= 1, c
        assert c["municipality_from"] == "text" and m["municipality"] == "maykop", c
        terms = {(e["field"], e.get("term")) for e in c["evidence"]}
        # the model names the words that weighed most; the gazetteer the place
        assert ("category", "воды") in terms and ("municipality", "майкоп*") in terms, terms
        assert c["classifiers"] == ["ru", "spam"], c

        everything = a.consume("all", 3)
        by_id = {x["json"]["appeal_id"]: x["json"] for x in everything}
        n = by_id[vk_appeal_id(100001, 901)]
        assert n["classification"]["is_appeal"] is False and n["classification"]["kind"] == "noise"
        assert "org" not in n and "route" not in n and "sla" not in n, n
        assert n["state"] == "not_appeal" and "category" not in n["classification"], n
        g = by_id[vk_appeal_id(100001, 902)]
        assert g["classification"]["kind"] == "gratitude" and g["state"] == "feedback", g
        assert len(a.consume("triage", 0, timeout=1)) == 0

        a.wait_idle()
        rec = a.appeal(vk_appeal_id(100001, 901))
        assert rec["state"] == "not_appeal" and rec["kind"] == "noise", rec
        assert "category" not in rec and "org" not in rec, rec
        assert a.appeal(vk_appeal_id(100001, 902))["state"] == "feedback"
        rec = a.appeal(vk_appeal_id(100001, 903))
        assert rec["state"] == "open" and rec["category"] == "housing", rec
        assert rec["municipality"] == "maykop" and rec["priority"] == "high", rec
        with a.redis() as r:
            timers = [t for t in r.zrange(a.rkey("sla:due"))]
            still_open = r.zrange(a.rkey("idx:open"))
        assert timers == [vk_appeal_id(100001, 903)], timers
        assert still_open == [vk_appeal_id(100001, 903)], still_open

        assert a.metric('appealsd_classified_total{kind="noise"}') == 1
        assert a.metric('appealsd_classified_total{kind="gratitude"}') == 1
        assert a.metric('appealsd_classified_total{kind="complaint"}') == 1
        assert a.metric('appealsd_appeals_total{org="maykop-vodokanal",event="created"}') == 1
        assert a.metric('appealsd_appeals_total{org="triage",event="created"}') == 0


def test_housing_stock_goes_to_the_inspectorate_with_the_city_in_copy():
    """A roof leak and an idle management company: state housing supervision,
    not the construction ministry (issue 13, finding 8)."""
    with h.Services() as svc, apd.Apd(svc) as a:
        text = ("Управляющая компания третий месяц не чинит крышу на ул. Шовгенова в "
                "Майкопе, в подъезде течёт с потолка. Примите меры!")
        st, _, body = a.post("/webhook/vk", vk_comment(100001, 960, text))
        assert (st, body) == (200, b"ok"), (st, body)
        m = a.consume("org.zhilnadzor", 1)
        assert len(m) == 1, "no appeal on appeals.org.zhilnadzor"
        m = m[0]["json"]
        assert m["org"]["name"] == "Управление государственного жилищного надзора Республики " \
            "Адыгея", m["org"]
        assert m["route"]["rule"] == "housing-stock" and m["route"]["copies"] == ["maykop"], m
        assert m["classification"]["category"] == "housing", m["classification"]
        assert len(a.consume("org.maykop", 1)) == 1
        assert len(a.consume("org.minstroy", 0, timeout=1)) == 0
        a.wait_idle()
        rec = a.appeal(vk_appeal_id(100001, 960))
        assert rec["org"] == "zhilnadzor" and rec["copies"] == "maykop", rec


def test_edit_makes_an_appeal_of_noise():
    with h.Services() as svc, apd.Apd(svc) as a:
        aid = vk_appeal_id(100001, 950)
        a.post("/webhook/vk", vk_comment(100001, 950, "+"))
        a.wait_idle()
        assert a.appeal(aid)["state"] == "not_appeal"
        edit = vk_event(100001, "wall_reply_edit",
                        {"id": 950, "from_id": 7001, "date": 1795900100, "post_id": 42,
                         "owner_id": -100001, "text": "Во дворе на Курганной сломаны качели, "
                         "дети могут пораниться, почините пожалуйста"}, "ev-edit-950")
        st, _, body = a.post("/webhook/vk", edit)
        assert (st, body) == (200, b"ok")
        org = a.consume("org.maykop", 1)
        assert len(org) == 1 and org[0]["json"]["event"] == "updated", org
        c = org[0]["json"]["classification"]
        assert c["is_appeal"] and c["category"] == "improvement", c
        assert org[0]["json"]["route"]["rule"], org[0]["json"]
        a.wait_idle()
        rec = a.appeal(aid)
        assert rec["state"] == "open" and rec["org"] == "maykop", rec
        assert rec["kind"] == "complaint" and rec["category"] == "improvement", rec
        with a.redis() as r:
            assert r.zrange(a.rkey("sla:due")) == [aid]


def test_deleted_and_restored_noise_stays_noise():
    with h.Services() as svc, apd.Apd(svc) as a:
        aid = vk_appeal_id(100001, 970)
        obj = {"id": 970, "owner_id": -100001, "post_id": 42, "from_id": 7001,
               "date": 1795900000, "text": "Всем привет! 👋"}
        a.post("/webhook/vk", vk_comment(100001, 970, obj["text"]))
        a.post("/webhook/vk", vk_event(100001, "wall_reply_delete", obj, "ev-del-970"))
        a.post("/webhook/vk", vk_event(100001, "wall_reply_restore", obj, "ev-res-970"))
        events = [m["json"]["event"] for m in a.consume("all", 3)]
        assert events == ["created", "withdrawn", "restored"], events
        a.wait_idle()
        rec = a.appeal(aid)
        assert rec["state"] == "not_appeal" and "prev_state" not in rec, rec
        audit = [x["action"] for x in a.ctl("show", {"id": aid})["result"]["audit"]]
        assert audit[-2:] == ["withdrawn", "restored"], audit
        assert a.consume("triage", 0, timeout=1) == [] and a.consume("org.maykop", 0, timeout=1) == []
        with a.redis() as r:
            assert r.zrange(a.rkey("idx:open")) == [] and r.zrange(a.rkey("sla:due")) == []


def test_reload_reads_the_lexicons_again_and_keeps_them_when_broken():
    tmp = h.tmpdir()
    extra = tmp / "local.lex"
    extra.write_text("[category culture]\n")
    # a repeated list key adds to the list: the shipped lexicons, then this
    # file; the model is off, so the lexicons decide the category alone
    overrides = {"classifier.ru.lexicon": str(extra), "classifier.ru.model": ""}
    with h.Services() as svc, apd.Apd(svc, overrides=overrides) as a:
        text = "Когда в Майкопе снова будут показывать кукольный спектакль про Бабу-Ягу?"
        a.post("/webhook/vk", vk_comment(100001, 960, text))
        first = a.consume("all", 1)[0]["json"]["classification"]
        assert first["category"] != "sport", first

        extra.write_text("[category sport]\nкукольн* спектакл* = 10\n")
        rep = a.ctl("reload")
        assert rep["ok"], rep
        a.post("/webhook/vk", vk_comment(100001, 961, text))
        second = a.consume("all", 2)[1]["json"]["classification"]
        assert second["category"] == "sport", second
        assert {"by": "ru", "field": "category", "value": "sport", "term": "кукольн* спектакл*",
                "text": "кукольный спектакль", "weight": 10.0} in second["evidence"], second

        extra.write_text("[category sport]\nкукольн* спектакл* = ten\n")
        rep = a.ctl("reload")
        assert not rep["ok"] and "local.lex:2" in rep["error"], rep
        a.post("/webhook/vk", vk_comment(100001, 962, text))
        third = a.consume("all", 3)[2]["json"]["classification"]
        assert third["category"] == "sport", "the old lexicons must keep serving"
    shutil.rmtree(tmp, ignore_errors=True)


def test_reload_reads_the_model_again_and_keeps_it_when_broken():
    tmp = h.tmpdir()
    model = tmp / "model.txt"
    shipped = (apd.REPO / "config" / "classifier" / "ru-model.txt").read_text()
    model.write_text(shipped)
    text = "Во дворе дома 5 вторую неделю не вывозят мусор, контейнеры переполнены"
    with h.Services() as svc, apd.Apd(svc, overrides={"classifier.ru.model": str(model)}) as a:
        a.post("/webhook/vk", vk_comment(100001, 980, text))
        first = a.consume("all", 1)[0]["json"]["classification"]
        assert first["is_appeal"] and first["category"] == "waste", first
        assert any(e.get("rule", "").startswith("model") for e in first["evidence"]), first

        # an appeal threshold nothing reaches: the reloaded model calls it noise
        model.write_text(shipped.replace("threshold appeal ", "threshold appeal 1.00\n#", 1))
        rep = a.ctl("reload")
        assert rep["ok"], rep
        a.post("/webhook/vk", vk_comment(100001, 981, text))
        second = a.consume("all", 2)[1]["json"]["classification"]
        assert not second["is_appeal"], second

        model.write_text(shipped.replace("features ", "features x", 1))
        rep = a.ctl("reload")
        assert not rep["ok"] and "model.txt:" in rep["error"] and "features" in rep["error"], rep
        a.post("/webhook/vk", vk_comment(100001, 982, text))
        third = a.consume("all", 3)[2]["json"]["classification"]
        assert not third["is_appeal"], "the running model must keep serving"
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main(globals())
