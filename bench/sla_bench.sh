#!/usr/bin/env bash
# The SLA benchmark (bench/README.md): Redis memory per open appeal, SLA
# expiries processed per second, and timer lateness while webhooks arrive at a
# fixed rate; each against a baseline measured in the same run.
#
#   bench/sla_bench.sh            (or: meson test -C build --suite bench sla)
#
# Env: N          open appeals loaded (1000000)
#      EXPIRE     of them extra appeals whose deadline is due at once (100000)
#      SPREAD     appeals whose deadlines fall during the webhook load (30000)
#      SPREAD_S   ... over this many seconds (30)
#      RATE       webhooks per second during that time (5000); CONNS (200)
#      APD_KAFKA_BROKERS  use this broker (else a private one is started)
#      APD_BUILD_DIR      build directory (build/); KEEP=1 keeps the run's files
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${APD_BUILD_DIR:-$root/build}
N=${N:-1000000}
EXPIRE=${EXPIRE:-100000}
SPREAD=${SPREAD:-30000}
SPREAD_S=${SPREAD_S:-30}
RATE=${RATE:-5000}
CONNS=${CONNS:-200}
PY=/usr/bin/python3

for b in redis-cli redis-benchmark wrk kcat; do
    command -v "$b" >/dev/null || { echo "sla_bench: $b is missing (scripts/deps.sh)" >&2; exit 77; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/sla-bench-XXXXXX")
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    "$root/scripts/services.sh" stop "$dir/svc" >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "sla_bench: files kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
say() { printf 'sla_bench: %s\n' "$*" >&2; }

# ---- services: a private Redis (its memory is what we measure) ----
if [ -n "${APD_KAFKA_BROKERS:-}" ]; then
    "$root/scripts/services.sh" start-redis "$dir/svc" >&2
    brokers=$APD_KAFKA_BROKERS
else
    "$root/scripts/services.sh" start "$dir/svc" >&2
    brokers=$(sed -n 's/^APD_KAFKA_BROKERS=//p' "$dir/svc/env")
fi
rport=$(sed -n 's/^APD_REDIS_PORT=//p' "$dir/svc/env")
rcli() { redis-cli -p "$rport" "$@"; }
mem() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

u="slab-$$-$(date +%s)"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conf="$here/sla-bench.conf"
sets=(--set "daemon.plugin_dir=$build/plugins" --set "daemon.pseudonym_key=bench-pseudonym-key-0123456789abcdef"
      --set "kafka.brokers=$brokers" --set "redis.url=redis://127.0.0.1:$rport/0"
      --set "redis.prefix=$u:" --set "spool.dir=$dir/spool" --set "control.socket=$dir/ctl.sock"
      --set "http.listen=127.0.0.1:$port" --set "kafka.topic_all=$u.all"
      --set "kafka.topic_triage=$u.triage" --set "kafka.topic_sla=$u.sla"
      --set "kafka.topic_status=$u.status" --set "kafka.topic_dlq=$u.dlq"
      --set "kafka.topic_org_prefix=$u.org." --set "kafka.partitions=3")

# ---- baseline: the minimal SLA-timer script (reading/baselines.md) ----
sha=$(rcli script load "redis.call('ZADD',KEYS[1],ARGV[1],ARGV[2]) return redis.call('HSET',KEYS[2],ARGV[2],ARGV[1])")
evalsha_rps() {   # -P depth, -n count
    redis-benchmark -p "$rport" -c 50 -P "$1" -n "$2" -r 1000000 --csv \
        EVALSHA "$sha" 2 sla:z sla:h __rand_int__ msg:__rand_int__ | tail -1 | cut -d'"' -f4
}
rps_p1=$(evalsha_rps 1 200000)
rps_p16=$(evalsha_rps 16 1000000)
rcli flushall >/dev/null
m0=$(mem)
"$build/bench/sla_load" --redis "127.0.0.1:$rport" --prefix "$u:" --baseline "$N"
base_bytes=$(( ($(mem) - m0) / N ))
rcli flushall >/dev/null
say "baseline: EVALSHA ${rps_p1}/s (-P 1), ${rps_p16}/s (-P 16); ${base_bytes} B per ZADD+HSET entry"

# ---- memory: N open appeals as the daemon stores them ----
m0=$(mem)
t0=$(date +%s.%N)
"$build/bench/sla_load" -c "$conf" "${sets[@]}" --redis "127.0.0.1:$rport" --count "$N"
t1=$(date +%s.%N)
bytes=$(( ($(mem) - m0) / N ))
enc=$(rcli object encoding "$u:a:{vk:-100001:wall:1000:c500000}")
usage() { rcli memory usage "$1" samples 0; }
rec=$(usage "$u:a:{vk:-100001:wall:1000:c500000}")
txt=$(usage "$u:a:{vk:-100001:wall:1000:c500000}:text")
aud=$(usage "$u:a:{vk:-100001:wall:1000:c500000}:audit")
load_rate=$($PY -c "print(round($N / ($t1 - $t0)))")
say "memory: $bytes B per appeal (hash $enc: $rec B, text $txt B, audit $aud B); loaded $load_rate/s"

# ---- expiries: EXPIRE appeals due at once, one daemon ----
now=$($PY -c 'import time; print(int(time.time()*1000))')
"$build/bench/sla_load" -c "$conf" "${sets[@]}" --redis "127.0.0.1:$rport" --first "$N" \
    --count "$EXPIRE" --due-at "$((now - 1000))"
"$build/daemon/appealsd" --create-topics -c "$conf" "${sets[@]}" >/dev/null
"$build/daemon/appealsd" -c "$conf" "${sets[@]}" 2>"$dir/appealsd.log" &
daemon_pid=$!
fired() {
    curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null |
        sed -n 's/^appealsd_sla_stages_total{event="breach"} \([0-9]*\).*/\1/p'
}
exp_json=$($PY - "$EXPIRE" "$port" <<'EOF'
import json, re, sys, time, urllib.request
want, port = int(sys.argv[1]), sys.argv[2]
def fired():
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=2).read().decode()
    except OSError:
        return None
    m = re.search(r'^appealsd_sla_stages_total\{event="breach"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0
deadline = time.time() + 600
samples = []
while time.time() < deadline:
    n = fired()
    if n is not None:
        samples.append((time.time(), n))
        if n >= want:
            break
    time.sleep(0.1)
start = [t for t, n in samples if n > 0]
if not start or samples[-1][1] < want:
    print(json.dumps({"error": "only %d of %d fired" % (samples[-1][1] if samples else 0, want)}))
    sys.exit(0)
t_first = max(t for t, n in samples if n == 0) if any(n == 0 for t, n in samples) else start[0]
secs = samples[-1][0] - t_first
print(json.dumps({"seconds": round(secs, 2), "rate": round(want / secs)}))
EOF
)
say "expiries: $exp_json"

# ---- lateness while webhooks arrive at RATE/s ----
now=$($PY -c 'import time; print(int(time.time()*1000))')
first_late=$((N + EXPIRE))
"$build/bench/sla_load" -c "$conf" "${sets[@]}" --redis "127.0.0.1:$rport" \
    --first "$first_late" --count "$SPREAD" --due-at "$((now + 10000))" \
    --spread-ms "$((SPREAD_S * 1000))"
RATE=$RATE CONNS=$CONNS wrk -t2 -c "$CONNS" --timeout 10s -d "$((SPREAD_S + 15))s" --latency \
    -s "$here/vk_comments.lua" "http://127.0.0.1:$port/" >"$dir/wrk.txt" 2>&1
sleep 3
kcat -C -b "$brokers" -t "$u.sla" -o beginning -e -q -f '%s\n' >"$dir/sla.jsonl"
late_json=$($PY - "$dir/sla.jsonl" "$first_late" "$SPREAD" "$dir/wrk.txt" <<'EOF'
import json, re, sys
path, first, count, wrk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
late = []
for line in open(path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    c = int(e["appeal_id"].rsplit(":c", 1)[1]) - 500000
    if first <= c < first + count and e["event"] == "breach":
        late.append(e.get("late_ms", 0))
late.sort()
def pct(p):
    return late[min(len(late) - 1, int(p * len(late)))] if late else None
text = open(wrk).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p99 = re.search(r"\s99%\s+([\d.]+\w+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"stages": len(late), "late_p50_ms": pct(0.5), "late_p99_ms": pct(0.99),
                  "late_max_ms": late[-1] if late else None,
                  "webhooks_per_s": float(rps.group(1)) if rps else None,
                  "webhook_p99": p99.group(1) if p99 else None,
                  "non_2xx": int(non2xx.group(1)) if non2xx else 0}))
EOF
)
say "lateness: $late_json"

