#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests (tests/e2e/) need on the host.
# Idempotent: does nothing (and needs no network) when all are present.
#
#   seabios, qemu-system-data  firmware and option ROMs: the minimal QEMU build
#                              (qemu/build.sh) ships none; run-guest.sh passes
#                              -L /usr/share/seabios -L /usr/share/qemu
#   cpio                       packs the guest initramfs (newc, --reproducible)
#   kmod                       depmod/modinfo: module dependencies of the guest kernel
#   xz-utils                   unpacks vmlinux from the x86 bzImage (faster PVH boot)
#                              and trixie's .ko.xz modules
#   zstd                       unpacks vmlinux from trixie's 6.12 bzImage (zstd)
#   make, gcc-12               out-of-tree guest modules for the x86_64 guest
#                              (Debian's 6.1 kernel is built with gcc-12)
#   gcc-aarch64-linux-gnu      the same for the arm64 guest (cross gcc-12)
#   libc6-dev-arm64-cross      static arm64 helpers for the guest (tests/e2e/helpers,
#                              aarch64-linux-gnu-gcc -static); x86_64 ones use gcc
#   debootstrap                the trixie build chroot of tests/e2e/trixie-kbuild.sh
#                              (the guest module against Debian 13's 6.12 kernel, which
#                              needs gcc-14: trixie's compiler and headers live only
#                              in that chroot, never on the host)
#
# What the guest itself runs (Debian's kernel, busybox-static) is NOT installed
# here: tests/e2e/build-guest.sh downloads those .debs (guest-headers.sh the
# kernel headers) with `apt-get download` into /var/cache/macvfio/guest/ and
# unpacks them with `dpkg-deb -x`, for the guest's architecture. It keeps its
# own apt state (package lists for amd64 and arm64) under that cache, so no
# foreign architecture is added to the host's dpkg (busybox-static:arm64 is
# never installed, only unpacked) and the host's apt configuration is left
# alone. See tests/e2e/README.md.
set -euo pipefail

packages=(seabios qemu-system-data cpio kmod xz-utils zstd make gcc-12 gcc-aarch64-linux-gnu
          libc6-dev-arm64-cross debootstrap)

. "$(dirname "$0")/apt-install.sh"
apt_install_missing deps-e2e "${packages[@]}"
