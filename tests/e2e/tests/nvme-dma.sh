#!/bin/sh
# The macvfio guest module with each DMA strategy: macvfiod's sim:nvme passed
# through by vfio-apple-pci, driven by the stock nvme driver (host:
# test-nvme.sh).  Boot with macvfio.modules=none: this script loads the
# modules itself, in the order asked for.
#
# macvfio.args (comma separated):
#   strategy=S  modprobe macvfio strategy=S (window, pool, ondemand; default
#               auto: the companion's choice)
#   expect=S    the strategy debugfs must report (default: S, or window)
#   modfirst    macvfio before nvme; at the end rmmod macvfio must unbind
#               nvme, and modprobe macvfio bring it back with the data intact
#   nvmefirst   modprobe nvme: it binds the function without the
#               translation; then modprobe macvfio must unbind it (or, if
#               nvme gave up already, attach it again) with the strategy
#   seek=N      write the pattern at N MiB (default 0)
#   size=N      MiB of pattern (default 64)
#   lazy=N      modprobe macvfio lazy_unmap_ms=N (on-demand; 0: strict, every
#               unmap at once, so no span may stay idle)
#   tiny        the host budget is deliberately tiny (far below the working
#               set): the I/O must still complete and verify, the module
#               evicting idle extents to make room (no error, hang or oops)
#   rand=N      then N random 4 KiB I/Os from 4 threads over the pattern
#               (a third writes of the pattern, the rest reads compared byte
#               for byte), each through a random slot of a 16 MiB buffer
#               pool, so DMA buffers come and go; on-demand: the cache
#               counters must be consistent (maps - unmaps = live extents,
#               nothing lost, mapped bytes and their peak within the budget)
#
# The pattern comes from /bin/pattern with seed 20261125, so the host
# can check its backing file after the guest is gone.
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

ARGS=",$(cmdline_arg macvfio.args),"
has_arg() { case "$ARGS" in *",$1,"*) return 0 ;; esac; return 1; }
arg_val() { echo "$ARGS" | sed -n "s/.*,$1=\([^,]*\),.*/\1/p"; }
SEEK=$(arg_val seek); [ -n "$SEEK" ] || SEEK=0
SIZE=$(arg_val size); [ -n "$SIZE" ] || SIZE=64
STRATEGY=$(arg_val strategy); [ -n "$STRATEGY" ] || STRATEGY=auto
EXPECT=$(arg_val expect)
[ -n "$EXPECT" ] || { [ "$STRATEGY" = auto ] && EXPECT=window || EXPECT=$STRATEGY; }
SEED=20261125
DBG=/sys/kernel/debug/macvfio
DEV=/dev/nvme0n1

step_t0=$(uptime_cs)
step() {  # step NAME: log the time the previous step took
    t=$(uptime_cs)
    log "step $1 done in $(awk -v a="$step_t0" -v b="$t" 'BEGIN { printf "%.2f", (b - a) / 100 }') s"
    step_t0=$t
}
counter() { cat "$DBG/$BDF/$1" 2>/dev/null || echo 0; }
no_oops() {  # the kernel log has no oops, BUG or warning
    bad=$(dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection' | head -n 3)
    [ -z "$bad" ] || fail "kernel trouble: $(echo "$bad" | tr '\n' ' ')"
}
LAZY=$(arg_val lazy)
load_macvfio() {
    set -- macvfio
    [ "$STRATEGY" = auto ] || set -- "$@" "strategy=$STRATEGY"
    [ -z "$LAZY" ] || set -- "$@" "lazy_unmap_ms=$LAZY"
    must modprobe "$@"
}

[ -x /bin/pattern ] || fail "no /bin/pattern in the image"
companion >/dev/null || exit 1   # the device the module binds
module_loaded macvfio && fail "macvfio is loaded already (expected macvfio.modules=none)"

if has_arg nvmefirst; then
    # nvme binds the function without the translation: its first admin
    # command times out (nvme_core.admin_timeout) and it gives up, unless
    # macvfio unbinds it first.  modprobe waits for nvme's async probe, so
    # it runs in the background while macvfio is loaded.
    modprobe nvme &
    NV=""
    i=0
    while [ -z "$NV" ] && [ $i -lt 100 ]; do
        for d in /sys/bus/pci/drivers/nvme/*:*; do
            [ -e "$d" ] && NV=/sys/bus/pci/devices/${d##*/}
        done
        [ -n "$NV" ] || { usleep 100000; i=$((i + 1)); }
    done
    [ -n "$NV" ] || fail "nvme did not bind any function before macvfio"
    log "nvme bound ${NV##*/} before macvfio (DMA without translation)"
    step nvme-bound
    load_macvfio
    wait
    step modprobe-macvfio
