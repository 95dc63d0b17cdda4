#!/bin/sh
# The macvfio guest module with the window strategy: macvfiod's sim:nvme
# passed through by vfio-apple-pci, driven by the stock nvme driver (host:
# test-nvme.sh).
#
# macvfio.args (comma separated):
#   modfirst    macvfio is loaded before nvme (the image's autoload order);
#               at the end macvfio is removed: nvme must be unbound with it
#   nvmefirst   boot with macvfio.modules=none; modprobe nvme: it binds the
#               function without the translation; then modprobe macvfio
#               must unbind it (or, if nvme gave up already, attach it
#               again) with the windows installed
#   seek=N      write the pattern at N MiB (default 0)
#   refuse      the host gave a strategy other than window (on-demand):
#               macvfio (loaded alone: macvfio.modules=macvfio) must refuse
#               the companion with a clear message and manage nothing
#
# The pattern is /pattern (4 MiB, made by the host from a fixed seed), so the
# host can compare the backing file after the guest is gone.
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

ARGS=",$(cmdline_arg macvfio.args),"
has_arg() { case "$ARGS" in *",$1,"*) return 0 ;; esac; return 1; }
SEEK=$(echo "$ARGS" | sed -n 's/.*,seek=\([0-9]*\),.*/\1/p')
[ -n "$SEEK" ] || SEEK=0
DBG=/sys/kernel/debug/macvfio

step_t0=$(uptime_cs)
step() {  # step NAME: log the time the previous step took
    t=$(uptime_cs)
    log "step $1 done in $(awk -v a="$step_t0" -v b="$t" 'BEGIN { printf "%.2f", (b - a) / 100 }') s"
    step_t0=$t
}

[ -f /pattern ] || fail "no /pattern in the image"
GP=""
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x00e1 ]; then
        GP=$d
    fi
done
[ -n "$GP" ] || fail "no apple-dma-pci (1b36:00e1); PCI: $(pci_list | tr '\n' ';')"

if has_arg refuse; then
    module_loaded macvfio || fail "macvfio is not loaded"
    line=$(dmesg | grep 'is not supported by this module') ||
        fail "no refusal message: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"
    log "refused: ${line#*] }"
    [ ! -e "$GP/driver" ] || fail "macvfio bound ${GP##*/} anyway"
    for d in "$DBG"/*; do [ -d "$d" ] && fail "macvfio manages ${d##*/}"; done
    must rmmod macvfio
    log "macvfio refused the on-demand strategy and unloaded cleanly"
    exit 0
fi

if has_arg nvmefirst; then
    module_loaded macvfio && fail "macvfio is loaded already (expected macvfio.modules=none)"
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
    must modprobe macvfio
    wait
    step modprobe-macvfio
else
    module_loaded macvfio || fail "macvfio is not loaded (autoload)"
fi

wait_for "$DBG" 10 || fail "no $DBG: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"
BDF=""
for d in "$DBG"/*; do [ -d "$d" ] && BDF=${d##*/}; done
[ -n "$BDF" ] || fail "macvfio manages no device: $(dmesg | grep macvfio | tail -n 3 | tr '\n' ' ')"
strategy=$(cat "$DBG/$BDF/strategy")
[ "$strategy" = window ] || fail "macvfio strategy is '$strategy', expected window"
nwin=$(wc -l < "$DBG/$BDF/windows")
rebinds=$(cat "$DBG/$BDF/rebinds")
attaches=$(cat "$DBG/$BDF/attaches")
sed 's/^/[e2e]   /' "$DBG/$BDF/windows" "$DBG/$BDF/state"
log "macvfio manages $BDF: strategy $strategy, $nwin window(s), $rebinds rebind(s), $attaches attach(es)"
if has_arg nvmefirst; then
    [ $((rebinds + attaches)) -ge 1 ] || fail "nvme was bound first but macvfio did not re-bind it"
else
    [ "$rebinds" = 0 ] || fail "$rebinds rebind(s) with macvfio loaded first"
fi

wait_for /dev/nvme0n1 60 || fail "no /dev/nvme0n1: $(dmesg | grep -i -e nvme -e macvfio | tail -n 5 | tr '\n' ' ')"
drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver")")
[ "$drv" = nvme ] || fail "$BDF is bound to '$drv', expected nvme"
log "/dev/nvme0n1: $(cat /sys/block/nvme0n1/size) sectors"
step nvme0n1

t0=$(uptime_cs)
dd if=/pattern of=/dev/nvme0n1 bs=1M seek="$SEEK" count=4 oflag=direct conv=fsync 2>/tmp/dd.err ||
    fail "O_DIRECT write failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "write 4 MiB at $SEEK MiB (1 MiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
echo 3 > /proc/sys/vm/drop_caches
t0=$(uptime_cs)
dd if=/dev/nvme0n1 of=/tmp/readback bs=1M skip="$SEEK" count=4 iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT read failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "read  4 MiB at $SEEK MiB (1 MiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
cmp /pattern /tmp/readback || fail "data read back differs from what was written"
log "pattern sha256 $(sha256sum /pattern | cut -d' ' -f1) written and read back identical"

# 4 KiB blocks: many small I/Os, each translated by dma-direct
t0=$(uptime_cs)
dd if=/dev/nvme0n1 of=/tmp/readback bs=4k skip=$((SEEK * 256)) count=1024 iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT 4k read failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "read  4 MiB (4 KiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
cmp /pattern /tmp/readback || fail "4 KiB-block readback differs"
step io

if has_arg modfirst; then
    # a clean unload: nvme is unbound first, then the windows removed
    must rmmod macvfio
    i=0
    while [ -e /dev/nvme0n1 ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
    [ ! -e /dev/nvme0n1 ] || fail "/dev/nvme0n1 still there after rmmod macvfio"
    [ ! -e "/sys/bus/pci/devices/$BDF/driver" ] || fail "$BDF still bound after rmmod macvfio"
    [ ! -e "$DBG" ] || fail "$DBG still there after rmmod macvfio"
    log "rmmod macvfio: nvme unbound, debugfs gone"
    # and back: the windows installed again before nvme binds
    must modprobe macvfio   # attaches nvme again, with the windows
    wait_for /dev/nvme0n1 30 || fail "no /dev/nvme0n1 after modprobe macvfio"
    dd if=/dev/nvme0n1 of=/tmp/readback bs=1M skip="$SEEK" count=4 iflag=direct 2>/tmp/dd.err ||
        fail "O_DIRECT read after reload failed: $(tail -n 1 /tmp/dd.err)"
    cmp /pattern /tmp/readback || fail "readback after reload differs"
    log "modprobe macvfio: nvme attached again, data read back identical"
    step reload
fi
exit 0
