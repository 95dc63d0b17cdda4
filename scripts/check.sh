#!/usr/bin/env bash
# make check: every test suite, then one closing line "N passed, N failed".
#   1. unit + integration tests on the normal build
#   2. the same under ASan+UBSan
#   3. the DriverKit extension (dext/) built with clang against the
#      DriverKit double and run there under ASan+UBSan, plus its compile
#      checks for Apple's DriverKit target (meson suite 'dext')
#   4. a short libFuzzer run of every fuzz target (ASan+UBSan too)
#   5. end to end: the patched QEMU boots Linux guests with a device
#      passed through from macvfiod: boot, dmatest, nvme (the guest module's
#      three strategies), iokit (the same guests through host= and the
#      macOS code path: the IOKit transport to the dext on its DriverKit
#      double), hostile (a hostile guest on the companion), and kbuild (the
#      guest module on Debian's 6.1 and 6.12 kernels); E2E=0 skips this step
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
status=0

step() { printf '\n=== %s\n' "$*"; }

setup() {  # setup DIR [meson args...]
  local dir=$1; shift
  scripts/meson-setup.sh "$dir" "$@" || return 1
  ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

step "build and test (gcc)"
setup build/host && meson test -C build/host --print-errorlogs || status=1

step "build and test under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  setup build/asan -Db_sanitize=address,undefined -Db_lundef=false &&
  meson test -C build/asan --print-errorlogs || status=1

step "the DriverKit extension on the DriverKit double (clang, ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
CC=clang CXX=clang++ \
  setup build/dext -Ddext=true -Db_sanitize=address,undefined -Db_lundef=false &&
  meson test -C build/dext --suite dext --print-errorlogs || status=1

step "fuzz each target for ${FUZZ_SECONDS}s"
CC=clang CXX=clang++ setup build/fuzz -Dfuzz=true -Ddext=true \
  -Db_sanitize=address,undefined \
  -Db_lundef=false -Dfuzz_seconds="$FUZZ_SECONDS" &&
  meson configure build/fuzz -Dfuzz_seconds="$FUZZ_SECONDS" >/dev/null &&
  meson test -C build/fuzz --suite fuzz --print-errorlogs || status=1

results=(build/host/meson-logs/testlog.json build/asan/meson-logs/testlog.json
         build/dext/meson-logs/testlog.json build/fuzz/meson-logs/testlog.json)
if [ "${E2E:-1}" != 0 ]; then
  step "end to end: patched QEMU (TCG), Debian's kernels, x86_64 and aarch64"
  mkdir -p build/e2e-results
  rm -f build/e2e-results/*.log
  bash qemu/build.sh || status=1
  bash qemu/build.sh --iokit-double || status=1
  for t in boot dmatest nvme dmaops iokit hostile kbuild; do
    tests/e2e/test-$t.sh 2>&1 | tee build/e2e-results/$t.log || status=1
    results+=(build/e2e-results/$t.log)
  done
fi

step "summary"
tests/summary.py "${results[@]}" || status=1
exit $status
