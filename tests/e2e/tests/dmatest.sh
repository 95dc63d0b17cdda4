#!/bin/sh
# vfio-apple-pci passing through macvfiod's sim:dmatest (host: test-dmatest.sh).
#
# Checks, in the guest: the function's identity, BARs and capabilities in
# sysfs; BAR0 registers through a mapping of resource0 (trapped accesses:
# QEMU -> libmacvfio -> macvfiod); a pattern written to the BAR2 window
# through resource2 (mapped straight to the device's memory) is what the
# device sums (WIN_SUM); the function reset (sysfs reset -> virtual FLR ->
# macvfio RESET). With the dmatest_irq module in the image: MSI-X vectors
# raised by faulting DMA transfers arrive, as many as doorbells rung.
#
# apple-dma-pci, the companion QEMU creates next to the device: its
# identity in sysfs; MAGIC, VERSION, PCI_ADDR (the passed-through
# function's bus/devfn); the DMA strategy and the window table (IOVAs far
# from guest-physical addresses); a real DMA both ways between the device
# and a locked guest page at the IOVA the window table gives it, or, with
# "ondemand", that a ring MAP gives it (then UNMAP, and the device faults).
#
# Rings are offered under every strategy (one per vCPU, at most 64), and
# the guest may select the strategy (STRATEGY_SELECT): with WINDOW, the
# guest selects ONDEMAND and maps through a ring too; an impossible
# strategy is refused.
#
# macvfio.args (comma separated): irq  test MSI-X (needs dmatest_irq.ko)
#                                 ondemand  expect the on-demand strategy
#                                       (rings, no windows) instead of WINDOW
#                                 unplug  power off the device's slot (it
#                                       must sit behind a pcie-root-port):
#                                       apple-dma-pci must go with it
#                                 qom  after the ring test, print
#                                       "DMATEST-QOM" and wait 5 s (the host
#                                       reads apple-dma-pci's QOM properties)
#                                 idle  then print "DMATEST-READY" and
#                                       leave the device alone until the VM
#                                       goes away
#                                 wait  then print "DMATEST-READY" and keep
#                                       reading BAR0 until the VM goes away
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

ARGS=",$(cmdline_arg macvfio.args),"
has_arg() { case "$ARGS" in *",$1,"*) return 0 ;; esac; return 1; }

REG_ID=0x000
REG_VERSION=0x004
REG_SCRATCH=0x008
REG_WIN_SIZE_LO=0x010
REG_WIN_SUM=0x058         # sums the first 4 MiB at reset: the whole 1 MiB window here

step_t0=$(uptime_cs)
step() {  # step NAME: log the time the previous step took
    t=$(uptime_cs)
    log "step $1 done in $(awk -v a="$step_t0" -v b="$t" 'BEGIN { printf "%.2f", (b - a) / 100 }') s"
    step_t0=$t
}

# --- the device in sysfs ---------------------------------------------------
DEV=""
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x00e0 ]; then
        DEV=$d
        break
    fi
done
[ -n "$DEV" ] || fail "no 1b36:00e0 function; PCI: $(pci_list | tr '\n' ';')"
log "sim:dmatest is ${DEV##*/}"

[ "$(cat "$DEV/class")" = 0xff0000 ] || fail "class $(cat "$DEV/class"), expected 0xff0000"
[ "$(cat "$DEV/subsystem_vendor")" = 0x1b36 ] || fail "subsystem vendor $(cat "$DEV/subsystem_vendor")"
[ "$(cat "$DEV/revision")" = 0x01 ] || fail "revision $(cat "$DEV/revision")"

