#!/usr/bin/python3
"""The Debian package: `dpkg-buildpackage -us -uc -b` in a copy of the tree
(the source tree stays clean), its contents listed in the test log, the
files an admin expects in place, and maintainer scripts that create the
service user, protect the configuration's secrets and never enable or start
the service on installation.  Run by meson (suite 'package')."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import harness as h  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def source_files():
    """Tracked and new (not ignored) files; without git, everything but builds."""
    if shutil.which("git") and (REPO / ".git").exists():
        p = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True)
        return [f for f in p.stdout.decode().split("\0") if f and (REPO / f).is_file()]
    skip = re.compile(r"^(build[^/]*|\.git|debian/(appealsd|\.debhelper|tmp))(/|$)|__pycache__")
    return [str(f.relative_to(REPO)) for f in REPO.rglob("*")
            if f.is_file() and not skip.search(str(f.relative_to(REPO)))]


def copy_tree(dest):
    for rel in source_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def test_dpkg_buildpackage_builds_the_package():
    for tool in ("dpkg-buildpackage", "dpkg-deb", "dh"):
        if shutil.which(tool) is None:
            raise h.Skip("%s is not installed (scripts/deps.sh installs dpkg-dev and debhelper)"
                         % tool)
    work = h.tmpdir()
    src = work / "appealsd"
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=%d" % max(2, os.cpu_count() or 2),
               LC_ALL="C.UTF-8")
    env.pop("APD_BUILD_DIR", None)   # the package's own tests use its own build
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=540)
    (work / "build.log").write_text(p.stdout + p.stderr)
    assert p.returncode == 0, "dpkg-buildpackage failed:\n" + (p.stdout + p.stderr)[-6000:]
    debs = sorted(work.glob("appealsd_*.deb"))
    assert len(debs) == 1, list(work.iterdir())
    deb = debs[0]

    listing = run(["dpkg-deb", "-c", deb], check=True).stdout
    h._diag("dpkg-deb -c %s\n%s" % (deb.name, listing))
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()
             if not line.startswith("d")}
    arch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], check=True).stdout.strip()
    for path in ("/usr/sbin/appealsd", "/usr/bin/appealsctl",
                 "/usr/lib/%s/appealsd/plugins/source_vk.so" % arch,
                 "/etc/appealsd/appealsd.conf", "/etc/appealsd/conf.d/10-organisations.conf",
                 "/etc/appealsd/conf.d/20-pages.conf", "/lib/systemd/system/appealsd.service",
                 "/lib/systemd/system/appealsd@.service", "/lib/systemd/system/appealsd.socket",
                 "/usr/lib/sysusers.d/appealsd.conf",
                 "/usr/share/man/man8/appealsd.8.gz", "/usr/share/man/man1/appealsctl.1.gz",
                 "/usr/share/man/man5/appealsd.conf.5.gz",
                 "/usr/share/bash-completion/completions/appealsctl"):
        assert path in files, "%s is not in the package" % path
    for doc in ("control-protocol.md", "README.Debian"):
        assert any(f.startswith("/usr/share/doc/appealsd/" + doc) for f in files), doc
    assert not [f for f in files if "/build" in f or f.endswith(".a")], files

    ctl = work / "control"
    run(["dpkg-deb", "-e", deb, ctl], check=True)
    conffiles = (ctl / "conffiles").read_text().split()
    assert "/etc/appealsd/appealsd.conf" in conffiles, conffiles
    postinst = (ctl / "postinst").read_text()
    assert "systemd-sysusers" in postinst and "appealsd.conf" in postinst, postinst
    assert "dpkg-statoverride --update --add root appealsd 0750 /etc/appealsd" in postinst
    # never enabled or started on installation (re-enabled on upgrade only if
    # the admin had enabled it); only a running one is restarted
    assert "debian-installed 'appealsd.service'" in postinst, postinst
    assert "was-enabled defaults to true" not in postinst, postinst
    assert not re.search(r"deb-systemd-invoke (start|restart) ", postinst), postinst
    assert "try-restart 'appealsd.service'" in postinst, postinst
    assert "stop appealsd.service" in (ctl / "prerm").read_text()
    # an upgrade does not stop the service first (it would stay stopped)
    preinst = ctl / "preinst"
    assert not preinst.exists() or "stop" not in preinst.read_text(), preinst.read_text()
    fields = run(["dpkg-deb", "-f", deb], check=True).stdout
    assert re.search(r"^Depends:.*librdkafka", fields, re.M), fields
    assert re.search(r"^Depends:.*systemd", fields, re.M), fields
    # the description names what is in the package: every source plugin
    for name in ("VK", "OK", "Telegram", "MAX", "generic JSON", "appealsd.socket"):
        assert name in fields.split("Description:", 1)[1], (name, fields)
    for plugin in ("vk", "ok", "telegram", "max", "generic"):
        assert any(f.endswith("/plugins/source_%s.so" % plugin) for f in files), plugin
    upgrade_restarts_running_instances(ctl / "postinst")

    # the packaged unit points at the packaged paths
    root = work / "root"
    run(["dpkg-deb", "-x", deb, root], check=True)
    unit = (root / "lib/systemd/system/appealsd.service").read_text()
    assert "ExecStart=/usr/sbin/appealsd -c /etc/appealsd/appealsd.conf\n" in unit, unit
    assert "ExecReload=/usr/bin/appealsctl -c /etc/appealsd/appealsd.conf reload --wait" in unit
    operators_cannot_read_the_secrets(root, postinst, unit)
    p = run([root / "usr/sbin/appealsd", "--version"], timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("appealsd "), p
    packaged_config_refuses_to_start(root)


def upgrade_restarts_running_instances(postinst):
    """The postinst on an upgrade (configure OLD-VERSION) try-restarts every
    running appealsd@NAME instance; on a first install it restarts nothing.
    PID 1 here is not systemd: systemctl and deb-systemd-invoke are small
    scripts on PATH that answer as systemd would and record what was asked,
    and the script's "is systemd running" directory points at a test one."""
    work = h.tmpdir() / "postinst"
    (work / "bin").mkdir(parents=True)
    (work / "run-systemd").mkdir()
    calls = work / "calls"
    (work / "bin" / "systemctl").write_text(
        "#!/bin/sh\necho \"systemctl $*\" >> %s\n"
        "case \"$*\" in *list-units*) printf '%%s\\n' 'appealsd@adygea.service loaded active "
        "running x' 'appealsd@maykop.service loaded active running y';; esac\n" % calls)
    (work / "bin" / "deb-systemd-invoke").write_text(
        "#!/bin/sh\necho \"deb-systemd-invoke $*\" >> %s\n" % calls)
    for tool in ("dpkg-statoverride", "deb-systemd-helper", "systemd-sysusers", "systemd-tmpfiles"):
        (work / "bin" / tool).write_text("#!/bin/sh\nexit 0\n")
    for f in (work / "bin").iterdir():
        f.chmod(0o755)
    script = work / "postinst.sh"
    script.write_text(postinst.read_text().replace("/run/systemd/system",
                                                   str(work / "run-systemd")))
    env = dict(os.environ, PATH="%s:%s" % (work / "bin", os.environ["PATH"]))
    run(["sh", script, "configure", ""], env=env, check=True)
    first = calls.read_text() if calls.exists() else ""
    assert "appealsd@" not in first, first
    calls.write_text("")
    run(["sh", script, "configure", "0.1.0"], env=env, check=True)
    asked = calls.read_text()
    for inst in ("adygea", "maykop"):
        assert "deb-systemd-invoke try-restart appealsd@%s.service" % inst in asked, asked


