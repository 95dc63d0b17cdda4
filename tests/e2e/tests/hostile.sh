#!/bin/sh
# A hostile guest for apple-dma-pci, then the honest driver in the same boot
# (host: test-hostile.sh).  macvfiod serves sim:nvme with a DMA budget below
# guest RAM, so QEMU chose the on-demand strategy and the companion has rings.
#
# 1. /bin/hostile (helpers/hostile.c) writes garbage into the companion's
#    registers and rings (read-only registers, bad access sizes, missing
#    rings, bad ring set-ups, refused doorbells, bad MAP/UNMAP entries,
#    random garbage from a fixed seed, budget exhaustion, RESET) and checks
#    every status against docs/guest-protocol.md, then an honest MAP/UNMAP.
#    One line per case; the verdict line is
#      [e2e] HOSTILE: PASS|FAIL hostile: N passed, N failed, N skipped
# 2. The honest driver afterwards: modprobe macvfio strategy=ondemand,
#    debugfs must say ondemand; modprobe nvme; a 4 MiB pattern (/bin/pattern) written with
#    O_DIRECT at SEEK MiB and read back identical (1 MiB and 4 KiB blocks).
#      [e2e] HONEST: PASS|FAIL <details>
#
# macvfio.args (comma separated):
#   seed=N      seed of the random cases (default 20261125)
#   nohonest    stop after the hostile cases
#   seek=N      where the honest driver writes the pattern (MiB, default 0)
#   bme         diagnostic: turn the companion's bus mastering on before
#               modprobe macvfio (the module sets it itself; the rings
#               are the companion's DMA, guest-protocol.md section 2)
#
# Boot with macvfio.modules=none: nothing may drive the companion before
# the hostile cases.  The test passes only if both parts pass.
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

ARGS=",$(cmdline_arg macvfio.args),"
has_arg() { case "$ARGS" in *",$1,"*) return 0 ;; esac; return 1; }
arg_val() { echo "$ARGS" | sed -n "s/.*,$1=\([0-9]*\),.*/\1/p"; }
SEED=$(arg_val seed)
[ -n "$SEED" ] || SEED=20261125
PATTERN_SEED=20261125   # the honest driver's data; the host checks it (test-hostile.sh)
SEEK=$(arg_val seek)
[ -n "$SEEK" ] || SEEK=0
DBG=/sys/kernel/debug/macvfio

module_loaded macvfio && fail "macvfio is loaded already (boot with macvfio.modules=none)"
[ -x /bin/hostile ] || fail "no /bin/hostile in the image"
GP=$(companion) || exit 1
log "companion ${GP##*/}; PCI: $(pci_list | tr '\n' ';')"

# One huge page for the rings (physically contiguous): hostile falls back to
# a single locked page (128-entry rings) without it
echo 1 > /proc/sys/vm/nr_hugepages 2>/dev/null
log "huge pages reserved: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null)"

# --- 1. the hostile cases ---------------------------------------------------------
t0=$(uptime_cs)
/bin/hostile --seed "$SEED" > /tmp/hostile.out 2>&1
hrc=$?
t1=$(uptime_cs)
cat /tmp/hostile.out
summary=$(grep '^hostile: ' /tmp/hostile.out | tail -n 1)
[ -n "$summary" ] || summary="hostile exited with status $hrc: $(tail -n 1 /tmp/hostile.out)"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 100 }')
if [ "$hrc" = 0 ]; then
    log "HOSTILE: PASS $summary in $secs s"
    HOSTILE=ok
else
    log "HOSTILE: FAIL $summary in $secs s: $(grep '^FAIL ' /tmp/hostile.out | head -n 3 | cut -c1-200 | tr '\n' ' ')"
    HOSTILE=""
fi
# the companion answers as before
[ "$(cat "$GP/vendor")" = 0x1b36 ] || fail "the companion disappeared"

if has_arg nohonest; then
    [ -n "$HOSTILE" ] || fail "hostile: $summary"
    exit 0
fi

# --- 2. the honest driver, in the same boot -------------------------------------------
honest() {  # runs the honest driver; prints HONEST: PASS|FAIL
    if has_arg bme; then
        out=$(/bin/hostile --set-master 2>&1) || { echo "hostile --set-master: $out"; return 1; }
        log "bme: $out"
    fi
    out=$(modprobe macvfio strategy=ondemand 2>&1) ||
        { echo "modprobe macvfio strategy=ondemand failed: $out"; return 1; }
    log "modprobe macvfio strategy=ondemand"
    wait_for "$DBG" 10 || { echo "no $DBG: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"; return 1; }
    BDF=""
    i=0
    while [ -z "$BDF" ] && [ $i -lt 50 ]; do
        BDF=$(managed_bdf)
        [ -n "$BDF" ] || { usleep 100000; i=$((i + 1)); }
    done
    [ -n "$BDF" ] || { echo "macvfio manages no device: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"; return 1; }
    strategy=$(cat "$DBG/$BDF/strategy")
    [ "$strategy" = ondemand ] || { echo "strategy '$strategy', expected ondemand: $(dmesg | grep macvfio | tail -n 2 | tr '\n' ' ')"; return 1; }
    module_loaded nvme || { out=$(modprobe nvme 2>&1) || { echo "modprobe nvme: $out"; return 1; }; }
    i=0   # until the namespace appears or nvme gives up
    while [ ! -e /dev/nvme0n1 ] && [ $i -lt 600 ] &&
        ! dmesg | grep -q 'nvme.*Removing after probe failure'; do
        usleep 100000
        i=$((i + 1))
    done
    [ -e /dev/nvme0n1 ] || { echo "no /dev/nvme0n1: $(dmesg | grep -i -e 'nvme' -e 'macvfio [0-9]' | tail -n 4 | tr '\n' ' ')"; return 1; }
    drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver")")
    [ "$drv" = nvme ] || { echo "$BDF is bound to '$drv', expected nvme"; return 1; }
    for op in "write" "verify" "verify --bs 4"; do
        # shellcheck disable=SC2086  # op: the mode and its options
        set -- $op
        mode=$1
        shift
        out=$(pattern "$mode" /dev/nvme0n1 --seed $PATTERN_SEED --offset "$SEEK" --size 4 "$@" 2>&1) ||
            { echo "O_DIRECT pattern $op failed or differs: $out"; return 1; }
        log "$out"
        [ "$mode" != write ] || echo 3 > /proc/sys/vm/drop_caches
    done
    [ -r "$DBG/$BDF/state" ] && sed 's/^/[e2e]   /' "$DBG/$BDF/state"
    echo "macvfio $strategy on $BDF, nvme bound; 4 MiB at $SEEK MiB written and read back identical (1 MiB and 4 KiB blocks)"
}

hout=$(honest)
hst=$?
HONEST_MSG=$(echo "$hout" | grep -v '^\[e2e\]' | tail -n 1)
echo "$hout" | grep '^\[e2e\]'
if [ "$hst" = 0 ]; then
    log "HONEST: PASS $HONEST_MSG"
else
    log "HONEST: FAIL $HONEST_MSG"
fi

if [ -z "$HOSTILE" ] && [ "$hst" != 0 ]; then
    fail "hostile: $summary; honest driver: $HONEST_MSG"
fi
[ -n "$HOSTILE" ] || fail "hostile: $summary"
[ "$hst" = 0 ] || fail "honest driver after the hostile cases: $HONEST_MSG"
exit 0
