#!/usr/bin/env bash
# The end-to-end load benchmark: bench/loadgen's mixed traffic (VK, Telegram,
# MAX, OK and generic webhooks with redeliveries, edits, deletes and noise)
# against appealsd on a real Apache Kafka broker and a real Redis, beside the
# bare evhttp server (bench/evhttp_ok) under the same load, alternating, a
# fresh process for every run.
#
#   bench/run-load.sh [--build DIR] [--rounds N] [--seconds S] [--conns C]
#                     [--rate R] [--timeout T] [--warmup W] [--out FILE] [--base DIR]
#
# First, unmeasured, daemons take full load until the Kafka JVM has compiled
# its hot paths (its JIT compiler threads below 5 % of a core during a run),
# for at most W seconds (default 120; 0: no warm-up).  Without it the JIT
# took about half of the broker's CPU (0.3-0.4 core) in the first rounds'
# daemon runs, and 30 s of load were not enough; every measured run should
# meet a broker in the state a long-running one is in.
# Per round and server two runs of S seconds at C connections: as fast as
# answers come back, and R requests/s open loop.  Reported
# (bench/load_report.py): answered req/s, HTTP latency p50/p90/p99 (loadgen),
# server CPU per request and per appeal (utime+stime from /proc/PID/stat,
# from the start of the load until the daemon has drained; per appeal = per
# new item answered 200), peak RSS (VmHWM), non-2xx answers by class, the
# medians of the per-round ratios appealsd/bare, and the end-to-end latency:
# loadgen's send time of each acknowledged new item to the arrival of its
# "created" message at a consumer of the daemon's all topic (kcat, stamped on
# arrival).  Every acknowledged appeal must reach Kafka within T seconds
# (default 120) after the load; if one does not, the exit status is 1.
# Also reported: where the CPU goes per appeal, by process and by thread
# (the daemon's loop, spool fsync and librdkafka threads; Redis; the
# broker's JIT, GC and other threads: network, requests, raft).
# --out FILE also writes the per-run JSON lines to FILE.
# --base DIR adds a third server, "base": the appealsd of another build (the
# previous commit, built beside this one), in the same rounds, so before and
# after are compared on the same machine at the same time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${APD_BUILD_DIR:-$root/build}
rounds=3 secs=10 conns=16 rate=300 timeout=120 warmup=120 out= idle_secs=2 base=
usage() {
    echo "usage: $0 [--build DIR] [--rounds N] [--seconds S] [--conns C] [--rate R]" \
         "[--timeout T] [--warmup W] [--out FILE] [--base DIR]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
    --build) build=$2 ;;
    --rounds) rounds=$2 ;;
    --seconds) secs=$2 ;;
    --conns) conns=$2 ;;
    --rate) rate=$2 ;;
    --timeout) timeout=$2 ;;
    --warmup) warmup=$2 ;;
    --out) out=$2 ;;
    --base) base=$2 ;;
    *) usage ;;
    esac
    shift 2
done
for tool in kcat curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (scripts/deps.sh)" >&2; exit 77; }
done
if [ -n "$base" ] && [ ! -x "$base/daemon/appealsd" ]; then
    echo "bench: $base/daemon/appealsd not built (ninja -C $base)" >&2; exit 1
fi
for bin in daemon/appealsd bench/evhttp_ok bench/loadgen tools/appealsctl/appealsctl; do
    [ -x "$build/$bin" ] || { echo "bench: $build/$bin not built (ninja -C $build)" >&2; exit 1; }
done

report=$root/bench/load_report.py
work=$(mktemp -d "${TMPDIR:-/tmp}/apd-load.XXXXXX")
results=$work/results.jsonl
: >"$results"
pids=()
say() { printf 'bench: %s\n' "$*" >&2; }
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    "$root/scripts/services.sh" stop "$work/svc" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_s() { date +%s.%N; }
svc_pid() { cat "$work/svc/$1.pid"; }
# forget PID: off the cleanup's list (reaped: its number may be reused).
forget() {
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}
# stop PID: TERM and reap it (it is our child), then forget it.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}
# alive ITEM: the server is still running, or the run ends here with its log.
alive() {
    kill -0 "$server_pid" 2>/dev/null && return 0
    say "$1 exited during the run; the end of its log:"
    tail -20 "$work/$1.log" >&2
    exit 1
}
# until SECONDS CMD...: retries CMD every 0.1 s for at most SECONDS.
until_ok() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}
healthy() { curl -sf -o /dev/null "http://127.0.0.1:$1/healthz"; }

