#!/usr/bin/python3
"""Secrets cannot be empty, short or examples (issue 12 item 4): an empty and
a short secret are refused with file and line by --check-config, the daemon
does not start with them and a reload bringing one is refused; a secret equal
to one shipped in config/ is warned about, not refused."""

import shutil
import subprocess

import apd
from apd import h, vk_comment


def plugin_dir():
    return str(h.plugin_path("source_vk").parent.parent)


def check_config(conf, *sets):
    cmd = [str(h.daemon_binary()), "--check-config", "-c", str(conf),
           "--set", "daemon.plugin_dir=%s" % plugin_dir()]
    for s in sets:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def copy_config():
    etc = h.tmpdir() / "etc"
    shutil.copytree(apd.REPO / "config", etc)
    return etc / "appealsd.conf"


def test_empty_and_short_secrets_refused_with_file_and_line():
    conf = copy_config()
    text = conf.read_text()
    conf.write_text(text.replace("secret_token = adygea-telegram-example-secret",
                                 "secret_token =")
                        .replace("hmac_key = adygea-generic-example-key", "hmac_key = short"))
    lines = conf.read_text().splitlines()
    tg = lines.index("secret_token =") + 1
    gen = lines.index("hmac_key = short") + 1
    r = check_config(conf, "daemon.pseudonym_key=only-twenty-bytes-xx")
    assert r.returncode == 1, r
    assert "%s:%d: [source \"telegram\"] secret_token: empty secret" % (conf, tg) in r.stderr, \
        r.stderr
    assert "%s:%d: [source \"generic\"] hmac_key: secret too short (5 bytes)" % (conf, gen) \
        in r.stderr, r.stderr
    assert "pseudonym_key: secret too short (20 bytes); at least 32" in r.stderr, r.stderr
    assert "not usable" in r.stderr
    # the daemon refuses to start with them, saying the same
    d = h.Daemon(config=conf, overrides={"daemon.plugin_dir": plugin_dir(),
                                         "spool.dir": str(h.tmpdir() / "s-spool"),
                                         "control.socket": str(h.tmpdir() / "s.sock")})
    d.start()
    assert d.wait(30) == 1
    assert "%s:%d: [source \"telegram\"] secret_token: empty secret" % (conf, tg) in d.log()


def test_example_secret_warned_not_refused():
    r = check_config(apd.REPO / "config" / "appealsd.conf")
    assert r.returncode == 0, r
    warned = [x for x in r.stderr.splitlines() if "is an example secret" in x]
    assert any("[source \"telegram\"] secret_token" in x for x in warned), r.stderr
    assert any("20-pages.conf:17: [page \"vk:100001\"] secret" in x for x in warned), r.stderr
    assert all(x.startswith("warning: ") for x in warned), warned


def test_reload_with_a_short_secret_is_refused_and_the_old_one_serves():
    conf = copy_config()
    with h.Services() as svc, apd.Apd(svc, config=conf) as a:
        assert "is an example secret" in a.daemon.log()
        pages = conf.parent / "conf.d" / "20-pages.conf"
        pages.write_text(pages.read_text().replace("secret = maykop-example-secret",
                                                   "secret = maykop"))
        p = a.appealsctl("reload", "--wait", check=False)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert "20-pages.conf:17" in p.stderr and "secret too short" in p.stderr, p.stderr
        st, _, _ = a.post("/webhook/vk", vk_comment(100001, 901, "Во дворе сломаны качели"))
        assert st == 200
        assert len(a.consume("org.maykop", 1)) == 1


if __name__ == "__main__":
    h.main(globals())
