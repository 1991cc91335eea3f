#!/usr/bin/python3
"""Production calendars and working hours as operators see them: `appealsd
deadline` on the shipped Adygea calendar (Radonitsa 2026 from the Head of the
Republic's decree, the Day of the Republic carried off a Saturday), `--explain`
with the 40-hour week, `--check-config` warnings for a missing current or next
year, and a year no file declares shown by `appealsctl status` and /metrics
once a deadline has used it."""

import datetime
import shutil
import subprocess
import tempfile
from pathlib import Path

import apd
from apd import h, vk_appeal_id, vk_comment

CONFIG = apd.EXAMPLE_CONFIG
PLUGINS = ["--set", "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")]


def deadline(*args):
    p = subprocess.run([str(h.daemon_binary()), "deadline", "-c", str(CONFIG)] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_radonitsa_2026_is_a_day_off_in_adygea():
    # Monday 16:00 + 8 working hours: Tuesday 21 April is Radonitsa
    out = deadline("--org", "maykop", "--from", "2026-04-20T16:00", "--add", "8h")
    assert out == "2026-04-22T15:48:00.000+03:00\n", out


def test_day_of_the_republic_on_a_saturday_gives_monday_off():
    # 5 October 2030 is a Saturday: Monday 7 October is off (Adygea's holiday law)
    out = deadline("--org", "maykop", "--from", "2030-10-04T16:00", "--add", "8h")
    assert out == "2030-10-08T16:48:00.000+03:00\n", out


def test_explain_prints_the_40_hour_week_and_the_days_used():
    out = deadline("--org", "maykop", "--from", "2030-10-04T16:00", "--add", "8h", "--explain")
    lines = out.splitlines()
    assert lines[0] == "2030-10-08T16:48:00.000+03:00", out
    assert "  mon 09:00-13:00, 13:48-18:00  8 h 12 min" in lines, out
    assert "  fri 09:00-13:00, 13:48-17:00  7 h 12 min" in lines, out
    assert "  week (Monday to Friday): 40 h 00 min" in lines, out
    assert "  2030-10-07 mon off" in lines, out
    assert any(l.startswith("  year 2030: NO calendar file") for l in lines), out
    out = deadline("--org", "maykop", "--from", "2026-04-20T16:00", "--add", "8h", "--explain")
    assert "  2026-04-21 tue off" in out.splitlines(), out
    assert "  year 2026: from a calendar file (the government's decree)" in out, out


def check_config(conf):
    p = subprocess.run([str(h.daemon_binary()), "--check-config", "-c", str(conf)] + PLUGINS,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and ": ok (" in p.stdout, p.stdout + p.stderr
    # the example secrets of config/ are warned about too (test_secrets.py)
    return [l for l in p.stderr.splitlines()
            if l.startswith("warning: ") and "is an example secret" not in l]


def test_check_config_warns_about_a_missing_year_and_a_short_week():
    this_year = datetime.date.today().year
    with tempfile.TemporaryDirectory() as tmp:
        conf_dir = Path(tmp) / "config"
        shutil.copytree(CONFIG.parent, conf_dir)
        for f in (conf_dir / "calendar").glob("ru-[0-9]*.conf"):
            f.unlink()
        (conf_dir / "calendar" / ("ru-%d.conf" % this_year)).write_text("year %d\n" % this_year)
        conf = conf_dir / CONFIG.name
        warnings = check_config(conf)
        want = ("warning: calendar adygea: no calendar file declares %d (the next year)"
                % (this_year + 1))
        assert [w for w in warnings if w.startswith(want)], warnings
        assert not [w for w in warnings if "declares %d " % this_year in w], warnings
        assert not [w for w in warnings if "[hours" in w], warnings    # 40 h
        (conf_dir / "calendar" / ("ru-%d.conf" % (this_year + 1))).write_text(
            "year %d\n" % (this_year + 1))
        assert check_config(conf) == [], "both years declared"
        sla = conf_dir / "conf.d" / "30-sla.conf"
        sla.write_text(sla.read_text().replace("fri = 09:00-17:00", "fri = 09:00-16:45"))
        assert check_config(conf) == ['warning: [hours "standard"]: Monday to Friday make '
                                      '39 h 45 min, not the 40 h a week of the Labour Code '
                                      '(art. 91); check the schedule with `appealsd deadline '
                                      '--explain`'], "the old example's week"


# The only calendar file declares 2000, so every deadline now is computed from
# the Labour Code fallback and must show.
DAEMON_CONFIG = """
[daemon]
instance = calendar-test
[sla]
calendar = past
hours = standard
policy = fast
[calendar "past"]
files = {past}
[hours "standard"]
time = 09:00-18:00
fri = 09:00-17:00
lunch = 13:00-13:48
[hours "duty"]
time = 00:00-24:00
[policy "fast"]
first_response = 8h
resolution = 5d
[source "vk"]
include {conf_d}/10-organisations.conf
include {conf_d}/20-pages.conf
include {conf_d}/30-rules.conf
"""


def test_a_year_without_a_file_shows_in_status_and_metrics():
    with tempfile.TemporaryDirectory() as tmp:
        past = Path(tmp) / "ru-2000.conf"
        past.write_text("year 2000\n")
        text = DAEMON_CONFIG.format(past=past, conf_d=apd.REPO / "config" / "conf.d")
        with h.Services() as svc, apd.Apd(svc, config_text=text) as a:
            cal = [c for c in a.ctl("status")["result"]["calendars"] if c["name"] == "past"]
            assert len(cal) == 1 and cal[0]["years"] == [2000], cal
            metrics = h.http_get(a.url("/metrics"))[2].decode()
            assert 'appealsd_calendar_year{calendar="past",year="2000",source="file"} 1' \
                in metrics, metrics
            ev = vk_comment(100001, 4242, "Во дворе на Пионерской не горит свет третью ночь")
            ev["secret"] = apd.VK_SECRETS[100001]
            st, _, body = a.post("/webhook/vk", ev)
            assert (st, body) == (200, b"ok"), (st, body)
            aid = vk_appeal_id(100001, 4242)
            h.wait_until(lambda: (a.appeal(aid) or {}).get("state") == "open",
                         what="the appeal's clocks")

            def fallback_years():
                c = [c for c in a.ctl("status")["result"]["calendars"] if c["name"] == "past"]
                return c[0]["fallback_years"] if c and c[0]["fallback_years"] else None
            years = h.wait_until(fallback_years, what="a fallback year in status")
            assert datetime.date.today().year in years, years
            y = datetime.date.today().year
            metrics = h.http_get(a.url("/metrics"))[2].decode()
            assert ('appealsd_calendar_year{calendar="past",year="%d",source="labour_code"} 1'
                    % y) in metrics, metrics
            assert 'appealsd_calendar_fallback_years{calendar="past"} %d' % len(years) \
                in metrics, metrics
            out = a.appealsctl("status").stdout
            out = out.decode() if isinstance(out, bytes) else out
            assert "calendar past" in out and "WITHOUT A FILE" in out and str(y) in out, out


if __name__ == "__main__":
    h.main(globals())
