#!/usr/bin/python3
"""Pull sources (plugin ABI 1.5): the daemon polls local fake platform APIs
(tests/lib/fakeapi.py) and what it finds goes the webhook's way: spool,
pipeline, Kafka, Redis.  A comment both polled and delivered by webhook is
one appeal; what the API still returns after a daemon outage is not lost."""

import sys
import time
from pathlib import Path

import apd
from apd import h, vk_appeal_id, vk_comment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from fakeapi import FakeAPI  # noqa: E402

VK_GROUP = 100001            # Администрация Майкопа (config/conf.d/20-pages.conf)


def vk_poll_overrides(api, gid=VK_GROUP):
    page = "page.vk:%d." % gid
    return {"source.vk.api_base": api.url("/vk/method"), page + "poll": "yes",
            page + "poll_interval": "1s", page + "api_token": "vk1.a.fake-community-token"}


def created_keys(a, n, timeout=60):
    msgs = a.consume("all", n, timeout=timeout)
    return [m["key"] for m in msgs if m["json"]["event"] == "created"], msgs


def test_vk_catchup_reads_missed_comments_and_a_webhook_repeat_stays_one_appeal():
    with h.Services() as svc, FakeAPI() as api:
        post = api.vk_post(VK_GROUP, "Графики отключения горячей воды на декабрь")
        c1 = api.vk_comment(VK_GROUP, post, "Третий день нет горячей воды на ул. Пионерской, "
                            "дом 5. Когда дадут?")
        c2 = api.vk_comment(VK_GROUP, post, "У нас на Чкалова во дворе прорвало трубу, "
                            "вода течёт по улице")
        answer = api.vk_comment(VK_GROUP, post, "Здравствуйте! Аварийная бригада уже "
                                "работает, воду дадут к вечеру.", from_id=-VK_GROUP,
                                reply_to=c1)
        api.vk_group(VK_GROUP)["cb_status"] = "failed"
        api.fail("wall.getComments", vk_error=6)     # too many requests: retried
        with apd.Apd(svc, overrides=vk_poll_overrides(api)) as a:
            # the same comment c1 also arrives by webhook
            st, _, body = a.post("/webhook/vk", vk_comment(
                VK_GROUP, c1, "Третий день нет горячей воды на ул. Пионерской, дом 5. "
                "Когда дадут?", post_id=post))
            assert (st, body) == (200, b"ok"), (st, body)
            ids = [vk_appeal_id(VK_GROUP, c, post) for c in (c1, c2)]
            h.wait_until(lambda: all(a.appeal(i) for i in ids),
                         timeout=30, what="both comments to become appeals")
            h.wait_until(lambda: a.appeal(ids[0]).get("state") == "answered",
                         timeout=30, what="the page's reply to answer c1")
            a.wait_idle()
            keys, _ = created_keys(a, 3)
            assert sorted(keys) == sorted(ids), keys
            status = a.ctl("status")["result"]
            poll = [p for p in status["polls"] if p["page"] == str(VK_GROUP)][0]
            assert "failed" in (poll["note"] or ""), poll
            assert poll["errors"] >= 1 and poll["items"] >= 3, poll
            text = a.appealsctl("status").stdout
            assert "VK Callback server" in text and "failed" in text, text
            assert api.count("wall.getComments") >= 2
            assert a.metric('appealsd_poll_items_total{source="vk"}') >= 3
            assert a.metric('appealsd_poll_requests_total{source="vk",result="retry"}') >= 1
            assert answer   # the reply answered c1, it is no appeal of its own
            assert not a.appeal(vk_appeal_id(VK_GROUP, answer, post))


def test_vk_outage_loses_nothing_the_api_still_returns():
    with h.Services() as svc, FakeAPI() as api:
        post = api.vk_post(VK_GROUP, "Приём граждан главой города")
        first = api.vk_comment(VK_GROUP, post, "Запишите на приём по вопросу аварийного дома")
        with apd.Apd(svc, overrides=vk_poll_overrides(api)) as a:
            h.wait_until(lambda: a.appeal(vk_appeal_id(VK_GROUP, first, post)), timeout=30,
                         what="the first comment")
            a.wait_idle()
            assert a.daemon.stop() == 0
            missed = [api.vk_comment(VK_GROUP, post, "Во время простоя: %s" % t) for t in
                      ("не горят фонари на Шовгенова", "яма на дороге у школы №7",
                       "не вывозят мусор третий день")]
            late_post = api.vk_post(VK_GROUP, "Новый пост, пока демон стоял")
            missed.append(api.vk_comment(VK_GROUP, late_post, "Когда отремонтируют крышу?"))
            a.start()
            want = [vk_appeal_id(VK_GROUP, c, p) for c, p in
                    zip(missed, [post, post, post, late_post])]
            h.wait_until(lambda: all(a.appeal(i) for i in want), timeout=30,
                         what="every comment written during the outage")
            a.wait_idle()
            keys, _ = created_keys(a, 5)
            assert sorted(keys) == sorted(want + [vk_appeal_id(VK_GROUP, first, post)]), keys


if __name__ == "__main__":
    h.main(globals())