# The daemon's overrides for run U: its own topics, Redis prefix and status
# consumer group, so runs never see each other's appeals (loadgen's ids
# repeat from run to run); OK's webhooks are allowed from loopback.
daemon_args() {
    dargs=(-c "$root/config/appealsd.conf"
        --set daemon.plugin_dir="$(bin_of "${2:-daemon}")/plugins" --set daemon.log_level=warn
        --set daemon.pseudonym_key=bench-pseudonym-key-0123456789abcdef
        --set kafka.brokers="$brokers" --set redis.url="$redis_url" --set redis.prefix="$1:"
        --set kafka.topic_all="$1.all" --set kafka.topic_triage="$1.triage"
        --set kafka.topic_sla="$1.sla" --set kafka.topic_status="$1.status"
        --set kafka.topic_dlq="$1.dlq" --set kafka.topic_org_prefix="$1.org."
        --set sla.status_group="$1.status-group"
        --set spool.dir="$work/$1.spool" --set control.socket="$work/ctl.sock"
        --set source.ok.allow_from=127.0.0.1/32)
}

# is_apd ITEM: an appealsd (this build's, or the base build's).
is_apd() { [ "$1" = daemon ] || [ "$1" = base ]; }
# bin_of ITEM: the build directory an appealsd item runs from.
bin_of() { if [ "$1" = base ]; then echo "$base"; else echo "$build"; fi; }

# start_consumer U: kcat on U's all topic through the arrival stamper; a fifo
# rather than a pipe so both pids are ours to stop.  The topic is new, so
# reading from the beginning misses nothing whenever kcat gets going.  The
# fetch wait stays at its default: the broker answers a waiting fetch as soon
# as a message is appended, and a short wait (5 ms) only added ~0.3 core of
# broker CPU (empty fetches) without lowering the measured latency.
start_consumer() {
    rm -f "$work/kcat.fifo"
    mkfifo "$work/kcat.fifo"
    python3 "$report" stamp "$work/arrivals" <"$work/kcat.fifo" &
    stamp_pid=$!
    pids+=("$stamp_pid")
    kcat -C -q -b "$brokers" -t "$1.all" -o beginning -u -X fetch.wait.max.ms=500 \
        -f '%k %T %s\n' >"$work/kcat.fifo" 2>>"$work/kcat.log" &
    kcat_pid=$!
    pids+=("$kcat_pid")
}
stop_consumer() { stop "$kcat_pid"; stop "$stamp_pid"; }

# start_server ITEM PORT U: its pid in server_pid.
start_server() {
    case $1 in
    bare) "$build/bench/evhttp_ok" "$2" >/dev/null 2>>"$work/bare.log" & ;;
    daemon|base)
        daemon_args "$3" "$1"
        "$(bin_of "$1")/daemon/appealsd" "${dargs[@]}" --set http.listen="127.0.0.1:$2" \
            >/dev/null 2>>"$work/daemon.log" & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
}

# warm_up PORT U: one VK comment outside loadgen's ids, so the daemon's Kafka
# producer has its id and Redis its scripts before the clock starts.
warm_up() {
    local id=$((2000000000 + RANDOM))
    curl -sf -o /dev/null -H 'Content-Type: application/json' \
        --data-binary "{\"type\":\"wall_reply_new\",\"event_id\":\"warm-$2\",\"v\":\"5.199\",\
\"group_id\":100001,\"secret\":\"maykop-example-secret\",\"object\":{\"id\":$id,\
\"from_id\":7001,\"date\":1795900000,\"text\":\"Не горят фонари на Пионерской\",\
\"post_id\":42,\"owner_id\":-100001}}" "http://127.0.0.1:$1/webhook/vk"
    warm_id="vk:-100001:wall:42:c$id"
}
warm_arrived() { grep -qF " $warm_id created" "$work/arrivals" 2>/dev/null; }
daemon_drained() {
    "$build/tools/appealsctl/appealsctl" -s "$work/ctl.sock" status --json 2>/dev/null \
        | python3 "$report" drained
}

