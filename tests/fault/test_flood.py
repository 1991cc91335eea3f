#!/usr/bin/python3
"""A flood of malformed and unauthenticated requests (1,000,000 with
APD_FAULT_FULL=1; 150,000 in CI): no crash, RSS flat, the log does not drown,
and valid traffic sent at the same time is still served."""

import os
import subprocess
import time

import fault
from fault import FULL, Load, apd, h

TOTAL = 1_000_000 if FULL else 150_000

LUA = r'''
local bodies = {
  '{not json at all',
  '{"type":"wall_reply_new","group_id":100001,"secret":"wrong-secret","object":{"id":1}}',
  '{"type":"wall_reply_new","group_id":424242,"secret":"x","object":{}}',
  string.rep('[', 200) .. string.rep(']', 200),
  '{"group_id":100001}',
  '\255\254\253 not utf8',
  '{"type":"confirmation","group_id":100002,"secret":"nope"}',
}
local n = 0
request = function()
  n = n + 1
  local i = n % (#bodies + 2)
  if i == #bodies then return wrk.format("GET", "/webhook/vk") end
  if i == #bodies + 1 then return wrk.format("POST", "/webhook/nowhere", nil, "{}") end
  return wrk.format("POST", "/webhook/vk", {["Content-Type"] = "application/json"}, bodies[i + 1])
end
'''


def wrk_requests(out):
    for line in out.splitlines():
        line = line.strip()
        if " requests in " in line:
            return int(line.split()[0])
    raise AssertionError("no request count in wrk output:\n" + out)


def test_malformed_flood():
    h.require("wrk")
    with h.Services() as svc, apd.Apd(svc, overrides={"daemon.log_level": "info", **fault.FAST_SLA}) as a:
        script = h.tmpdir() / "flood.lua"
        script.write_text(LUA)
        pid = a.daemon.pid
        # warm up, then take the baseline RSS
        subprocess.run(["wrk", "-t1", "-c32", "-d2s", "-s", str(script), a.url("/")],
                       capture_output=True, timeout=60)
        rss0 = fault.rss_kb(pid)
        log0 = a.daemon.log_path.stat().st_size
        valid = Load(a.url(""), rate=100, seconds=3600, conns=4)
        sent = 0
        while sent < TOTAL:
            r = subprocess.run(["wrk", "-t1", "-c64", "-d5s", "-s", str(script), a.url("/")],
                               capture_output=True, text=True, timeout=120)
            sent += wrk_requests(r.stdout)
            assert a.daemon.running(), a.daemon.log_tail()
        valid.kill()
        rss1 = fault.rss_kb(pid)
        log_growth = a.daemon.log_path.stat().st_size - log0
        recs = valid.records()
        assert recs and all(st == 200 for _, _, st in recs), \
            "valid traffic during the flood: %s" % {st for _, _, st in recs}
        assert rss1 - rss0 < 16 * 1024, "RSS grew from %d kB to %d kB" % (rss0, rss1)
        assert log_growth < 512 * 1024, "the flood wrote %d bytes of log" % log_growth
        st, _, _ = h.http_get(a.url("/healthz"))
        assert st == 200
        fault.wait_drained(a)
        fault.verdict(a, recs)
        print("# %d malformed requests; RSS %d -> %d kB; log +%d bytes; %d valid served"
              % (sent, rss0, rss1, log_growth, len(recs)))


if __name__ == "__main__":
    h.main(globals())
