#!/usr/bin/python3
"""`appealsd incidents` on JSON lines: an incident per appeal in time order,
an error line for each bad one, and the grouping accuracy on the grouped
reports of tests/data (pairwise F1 at least the figure bench/README.md
records, less a margin).  Needs no Redis or Kafka."""

import json
import subprocess

import apd
from apd import h

CONFIG = str(apd.EXAMPLE_CONFIG)
EVAL = apd.REPO / "tools" / "incidents_eval.py"


def incidents(lines, *args):
    cmd = [str(h.daemon_binary()), "incidents", "-c", CONFIG,
           "--set", "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")] + list(args)
    p = subprocess.run(cmd, input="".join(l + "\n" for l in lines).encode(),
                       capture_output=True, timeout=120)
    return p.returncode, [json.loads(l) for l in p.stdout.decode().splitlines()], p.stderr.decode()


def test_one_outage_is_one_incident_and_bad_lines_go_on():
    rows = [
        {"id": "a", "text": "Нет света на ул. Пролетарской", "created_at": "2026-05-12T07:00:00+03:00",
         "page": "vk:100001"},
        {"id": "b", "text": "Пролетарская 4 — электричества нет", "category": "power",
         "municipality": "maykop", "created_at": 1778558700},
        "{not json",
        {"id": "c", "text": "Яма на ул. Шовгенова", "created_at": "2026-05-12T08:00:00+03:00"},
        {"id": "d", "text": "x", "created_at": "вчера"},
        {"id": "e", "text": "x", "created_at": "2026-05-11T08:00:00+03:00"},
        {"id": 7, "text": "Пролетарская: свет так и не дали", "created_at": "2026-05-12T09:00:00+03:00",
         "page": "vk:100001"},
    ]
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    rc, out, err = incidents(lines)
    assert rc == 1 and "3 of 7 lines had errors" in err, err
    got = {o["id"]: o.get("incident") for o in out if "error" not in o}
    assert got == {"a": "inc-1", "b": "inc-1", "c": "inc-2", 7: "inc-1"}, out
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert "not JSON" in errors[3] and "created_at" in errors[5], errors
    assert "time order" in errors[6], errors


def run_eval(data, min_f1):
    cmd = ["python3", str(EVAL), str(apd.REPO / "tests" / "data" / data), "-c", CONFIG,
           "--appealsd", str(h.daemon_binary()), "--min-f1", str(min_f1),
           "--set", "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    print("# " + p.stdout.replace("\n", "\n# "))
    return p.returncode, p.stdout


def test_grouping_accuracy_on_the_grouped_reports():
    rc, text = run_eval("incidents.jsonl", 0.95)
    assert rc == 0, text
    rc, text = run_eval("incidents-test.jsonl", 0.85)
    assert rc == 0, text


if __name__ == "__main__":
    h.main(globals())
