#!/usr/bin/env bash
# Interrupt delivery benchmark: how long an MSI-X interrupt of a device
# passed through by vfio-apple-pci takes to reach the guest's handler,
# next to the host side alone.  Prints figures, never asserts them
# (`make bench` runs it; see bench/README.md).
#
#   bench/guest-irq.sh [--arch x86_64|aarch64] [--n N] [--no-build]
#
# Host side: bench_host's "doorbell -> 64 B DMA -> MSI-X eventfd" (one
# trapped write to macvfiod's sim:dmatest, the device's DMA, the eventfd
# becoming readable).  Guest side (one boot, TCG, 1 vCPU): the test module
# tests/e2e/modules/dmatest_irq rings the doorbell N times (default 1000)
# with a transfer that faults and raises vector 0, waits for each
# interrupt, and reads its clock at the write, at the write's return and
# in the handler (guest script tests/e2e/tests/irq-latency.sh).
#
# --no-build: do not build QEMU or macvfiod when missing (say so, exit 0).
# Console log: build/e2e/logs/bench-irq-ARCH.log.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"
_e2e_prog=guest-irq

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

ARCH=x86_64
N=1000
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
    --arch) [ $# -ge 2 ] || usage 2; ARCH="$2"; shift 2 ;;
    --n) [ $# -ge 2 ] || usage 2; N="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
case "$ARCH" in x86_64|aarch64) ;; *) die "--arch: x86_64 or aarch64, not '$ARCH'" ;; esac
case "$N" in ''|*[!0-9]*) die "--n: a number from 10 to 1000" ;; esac
if [ "$N" -lt 10 ] || [ "$N" -gt 1000 ]; then die "--n: a number from 10 to 1000"; fi

skip() { echo "interrupt benchmark skipped: $*"; exit 0; }

RUN="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-bench-irq.XXXXXX")"
# shellcheck disable=SC2317  # invoked by trap
cleanup() { daemon_stop; rm -rf "$RUN"; }
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

QEMU_BIN="$QEMU_DIR/qemu-system-$ARCH"
if [ "$BUILD" = 1 ]; then
    "$REPO/scripts/install-deps-e2e.sh" >/dev/null || skip "scripts/install-deps-e2e.sh failed"
    need_host_tools || skip "cannot build macvfiod"
    need_patched_qemu "$ARCH" >&2 || skip "qemu/build.sh failed"
fi
qemu_has_device "$QEMU_DIR" "$ARCH" || skip "no QEMU with vfio-apple-pci at $QEMU_BIN (bash qemu/build.sh)"
[ -x "$MACVFIOD" ] || skip "no $MACVFIOD (make host)"
BENCH_HOST="$HOST_BUILD/bench/bench_host"
[ -x "$BENCH_HOST" ] || skip "no $BENCH_HOST (make host)"
module_toolchain "$ARCH" || skip "no $MODULE_CC for the test module (scripts/install-deps-e2e.sh)"

OUT="$E2E_OUT/bench-irq-$ARCH"
LOGS="$E2E_OUT/logs"
mkdir -p "$OUT" "$LOGS"
"$E2E_DIR/build-guest.sh" "$ARCH" "$OUT/base" >"$OUT/build.log" 2>&1 ||
    skip "cannot build the guest image (see $OUT/build.log)"
build_kmod "$ARCH" "$OUT/base" dmatest_irq "$E2E_DIR/modules/dmatest_irq/dmatest_irq.c" \
    "$E2E_DIR/modules/dmatest_irq/Kbuild" >>"$OUT/build.log" 2>&1 ||
    skip "dmatest_irq.ko did not build (see $OUT/build.log)"
"$E2E_DIR/build-guest.sh" "$ARCH" "$OUT/guest" --module "$(kmod_path "$ARCH" dmatest_irq)" \
    >>"$OUT/build.log" 2>&1 || skip "cannot build the benchmark image (see $OUT/build.log)"

SOCK="$RUN/s"
daemon_start "$SOCK" "$LOGS/macvfiod-bench-irq-$ARCH.log" --quiet --device sim:dmatest ||
    skip "macvfiod did not start"
host=$("$BENCH_HOST" --socket "$SOCK" --iterations 4000 | grep '^doorbell -> ') ||
    skip "bench_host failed"

log="$LOGS/bench-irq-$ARCH.log"
QEMU="$QEMU_BIN" "$E2E_DIR/run-guest.sh" -a "$ARCH" -i "$OUT/guest" -t /tests/irq-latency.sh \
    -n irq-latency -T 300 --log "$log" \
    --append "macvfio.modules=none macvfio.args=n=$N" -- \
    -device "vfio-apple-pci,socket=$SOCK" >"$RUN/guest.out" 2>&1 ||
    { tail -n 5 "$RUN/guest.out" >&2; skip "the guest run failed (see $log)"; }

# "IRQ-LAT what: n N min A p50 B p99 C max D" (ns) -> "B / C / D" in us
guest() {
    tr -d '\r' <"$log" | awk -v w="$1" '$1 == "IRQ-LAT" && $2 == w ":" {
        printf "%.1f / %.1f / %.1f us", $8 / 1e3, $10 / 1e3, $12 / 1e3 }'
}
printf 'Interrupt delivery, %s guest (TCG, 1 vCPU), %s host cores, load %s; p50 / p99 / max\n' \
    "$ARCH" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-52s %s\n' "host: doorbell write -> DMA -> MSI-X eventfd" \
    "$(awk '{ printf "%s / %s us (p50 / p99)", $10, $13 }' <<<"$host")"
printf '  %-52s %s\n' "guest: doorbell write -> handler ($N doorbells)" "$(guest 'doorbell->handler')"
printf '  %-52s %s\n' "guest: doorbell write returned -> handler" "$(guest 'write-return->handler')"
printf '  %-52s %s\n' "guest: the STATUS read after it (one trapped read)" "$(guest 'status-read')"