# ready ITEM PORT U: up, warmed, and (daemon) its consumer seeing its topic.
ready() {
    until_ok 30 healthy "$2" || { say "$1 did not come up"; exit 1; }
    warm_up "$2" "$3" || { say "$1 refused the warm-up request"; exit 1; }
    is_apd "$1" || return 0
    until_ok 60 warm_arrived || { say "the warm-up appeal did not reach Kafka"; exit 1; }
    until_ok 60 daemon_drained || { say "the daemon did not drain the warm-up"; exit 1; }
}

# snap: CPU ticks of the server, Redis and the Kafka broker, and the time.
snap() { echo "$(cpu_ticks "$server_pid") $(cpu_ticks "$rpid") $(cpu_ticks "$kpid") $(now_s)"; }
# used SNAP0 SNAP1: the JSON fields of what happened between two snaps.
used() {
    awk -v a="$1" -v b="$2" -v hz="$hz" 'BEGIN { split(a, x); split(b, y)
        printf "\"cpu_s\":%.3f,\"redis_cpu_s\":%.3f,\"kafka_cpu_s\":%.3f,\"window_s\":%.3f",
            (y[1] - x[1]) / hz, (y[2] - x[2]) / hz, (y[3] - x[3]) / hz, y[4] - x[4] }'
}

# launch ITEM PORT U: (daemon: U's topics and their consumer,) the server,
# ready and warmed up.
launch() {
    if is_apd "$1"; then
        daemon_args "$3" "$1"
        "$(bin_of "$1")/daemon/appealsd" --create-topics "${dargs[@]}" >/dev/null 2>>"$work/daemon.log"
        : >"$work/arrivals"
        start_consumer "$3"
    fi
    start_server "$1" "$2" "$3"
    ready "$1" "$2" "$3"
}

# load MODE ROUND PORT [SECONDS]: one loadgen run; the same seed for both
# servers of a round, so both get the same requests.
load() {
    local rate_args=()
    if [ "$1" = rate ]; then rate_args=(-r "$rate"); fi
    # in the background and waited for, so a signal to this script reaches
    # the cleanup at once and the cleanup stops loadgen too
    "$build/bench/loadgen" -u "http://127.0.0.1:$3" -c "$conns" "${rate_args[@]}" \
        -d "${4:-$secs}" --seed "$2" --acked "$work/acked" \
        --pseudonym-key bench-pseudonym-key-0123456789abcdef >"$work/loadgen.json" \
        2>>"$work/loadgen.log" &
    local lg=$!
    pids+=("$lg")
    wait "$lg" || { say "loadgen failed: $(tail -3 "$work/loadgen.log")"; exit 1; }
    forget "$lg"
}

