#!/usr/bin/env bash
# The intake benchmark: the daemon's full durable path (HTTP -> plugin ->
# spool fsync with group commit -> answer; Redis and Kafka work behind it)
# against a bare evhttp server that only answers "ok", measured in the same
# run, alternating, at 1, 64 and 256 connections with realistic VK bodies.
#
#   bench/run-intake.sh [--build DIR] [--rounds N] [--seconds S] [--out FILE]
#                       [--pipeline-paused] [--base DIR]
#
# Per round and server: a fresh process, a 2 s warm-up at 64 connections,
# then wrk -t1 -cC -dS --latency for each C.  Reported (bench/report.py):
# medians over rounds of req/s, p50/p99 latency, server CPU per request,
# peak RSS (VmHWM), the median of the per-round (paired) ratios daemon/bare,
# errors, and the targets.  Redis is a private redis-server (scripts/
# services.sh), Kafka a mock broker (bench/mockkafka); the spool lives in a
# temporary directory on the disk ($TMPDIR), so fsync is real.
# --pipeline-paused points the daemon at a Redis that is not there: every
# webhook is still answered only once durable, but nothing is processed
# behind it (the daemon's "Redis away" mode) — the cost of the intake alone.
# --base DIR adds a third server, "base": the appealsd of another build (the
# previous commit, built beside this one), in the same rounds, so before and
# after are compared on the same machine at the same time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${APD_BUILD_DIR:-$root/build}
rounds=3 secs=5 out= paused=0 base=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --pipeline-paused) paused=1; shift ;;
    --base) base=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--rounds N] [--seconds S] [--out FILE]" \
            "[--pipeline-paused] [--base DIR]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/deps.sh)" >&2; exit 77; }
for bin in daemon/appealsd bench/evhttp_ok bench/mockkafka; do
    [ -x "$build/$bin" ] || { echo "bench: $build/$bin not built (ninja -C $build)" >&2; exit 1; }
done
if [ -n "$base" ] && [ ! -x "$base/daemon/appealsd" ]; then
    echo "bench: $base/daemon/appealsd not built (ninja -C $base)" >&2; exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/apd-bench.XXXXXX")
results=$work/results.jsonl
pids=()
say() { printf 'bench: %s\n' "$*" >&2; }
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    "$root/scripts/services.sh" stop "$work/svc" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_http() {
    for _ in $(seq 200); do
        curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
        sleep 0.05
    done
    return 1
}

"$root/scripts/services.sh" start-redis "$work/svc" >/dev/null
redis_url=$(sed -n 's/^APD_REDIS_URL=//p' "$work/svc/env")
topics="appeals.all appeals.triage appeals.sla appeals.status appeals.dlq appeals.org.maykop"
"$build/bench/mockkafka" $topics >"$work/mock.out" 2>"$work/mock.err" &
pids+=($!)
for _ in $(seq 100); do grep -q bootstrap= "$work/mock.out" && break; sleep 0.05; done
brokers=$(sed -n 's/^bootstrap=//p' "$work/mock.out")
[ -n "$brokers" ] || { say "mockkafka did not start: $(cat "$work/mock.err")"; exit 1; }
hz=$(getconf CLK_TCK)
daemon_redis=$redis_url
[ "$paused" = 1 ] && daemon_redis=redis://127.0.0.1:9/0

# start_server ITEM PORT: starts it; its pid in server_pid
start_server() {
    case $1 in
    bare) "$build/bench/evhttp_ok" "$2" >/dev/null 2>>"$work/bare.log" & ;;
    daemon|base)
        local bin=$build
        [ "$1" = base ] && bin=$base
        rm -rf "$work/spool"
        "$bin/daemon/appealsd" -c "$root/config/appealsd.conf" \
            --set daemon.plugin_dir="$bin/plugins" --set daemon.log_level=warn \
            --set daemon.pseudonym_key=bench-pseudonym-key-0123456789abcdef --set http.listen="127.0.0.1:$2" \
            --set spool.dir="$work/spool" --set control.socket="$work/ctl.sock" \
            --set kafka.brokers="$brokers" --set redis.url="$daemon_redis" \
            --set redis.prefix="bench$RANDOM:" >/dev/null 2>>"$work/$1.log" & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
}

run_item() {   # ITEM ROUND
    local item=$1 round=$2 port pid
    port=$(free_port)
    start_server "$item" "$port"
    pid=$server_pid
    wait_http "$port" || { say "$item did not come up"; exit 1; }
    wrk -t1 -c64 -d2s -s "$root/bench/post.lua" "http://127.0.0.1:$port/webhook/vk" \
        -- "w$(printf %07x $((RANDOM * RANDOM % 268435455)))" >/dev/null
    for c in 1 64 256; do
        local before after line
        before=$(cpu_ticks "$pid")
        line=$(wrk -t1 -c"$c" -d"${secs}s" --latency -s "$root/bench/post.lua" \
                   "http://127.0.0.1:$port/webhook/vk" -- "$(printf %08x $((RANDOM * 32768 + RANDOM)))" \
               | grep '^{"requests"')
        after=$(cpu_ticks "$pid")
        printf '{"item":"%s","round":%d,"conns":%d,"cpu_s":%s,%s\n' "$item" "$round" "$c" \
            "$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN{printf "%.3f", (a-b)/hz}')" \
            "${line#\{}" >>"$results"
        say "round $round $item c=$c: $line"
    done
    local hwm
    hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
    printf '{"item":"%s","round":%d,"rss_kb":%s}\n' "$item" "$round" "$hwm" >>"$results"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

say "$rounds rounds x ${secs}s per point; Redis $redis_url, mock Kafka $brokers"
for r in $(seq "$rounds"); do
    if [ -n "$base" ]; then
        case $((r % 3)) in
        1) order="bare daemon base" ;; 2) order="daemon base bare" ;; *) order="base bare daemon" ;;
        esac
    elif [ $((r % 2)) = 1 ]; then order="bare daemon"; else order="daemon bare"; fi
    for item in $order; do run_item "$item" "$r"; done
done
if [ "$paused" = 0 ] && grep -qE ' error: | warn: ' "$work/daemon.log"; then
    say "daemon log (warnings and errors):"
    grep -E ' error: | warn: ' "$work/daemon.log" | head -20 >&2
fi
wrk_version=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')   # wrk -v exits 1
note="$(nproc) cores, $(uname -r), wrk $wrk_version"
[ "$paused" = 1 ] && note="$note, pipeline paused (Redis away)"
[ -z "$out" ] || cp "$results" "${out%.md}.jsonl"
python3 "$root/bench/report.py" "$results" "$note" | tee ${out:+"$out"}