def operators_cannot_read_the_secrets(root, postinst, unit):
    """The control socket's group is appealsd-operators, created by the
    package, the daemon is a member (to chown its socket), and /etc/appealsd
    belongs to root and appealsd alone."""
    sysusers = (root / "usr/lib/sysusers.d/appealsd.conf").read_text()
    assert re.search(r"^g appealsd-operators -$", sysusers, re.M), sysusers
    conf = (root / "etc/appealsd/appealsd.conf").read_text()
    control = conf.split("[control]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^group = appealsd-operators$", control, re.M), control
    assert not re.search(r"^group = appealsd$", control, re.M), control
    assert "SupplementaryGroups=appealsd-operators\n" in unit, unit
    assert "--add root appealsd 0750 /etc/appealsd" in postinst
    assert "appealsd-operators" not in postinst, postinst


SECRET_LINE = re.compile(r"^\s*(secret|secret_token|hmac_key|token|ack_token|http_secret|"
                         r"pseudonym_key)\s*=|^\s*\[page\s", re.M)


def packaged_config_refuses_to_start(root):
    """The example secrets are public: the package ships them and the pages
    commented out, and the daemon refuses to start until they are set."""
    etc = root / "etc/appealsd"
    for f in [etc / "appealsd.conf"] + sorted((etc / "conf.d").glob("*.conf")):
        live = SECRET_LINE.findall(f.read_text())
        assert not live, "%s ships live secrets or pages: %s" % (f, live)
    plugins = next(root.rglob("source_telegram.so")).parent
    p = run([root / "usr/sbin/appealsd", "--check-config", "-c", etc / "appealsd.conf",
             "--set", "daemon.plugin_dir=%s" % plugins], timeout=60)
    assert p.returncode == 1, p
    assert "secret_token is not set" in p.stderr and "not usable" in p.stderr, p.stderr
    d = h.Daemon(config=etc / "appealsd.conf", binary=root / "usr/sbin/appealsd",
                 overrides={"daemon.plugin_dir": str(plugins),
                            "spool.dir": str(h.tmpdir() / "pkg-spool"),
                            "control.socket": str(h.tmpdir() / "pkg.sock")})
    d.start()
    assert d.wait(60) == 1
    assert "secret_token is not set" in d.log(), d.log_tail()


if __name__ == "__main__":
    h.main(globals())
