#!/bin/sh
# Boot smoke test, no passthrough: the guest sees PCI devices through sysfs,
# debugfs is mounted, and every module the image ships loads (nvme among them).
. /lib/e2e.sh

log "kernel $(uname -r) on $(uname -m), uptime $(cut -d' ' -f1 /proc/uptime)s"
[ "$(uname -r)" = "$(cat /etc/macvfio/kernel-version)" ] ||
    fail "running kernel $(uname -r) is not the image's $(cat /etc/macvfio/kernel-version)"

# lspci, the sysfs way
n=0
for v in /sys/bus/pci/devices/*/vendor; do
    [ -e "$v" ] || continue
    [ -n "$(cat "$v")" ] || fail "empty vendor in $v"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no PCI devices in /sys/bus/pci/devices"
log "$n PCI functions:"
pci_list

grep -q ' /sys/kernel/debug debugfs ' /proc/mounts || fail "debugfs is not mounted"

# shellcheck disable=SC2013  # one name per line
for m in $(cat /etc/macvfio/modules); do
    modprobe "$m" 2>/tmp/modprobe.err ||
        fail "modprobe $m: $(tail -n 1 /tmp/modprobe.err)"
    module_loaded "$m" || fail "module $m not in /sys/module after modprobe"
done
log "modules loaded: $(tr '\n' ' ' < /etc/macvfio/modules)"
module_loaded nvme || fail "nvme is not loaded"
[ -d /sys/bus/pci/drivers/nvme ] || fail "nvme did not register its PCI driver"
exit 0
