#!/usr/bin/env bash
# make check: every test suite, then one closing line "N passed, N failed".
#   1. unit + integration tests on the normal build
#   2. the same under ASan+UBSan
#   3. a short libFuzzer run of every fuzz target (ASan+UBSan too)
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
status=0

step() { printf '\n=== %s\n' "$*"; }

setup() {  # setup DIR [meson args...]
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null || return 1
  ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

step "build and test (gcc)"
setup build/host && meson test -C build/host --print-errorlogs || status=1

step "build and test under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  setup build/asan -Db_sanitize=address,undefined -Db_lundef=false &&
  meson test -C build/asan --print-errorlogs || status=1

step "fuzz each target for ${FUZZ_SECONDS}s"
CC=clang setup build/fuzz -Dfuzz=true -Db_sanitize=address,undefined \
  -Db_lundef=false -Dfuzz_seconds="$FUZZ_SECONDS" &&
  meson configure build/fuzz -Dfuzz_seconds="$FUZZ_SECONDS" >/dev/null &&
  meson test -C build/fuzz --suite fuzz --print-errorlogs || status=1

step "summary"
tests/summary.py build/host/meson-logs/testlog.json \
  build/asan/meson-logs/testlog.json build/fuzz/meson-logs/testlog.json || status=1
exit $status
