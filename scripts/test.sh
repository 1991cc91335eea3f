#!/usr/bin/env bash
# The test command. From a fresh Debian 12 machine to a verdict:
#   1. scripts/deps.sh (packages and the Kafka jars);
#   2. build/      (debugoptimized): configure or reconfigure, build;
#   3. build-san/  (ASan+UBSan): build, run the `unit` suite;
#      build-fuzz/ (clang, libFuzzer, ASan+UBSan): build, run the `fuzz` suite
#      (each target $APD_FUZZ_SECONDS, default 20 s, 5 s for the daemon's parsers);
#   4. one Redis and one Kafka for the whole run (scripts/services.sh), exported
#      as APD_REDIS_URL, APD_KAFKA_BROKERS, ...;
#   5. meson test on build/, every suite but `bench`.
# The last line printed is always "N passed, N failed", counted from both builds'
# meson-logs/testlog.json (SKIP counts in neither); a step that fails before its
# tests run (deps, configure, build, services) counts as one failure.
#
#   scripts/test.sh [extra meson test args, e.g. --suite unit]
#
# Env: APD_TEST_SKIP_SAN=1  skip the sanitizer build (local iteration)
#      APD_TEST_SKIP_FUZZ=1 skip the fuzz build and suite
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

PY=/usr/bin/python3
testlogs=(build/meson-logs/testlog.json build-san/meson-logs/testlog.json
          build-fuzz/meson-logs/testlog.json)
step_failures=0
svcdir=

say() { printf 'test.sh: %s\n' "$*"; }
step_failed() {
    say "FAILED: $*"
    step_failures=$((step_failures + 1))
}

summary() {
    "$PY" - "$step_failures" "${testlogs[@]}" <<'EOF'
import json, os, sys
step_failures = int(sys.argv[1])
passed = failed = skipped = 0
failures = []
for path in sys.argv[2:]:
    if not os.path.exists(path):
        continue
    build = path.split("/")[0]
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            result, name = entry.get("result"), entry.get("name")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "INTERRUPT"):
                failed += 1
                failures.append("%s: %s (%s)" % (build, name, result))
            elif result == "SKIP":
                skipped += 1
for f in failures:
    print("failed test: " + f)
print("skipped: %d" % skipped)
print("%d passed, %d failed" % (passed, failed + step_failures))
sys.exit(1 if failed + step_failures else 0)
EOF
}

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$svcdir" ]; then
        scripts/services.sh stop "$svcdir" || true
        rm -rf "$svcdir"
    fi
    summary
    local src=$?
    [ "$rc" -ne 0 ] || rc=$src
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# meson setup DIR OPTIONS...: configure a new build dir, or reconfigure one.
# Its output is shown only when it fails.
configure() {
    local dir=$1 log rc
    shift
    log=$(mktemp)
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
    else
        rm -rf "$dir"  # a setup that failed half-way
        meson setup "$dir" "$@" >"$log" 2>&1
    fi
    rc=$?
    [ "$rc" -eq 0 ] || cat "$log"
    rm -f "$log"
    return "$rc"
}

# check_meson_test DIR STATUS: a failing `meson test` whose log names no failed
# test (bad arguments, interrupted, no log) is a failed step of its own.
check_meson_test() {
    if [ "$2" -ne 0 ] && ! grep -qsE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS|INTERRUPT)"' \
        "$1/meson-logs/testlog.json"; then
        step_failed "meson test -C $1 (exit $2)"
    fi
}

# Results of an earlier run must not be counted.
rm -f "${testlogs[@]}"

scripts/deps.sh || { step_failed "scripts/deps.sh"; exit 1; }

say "configuring and building build/"
configure build --buildtype=debugoptimized || { step_failed "meson setup build"; exit 1; }
ninja -C build || { step_failed "ninja -C build"; exit 1; }

if [ "${APD_TEST_SKIP_SAN:-0}" = 1 ]; then
    say "sanitizer build skipped (APD_TEST_SKIP_SAN=1)"
else
    say "configuring and building build-san/ (address, undefined)"
    if configure build-san --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
        && ninja -C build-san; then
        say "unit suite under ASan/UBSan"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            meson test -C build-san --suite unit --print-errorlogs --num-processes 2 \
                --timeout-multiplier 3
        check_meson_test build-san $?
    else
        step_failed "sanitizer build"
    fi
fi

if [ "${APD_TEST_SKIP_FUZZ:-0}" = 1 ]; then
    say "fuzz build skipped (APD_TEST_SKIP_FUZZ=1)"
else
    say "configuring and building build-fuzz/ (clang, libFuzzer, address, undefined)"
    if CC=clang configure build-fuzz --buildtype=debugoptimized -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-fuzz; then
        say "fuzz suite: ${APD_FUZZ_SECONDS:-20 (5 for the daemon parsers)} s per target"
        meson test -C build-fuzz --suite fuzz --print-errorlogs --num-processes 1
        check_meson_test build-fuzz $?
    else
        step_failed "fuzz build"
    fi
fi

svcdir=$(mktemp -d "${TMPDIR:-/tmp}/apd-services.XXXXXX")
if scripts/services.sh start "$svcdir"; then
    set -a
    . "$svcdir/env"
    set +a
else
    step_failed "scripts/services.sh start"
fi
export APD_BUILD_DIR="$root/build"

meson test -C build --print-errorlogs --num-processes 2 --no-suite bench "$@"
check_meson_test build $?
