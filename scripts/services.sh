#!/usr/bin/env bash
# Private Redis and Apache Kafka (KRaft, one combined broker+controller) for tests
# and local runs. Everything lives in DIR; nothing uses a fixed port.
#
#   scripts/services.sh start|stop|status DIR
#   scripts/services.sh start-redis|stop-redis|start-kafka|stop-kafka DIR
#   scripts/services.sh create-topic BROKERS NAME [PARTITIONS [NAME=VALUE...]]
#   scripts/services.sh client-quota BROKERS BYTES_PER_SEC|none   (all clients'
#       produce rate: a slow broker for fault tests)
#
# Exit status: 0 ok, 1 failure, 2 usage, 77 a dependency is missing (see deps.sh).
#
# start writes DIR/env (KEY=VALUE lines, shell-sourceable):
#   APD_SERVICES_DIR, APD_REDIS_URL, APD_REDIS_PORT, APD_REDIS_PIDFILE,
#   APD_KAFKA_BROKERS, APD_KAFKA_PORT, APD_KAFKA_PIDFILE
# The ports are recorded in DIR, so a stop-X/start-X pair brings X back on the same
# port with the same data: Kafka reuses its formatted log dir, and stop-redis saves
# an RDB snapshot that start-redis loads.
#
# Env: APD_KAFKA_SASL=USER:PASSWORD  start-kafka adds a SASL_PLAINTEXT listener
#                    (mechanism PLAIN, that one user) and
#                    writes APD_KAFKA_SASL_BROKERS to DIR/env (kept for restarts)
#      APD_SERVICES_TIMEOUT  readiness timeout in seconds (default 60)
#      APPEALSD_CACHE        where scripts/deps.sh put the Kafka jars
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

PY=/usr/bin/python3
READY_TIMEOUT=${APD_SERVICES_TIMEOUT:-150}
STOP_TIMEOUT=30

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }
# A missing dependency exits 77, so the test harness can report SKIP.
missing() { printf 'services: %s: run scripts/deps.sh\n' "$*" >&2; exit 77; }

