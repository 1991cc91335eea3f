#!/usr/bin/python3
"""The Kafka contract without a broker: every message builder of message.c, for
every event type (including the ones the lifecycle and SLA engines produce),
validates against its schema in docs/schemas/v1; the schemas themselves are
valid; the agency status examples validate, and broken ones do not."""

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apd  # noqa: E402
from apd import h  # noqa: E402


def dump():
    exe = os.environ.get("APD_CONTRACT_DUMP") or str(h.build_dir() / "tests" / "unit" /
                                                        "contract_dump")
    out = subprocess.run([exe], capture_output=True, check=True, timeout=30).stdout.decode()
    return [line.split("\t", 1) for line in out.splitlines()]


def test_schemas_are_valid_draft7():
    import jsonschema
    for sid, schema in apd._schemas().items():
        jsonschema.Draft7Validator.check_schema(schema)
        assert sid.startswith("urn:appealsd:schema:v1:"), sid
    names = sorted(p.stem for p in apd.SCHEMA_DIR.glob("*.json"))
    assert "appeal.created" in names and "status" in names and "sla.breach" in names, names


def test_every_builder_output_matches_its_schema():
    lines = dump()
    covered = set()
    for kind, text in lines:
        msg = apd.validate_message(text, kind)
        covered.add(kind)
        if kind.startswith("appeal.") or kind.startswith("sla."):
            assert msg["event"] == kind.split(".", 1)[1], msg
    every = {p.stem for p in apd.SCHEMA_DIR.glob("*.json")} - {"common", "status"}
    assert covered == every, "no sample for %s" % sorted(every - covered)
    created = [json.loads(t) for k, t in lines if k == "appeal.created"]
    assert "id" not in created[0]["author"] and created[1]["author"]["id"] == "7001"
    assert created[0]["number"] == created[1]["number"]
    dead = [json.loads(t) for k, t in lines if k == "dead_letter"]
    import base64
    raw = base64.b64decode(dead[0]["payload_base64"])
    assert raw.endswith(b'"done\xff"}') and "payload" not in dead[0], dead[0]
    assert dead[1]["payload"].endswith('"текст"}'), dead[1]


def test_schemas_refuse_what_consumers_must_not_see():
    created = json.loads([t for k, t in dump() if k == "appeal.created"][0])
    for bad in (dict(created, seq=0), dict(created, number="123"),
                dict(created, published_at="yesterday"),
                dict(created, author={"pseudonym": "ABC"}),
                {k: v for k, v in created.items() if k != "route"}):
        try:
            apd.validate_message(bad, "created")
        except AssertionError:
            continue
        raise AssertionError("accepted: %r" % bad)


STATUS_OK = [
    {"schema": "appealsd.status/1", "appeal_id": "vk:-100001:wall:42:c501", "org": "maykop",
     "status": "in_progress", "at": "2026-11-29T10:00:00+03:00", "message_id": "mk-77",
     "executor": "МКУ «Благоустройство»"},
    {"schema": "appealsd.status/1", "appeal_id": "vk:-100001:wall:42:c501", "org": "maykop",
     "status": "rejected", "at": "2026-11-29T10:00:00+03:00",
     "comment": "дорога республиканская", "reroute_to": "minstroy"},
    {"schema": "appealsd.status/1", "appeal_id": "a", "org": "minzdrav", "status": "answered",
     "at": "2026-11-29T10:00:00Z", "answer_link": "https://vk.com/wall-100002_7?reply=9"},
]
STATUS_BAD = [
    {"schema": "appealsd.status/1", "appeal_id": "a", "org": "maykop", "status": "done",
     "at": "2026-11-29T10:00:00Z"},
    {"schema": "appealsd.status/1", "appeal_id": "a", "org": "maykop", "status": "rejected",
     "at": "2026-11-29T10:00:00Z"},
    {"schema": "appealsd.status/2", "appeal_id": "a", "org": "maykop", "status": "accepted",
     "at": "2026-11-29T10:00:00Z"},
    {"appeal_id": "a", "org": "Maykop", "status": "accepted", "at": "2026-11-29T10:00:00Z"},
]


def test_status_messages():
    for m in STATUS_OK:
        apd.validate_message(m, "status")
    for m in STATUS_BAD:
        try:
            apd.validate_message(m, "status")
        except AssertionError:
            continue
        raise AssertionError("accepted: %r" % m)


def test_the_guides_examples_follow_the_contract():
    examples = apd.guide_blocks("example")
    assert {n for n, _ in examples} >= {"appeal.created", "status", "dead_letter"}, examples
    for name, code in examples:
        apd.validate_message(json.loads(code), name)


if __name__ == "__main__":
    h.main(globals())