else
    load_macvfio
    must modprobe nvme
fi

wait_for "$DBG" 10 || fail "no $DBG: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"
BDF=$(managed_bdf)
[ -n "$BDF" ] || fail "macvfio manages no device: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"
strategy=$(cat "$DBG/$BDF/strategy")
[ "$strategy" = "$EXPECT" ] || fail "macvfio strategy is '$strategy', expected $EXPECT"
rebinds=$(counter rebinds)
attaches=$(counter attaches)
sed 's/^/[e2e]   /' "$DBG/$BDF/state"
log "macvfio manages $BDF: strategy $strategy, $rebinds rebind(s), $attaches attach(es)"
if has_arg nvmefirst; then
    [ $((rebinds + attaches)) -ge 1 ] || fail "nvme was bound first but macvfio did not re-bind it"
else
    [ "$rebinds" = 0 ] || fail "$rebinds rebind(s) with macvfio loaded first"
fi

# An example of the translation: IOVA and guest-physical address differ
case "$strategy" in
window) ex=$(head -n 1 "$DBG/$BDF/windows" | awk '{ print "gpa", $3, "-> iova", $7 }') ;;
pool) ex=$(grep -m 1 '^chunk' "$DBG/$BDF/state" | awk '{ print "gpa", $4, "-> iova", $9 }') ;;
*) ex="" ;;
esac

if ! wait_for $DEV 60; then
    fail "no $DEV: $(dmesg | grep -i -e nvme -e macvfio | tail -n 5 | tr '\n' ' ')"
fi
drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver")")
[ "$drv" = nvme ] || fail "$BDF is bound to '$drv', expected nvme"
log "$DEV: $(cat /sys/block/nvme0n1/size) sectors, max_hw_sectors_kb $(cat /sys/block/nvme0n1/queue/max_hw_sectors_kb)"
step nvme0n1

d0=$(counter doorbells); m0=$(counter maps); b0=$(counter bytes_bounced)
h0=$(counter cache_hits); f0=$(counter failures)
out=$(pattern write $DEV --seed $SEED --offset "$SEEK" --size "$SIZE" 2>&1) ||
    fail "O_DIRECT write failed: $out"
log "$out"
echo 3 > /proc/sys/vm/drop_caches
out=$(pattern verify $DEV --seed $SEED --offset "$SEEK" --size "$SIZE" 2>&1) ||
    fail "O_DIRECT read-back differs or failed: $out"
log "$out"
# 4 KiB blocks: many small I/Os
out=$(pattern verify $DEV --seed $SEED --offset "$SEEK" --size 4 --bs 4 2>&1) ||
    fail "O_DIRECT 4 KiB read-back differs or failed: $out"
log "$out"
RAND=$(arg_val rand)
if [ -n "$RAND" ]; then
    out=$(pattern random $DEV --seed $SEED --offset "$SEEK" --size "$SIZE" --threads 4 \
        --ios "$RAND" --pool 16 2>&1) || fail "random I/O from 4 threads failed: $out"
    log "$out"
fi
has_arg tiny && log "I/O outcome: succeeded, data verified"
step io
d1=$(counter doorbells); m1=$(counter maps); b1=$(counter bytes_bounced)
h1=$(counter cache_hits); f1=$(counter failures)
ios=$(awk '{ print $1 + $5 }' /sys/block/nvme0n1/stat)
log "counters during I/O: $((d1 - d0)) doorbell(s), $((m1 - m0)) map(s), $((h1 - h0)) cache hit(s), $((b1 - b0)) byte(s) bounced, $((f1 - f0)) failure(s); $ios I/O requests"
for c in maps unmaps batches doorbells failures cache_hits cache_misses evictions refusals coalesced bytes_bounced dma_maps dma_unmaps; do
    printf '%s=%s ' $c "$(counter $c)"
done | sed 's/^/[e2e] counters: /'
echo
if [ "$strategy" = ondemand ]; then
    ex=$(sed -n 's/^last map: //p' "$DBG/$BDF/state")
