# Sourced by scripts/deps.sh and scripts/services.sh: where the test broker's jars
# live and which java runs them. Not executable on its own.

APD_KAFKA_VERSION=4.1.1

# Cache outside the repository, shared by every checkout on the machine.
apd_cache_dir() {
    printf '%s\n' "${APPEALSD_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/appealsd}"
}

apd_kafka_home() {
    printf '%s/kafka-%s\n' "$(apd_cache_dir)" "$APD_KAFKA_VERSION"
}

# The marker holds the checksum of the pom the jars came from, so a changed pom
# fetches again.
apd_kafka_marker() {
    printf '%s/.fetched\n' "$(apd_kafka_home)"
}

# Prints the major version of the given java binary (8 for 1.8), or nothing.
apd_java_major() {
    local v
    v=$("$1" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9.]*\).*/\1/p' | head -n 1)
    [ -n "$v" ] || return 1
    case "$v" in
        1.*) v=${v#1.} ;;
    esac
    printf '%s\n' "${v%%.*}"
}

# Prints the path of a java >= 17: $JAVA_HOME, then PATH, then Debian's JVM dir.
apd_find_java() {
    local j m
    for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" \
             /usr/lib/jvm/*/bin/java; do
        [ -n "$j" ] && [ -x "$j" ] || continue
        m=$(apd_java_major "$j") || continue
        if [ "$m" -ge 17 ] 2>/dev/null; then
            printf '%s\n' "$j"
            return 0
        fi
    done
    return 1
}
