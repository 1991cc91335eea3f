#!/usr/bin/python3
"""The listener stays bounded (issue 12 item 3): connections over
http.max_connections are answered 503 and closed, the daemon's descriptors
stay near the cap, idle and slow connections are closed at the header
deadline (a client sending one header line a second included, which the
inactivity timeout alone never closed), a slow body gets its own deadline,
and valid webhooks are answered again once the held connections are gone."""

import os
import socket
import time

import apd
from apd import h, vk_comment

CAP = 20


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(s):
    """True when the server has closed s (EOF or reset); never blocks long."""
    s.settimeout(0.05)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def settled_fds(pid):
    """The daemon's descriptor count once it stops changing: the first
    request's connection may still be closing on the daemon's side."""
    n = fds(pid)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.2)
        m = fds(pid)
        if m == n:
            break
        n = m
    return n


def post_status(a, body):
    try:
        return a.post("/webhook/vk", body)[0]
    except (ConnectionError, OSError):
        return "reset"


def test_over_the_cap_503_fds_bounded_then_served():
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.max_connections": str(CAP), "http.header_timeout": "3s",
            "http.timeout": "60s"}) as a:
        pid = a.daemon.pid
        assert post_status(a, vk_comment(100001, 1, "Яма на дороге у дома 5")) == 200
        base = settled_fds(pid)
        held = [connect(a.port) for _ in range(CAP - 5)]
        slow = [connect(a.port) for _ in range(5)]
        for s in slow:
            s.sendall(b"POST /webhook/vk HTTP/1.1\r\nHost: x\r\n")
        h.wait_until(lambda: fds(pid) >= base + CAP, what="the daemon holds the connections")
        # Over the cap: answered 503 at once, without sending anything.
        for _ in range(3 * CAP):
            s = connect(a.port)
            s.settimeout(5)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            assert data.startswith(b"HTTP/1.1 503 "), data
            assert b"Retry-After: " in data, data
            assert fds(pid) <= base + CAP + 2, (fds(pid), base)
        assert post_status(a, vk_comment(100001, 2, "Нет света в подъезде")) in (503, "reset")
        for s in slow:
            s.sendall(b"X-Slow: 1\r\n")
        # The idle and slow connections are closed at the header deadline.
        h.wait_until(lambda: all(closed_by_peer(s) for s in held + slow), timeout=8,
                     what="held connections closed at http.header_timeout")
        h.wait_until(lambda: fds(pid) <= base + 1, what="descriptors released")
        assert post_status(a, vk_comment(100001, 3, "Нет света в подъезде")) == 200
        m = h.http_get(a.url("/metrics"))[2].decode()
        assert "appealsd_http_connections_refused_total" in m
        assert 'appealsd_http_deadline_closed_total{phase="header"}' in m
        for s in held + slow:
            s.close()


def open_connections(a):
    m = h.http_get(a.url("/metrics"))[2].decode()
    line = [x for x in m.splitlines() if x.startswith("appealsd_http_connections ")]
    return int(float(line[0].split()[1]))


def test_connections_closed_by_clients_free_their_slots():
    """Every way a client can go frees its slot: were one missed, the cap
    would fill up and the listener answer 503 for ever."""
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.max_connections": str(CAP), "http.timeout": "60s"}) as a:
        for i in range(2 * CAP):
            s = connect(a.port)
            if i % 3 == 1:
                s.sendall(b"POST /webhook/vk HTTP/1.1\r\nHost: x\r\n")
            elif i % 3 == 2:
                s.sendall(b"POST /webhook/vk HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
            s.close()
            assert post_status(a, vk_comment(100001, 100 + i, "Яма у дома %d" % i)) == 200
        h.wait_until(lambda: open_connections(a) == 1, what="only the /metrics connection open")


def test_one_header_line_a_second_is_cut_at_header_timeout():
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.header_timeout": "4s", "http.timeout": "2s"}) as a:
        s = connect(a.port)
        s.sendall(b"POST /webhook/vk HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        for i in range(15):
            time.sleep(1)
            try:
                s.sendall(b"X-Line-%d: y\r\n" % i)
            except OSError:
                closed = True
                break
            if closed_by_peer(s):
                closed = True
                break
        took = time.monotonic() - start
        s.close()
        assert closed, "a slowloris client kept its connection for %.1fs" % took
        assert 3.5 <= took <= 6.5, took


def test_slow_body_has_its_own_deadline():
    with h.Services() as svc, apd.Apd(svc, overrides={
            "http.header_timeout": "2s", "http.body_timeout": "6s", "http.timeout": "5s"}) as a:
        import json
        body = json.dumps(vk_comment(100001, 7, "Сломана скамейка во дворе"),
                          ensure_ascii=False).encode()
        head = (b"POST /webhook/vk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))

        def send_slowly(total_s):
            s = connect(a.port)
            s.sendall(head)
            step = max(1, len(body) // 8)
            for i in range(0, len(body), step):
                time.sleep(total_s / 8)
                try:
                    s.sendall(body[i:i + step])
                except OSError:
                    break
            s.settimeout(10)
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            s.close()
            return data

        # 4 s of body: past the header deadline, within the body deadline.
        assert send_slowly(4).startswith(b"HTTP/1.1 200 "), "slow body refused"
        # 10 s of body: cut at the body deadline.
        start = time.monotonic()
        data = send_slowly(10)
        assert not data.startswith(b"HTTP/1.1 200 "), data
        assert time.monotonic() - start < 9.5


if __name__ == "__main__":
    h.main(globals())