fi
gpa=$(echo "$ex" | awk '{ print $2 }')
iova=$(echo "$ex" | awk '{ print $5 }')
if [ -z "$gpa" ] || [ -z "$iova" ]; then fail "no translation example in debugfs ($strategy)"; fi
[ "$gpa" != "$iova" ] || fail "IOVA equals the guest-physical address: $ex"
log "translation example: $ex"

if [ "$strategy" = ondemand ]; then
    # the cache's books balance (read until two reads agree: the expiry
    # work may run in between)
    st() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$DBG/$BDF/state"; }
    prev=""
    i=0
    while [ $i -lt 20 ]; do
        cur="$(counter maps) $(counter unmaps) $(st live) $(st mapped) $(st 'peak mapped') $(st budget) $(st lost) $(st idle)"
        [ "$cur" = "$prev" ] && break
        prev=$cur
        usleep 100000
        i=$((i + 1))
    done
    # shellcheck disable=SC2086  # the fields, split on purpose
    set -- $cur
    log "on-demand cache: maps $1, unmaps $2, live $3 ($8 idle), mapped $4 bytes, peak $5, budget $6, lost $7; hits $(counter cache_hits), misses $(counter cache_misses), evictions $(counter evictions), refusals $(counter refusals), coalesced $(counter coalesced)"
    [ $(($1 - $2)) = "$3" ] || fail "on-demand books: maps $1 - unmaps $2 != $3 live extents"
    [ "$7" = 0 ] || fail "on-demand: $7 extent(s) lost (the host refused their UNMAP)"
    [ "$6" = 0 ] || [ "$5" -le "$6" ] || fail "on-demand: peak of $5 bytes mapped above the budget of $6"
    [ "$6" = 0 ] || [ "$4" -le "$6" ] || fail "on-demand: $4 bytes mapped above the budget of $6"
    if has_arg tiny; then
        [ "$(counter evictions)" -gt 0 ] || fail "tiny budget but no eviction"
    fi
fi
if ! has_arg tiny; then
    # the counters show the strategy at work
    case "$strategy" in
    window)
        [ "$((d1 - d0))" = 0 ] || fail "window strategy rang $((d1 - d0)) doorbell(s) during I/O" ;;
    pool)
        [ "$((d1 - d0))" = 0 ] || fail "pool strategy rang $((d1 - d0)) doorbell(s) during I/O"
        [ "$((b1 - b0))" -ge $((SIZE * 2 * 1048576)) ] ||
            fail "pool bounced $((b1 - b0)) bytes for ${SIZE} MiB written and read" ;;
    ondemand)
        if [ "$((d1 - d0))" = 0 ] || [ "$((m1 - m0))" = 0 ]; then
            fail "on-demand strategy: no doorbells or maps during I/O"
        fi ;;
    esac
    if [ "$LAZY" = 0 ]; then
        idle=$(sed -n 's/^idle: //p' "$DBG/$BDF/state")
        [ "$idle" = 0 ] || fail "lazy_unmap_ms=0 but $idle span(s) stay idle"
        log "strict unmapping: no idle span after the I/O, $(sed -n 's/^live: //p' "$DBG/$BDF/state") live"
    fi
    log "doorbells per I/O request: $(awk -v d=$((d1 - d0)) -v n="$ios" 'BEGIN { printf "%.3f", n ? d / n : 0 }')"
fi
no_oops

if has_arg modfirst; then
    # a clean unload with the device idle: nvme is unbound first
    must rmmod macvfio
    i=0
    while [ -e $DEV ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
    [ ! -e $DEV ] || fail "$DEV still there after rmmod macvfio"
    [ ! -e "/sys/bus/pci/devices/$BDF/driver" ] || fail "$BDF still bound after rmmod macvfio"
    [ ! -e "$DBG" ] || fail "$DBG still there after rmmod macvfio"
    log "rmmod macvfio: nvme unbound, debugfs gone"
    # and back: the strategy installed again before nvme binds
    load_macvfio
    wait_for $DEV 30 || fail "no $DEV after modprobe macvfio"
    out=$(pattern verify $DEV --seed $SEED --offset "$SEEK" --size 4 2>&1) ||
        fail "read-back after reload differs or failed: $out"
    log "modprobe macvfio: nvme attached again, $out"
    step reload
    must rmmod macvfio
    no_oops
fi
exit 0
