#!/usr/bin/python3
"""HTTPS and proxies (issue 12 item 5).

The daemon's own TLS: a webhook over HTTPS reaches Kafka, plain HTTP gets no
HTTP answer, SIGHUP serves a renewed certificate and a broken one keeps the
running one, --check-config refuses a key that is not the certificate's, and
max_connections still holds.  Behind Debian's nginx (TLS at nginx, the
server block of docs/deploy.md as it stands): OK's allow_from decides on the
client nginx saw, not on nginx, and a client's forged X-Forwarded-For hop
is not believed."""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import http.client

import apd
from apd import h, vk_comment
import sources as s

DEPLOY = h.REPO / "docs" / "deploy.md"


def make_cert(d, name):
    """A self-signed certificate for 127.0.0.1 in d: -> (cert, key) paths."""
    cert, key = d / (name + ".crt"), d / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def served_cert(port):
    """The DER certificate the listener presents now."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as t:
            return t.getpeercert(binary_form=True)


def der(cert):
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def https_post(port, cafile, path, body, headers=None, source="127.0.0.1"):
    """POST over HTTPS, verifying the server against cafile. -> (status, body)"""
    ctx = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx,
                                       source_address=(source, 0))
    try:
        conn.request("POST", path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def json_body(obj):
    import json
    return json.dumps(obj, ensure_ascii=False).encode()


def test_https_end_to_end_plain_refused_and_reload():
    d = h.tmpdir()
    cert, key = make_cert(d, "apd-one")
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.tls_cert": str(cert), "http.tls_key": str(key)}) as a:
        st, body = https_post(a.port, cert, "/webhook/vk",
                              json_body(vk_comment(100001, 501, "Яма на дороге у дома 5")),
                              {"Content-Type": "application/json"})
        assert (st, body) == (200, b"ok"), (st, body)
        msgs = a.consume("all", 1)
        assert [m["key"] for m in msgs] == [apd.vk_appeal_id(100001, 501)], msgs
        # Plain HTTP on the HTTPS port: no HTTP answer comes back.
        raw = h.http_raw("127.0.0.1", a.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                         timeout=3)
        assert not raw.startswith(b"HTTP/"), raw[:64]
        assert served_cert(a.port) == der(cert)

        # Renewal: new files in place, SIGHUP, the new certificate is served.
        cert2, key2 = make_cert(d, "apd-two")
        shutil.copy(cert2, cert)
        shutil.copy(key2, key)
        a.daemon.signal(signal.SIGHUP)
        h.wait_until(lambda: served_cert(a.port) == der(cert2), timeout=10,
                     what="the renewed certificate served")
        st, _ = https_post(a.port, cert2, "/webhook/vk",
                           json_body(vk_comment(100001, 502, "Нет света в подъезде")))
        assert st == 200, st

        # A broken file on reload: the running certificate stays.
        cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
        a.daemon.signal(signal.SIGHUP)
        h.wait_until(lambda: "TLS reload failed" in a.daemon.log_path.read_text(),
                     what="the failed TLS reload logged")
        assert served_cert(a.port) == der(cert2)
        log = a.daemon.log_path.read_text()
        assert "still serving the certificate loaded before" in log, log[-2000:]
        assert a.daemon.running


def test_check_config_refuses_a_key_of_another_certificate():
    d = h.tmpdir()
    cert1, key1 = make_cert(d, "apd-a")
    cert2, key2 = make_cert(d, "apd-b")
    with h.Services(kafka=False) as svc:
        a = apd.Apd(svc, create_topics=False, start=False, overrides={
            "http.tls_cert": str(cert1), "http.tls_key": str(key1)})
        assert a.run_tool("--check-config").returncode == 0
        a.overrides["http.tls_key"] = str(key2)
        p = a.run_tool("--check-config", check=False)
        err = p.stderr.decode()
        assert p.returncode == 1 and "does not match the certificate" in err, err
        a.overrides["http.tls_key"] = str(d / "absent.key")
        p = a.run_tool("--check-config", check=False)
        assert p.returncode == 1 and "absent.key" in p.stderr.decode(), p.stderr
        a.overrides.pop("http.tls_key")
        p = a.run_tool("--check-config", check=False)
        assert p.returncode == 1 and "go together" in p.stderr.decode(), p.stderr


def test_tls_over_the_cap_is_closed_and_served_again():
    d = h.tmpdir()
    cert, key = make_cert(d, "apd-cap")
    ctx = ssl.create_default_context(cafile=str(cert))
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.tls_cert": str(cert), "http.tls_key": str(key),
            "http.max_connections": "4", "http.header_timeout": "2s"}) as a:
        held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", a.port), timeout=5),
                                server_hostname="127.0.0.1") for _ in range(4)]
        try:
            with socket.create_connection(("127.0.0.1", a.port), timeout=5) as raw:
                ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                raise AssertionError("a handshake over max_connections succeeded")
        except (ssl.SSLError, ConnectionError, OSError) as e:
            assert not isinstance(e, socket.timeout), e
        # The held connections (handshake done, no request) meet the header deadline.
        time.sleep(2.5)
        st, _ = https_post(a.port, cert, "/webhook/vk",
                           json_body(vk_comment(100001, 503, "Сломана скамейка")))
        assert st == 200, st
        for t in held:
            t.close()


# ---- behind nginx ----------------------------------------------------------------

def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        raise AssertionError("nginx is not installed, and CI must run this test "
                             "(scripts/deps.sh installs nginx)")
    raise h.Skip("nginx is not installed (scripts/deps.sh installs it)")


def deploy_server_block():
    text = DEPLOY.read_text()
    m = re.search(r"<!-- tested: nginx-appealsd.conf -->\s*```nginx\n(.*?)```", text, re.S)
    assert m, "docs/deploy.md lost its tested nginx block"
    return m.group(1)


class Nginx:
    """nginx -c CONF -p DIR -e stderr in the foreground, everything in DIR."""

    def __init__(self, d, daemon_port, cert, key):
        self.port = h.free_port()
        block = deploy_server_block()
        for old, new in (("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % self.port),
                         ("127.0.0.1:8080", "127.0.0.1:%d" % daemon_port),
                         ("/etc/ssl/appealsd/fullchain.pem", str(cert)),
                         ("/etc/ssl/appealsd/privkey.pem", str(key))):
            assert old in block, old
            block = block.replace(old, new)
        (d / "appealsd.conf").write_text(block)
        temps = "".join("    %s_temp_path %s;\n" % (t, d / t)
                        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (d / "nginx.conf").write_text(
            "daemon off;\nworker_processes 1;\npid %s;\nerror_log stderr notice;\n"
            "events { worker_connections 64; }\n"
            "http {\n    access_log %s;\n%s    include %s;\n}\n"
            % (d / "nginx.pid", d / "access.log", temps, d / "appealsd.conf"))
        self.log = open(d / "nginx.log", "wb")
        self.proc = subprocess.Popen([nginx_binary(), "-c", str(d / "nginx.conf"), "-p",
                                      str(d), "-e", "stderr"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.d = d
        h.wait_until(self._up, timeout=10, what="nginx listening")

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited: %s" % (self.d / "nginx.log").read_text())
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_nginx_front_ok_allow_list_sees_the_client():
    d = h.tmpdir() / "nginx"
    d.mkdir()
    nginx_binary()
    cert, key = make_cert(d, "front")
    with h.Services() as svc, apd.Apd(svc, overrides={
            "source.ok.allow_from": "127.0.0.2/32",
            "http.trusted_proxies": "127.0.0.1/32"}) as a, Nginx(d, a.port, cert, key) as ng:
        path, body, hdrs = s.ok_post("C3ecb9d02a600.501", "Когда дадут воду?")
        st, resp = https_post(ng.port, cert, path, body, hdrs, source="127.0.0.2")
        assert (st, resp) == (200, b"ok"), (st, resp)
        # From outside allow_from, also with a forged hop naming an allowed one.
        path, body, hdrs = s.ok_post("C3ecb9d02a600.502", "x")
        st, _ = https_post(ng.port, cert, path, body, hdrs, source="127.0.0.3")
        assert st == 403, st
        st, _ = https_post(ng.port, cert, path, body,
                           dict(hdrs, **{"X-Forwarded-For": "127.0.0.2"}), source="127.0.0.3")
        assert st == 403, st
        # Directly, an untrusted peer's X-Forwarded-For is not believed.
        st, _ = s.post_from("127.0.0.3", a.port, path, body,
                            dict(hdrs, **{"X-Forwarded-For": "127.0.0.2"}))
        assert st == 403, st
        log = a.daemon.log_path.read_text()
        assert "from 127.0.0.3 via 127.0.0.1 refused with 403" in log, log[-3000:]
        msgs = a.consume("all", 1)
        assert [m["key"] for m in msgs] == [s.ok_appeal_id("C3ecb9d02a600.501")], msgs


if __name__ == "__main__":
    h.main(globals())
