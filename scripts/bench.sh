#!/usr/bin/env bash
# make bench: prints the host layer's figures, then the guest benchmarks
# (bench/guest-irq.sh, bench/guest-io.sh: they boot TCG guests, build the
# patched QEMU if they can, else say they skipped). Never asserts timings.
# BENCH_GUEST=0: host only.
set -euo pipefail
build=${1:-build/host}
dir=$(mktemp -d)
pid=""
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

echo "== DART allocator (core/dart.c)"
"$build/bench/bench_dart"

echo
echo "== host round trips: libmacvfio -> socket -> macvfiod -> sim:dmatest"
"$build/daemon/macvfiod" --quiet --socket "$dir/s" --device sim:dmatest &
pid=$!
for _ in $(seq 100); do [ -S "$dir/s" ] && break; sleep 0.05; done
"$build/bench/bench_host" --socket "$dir/s" --iterations "${BENCH_ITERATIONS:-20000}"

echo
echo "== apple-dma-pci doorbells under on-demand: host calls per entry (before issue #11) vs per doorbell (companion/engine.c)"
"$build/bench/bench_companion" --socket "$dir/s" --iterations "${BENCH_ITERATIONS:-20000}"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -f "$dir/s"

echo
echo "== the same writes with macvfiod --no-posted-writes (each waits for its reply)"
"$build/daemon/macvfiod" --quiet --no-posted-writes --socket "$dir/s" --device sim:dmatest &
pid=$!
for _ in $(seq 100); do [ -S "$dir/s" ] && break; sleep 0.05; done
"$build/bench/bench_host" --socket "$dir/s" --iterations "${BENCH_ITERATIONS:-20000}" --writes-only
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

echo
echo "== a neighbour's call latency, idle and next to a hostile client (tests/integration/test_isolation)"
MACVFIOD="$(cd "$build" && pwd)/daemon/macvfiod" "$build/tests/integration/test_isolation" 2>/dev/null |
    grep '^# ' | sed 's/^# //'

# guest_bench TITLE SCRIPT WHAT: one of bench/'s guest benchmarks
guest_bench() {
    echo
    echo "== $1"
    if [ "${BENCH_GUEST:-1}" = 0 ]; then
        echo "skipped (BENCH_GUEST=0)"
        return
    fi
    MACVFIO_HOST_BUILD="$(cd "$build" && pwd)" "$(dirname "$0")/../bench/$2" ||
        echo "$3 benchmark failed (status $?); the figures above stand"
}
guest_bench "interrupt delivery into a guest: sim:dmatest's MSI-X through vfio-apple-pci (bench/guest-irq.sh)" \
    guest-irq.sh interrupt
guest_bench "guest I/O: sim:nvme passed through, per DMA strategy, vs QEMU's emulated nvme" \
    guest-io.sh "guest I/O"
