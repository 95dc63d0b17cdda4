#!/bin/sh
# Reference point: QEMU's own emulated NVMe (-device nvme) under TCG.
# Writes a 4 MiB random pattern to the namespace with O_DIRECT, drops the page
# cache, reads it back with O_DIRECT and compares.
#   args: [DEVICE] (default /dev/nvme0n1)
. /lib/e2e.sh

dev=${1:-/dev/nvme0n1}
module_loaded nvme || must modprobe nvme
wait_for "$dev" 30 || fail "$dev did not appear within 30s (PCI: $(pci_list | tr '\n' ';'))"
blk=/sys/block/${dev##*/}
log "$dev: $(cat "$blk/size") sectors of $(cat "$blk/queue/logical_block_size") bytes"
pci_list

dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null || fail "cannot make the pattern"
log "pattern sha256 $(sha256sum /tmp/pattern | cut -d' ' -f1)"

# busybox dd supports iflag=direct / oflag=direct (O_DIRECT, page-aligned buffers)
t0=$(uptime_cs)
dd if=/tmp/pattern of="$dev" bs=1M count=4 oflag=direct conv=fsync 2>/tmp/dd.err ||
    fail "O_DIRECT write to $dev failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "write 4 MiB (1 MiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
echo 3 > /proc/sys/vm/drop_caches
t0=$(uptime_cs)
dd if="$dev" of=/tmp/readback bs=1M count=4 iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT read from $dev failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "read  4 MiB (1 MiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
cmp /tmp/pattern /tmp/readback || fail "data read back from $dev differs from what was written"

# once more at an offset that is not 0, with 4 KiB blocks (1024 I/Os each way)
t0=$(uptime_cs)
dd if=/tmp/pattern of="$dev" bs=4k seek=4097 count=1024 oflag=direct conv=fsync 2>/tmp/dd.err ||
    fail "O_DIRECT 4k write failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "write 4 MiB (4 KiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
t0=$(uptime_cs)
dd if="$dev" of=/tmp/readback bs=4k skip=4097 count=1024 iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT 4k read failed: $(tail -n 1 /tmp/dd.err)"
t1=$(uptime_cs)
log "read  4 MiB (4 KiB blocks, O_DIRECT): $(rate 4194304 "$t0" "$t1")"
cmp /tmp/pattern /tmp/readback || fail "4 KiB-block readback at offset 16 MiB+4 KiB differs"
log "4 MiB written and read back identical (1 MiB and 4 KiB blocks, O_DIRECT)"
exit 0