# ---- the table ----
$PY - "$N" "$bytes" "$base_bytes" "$rps_p1" "$rps_p16" "$exp_json" "$late_json" "$EXPIRE" \
    "$SPREAD" "$SPREAD_S" "$RATE" "$enc" "$rec" "$txt" "$aud" "$load_rate" <<'EOF'
import json, sys
(n, b, bb, p1, p16, exp, late, expire, spread, spread_s, rate, enc, rec, txt, aud,
 load) = sys.argv[1:]
exp, late = json.loads(exp), json.loads(late)
p1, p16 = float(p1), float(p16)
print("| measure | value | baseline (same run) | ratio | target |")
print("|---|---:|---:|---:|---|")
print("| Redis memory per open appeal (%s appeals) | %s B | %s B per ZADD+HSET entry | %.2f | <= 1024 B |"
      % (n, b, bb, int(b) / int(bb)))
print("| ... of which one record hash (%s) / text / audit | %s / %s / %s B | | | |" % (enc, rec, txt, aud))
print("| loading through the apply script | %s appeals/s | %.0f EVALSHA/s (-P 16) | %.2f | |"
      % (load, p16, int(load) / p16))
if "rate" in exp:
    print("| SLA expiries processed (%s due at once) | %s /s | %.0f EVALSHA/s (-P 1) | %.2f | >= 10000/s |"
          % (expire, exp["rate"], p1, exp["rate"] / p1))
else:
    print("| SLA expiries processed | %s | | | >= 10000/s |" % exp["error"])
print("| timer lateness p50 / p99 / max (%s stages over %s s) | %s / %s / %s ms | | | p99 <= 1000 ms |"
      % (spread, spread_s, late["late_p50_ms"], late["late_p99_ms"], late["late_max_ms"]))
print("| webhooks meanwhile (target %s/s) | %.0f /s, p99 %s, %s non-2xx | | | |"
      % (rate, late["webhooks_per_s"] or 0, late["webhook_p99"], late["non_2xx"]))
EOF
