#!/usr/bin/python3
"""The documentation agrees with the code: `appealsctl --help` and
appealsctl(1) list the same commands and options (and each command's own
options appear where the page describes it), `appealsd --help` and
appealsd(8) the same options, appealsd.conf(5) every key of
`appealsd --help-config`, docs/control-protocol.md no command appealsctl
lacks; and the pages render without warnings.

Run by meson (suite 'docs') with APD_BUILD_DIR set."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import harness as h  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def page(name):
    return (h.build_dir() / "docs" / "man" / name).read_text(encoding="utf-8")


def run(*cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (cmd, p.returncode, p.stderr)
    return p.stdout


def roff_section(text, name):
    """The lines of `.SH NAME` up to the next .SH."""
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH |\Z)" % re.escape(name), text, re.S | re.M)
    assert m, "no .SH %s" % name
    return m.group(1)


def roff_long_options(text):
    return set(o.replace("\\-", "-") for o in re.findall(r"\\-\\-([a-z](?:[a-z]|\\-)*)", text))


def roff_short_options(text):
    return set(re.findall(r"(?<!\\-)\\-([a-zA-Z])(?![a-zA-Z])", text))


def help_long_options(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z-]*)", text))


def help_short_options(text):
    return set(re.findall(r"(?<![\w-])-([a-zA-Z])(?![\w-])", text))


def help_commands(text):
    """Command names: the first word of each entry under a 'Commands' heading."""
    out, inside = set(), False
    for line in text.splitlines():
        if line.startswith("Commands"):
            inside = True
        elif line and not line.startswith(" "):
            inside = False
        elif inside:
            m = re.match(r"  ([a-z][a-z-]*)\b", line)
            if m:
                out.add(m.group(1))
    return out


def man_command_paragraphs(text):
    """{command: its paragraph} from the COMMANDS section (.TP, then its tag)."""
    section = roff_section(text, "COMMANDS")
    out = {}
    for block in re.split(r"^\.TP\n", section, flags=re.M)[1:]:
        tag = block.split("\n", 1)[0]
        m = re.match(r'\.[BI]{1,2}R?\s+"?([a-z][a-z\\-]*)', tag)
        assert m, "a .TP in COMMANDS without a command: %r" % tag
        body = re.split(r"^\.(?:SS|PP)\b", block, flags=re.M)[0]
        out[m.group(1).replace("\\-", "-")] = body
    return out


def test_appealsctl_help_and_man_page_agree():
    ctl = h.ctl_binary()
    helptext = run(ctl, "--help")
    man = page("appealsctl.1")
    paras = man_command_paragraphs(man)
    cmds = help_commands(helptext)
    assert len(cmds) >= 16, cmds
    assert cmds == set(paras), "only in --help: %s; only in the man page: %s" % (
        sorted(cmds - set(paras)), sorted(set(paras) - cmds))
    # EXAMPLES may show other programs' options (jq -r)
    own_text = man.replace(roff_section(man, "EXAMPLES"), "")
    lo_help, lo_man = help_long_options(helptext), roff_long_options(own_text)
    shorts_help, shorts_man = help_short_options(helptext), roff_short_options(own_text)
    filters = help_long_options(helptext.split("FILTERS (", 1)[1].split("\nOptions:", 1)[0])
    assert {"org", "overdue", "due-within"} <= filters, filters
    for cmd in sorted(cmds):
        own = run(ctl, cmd, "--help")
        lo_help |= help_long_options(own)
        shorts_help |= help_short_options(own)
        # the command's own options are described with the command, the
        # shared filters by a reference to FILTERS
        mentioned = roff_long_options(paras[cmd])
        for opt in help_long_options(own) - {"json", "help"}:
            if opt in filters:
                assert "FILTERS" in paras[cmd], "appealsctl(1): %s takes FILTERS" % cmd
            else:
                assert opt in mentioned, "appealsctl(1) does not describe %s --%s" % (cmd, opt)
    assert lo_help == lo_man, "long options only in --help: %s; only in the man page: %s" % (
        sorted(lo_help - lo_man), sorted(lo_man - lo_help))
    assert shorts_help == shorts_man, "short options: --help %s, man page %s" % (
        sorted(shorts_help), sorted(shorts_man))
    # the exit codes are documented in both
    for code in ("0", "1", "2", "3"):
        assert re.search(r"^\.B %s$" % code, roff_section(man, "EXIT STATUS"), re.M), code
        assert code + " " in helptext.split("Exit status:")[1], code


def test_appealsd_help_and_man_page_agree():
    helptext = run(h.daemon_binary(), "--help")
    man = page("appealsd.8")
    described = roff_section(man, "SYNOPSIS") + roff_section(man, "OPTIONS")
    lo_help, lo_man = help_long_options(helptext), roff_long_options(described)
    assert lo_help == lo_man, "only in --help: %s; only in the man page: %s" % (
        sorted(lo_help - lo_man), sorted(lo_man - lo_help))
    assert help_short_options(helptext) <= roff_short_options(described)


def test_conf_man_page_lists_every_key():
    tsv = run(h.daemon_binary(), "--help-config=tsv")
    man = page("appealsd.conf.5")
    keys = roff_section(man, "KEYS")
    rows = [l.split("\t") for l in tsv.splitlines() if l.count("\t") == 5]
    assert len(rows) > 30, rows
    for section, key, typ, default, restart, doc in rows:
        heading = ".SS [%s]" % section.replace('"', "\\(dq")
        assert heading in keys, heading
        block = keys.split(heading, 1)[1].split(".SS ", 1)[0]
        entry = "\\fB%s\\fR = \\fI%s\\fR" % (key.replace("-", "\\-"), typ)
        assert entry in block, "appealsd.conf(5) lacks [%s] %s" % (section, key)
        if restart:
            para = block.split(entry, 1)[1].split(".TP", 1)[0]
            assert "Restart to change" in para, (section, key)
    # the example configuration uses only keys the reference lists
    known = {(s.split(" ")[0], k) for s, k, *_ in rows}
    for conf in [REPO / "config" / "appealsd.conf"] + sorted((REPO / "config" /
                                                              "conf.d").glob("*.conf")):
        section = None
        for line in conf.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\[(\w+)", line)
            if m:
                section = m.group(1)
            m = re.match(r"(\w+)\s*=", line)
            if m and section not in ("source", "classifier"):   # plus plugin keys
                assert (section, m.group(1)) in known, (conf.name, section, m.group(1))


def test_every_protocol_command_has_a_client():
    doc = (REPO / "docs" / "control-protocol.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### ([\w-]+)", doc, re.M))
    documented |= set(re.findall(r"^\| `([\w-]+)` \|", doc, re.M))
    cmds = help_commands(run(h.ctl_binary(), "--help"))
    assert len(documented) >= 16, documented
    assert documented <= cmds, "appealsctl lacks %s" % sorted(documented - cmds)
    assert cmds <= documented, "undocumented in the protocol: %s" % sorted(cmds - documented)


def test_man_pages_render_cleanly():
    groff = shutil.which("groff")
    if groff is None:
        raise h.Skip("groff is not installed")
    for name in ("appealsd.8", "appealsctl.1", "appealsd.conf.5"):
        path = h.build_dir() / "docs" / "man" / name
        p = subprocess.run([groff, "-k", "-t", "-man", "-Tutf8", "-ww", "-z", str(path)],
                           capture_output=True, text=True, timeout=30,
                           env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
        assert p.returncode == 0 and p.stderr == "", (name, p.stderr)


if __name__ == "__main__":
    h.main(globals())
