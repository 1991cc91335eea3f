#!/usr/bin/env bash
# Installs what building and testing appealsd needs on Debian 12, then fetches the
# Apache Kafka broker jars used by the tests into a cache outside the repository.
# Idempotent: when everything is present it only checks (no apt-get, no mvn).
#
#   scripts/deps.sh
#
# Env: APPEALSD_CACHE  cache dir (default ${XDG_CACHE_HOME:-~/.cache}/appealsd)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

say() { printf 'deps: %s\n' "$*"; }

packages=(
    meson ninja-build pkg-config gcc clang libclang-rt-14-dev
    libevent-dev librdkafka-dev libhiredis-dev libyajl-dev libcurl4-openssl-dev
    libssl-dev zlib1g-dev libstemmer-dev libutf8proc-dev libsystemd-dev systemd
    redis-server kcat wrk haproxy python3-jsonschema liblinear-tools
    dpkg-dev debhelper fakeroot
    nginx
)

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
if ! apd_find_java >/dev/null; then
    missing+=(default-jdk-headless)
fi
if ! command -v mvn >/dev/null 2>&1; then
    missing+=(maven)
fi

if [ ${#missing[@]} -eq 0 ]; then
    say "apt packages: all ${#packages[@]} present"
else
    say "apt packages: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    had_redis=0
    installed redis-server && had_redis=1
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "apt packages: installed ${#missing[@]}"
    # Without systemd as PID 1 the package's postinst starts a system redis on port
    # 6379 through its init script. The tests never use it (each run starts private
    # instances on free ports), so stop the one this script caused.
    if [ "$had_redis" = 0 ] && [ ! -d /run/systemd/system ] \
        && [ -x /etc/init.d/redis-server ] && pgrep -x redis-server >/dev/null; then
        "${sudo[@]}" /etc/init.d/redis-server stop >/dev/null 2>&1 || true
        say "stopped the system redis-server its package started (tests use private ones)"
    fi
fi

java=$(apd_find_java) || { say "no java >= 17 found after install"; exit 1; }
say "java: $java (major $(apd_java_major "$java"))"

kafka_home=$(apd_kafka_home)
marker=$(apd_kafka_marker)
pom="$here/kafka/pom.xml"
sum=$(sha256sum "$pom" | cut -d' ' -f1)
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$sum" ] && [ -d "$kafka_home/libs" ]; then
    say "kafka $APD_KAFKA_VERSION jars: cached in $kafka_home/libs"
else
    mkdir -p "$kafka_home"
    rm -rf "$kafka_home/libs.tmp"
    # JAVA_HOME for mvn: the java found above, so a JDK < 17 elsewhere on PATH
    # does not run it.
    if ! JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java")")") \
        mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
            -DoutputDirectory="$kafka_home/libs.tmp" >"$kafka_home/mvn.log" 2>&1; then
        tail -n 30 "$kafka_home/mvn.log" >&2
        say "kafka $APD_KAFKA_VERSION jars: mvn failed (log: $kafka_home/mvn.log)"
        exit 1
    fi
    rm -rf "$kafka_home/libs"
    mv "$kafka_home/libs.tmp" "$kafka_home/libs"
    printf '%s\n' "$sum" >"$marker"
    say "kafka $APD_KAFKA_VERSION jars: fetched $(ls "$kafka_home/libs" | wc -l) jars into $kafka_home/libs"
fi

# promtool checks and unit-tests contrib/monitoring's alert rules
# (tests/integration/test_monitoring.py). Only the binary is taken from Debian's
# prometheus package: installing the package would also enable a Prometheus
# server, which nothing here needs.
if command -v promtool >/dev/null 2>&1; then
    say "promtool: $(command -v promtool)"
else
    pdir="$(apd_cache_dir)/prometheus"
    rm -rf "$pdir" && mkdir -p "$pdir/deb"
    sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    if (cd "$pdir/deb" && apt-get download prometheus >/dev/null 2>&1) \
        && dpkg-deb -x "$pdir"/deb/prometheus_*.deb "$pdir/tree" \
        && "${sudo[@]}" install -m 0755 "$pdir/tree/usr/bin/promtool" /usr/local/bin/promtool; then
        say "promtool: extracted from the prometheus package into /usr/local/bin"
    else
        say "promtool: could not fetch the prometheus package; the monitoring test checks the rules without it"
    fi
    rm -rf "$pdir/deb" "$pdir/tree"
fi