# resource: one "start end flags" line per BAR (then the ROM...)
bar_line() { sed -n "$(($1 + 1))p" "$DEV/resource"; }
# shellcheck disable=SC2046  # the line's words, on purpose
bar_size() {
    set -- $(bar_line "$1")
    if [ "$(($1))" = 0 ] && [ "$(($2))" = 0 ]; then echo 0; else echo $(($2 - $1 + 1)); fi
}
# shellcheck disable=SC2046
bar_flags() { set -- $(bar_line "$1"); echo $(($3)); }
IORESOURCE_MEM=0x200
IORESOURCE_PREFETCH=0x2000
IORESOURCE_MEM_64=0x100000
for spec in 0:4096 1:0 2:1048576 3:0 4:4096 5:0; do
    bar=${spec%%:*}
    want=${spec#*:}
    got=$(bar_size "$bar")
    [ "$got" = "$want" ] || fail "BAR$bar is $got bytes, expected $want ($(bar_line "$bar"))"
done
f=$(bar_flags 2)
[ $((f & IORESOURCE_MEM)) != 0 ] || fail "BAR2 is not memory (flags $f)"
[ $((f & IORESOURCE_MEM_64)) != 0 ] || fail "BAR2 is not 64-bit (flags $f)"
[ $((f & IORESOURCE_PREFETCH)) != 0 ] || fail "BAR2 is not prefetchable (flags $f)"
[ $(($(bar_flags 0) & IORESOURCE_PREFETCH)) = 0 ] || fail "BAR0 is prefetchable"
log "BARs: 0 4 KiB, 2 1 MiB 64-bit prefetchable, 4 4 KiB"

CAPS=$(pcitool caps "$DEV/config") || fail "pcitool caps failed"
echo "$CAPS" | sed 's/^/[e2e]   /'
echo "$CAPS" | grep -q '^cap 0x11 .* msix vectors 4 ' || fail "no MSI-X capability with 4 vectors"
echo "$CAPS" | grep -q '^cap 0x10 ' || fail "no PCI Express capability"
echo "$CAPS" | grep -q '^cap 0x01 ' || fail "no power management capability"
echo "$CAPS" | grep -q '^ecap 0x0003 0x100' || fail "no device serial number at 0x100"
step sysfs

# --- BAR0: trapped registers -------------------------------------------------
echo 1 > "$DEV/enable" || fail "cannot enable the device"
R0="$DEV/resource0"
id=$(pcitool r32 "$R0" $REG_ID) || fail "cannot read BAR0"
[ "$id" = 0x54414d44 ] || fail "ID register reads $id, expected 0x54414d44"
ver=$(pcitool r32 "$R0" $REG_VERSION)
[ "$ver" = 0x00010001 ] || fail "VERSION reads $ver"
win=$(pcitool r32 "$R0" $REG_WIN_SIZE_LO)
[ "$win" = 0x00100000 ] || fail "WIN_SIZE_LO reads $win"
for v in 0xcafef00d 0x00000000 0x5a5aa5a5; do
    must pcitool w32 "$R0" $REG_SCRATCH $v
    got=$(pcitool r32 "$R0" $REG_SCRATCH)
    [ "$got" = "$v" ] || fail "SCRATCH reads $got after writing $v"
done
log "BAR0: ID $id, VERSION $ver, SCRATCH read back"
step bar0

# --- BAR2: the window, mapped -------------------------------------------------
R2="$DEV/resource2"
sum0=$(pcitool r32 "$R0" $REG_WIN_SUM)
[ "$sum0" = 0x00000000 ] || fail "the window is not empty at start (WIN_SUM $sum0)"
wrote=$(pcitool fill "$R2" 0x10000 0x40000 7) || fail "cannot write the window through resource2"
dev_sum=$(pcitool r32 "$R0" $REG_WIN_SUM)
[ "$dev_sum" = "$wrote" ] || fail "the device sums the window to $dev_sum, the guest wrote $wrote"
log "BAR2: 256 KiB written through resource2, byte sum $wrote; the device sees $dev_sum"
step bar2

# --- function reset -------------------------------------------------------------
[ -e "$DEV/reset" ] || fail "no $DEV/reset (the device offers no reset method)"
must pcitool w32 "$R0" $REG_SCRATCH 0x12345678
echo 1 > "$DEV/reset" || fail "writing $DEV/reset failed"
got=$(pcitool r32 "$R0" $REG_SCRATCH)
[ "$got" = 0x00000000 ] || fail "SCRATCH reads $got after the reset, expected 0"
got=$(pcitool r32 "$R0" $REG_WIN_SUM)
[ "$got" = 0x00000000 ] || fail "the window holds data after the reset (WIN_SUM $got)"
id=$(pcitool r32 "$R0" $REG_ID)
[ "$id" = 0x54414d44 ] || fail "ID register reads $id after the reset"
log "reset: SCRATCH and the window cleared, the device still answers"
step reset

# --- apple-dma-pci: the companion QEMU creates next to the device -------------------
GP=""
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x00e1 ]; then
        [ -z "$GP" ] || fail "more than one apple-dma-pci: ${GP##*/} and ${d##*/}"
        GP=$d
    fi
