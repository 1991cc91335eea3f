#!/usr/bin/python3
"""Kafka with SASL as first-class settings ([kafka] security_protocol,
sasl_mechanism, sasl_username, sasl_password): the daemon, its admin client
(--create-topics) and its consumers talk to a real broker's SASL_PLAINTEXT
listener (mechanism PLAIN: the broker's SCRAM set-up refused valid
credentials from librdkafka 2.0.2 here, see docs/deploy.md); a wrong password
keeps appeals in the spool and says why; half a credential is refused before
the start.  The broker is a private one (scripts/services.sh with
APD_KAFKA_SASL): the shared one has no SASL listener."""

import types

import apd
from apd import h, vk_comment

USER = "appealsd"
PASSWORD = "sasl-test-password-0123"


def sasl(brokers, password=PASSWORD, mechanism="PLAIN"):
    return {"kafka.brokers": brokers, "kafka.security_protocol": "sasl_plaintext",
            "kafka.sasl_mechanism": mechanism, "kafka.sasl_username": USER,
            "kafka.sasl_password": password}


def leaked(a, secret):
    """The daemon's own lines that show secret (the harness writes the
    command line, with its --set options, first: not the daemon's)."""
    return [l for l in a.daemon.log().splitlines() if not l.startswith("# ") and secret in l]


def test_sasl_plaintext_end_to_end_and_a_wrong_password():
    with h.Services(kafka_sasl="%s:%s" % (USER, PASSWORD)) as svc:
        assert svc.kafka_sasl_brokers and svc.kafka_sasl_brokers != svc.kafka_brokers
        with apd.Apd(svc, overrides=sasl(svc.kafka_sasl_brokers)) as a:
            st, _, _ = a.post("/webhook/vk", vk_comment(100001, 501, "Во дворе сломаны качели"))
            assert st == 200
            # read back over the plain listener: it went through the SASL one
            got = a.consume("org.maykop", 1)
            assert got and got[0]["json"]["event"] == "created", got
            status = a.ctl("status")["result"]["kafka"]
            assert status["connected"] and status["security_protocol"] == "sasl_plaintext"
            assert a.metric("appealsd_kafka_up") == 1
            assert not leaked(a, PASSWORD)
            # PLAIN without TLS is allowed, and named for what it is
            assert "PLAIN over sasl_plaintext sends the password in clear" in a.daemon.log()

        wrong = apd.Apd(svc, name="wrong", create_topics=False,
                        overrides=sasl(svc.kafka_sasl_brokers, "not-the-password-0123"))
        with wrong as b:
            st, _, _ = b.post("/webhook/vk", vk_comment(100001, 502, "Сломана скамейка"))
            assert st == 200      # acknowledged: it is on disk
            h.wait_until(lambda: "the brokers refused the connection" in b.daemon.log(),
                         timeout=30, what="the authentication failure in the log")
            line = [l for l in b.daemon.log().splitlines() if "refused the connection" in l][0]
            assert "appeals wait in the spool; check [kafka] security_protocol, sasl_*" in line
            st = b.ctl("status")["result"]
            assert not st["kafka"]["connected"] and st["spool"]["unreleased"] == 1, st
            assert not leaked(b, "not-the-password")


def test_half_a_credential_is_refused_before_the_start():
    # --check-config connects to nothing
    svc = types.SimpleNamespace(kafka_brokers="127.0.0.1:9", redis_url="redis://127.0.0.1:9/0")
    if True:
        a = apd.Apd(svc, create_topics=False, start=False, check_contract=False)
        cases = [
            ({"kafka.security_protocol": "sasl_plaintext", "kafka.sasl_mechanism": "PLAIN"},
             "security_protocol = sasl_plaintext needs sasl_mechanism, sasl_username and "
             "sasl_password"),
            ({"kafka.sasl_username": USER, "kafka.sasl_password": PASSWORD},
             "sasl_*: set, but security_protocol = plaintext does not use them"),
            ({"kafka.security_protocol": "ssl", "kafka.ssl_key_location": "/nonexistent.key"},
             "ssl_certificate_location and ssl_key_location go together"),
            (dict(sasl("127.0.0.1:9"), **{"kafka.sasl_password": "short"}),
             "sasl_password: secret too short (5 bytes)"),
            ({"kafka.security_protocol": "tls"}, "'tls' is not one of: plaintext ssl "
             "sasl_plaintext sasl_ssl"),
        ]
        for extra, want in cases:
            a.overrides = dict(apd.base_overrides(svc, a.tmp, a.u), **extra)
            p = a.run_tool("--check-config", check=False)
            err = p.stderr.decode()
            assert p.returncode == 1 and want in err, (extra, p.returncode, err)
        a.overrides = dict(apd.base_overrides(svc, a.tmp, a.u),
                           **sasl("127.0.0.1:9", mechanism="PLAIN"))
        p = a.run_tool("--check-config", check=False)
        assert "PLAIN over sasl_plaintext sends the password in clear" in p.stderr.decode()


if __name__ == "__main__":
    h.main(globals())
