#!/bin/sh
# Interrupt delivery through vfio-apple-pci, for make bench
# (bench/guest-irq.sh): the dmatest_irq module rings sim:dmatest's doorbell
# N times (a faulting transfer raises MSI-X vector 0 each time), waiting
# for each interrupt, and reports from the guest's clock the time from
# the doorbell write to the handler, from the write's return to the
# handler, and of the STATUS read after it.  Prints the figures as
# "IRQ-LAT <line>"; fails if the module cannot ring or a figure is missing.
#
# macvfio.args: n=N  doorbells (default 1000, at most 1000)
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

N=$(cmdline_arg macvfio.args | sed -n 's/.*n=\([0-9]*\).*/\1/p')
[ -n "$N" ] || N=1000
must modprobe dmatest_irq
wait_for /sys/kernel/debug/dmatest_irq/ring 5 || fail "no dmatest_irq debugfs files"
# a first ring warms the path (QEMU binds the vector on first use)
echo "0 10" > /sys/kernel/debug/dmatest_irq/ring || fail "warm-up ring failed: $(dmesg | tail -n 1)"
echo "0 $N" > /sys/kernel/debug/dmatest_irq/ring || fail "ringing $N times failed: $(dmesg | tail -n 1)"
lat=$(cat /sys/kernel/debug/dmatest_irq/latency)
for what in doorbell-\>handler write-return-\>handler status-read; do
    echo "$lat" | grep -q "^$what: n $N " || fail "no '$what' figure for $N doorbells: $lat"
done
echo "$lat" | sed 's/^/IRQ-LAT /'
