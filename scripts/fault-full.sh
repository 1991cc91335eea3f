#!/usr/bin/env bash
# The full-length fault tests (a one-minute broker outage, 1,000,000 malformed
# requests, a 30-minute soak, ...) and the ha suite's (a Redis failover and a
# Kafka broker loss every minute for ten minutes): the shortened versions run
# in CI through scripts/test.sh.  Needs a built tree (scripts/test.sh or meson setup build).
#
#   scripts/fault-full.sh [meson test args, e.g. fault-soak]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/deps.sh
[ -d build ] || meson setup build --buildtype=debugoptimized
ninja -C build
APD_FAULT_FULL=1 meson test -C build --suite fault --suite ha --print-errorlogs --num-processes 1 \
    --timeout-multiplier 4 "$@"
