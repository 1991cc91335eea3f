#!/usr/bin/python3
"""`meson install` into a DESTDIR puts every piece where it belongs: the
programs, the plugin, the example configuration (conf.d too), the systemd
units and the service user, the man pages.  The listing goes to the test
log.  Run by meson (suite 'package') with APD_BUILD_DIR set."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import harness as h  # noqa: E402

EXPECTED = {
    "appealsd": "sbin", "appealsctl": "bin", "source_vk.so": "appealsd/plugins",
    "appealsd.conf": "appealsd", "10-organisations.conf": "appealsd/conf.d",
    "20-pages.conf": "appealsd/conf.d", "appealsd.service": "systemd/system",
    "appealsd@.service": "systemd/system", "appealsd.8": "man8", "appealsctl.1": "man1",
    "appealsd.conf.5": "man5", "control-protocol.md": "doc/appealsd",
}


def test_meson_install_into_destdir():
    meson = shutil.which("meson")
    if meson is None:
        raise h.Skip("meson is not on PATH")
    build = h.build_dir()
    planned = json.loads(subprocess.run([meson, "introspect", "--installed", str(build)],
                                        capture_output=True, text=True, check=True).stdout)
    dest = h.tmpdir() / "destdir"
    p = subprocess.run([meson, "install", "-C", str(build), "--destdir", str(dest),
                        "--no-rebuild", "--quiet"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    files = sorted("/" + str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file())
    h._diag("installed into DESTDIR:\n" + "\n".join(files))
    assert sorted(planned.values()) == files, (sorted(planned.values()), files)
    for name, parent in EXPECTED.items():
        hits = [f for f in files if f.endswith("/" + parent + "/" + name)]
        assert hits, "%s is not installed under .../%s/" % (name, parent)
    assert any(f.endswith("/sysusers.d/appealsd.conf") for f in files), files
    completion = next((f for f in files if f.endswith("/bash-completion/completions/appealsctl")),
                      None)
    assert completion, "appealsctl's bash completion is not installed"
    check_completion(dest / completion.lstrip("/"))
    # every file of the classifier's knowledge (lexicons, the trained model):
    # a directory lexicon silently loads what is there, so a file left out
    # of the install would only show as worse decisions
    repo = Path(__file__).resolve().parents[2] / "config"
    for f in sorted((repo / "classifier").rglob("*")):
        if f.is_file():
            rel = "/appealsd/" + str(f.relative_to(repo))
            assert any(x.endswith(rel) for x in files), "%s is not installed" % rel
    # the unit runs the daemon where it was installed, with its configuration
    daemon = next(f for f in files if f.endswith("/sbin/appealsd"))
    conf = next(f for f in files if f.endswith("/appealsd/appealsd.conf"))
    unit = next(f for f in files if f.endswith("/appealsd.service"))
    text = (dest / unit.lstrip("/")).read_text()
    assert "ExecStart=%s -c %s\n" % (daemon, conf) in text, text
    # the installed programs run, and the example configuration is valid
    # with the installed plugin
    plugdir = next(f for f in files if f.endswith("/source_vk.so")).rsplit("/", 1)[0]
    p = subprocess.run([str(dest / daemon.lstrip("/")), "--check-config", "-c",
                        str(dest / conf.lstrip("/")), "--set",
                        "daemon.plugin_dir=%s" % (dest / plugdir.lstrip("/"))],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and ": ok (" in p.stdout, p.stdout + p.stderr


def complete(script, *words):
    """What bash completes for the words typed so far (the last one is the
    word being completed), with the generated completion script."""
    bash = shutil.which("bash")
    words = ["appealsctl"] + list(words)
    prog = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _appealsctl; '
            'printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run([bash, "-c", prog, "complete", str(script)] + words,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return sorted(w for w in p.stdout.split("\n") if w)


def check_completion(script):
    """The completion offers the commands and each command's own options,
    as appealsctl's command table has them (issue 15: no completion)."""
    assert complete(script, "ta") == ["tail"]
    assert "show" in complete(script, "") and "register" in complete(script, "")
    assert complete(script, "tail", "--fo") == ["--follow"]
    assert complete(script, "-s", "/run/x.sock", "show", "--r") == ["--raw"]
    assert complete(script, "stats", "--by", "mu") == ["municipality"]
    assert "--days" in complete(script, "extend", "ID", "--")


if __name__ == "__main__":
    h.main(globals())
