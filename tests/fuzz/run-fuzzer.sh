#!/bin/sh
# Runs one libFuzzer target for a bounded time over its seed corpus.  New
# inputs go to a scratch corpus beside the target in the build dir (the seeds
# in the source tree are only read); a crash leaves its input in artifacts/
# and fails the test.
#
#   run-fuzzer.sh TARGET SEED_DIR [DICT]
#
# Seconds: $APD_FUZZ_SECONDS when set, else the target's
# $APD_FUZZ_DEFAULT_SECONDS from meson.build, else 20.
#
# $APD_FUZZ_MAX_LEN is the longest input in bytes (default 16384): meson.build
# sets it per target to what the daemon lets reach that parser.
set -eu
# Undefined behaviour fails the run like a crash (UBSan only reports it by default).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
target=$1 seeds=$2 dict=${3:-}
work=$(dirname "$target")/fuzz-work/$(basename "$target")
mkdir -p "$work/corpus" "$work/artifacts"
set -- -max_total_time="${APD_FUZZ_SECONDS:-${APD_FUZZ_DEFAULT_SECONDS:-20}}" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${APD_FUZZ_MAX_LEN:-16384}" -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$work/artifacts/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
exec "$target" "$@" "$work/corpus" "$seeds"
