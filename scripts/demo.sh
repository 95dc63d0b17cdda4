#!/usr/bin/env bash
# make demo: what works today, end to end on this machine.
#
# Host side (issue #2): macvfiod serves a simulated PCI device; the
# macvfio tool (a libmacvfio client, like QEMU will be) lists it, shows
# it like lspci -vv, and runs a self-test that claims it, maps its RAM
# BAR, and has the device DMA into client memory at a host-assigned IOVA
# and raise an MSI-X interrupt.
#
# Then the guest half: the patched QEMU boots Debian's kernel with the
# device passed through (tests/e2e/test-dmatest.sh).  The stock nvme
# driver on sim:nvme arrives with the guest-module issue; the summary
# says so rather than pretending.
set -euo pipefail
build=${1:-build/host}
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting macvfiod with two simulated devices"
"$build/daemon/macvfiod" --socket "$dir/macvfio.sock" \
    --device sim:dmatest --device sim:dmatest,window=4M 2>"$dir/daemon.log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/macvfio.sock" ] && break; sleep 0.05; done
sed 's/^/  daemon| /' "$dir/daemon.log"

say "macvfio list"
"$build/tools/macvfio" list --socket "$dir/macvfio.sock"

say "macvfio info --device 0"
"$build/tools/macvfio" info --socket "$dir/macvfio.sock" --device 0

say "macvfio selftest --device 0"
"$build/tools/macvfio" selftest --socket "$dir/macvfio.sock" --device 0

say "stopping macvfiod (SIGTERM)"
kill "$pid"; wait "$pid" || true; pid=
sed 's/^/  daemon| /' "$dir/daemon.log" | tail -4

say "a Linux guest with the device passed through (QEMU vfio-apple-pci, TCG)"
echo "  booting Debian's 6.1 kernel with -device vfio-apple-pci,socket=... on"
echo "  sim:dmatest, then the same on aarch64; the checks print as they run"
tests/e2e/test-dmatest.sh x86_64 aarch64

say "the stock Linux nvme driver on a passed-through sim:nvme (guest module, window strategy)"
echo "  macvfiod serves sim:nvme backed by a file; the guest's own nvme driver"
echo "  writes a 4 MiB pattern with O_DIRECT and reads it back; the host then"
echo "  checks the backing file holds exactly that pattern"
tests/e2e/test-nvme.sh x86_64

say "summary"
cat <<'TXT'
  host side: a client claimed a device, read its config space and
  registers, mapped its RAM BAR, registered memfd memory, got an IOVA
  assigned by the host's DART model (far from any guest-physical
  address), and the device DMAed there and raised MSI-X through an
  eventfd. When the client left, the daemon released every mapping and
  reset the device.

  guest side: QEMU's vfio-apple-pci passed the device to Linux guests
  (x86_64 and aarch64): the guest saw its IDs, BARs and capabilities,
  read its registers, wrote its window, got MSI-X interrupts and reset
  it; guest RAM was registered with macvfiod and mapped at host-assigned
  IOVAs (window strategy), the companion apple-dma-pci published them,
  the device DMAed into a guest page at such an IOVA, and all of it was
  released at shutdown.

  nvme: with the macvfio guest module installing the window table as a
  constant-offset DMA map, the guest's stock nvme driver (loaded before or
  after the module) did O_DIRECT I/O on sim:nvme with no exit per I/O for
  DMA mapping, and the backing file on the host held exactly its data.

  not yet: the pool and on-demand strategies in the guest module, and the
  guest I/O benchmark (issue #4).
TXT
