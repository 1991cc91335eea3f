#!/usr/bin/python3
"""Builds appealsd.conf(5) from its template and the daemon's own key tables.

    gen-conf-man.py TEMPLATE OUTPUT APPEALSD VERSION SYSCONFDIR

Runs `APPEALSD --help-config=tsv` (section, key, type, default, restart,
description per line) and puts one roff paragraph per key where the template
says @KEYS@, so the page lists exactly the settings the daemon reads."""

import subprocess
import sys


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def keys_roff(tsv):
    out, section = [], None
    for line in tsv.splitlines():
        fields = line.split("\t")
        if len(fields) != 6:
            continue   # prose some modules print around their tables
        sec, key, typ, default, restart, doc = fields
        if sec != section:
            section = sec
            out.append(".SS [%s]" % roff(sec).replace('"', "\\(dq"))
        out.append(".TP")
        out.append("\\fB%s\\fR = \\fI%s\\fR" % (roff(key), roff(typ)))
        text = roff(doc) if doc else "Undocumented."
        if not text.endswith("."):
            text += "."
        if default:
            text += " Default: \\fB%s\\fR." % roff(default)
        if restart:
            text += " \\fIRestart to change.\\fR"
        out.append(text)
    if not out:
        raise SystemExit("gen-conf-man: no keys from --help-config=tsv")
    return "\n".join(out)


def main():
    template, output, appealsd, version, sysconfdir = sys.argv[1:6]
    tsv = subprocess.run([appealsd, "--help-config=tsv"], check=True, capture_output=True,
                         text=True).stdout
    with open(template, encoding="utf-8") as f:
        page = f.read()
    page = (page.replace("@KEYS@", keys_roff(tsv)).replace("@VERSION@", version)
            .replace("@sysconfdir@", sysconfdir))
    with open(output, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
