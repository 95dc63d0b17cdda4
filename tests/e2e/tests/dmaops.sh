#!/bin/sh
# The DMA API on a device the macvfio guest module manages (host:
# test-dmaops.sh): macvfiod's sim:dmatest passed through by vfio-apple-pci,
# driven by the test-only mvf_dmacheck module (modules/mvf_dmacheck), every
# check's data moved by the device and compared by the module.  Boot with
# macvfio.modules=none and several vCPUs.
#
# macvfio.args (comma separated):
#   strategy=S   modprobe macvfio strategy=S (window, pool, ondemand)
#   pool_mb=N    modprobe macvfio pool_mb=N
#   min_kb=N     the largest coherent allocation must be at least N KiB
#
# Prints "[e2e] check NAME: PASS|FAIL" per check, "[e2e] irqoff max: N ns"
# (macvfio's debugfs irqoff_max_ns) and "[e2e] checks: N passed, N failed".
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

ARGS=",$(cmdline_arg macvfio.args),"
arg_val() { echo "$ARGS" | sed -n "s/.*,$1=\([^,]*\),.*/\1/p"; }
STRATEGY=$(arg_val strategy)
POOL_MB=$(arg_val pool_mb)
MIN_KB=$(arg_val min_kb)
[ -n "$STRATEGY" ] || fail "no strategy= in macvfio.args"
[ -n "$MIN_KB" ] || MIN_KB=4096
DBG=/sys/kernel/debug/macvfio
CHK=/sys/kernel/debug/mvf_dmacheck

companion >/dev/null || exit 1
log "$(grep -c ^processor /proc/cpuinfo) CPU(s)"
set -- macvfio "strategy=$STRATEGY"
[ -z "$POOL_MB" ] || set -- "$@" "pool_mb=$POOL_MB"
must modprobe "$@"
must modprobe mvf_dmacheck "coherent_min_kb=$MIN_KB"
wait_for "$CHK/mmap" 10 || fail "mvf_dmacheck did not bind: $(dmesg | grep -e mvf_dmacheck -e macvfio | tail -n 3 | tr '\n' ' ')"
BDF=$(managed_bdf)
[ -n "$BDF" ] || fail "macvfio manages no device"
got=$(cat "$DBG/$BDF/strategy")
[ "$got" = "$STRATEGY" ] || fail "macvfio strategy is '$got', expected $STRATEGY"
drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver")")
[ "$drv" = mvf_dmacheck ] || fail "$BDF is bound to '$drv', expected mvf_dmacheck"
log "macvfio manages $BDF with the $got strategy, driver $drv"

passed=0
failed=0
result() {  # result NAME STATUS
    if [ "$2" = 0 ]; then
        passed=$((passed + 1)); log "check $1: PASS"
    else
        failed=$((failed + 1)); log "check $1: FAIL"
    fi
}
for c in coherent sgtable sg128 atomic; do
    st=0
    echo 1 2>/dev/null > "$CHK/$c" || st=1
    result "$c" $st
done
st=0
out=$(dmamap "$CHK/mmap" 262144 2>&1) || st=1
log "$out"
result mmap $st

dmesg | grep -e mvf_dmacheck -e 'macvfio.*refus' | sed 's/^/[e2e]   /'
bad=$(dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection' | head -n 3)
[ -z "$bad" ] || fail "kernel trouble: $(echo "$bad" | tr '\n' ' ')"
log "irqoff max: $(cat "$DBG/$BDF/irqoff_max_ns") ns ($STRATEGY, $(cat "$DBG/$BDF/doorbells") doorbells)"
log "checks: $passed passed, $failed failed"
must rmmod mvf_dmacheck
[ "$failed" = 0 ] || fail "$failed of $((passed + failed)) checks failed"
