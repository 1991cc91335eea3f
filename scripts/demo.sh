#!/usr/bin/env bash
# The README's first command: from a fresh machine to appealsd doing its job.
#   1. installs what is missing (scripts/deps.sh) and builds build/;
#   2. uses the Redis and Kafka named by APD_REDIS_URL / APD_KAFKA_BROKERS, or
#      starts private ones (scripts/services.sh) for the length of the demo;
#   3. creates the topics and runs appealsd on the example configuration
#      (config/appealsd.conf: the Republic of Adygea);
#   4. posts the sample VK webhooks of config/examples/ and shows where the
#      routed appeals landed: Kafka topics, the Redis record, appealsctl status.
#
#   scripts/demo.sh [--keep]     --keep: leave the daemon running until Ctrl-C
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "dependencies"
scripts/deps.sh
say "build"
[ -d build ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build

work=$(mktemp -d "${TMPDIR:-/tmp}/appealsd-demo.XXXXXX")
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -f "$work/svc/env" ] && scripts/services.sh stop "$work/svc" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -z "${APD_REDIS_URL:-}" ] || [ -z "${APD_KAFKA_BROKERS:-}" ]; then
    say "private Redis and Kafka (none configured)"
    scripts/services.sh start "$work/svc"
    set -a; . "$work/svc/env"; set +a
fi

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sock="$work/control.sock"
sets=(--set daemon.plugin_dir="$root/build/plugins" --set kafka.brokers="$APD_KAFKA_BROKERS"
      --set redis.url="$APD_REDIS_URL" --set spool.dir="$work/spool"
      --set control.socket="$sock" --set http.listen="127.0.0.1:$port"
      --set daemon.pseudonym_key=appealsd-demo-pseudonym-key-not-for-production)
appealsd=build/daemon/appealsd
ctl() { build/tools/appealsctl/appealsctl -s "$sock" "$@"; }

say "configuration check"
"$appealsd" --check-config -c config/appealsd.conf "${sets[@]}"
say "Kafka topics"
"$appealsd" --create-topics -c config/appealsd.conf "${sets[@]}" | tail -n 5
say "appealsd on 127.0.0.1:$port"
"$appealsd" -c config/appealsd.conf "${sets[@]}" >"$work/appealsd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
    ctl status >/dev/null 2>&1 && break
    sleep 0.1
done
ctl status

post() {
    printf '%-28s -> ' "$1"
    curl -sS -o "$work/reply" -w 'HTTP %{http_code} ' -X POST \
        -H 'Content-Type: application/json' --data-binary "@config/examples/$1" \
        "http://127.0.0.1:$port/webhook/vk"
    printf '"%s"\n' "$(cat "$work/reply")"
}
say "VK webhooks (config/examples/)"
for f in vk-confirmation.json vk-roads-maykop.json vk-health-question.json vk-noise.json \
         vk-page-answer.json; do
    post "$f"
done

say "where the appeals landed"
for _ in $(seq 1 100); do
    ctl --json status | grep -q '"unreleased":0,' && break
    sleep 0.1
done
kcat -b "$APD_KAFKA_BROKERS" -L 2>/dev/null | sed -n 's/^ *topic "\(appeals\.[^"]*\)".*/\1/p' | sort |
while read -r topic; do
    n=$(kcat -b "$APD_KAFKA_BROKERS" -C -t "$topic" -o beginning -e -q -f '%k\n' 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] || continue
    printf '\n%s (%d messages)\n' "$topic" "$n"
    kcat -b "$APD_KAFKA_BROKERS" -C -t "$topic" -o beginning -e -q -J 2>/dev/null |
        /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line); p = json.loads(m["payload"])
    route = p.get("route", {})
    cls = p.get("classification", {})
    what = "/".join(x for x in (cls.get("kind"), cls.get("category")) if x)
    print("  %-9s %-30s seq %-2s org %-10s %s%s" % (p["event"], p["appeal_id"], p["seq"],
          p.get("org", {}).get("code", "-"), route.get("reason", ""),
          ("  [%s]" % what) if what else ""))'
done

say "the appeal's record in Redis"
redis_port=${APD_REDIS_URL##*:}; redis_port=${redis_port%%/*}
redis_host=${APD_REDIS_URL#redis://}; redis_host=${redis_host%%:*}
redis-cli -h "$redis_host" -p "$redis_port" hgetall 'apd:a:{vk:-100001:wall:4521:c9101}' | paste - - | head -n 30

say "appealsctl status"
ctl status

if [ "$keep" = 1 ]; then
    say "appealsd keeps running (control socket $sock); Ctrl-C stops everything"
    wait "$daemon_pid"
fi