usage() {
    sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# free_ports N: N distinct free loopback ports, one a line. The sockets are closed
# before the ports are used, so a start retries with new ports on a bind failure.
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# alive PIDFILE REGEX: the recorded process runs and its command line (NULs as
# spaces) matches REGEX (guards against a recycled pid).
alive() {
    local pid state
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ "$state" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE -- "$2"
}

# terminate PIDFILE PATTERN NAME: TERM, bounded wait, then KILL.
terminate() {
    local pid i
    alive "$1" "$2" || { rm -f "$1"; return 0; }
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        alive "$1" "$2" || break
        sleep 0.1
    done
    if alive "$1" "$2"; then
        say "$3: still running after ${STOP_TIMEOUT}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            alive "$1" "$2" || break
            sleep 0.1
        done
    fi
    rm -f "$1"
}

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# log_since FILE OFFSET: what FILE got after OFFSET bytes (this attempt's lines).
log_since() { tail -c "+$(($2 + 1))" "$1" 2>/dev/null || true; }

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_env() {
    {
        printf 'APD_SERVICES_DIR=%s\n' "$DIR"
        if [ -s "$DIR/redis.port" ]; then
            local rp
            rp=$(cat "$DIR/redis.port")
            printf 'APD_REDIS_URL=redis://127.0.0.1:%s/0\n' "$rp"
            printf 'APD_REDIS_PORT=%s\n' "$rp"
            printf 'APD_REDIS_PIDFILE=%s\n' "$DIR/redis.pid"
        fi
        if [ -s "$DIR/kafka.port" ]; then
            local kp
            kp=$(cat "$DIR/kafka.port")
            printf 'APD_KAFKA_BROKERS=127.0.0.1:%s\n' "$kp"
            printf 'APD_KAFKA_PORT=%s\n' "$kp"
            printf 'APD_KAFKA_PIDFILE=%s\n' "$DIR/kafka.pid"
        fi
        if [ -s "$DIR/kafka.sport" ]; then
            printf 'APD_KAFKA_SASL_BROKERS=127.0.0.1:%s\n' "$(cat "$DIR/kafka.sport")"
        fi
    } >"$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
}

# ---- redis ----------------------------------------------------------------------

# Before and after redis-server retitles itself to "redis-server 127.0.0.1:PORT".
redis_pattern() { printf 'redis-server.*[: ]%s( |$)' "$(cat "$DIR/redis.port" 2>/dev/null)"; }
redis_alive() { [ -s "$DIR/redis.port" ] && alive "$DIR/redis.pid" "$(redis_pattern)"; }

start_redis() {
    command -v redis-server >/dev/null || missing "redis-server not found"
    if redis_alive; then
        say "redis: already running on port $(cat "$DIR/redis.port")"
        write_env
        return 0
    fi
    mkdir -p "$DIR/redis"
    local fresh port pid t0 ok off
    for _ in 1 2 3; do
        fresh=0
        if [ ! -s "$DIR/redis.port" ]; then
            free_ports 1 >"$DIR/redis.port"
            fresh=1
        fi
        port=$(cat "$DIR/redis.port")
        t0=$SECONDS
        off=$(log_size "$DIR/redis.log")
        redis-server --port "$port" --bind 127.0.0.1 --dir "$DIR/redis" \
            --save '' --appendonly no --daemonize no --logfile '' \
            </dev/null >>"$DIR/redis.log" 2>&1 &
        pid=$!
        echo "$pid" >"$DIR/redis.pid"
        ok=0
        while ((SECONDS - t0 < READY_TIMEOUT)); do
            kill -0 "$pid" 2>/dev/null || break
            # Bounded: a foreign listener on the port would never answer.
            if [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
                ok=1
                break
            fi
            sleep 0.05
        done
        if [ "$ok" = 1 ]; then
            write_env
            say "redis: ready on 127.0.0.1:$port (pid $pid, $((SECONDS - t0))s)"
            return 0
        fi
        terminate "$DIR/redis.pid" "$(redis_pattern)" redis
        if [ "$fresh" = 1 ] && log_since "$DIR/redis.log" "$off" | grep -q 'Address already in use'; then
            say "redis: port $port taken, retrying with another"
            rm -f "$DIR/redis.port"
            continue
        fi
        break
    done
    tail -n 20 "$DIR/redis.log" >&2 || true
    die "redis: did not become ready on port $port (log: $DIR/redis.log)"
}

stop_redis() {
    if redis_alive; then
        # SHUTDOWN SAVE writes dump.rdb into DIR/redis even with --save '', so a
        # start-redis after stop-redis has the same data.
        timeout 10 redis-cli -h 127.0.0.1 -p "$(cat "$DIR/redis.port")" shutdown save \
            >/dev/null 2>&1 || true
        terminate "$DIR/redis.pid" "$(redis_pattern)" redis
        say "redis: stopped"
    else
        rm -f "$DIR/redis.pid"
        say "redis: not running"
    fi
}

# ---- kafka ----------------------------------------------------------------------

kafka_pattern() { printf '%s' "$DIR/kafka/server.properties"; }
kafka_alive() { alive "$DIR/kafka.pid" "$(kafka_pattern)"; }

# Sets JAVA_BIN and KAFKA_CP (the cached broker jars), or dies.
find_kafka() {
    local libs
    JAVA_BIN=$(apd_find_java) || missing "no java >= 17"
    libs="$(apd_kafka_home)/libs"
    [ -f "$(apd_kafka_marker)" ] && [ -d "$libs" ] \
        || missing "Kafka jars not in $libs"
    KAFKA_CP="$libs/*"
}

write_server_properties() {
    cat >"$DIR/kafka/server.properties" <<EOF
# written by scripts/services.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$2
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2${3:+,SASL_PLAINTEXT://127.0.0.1:$3}
advertised.listeners=PLAINTEXT://127.0.0.1:$1${3:+,SASL_PLAINTEXT://127.0.0.1:$3}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/kafka-data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
EOF
    if [ -s "$DIR/kafka.sasl" ]; then
        local su sp
        IFS=: read -r su sp <"$DIR/kafka.sasl"
        printf '%s\n' "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$su=\"$sp\";" \
            >>"$DIR/kafka/server.properties"
    fi
}

kafka_ready() {
    port_open "$1" && kcat -b "127.0.0.1:$1" -L -m 2 2>/dev/null | grep -q ' 1 brokers:'
}

start_kafka() {
    command -v kcat >/dev/null || missing "kcat not found"
    if kafka_alive; then
        say "kafka: already running on port $(cat "$DIR/kafka.port")"
        write_env
        return 0
    fi
    local JAVA_BIN KAFKA_CP JAVA
    find_kafka
    JAVA=("$JAVA_BIN" -Xms128m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties"
        "-Dkafka.logs.dir=$DIR/kafka" -cp "$KAFKA_CP")
    mkdir -p "$DIR/kafka" "$DIR/kafka-data"
    local fresh port cport sport pid t0 why off_log off_out
    for _ in 1 2 3; do
        fresh=0
        if [ ! -s "$DIR/kafka.port" ] || [ ! -s "$DIR/kafka.cport" ]; then
            { read -r port; read -r cport; read -r sport; } < <(free_ports 3)
            echo "$port" >"$DIR/kafka.port"
            echo "$cport" >"$DIR/kafka.cport"
            if [ -n "${APD_KAFKA_SASL:-}" ]; then
                echo "$sport" >"$DIR/kafka.sport"
                (umask 077; printf '%s\n' "$APD_KAFKA_SASL" >"$DIR/kafka.sasl")
            fi
            fresh=1
        fi
        port=$(cat "$DIR/kafka.port")
        cport=$(cat "$DIR/kafka.cport")
        sport=$(cat "$DIR/kafka.sport" 2>/dev/null || true)
        t0=$SECONDS
        write_server_properties "$port" "$cport" "$sport"
        if [ ! -f "$DIR/kafka-data/meta.properties" ]; then
            if [ ! -s "$DIR/kafka/cluster.id" ]; then
                # What `StorageTool random-uuid` prints, without a second JVM start.
                "$PY" -c 'import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break' >"$DIR/kafka/cluster.id"
            fi
            id=$(cat "$DIR/kafka/cluster.id")
            "${JAVA[@]}" kafka.tools.StorageTool format -t "$id" \
                -c "$DIR/kafka/server.properties" >>"$DIR/kafka/format.log" 2>&1 \
                || { cat "$DIR/kafka/format.log" >&2; die "kafka: storage format failed"; }
        fi
        off_log=$(log_size "$DIR/kafka/kafka.log")
        off_out=$(log_size "$DIR/kafka/kafka.out")
        "${JAVA[@]}" kafka.Kafka "$DIR/kafka/server.properties" \
            </dev/null >>"$DIR/kafka/kafka.out" 2>&1 &
        pid=$!
        echo "$pid" >"$DIR/kafka.pid"
        why="not ready within ${READY_TIMEOUT}s"
        while ((SECONDS - t0 < READY_TIMEOUT)); do
            if kafka_ready "$port"; then
                why=
                break
            fi
            kill -0 "$pid" 2>/dev/null || { why="exited during start-up"; break; }
            sleep 0.1
        done
        if [ -z "$why" ]; then
            write_env
            say "kafka: ready on 127.0.0.1:$port (pid $pid, $((SECONDS - t0))s)"
            return 0
        fi
        terminate "$DIR/kafka.pid" "$(kafka_pattern)" kafka
        if [ "$fresh" = 1 ] && { log_since "$DIR/kafka/kafka.log" "$off_log"
                                 log_since "$DIR/kafka/kafka.out" "$off_out"; } \
                                 | grep -q 'Address already in use'; then
            say "kafka: port $port or $cport taken, retrying with others"
            rm -f "$DIR/kafka.port" "$DIR/kafka.cport" "$DIR/kafka.sport"
            continue
        fi
        break
    done
    tail -n 10 "$DIR/kafka/kafka.out" >&2 2>/dev/null || true
    grep -hE '(ERROR|FATAL|Caused by)' "$DIR/kafka/kafka.log" 2>/dev/null | tail -n 10 >&2 || true
    die "kafka: $why on port $port (logs: $DIR/kafka/)"
}

stop_kafka() {
    if kafka_alive; then
        terminate "$DIR/kafka.pid" "$(kafka_pattern)" kafka
        say "kafka: stopped"
    else
        rm -f "$DIR/kafka.pid"
        say "kafka: not running"
    fi
}

# ---- tools ----------------------------------------------------------------------

create_topic() {
    local brokers=$1 name=$2 partitions=${3:-1} JAVA_BIN KAFKA_CP c
    shift $(($# < 3 ? $# : 3))
    local configs=()
    for c in "$@"; do configs+=(--config "$c"); done
    find_kafka
    # Without a log4j config of their own the tools log only errors, to stderr.
    timeout 60 "$JAVA_BIN" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp "$KAFKA_CP" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$brokers" --create --if-not-exists --topic "$name" \
        --partitions "$partitions" --replication-factor 1 "${configs[@]}" >/dev/null
}

# ---- main -----------------------------------------------------------------------

[ $# -ge 2 ] || usage
cmd=$1
client_quota() {
    local brokers=$1 rate=$2 JAVA_BIN KAFKA_CP op
    find_kafka
    if [ "$rate" = none ]; then
        op=(--delete-config producer_byte_rate)
    else
        op=(--add-config "producer_byte_rate=$rate")
    fi
    timeout 60 "$JAVA_BIN" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp "$KAFKA_CP" kafka.admin.ConfigCommand --bootstrap-server "$brokers" \
        --alter --entity-type clients --entity-default "${op[@]}" >/dev/null
}

if [ "$cmd" = client-quota ]; then
    shift
    [ $# -eq 2 ] || usage
    client_quota "$@"
    exit $?
fi

if [ "$cmd" = create-topic ]; then
    shift
    [ $# -ge 2 ] || usage
    create_topic "$@"
    exit
fi
[ $# -eq 2 ] || usage
case "$cmd" in
    start*) mkdir -p "$2" ;;
    *) [ -d "$2" ] || die "no such directory: $2" ;;
esac
DIR=$(cd "$2" && pwd -P)
case "$DIR" in
    *[!A-Za-z0-9_./+-]*) die "DIR must be a plain path (letters, digits, _./+-): $DIR" ;;
esac

case "$cmd" in
    start)
        start_redis
        # Leave nothing behind when the broker does not come up.
        trap 'stop_redis >/dev/null' EXIT
        start_kafka
        trap - EXIT
        ;;
    stop) stop_kafka; stop_redis ;;
    start-redis) start_redis ;;
    start-kafka) start_kafka ;;
    stop-redis) stop_redis ;;
    stop-kafka) stop_kafka ;;
    status)
        rc=0
        if redis_alive; then
            say "redis: running on 127.0.0.1:$(cat "$DIR/redis.port") (pid $(cat "$DIR/redis.pid"))"
        else
            say "redis: stopped"; rc=1
        fi
        if kafka_alive; then
            say "kafka: running on 127.0.0.1:$(cat "$DIR/kafka.port") (pid $(cat "$DIR/kafka.pid"))"
        else
            say "kafka: stopped"; rc=1
        fi
        exit $rc
        ;;
    *) usage ;;
esac