done
[ -n "$GP" ] || fail "no apple-dma-pci (1b36:00e1) function; PCI: $(pci_list | tr '\n' ';')"
[ "$(cat "$GP/class")" = 0x088000 ] || fail "apple-dma-pci class $(cat "$GP/class"), expected 0x088000"
[ "$(cat "$GP/revision")" = 0x01 ] || fail "apple-dma-pci revision $(cat "$GP/revision")"
echo 1 > "$GP/enable" || fail "cannot enable apple-dma-pci"
G0="$GP/resource0"
magic=$(pcitool r32 "$G0" 0x000) || fail "cannot read apple-dma-pci BAR0"
[ "$magic" = 0x4d564750 ] || fail "apple-dma-pci MAGIC reads $magic, expected 0x4d564750"
ver=$(pcitool r32 "$G0" 0x004)
[ "$ver" = 0x00010000 ] || fail "apple-dma-pci VERSION reads $ver, expected 0x00010000"
# PCI_ADDR: domain << 16 | bus << 8 | devfn of the passed-through function
bdf=${DEV##*/}
bus=$((0x$(echo "$bdf" | cut -d: -f2)))
slot=$((0x$(echo "$bdf" | cut -d: -f3 | cut -d. -f1)))
fn=$(echo "$bdf" | cut -d. -f2)
dom=$((0x$(echo "$bdf" | cut -d: -f1)))
want=$(printf '0x%08x' $(((dom << 16) | (bus << 8) | (slot << 3) | fn)))
got=$(pcitool r32 "$G0" 0x010)
[ "$got" = "$want" ] || fail "apple-dma-pci PCI_ADDR reads $got, $bdf is $want"
strategy=$(pcitool r32 "$G0" 0x040)
feat=$(pcitool r32 "$G0" 0x008)
count=$(($(pcitool r32 "$G0" 0x044)))
# Rings under every strategy: one per vCPU (at most 64); the guest may
# select the strategy.  FEATURES: 1 POOL, 2 ONDEMAND, 3 PERCPU_RINGS,
# 4 STRATEGY_SELECT.
ncpu=0
for c in /sys/devices/system/cpu/cpu[0-9]*; do [ -d "$c" ] && ncpu=$((ncpu + 1)); done
want_rings=$ncpu
[ "$want_rings" -le 64 ] || want_rings=64
rings=$(($(pcitool r32 "$G0" 0x024)))
[ "$rings" = "$want_rings" ] || fail "apple-dma-pci NUM_RINGS is $rings, expected $want_rings ($ncpu vCPU(s))"
[ $((feat & 0x16)) = $((0x16)) ] || fail "apple-dma-pci FEATURES $feat lacks POOL, ONDEMAND or STRATEGY_SELECT"
if [ "$rings" -gt 1 ]; then
    [ $((feat & 8)) = 8 ] || fail "apple-dma-pci FEATURES $feat lacks PERCPU_RINGS with $rings rings"
else
    [ $((feat & 8)) = 0 ] || fail "apple-dma-pci FEATURES $feat has PERCPU_RINGS with one ring"
fi
if has_arg ondemand; then
    # guest RAM did not fit the DMA budget: rings, no windows
    [ "$strategy" = 0x00000003 ] || fail "apple-dma-pci STRATEGY reads $strategy, expected 3 (ONDEMAND)"
    [ $((feat & 1)) = 0 ] || fail "apple-dma-pci FEATURES $feat has WINDOW with on-demand mapping"
    [ "$count" = 0 ] || fail "apple-dma-pci WINDOW_COUNT is $count with on-demand mapping"
    # no window: selecting WINDOW is refused (-EINVAL), STRATEGY unchanged
    must pcitool w32 "$G0" 0x040 1
    st=$(pcitool r32 "$G0" 0x00c)
    [ "$st" = 0xffffffea ] || fail "selecting WINDOW without windows: DEV_STATUS $st, expected -EINVAL"
    got=$(pcitool r32 "$G0" 0x040)
    [ "$got" = 0x00000003 ] || fail "STRATEGY reads $got after a refused selection"
    sname="ONDEMAND strategy, $rings ring(s), WINDOW refused"
else
    [ "$strategy" = 0x00000001 ] || fail "apple-dma-pci STRATEGY reads $strategy, expected 1 (WINDOW)"
    [ $((feat & 1)) = 1 ] || fail "apple-dma-pci FEATURES $feat lacks WINDOW"
    if [ "$count" -lt 1 ] || [ "$count" -gt 32 ]; then fail "apple-dma-pci WINDOW_COUNT is $count"; fi
    sname="WINDOW strategy, $count window(s), $rings ring(s)"
fi
r64() { echo $((($(pcitool r32 "$G0" $(($1 + 4))) << 32) | $(pcitool r32 "$G0" "$1"))); }
i=0
while [ $i -lt "$count" ]; do
    e=$((0x400 + i * 32))
    gpa=$(r64 $e)
    size=$(r64 $((e + 8)))
    iova=$(r64 $((e + 16)))
    flags=$(pcitool r32 "$G0" $((e + 24)))
    log "  window $i: gpa $(printf 0x%x "$gpa") size $(printf 0x%x "$size") iova $(printf 0x%x "$iova") flags $flags"
    [ "$size" -gt 0 ] || fail "window $i is empty"
    [ "$iova" != "$gpa" ] || fail "window $i: iova equals gpa $(printf 0x%x "$gpa")"
    [ "$iova" -ge $((0xF000000000)) ] || fail "window $i: iova $(printf 0x%x "$iova") below 0xf000000000"
    i=$((i + 1))
done
e=$((0x400 + count * 32))
[ "$count" = 32 ] || [ "$(pcitool r32 "$G0" $((e + 8)))" = 0x00000000 ] ||
    fail "window entry $count (beyond WINDOW_COUNT) is not zero"
log "apple-dma-pci ${GP##*/}: MAGIC $magic VERSION $ver PCI_ADDR $got (${bdf}), $sname"
step companion

# --- DMA at the IOVA the companion gives: a window, and an on-demand MAP -----------
if ! has_arg ondemand; then
    out=$(pcitool dmawin "$DEV" "$GP" 2>&1) || fail "DMA through a window: $(echo "$out" | tr '\n' ' ')"
    echo "$out" | sed 's/^/[e2e]   /'
    log "DMA through the window: the device wrote a guest page and read one back at its IOVA"
    step window-dma
    # The guest selects ONDEMAND (rings exist); an unknown value is refused
    must pcitool w32 "$G0" 0x040 3
    st=$(pcitool r32 "$G0" 0x00c)
    got=$(pcitool r32 "$G0" 0x040)
    if [ "$st" != 0x00000000 ] || [ "$got" != 0x00000003 ]; then
        fail "selecting ONDEMAND: DEV_STATUS $st, STRATEGY $got"
    fi
    must pcitool w32 "$G0" 0x040 9
    st=$(pcitool r32 "$G0" 0x00c)
    got=$(pcitool r32 "$G0" 0x040)
    if [ "$st" != 0xffffffea ] || [ "$got" != 0x00000003 ]; then
        fail "selecting strategy 9: DEV_STATUS $st (expected -EINVAL), STRATEGY $got"
    fi
    log "STRATEGY_SELECT: the guest selected ONDEMAND; strategy 9 refused"
fi

# --- MSI-X through the dmatest_irq module -----------------------------------------
if has_arg irq; then
    must modprobe dmatest_irq
    drv=$(basename "$(readlink "$DEV/driver")")
    [ "$drv" = dmatest_irq ] || fail "dmatest_irq did not bind (driver: $drv)"
    wait_for /sys/kernel/debug/dmatest_irq/ring 5 || fail "no dmatest_irq debugfs files"
    total=0
    for v in 0 1 2 3; do
        n=$((v + 1))
        echo "$v $n" > /sys/kernel/debug/dmatest_irq/ring ||
            fail "ringing vector $v $n time(s) failed: $(dmesg | tail -n 2 | tr '\n' ' ')"
        total=$((total + n))
    done
    grep dmatest_irq /proc/interrupts | sed 's/^/[e2e]   /'
    for v in 0 1 2 3; do
        line=$(grep " dmatest_irq$v\$" /proc/interrupts) || fail "no dmatest_irq$v in /proc/interrupts"
        # shellcheck disable=SC2086  # the line's words, on purpose
        set -- $line
        shift
        count=0
        while [ $# -gt 0 ]; do
            case "$1" in *[!0-9]*) break ;; esac
            count=$((count + $1))
            shift
        done
        [ "$count" = $((v + 1)) ] || fail "vector $v: $count interrupt(s) in /proc/interrupts, $((v + 1)) doorbell(s) rung"
    done
    sed 's/^/[e2e]   /' /sys/kernel/debug/dmatest_irq/counts
    faults=$(sed -n 's/^faults: //p' /sys/kernel/debug/dmatest_irq/counts)
    [ "$faults" = "$total" ] || fail "the device counted $faults fault(s), $total doorbell(s) rung"
    log "MSI-X: $total interrupts on 4 vectors, one per faulting doorbell"
    # the ring test below maps the device's BAR itself
    echo "${DEV##*/}" > /sys/bus/pci/drivers/dmatest_irq/unbind || fail "cannot unbind dmatest_irq"
    step msix
fi

# --- an on-demand MAP through a ring (under every strategy) ---------------------------
# After the MSI-X test: the DMA after UNMAP faults, which dmatest_irq counts
out=$(pcitool dmaring "$DEV" "$GP" 2>&1) || fail "DMA through an on-demand mapping: $(echo "$out" | tr '\n' ' ')"
echo "$out" | sed 's/^/[e2e]   /'
log "DMA through ring MAP/UNMAP: both ways at the mapped IOVA, a fault after UNMAP"
step ring-dma
if has_arg qom; then
    echo "DMATEST-QOM"
    sleep 5
fi

# --- unplug: the companion goes with the device ----------------------------------
if has_arg unplug; then
    slot=""
    for sd in /sys/bus/pci/slots/*; do
        [ "$(cat "$sd/address" 2>/dev/null).0" = "${DEV##*/}" ] && slot=$sd
    done
    [ -n "$slot" ] || fail "no hot-plug slot for ${DEV##*/} (is it behind a pcie-root-port?)"
    echo 0 > "$slot/power" || fail "cannot power off $slot"
    wait_for_gone() { i=0; while [ -e "$1" ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done; [ ! -e "$1" ]; }
    wait_for_gone "$DEV" || fail "${DEV##*/} still present after powering off its slot"
    # QEMU removes apple-dma-pci with it (the guest is not told: its BAR
    # now reads whatever unassigned memory reads, 0 or all ones)
    i=0
    while [ "$(pcitool r32 "$G0" 0x000)" = 0x4d564750 ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
    magic=$(pcitool r32 "$G0" 0x000)
    [ "$magic" != 0x4d564750 ] || fail "apple-dma-pci still answers (MAGIC $magic) after its device was unplugged"
    log "unplug: ${DEV##*/} removed through slot ${slot##*/}; apple-dma-pci went with it (MAGIC reads $magic)"
    step unplug
fi

if has_arg idle; then
    echo "DMATEST-READY"
    # QEMU must notice the server going away without a guest access
    while :; do sleep 1; done
fi

if has_arg wait; then
    echo "DMATEST-READY"
    # Keep using the device: QEMU must notice when the server goes away.
    while :; do
        pcitool r32 "$R0" $REG_ID >/dev/null 2>&1
        usleep 100000
    done
fi
exit 0