# run_one ITEM MODE ROUND: one fresh server, one loadgen run, one JSON line.
# The CPU window runs from the start of the load until (daemon) every
# acknowledged appeal is on Kafka and the pipeline is empty: the work behind
# the acknowledgements counts too.
run_one() {
    local item=$1 mode=$2 round=$3 port u="ld$RANDOM$RANDOM" idle s0 s1 th0 th1 e2e=null
    port=$(free_port)
    launch "$item" "$port" "$u"
    # the server's background cost (timers, consumer polls), to read the
    # per-request figures at a low rate against
    idle=$(cpu_ticks "$server_pid")
    sleep "$idle_secs"
    s0=$(snap) th0=$(python3 "$report" threads "$server_pid" "$kpid")
    load "$mode" "$round" "$port"
    alive "$item"
    if is_apd "$item"; then
        e2e=$(python3 "$report" join "$work/acked" "$work/arrivals" "$timeout")
        until_ok "$timeout" daemon_drained || say "round $round: the daemon did not drain"
        alive "$item"
    fi
    s1=$(snap) th1=$(python3 "$report" threads "$server_pid" "$kpid")
    local hwm new_ok
    hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$server_pid/status")
    new_ok=$(awk '$2 == "new" && $3 == 200' "$work/acked" | wc -l)
    stop "$server_pid"
    if is_apd "$item"; then stop_consumer; fi
    printf '{"item":"%s","mode":"%s","round":%d,"conns":%d,"rate":%s,"seconds":%s,' \
        "$item" "$mode" "$round" "$conns" "$rate" "$secs" >>"$results"
    printf '"idle_cpu_s":%s,"idle_s":%s,%s,"hz":%d,"threads0":%s,"threads1":%s,' \
        "$(awk -v a="$idle" -v b="${s0%% *}" -v hz="$hz" 'BEGIN{printf "%.3f", (b - a) / hz}')" \
        "$idle_secs" "$(used "$s0" "$s1")" "$hz" "$th0" "$th1" >>"$results"
    printf '"rss_kb":%d,"new_ok":%d,"loadgen":%s,"e2e":%s}\n' \
        "$hwm" "$new_ok" "$(cat "$work/loadgen.json")" "$e2e" >>"$results"
    say "round $round $item $mode: $(cat "$work/loadgen.json")"
    if is_apd "$item"; then say "round $round $item $mode: end to end $e2e"; fi
}

# warm_broker: unmeasured full-load runs, each on a fresh daemon as in the
# rounds, until the broker's JIT compiler threads use less than 5 % of a core
# during one, or W seconds have passed.
warm_broker() {
    local port u j0 j1 start=$SECONDS
    while :; do
        port=$(free_port) u="ldwarm$RANDOM$RANDOM"
        launch daemon "$port" "$u"
        j0=$(python3 "$report" jit "$kpid")
        load fast 0 "$port"
        j1=$(python3 "$report" jit "$kpid")
        until_ok "$timeout" daemon_drained || say "warm-up: the daemon did not drain"
        stop "$server_pid"
        stop_consumer
        say "warm-up: the broker's JIT threads used $(((j1 - j0) * 1000 / hz)) ms of CPU in ${secs}s"
        [ $(((j1 - j0) * 20)) -ge $((hz * secs)) ] || return 0
        if [ $((SECONDS - start)) -ge "$warmup" ]; then
            say "warm-up: the broker still compiles after ${warmup}s; measuring anyway"
            return 0
        fi
    done
}

hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$root/scripts/services.sh" start "$work/svc" >/dev/null
redis_url=$(sed -n 's/^APD_REDIS_URL=//p' "$work/svc/env")
brokers=$(sed -n 's/^APD_KAFKA_BROKERS=//p' "$work/svc/env")
rpid=$(svc_pid redis) kpid=$(svc_pid kafka)
say "$rounds rounds x ${secs}s per run, c=$conns, rate $rate/s; Redis $redis_url, Kafka $brokers"
if [ "$warmup" != 0 ]; then warm_broker; fi
for r in $(seq "$rounds"); do
    # alternate which server goes first, so a drift in the machine's load
    # does not always favour the same one
    if [ -n "$base" ]; then
        case $((r % 3)) in
        1) order="bare daemon base" ;; 2) order="daemon base bare" ;; *) order="base bare daemon" ;;
        esac
    elif [ $((r % 2)) = 1 ]; then order="bare daemon"; else order="daemon bare"; fi
    for mode in fast rate; do
        for item in $order; do run_one "$item" "$mode" "$r"; done
    done
done
if grep -qE ' error: | warn: ' "$work/daemon.log"; then
    say "daemon log (warnings and errors):"
    grep -E ' error: | warn: ' "$work/daemon.log" | head -20 >&2
fi
note="$(nproc) cores, $(uname -r), Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'),"
note="$note Apache Kafka (one KRaft broker, scripts/services.sh),"
note="$note load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
[ -z "$out" ] || cp "$results" "$out"
status=0
python3 "$report" report "$results" "$note" || status=$?
exit "$status"
