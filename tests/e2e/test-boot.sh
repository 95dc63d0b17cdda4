#!/usr/bin/env bash
# First e2e tests, no passthrough: for each guest architecture, build the image,
# boot it (tests/boot.sh; x86_64 both as vmlinux/PVH and as bzImage), then boot it with QEMU's own emulated NVMe and move
# 4 MiB through the guest's stock nvme driver with O_DIRECT (tests/nvme-emu.sh),
# the reference point for later passthrough tests and benchmarks. Also builds a
# tiny out-of-tree module (modules/e2e_hello) against the guest kernel's headers
# and boots it with --module (skipped without gcc-12 / aarch64-linux-gnu-gcc-12).
#
#   tests/e2e/test-boot.sh [ARCH...]      (default: x86_64 aarch64)
#
# Installs missing host packages (scripts/install-deps-e2e.sh) and builds the
# patched QEMU if build/qemu/ lacks it (qemu/build.sh, cached) unless $QEMU is
# set. Prints timings and closes with "N passed, N failed"; exit status 0 only
# if everything passed. Images go to $MACVFIO_BUILD_DIR/e2e/guest-ARCH, console logs
# to $MACVFIO_BUILD_DIR/e2e/logs/.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)


# The compiler for out-of-tree modules of ARCH's guest kernel (Debian's are
# built with gcc-12).


# step NAME ARCH CMD...: runs CMD, records its time and result.

# Self-sufficient on a fresh machine: host packages (no-op when present) and
# the patched QEMU (qemu/build.sh reuses its cache) unless $QEMU names one.
"$REPO_DIR/scripts/install-deps-e2e.sh"
if [ -z "${QEMU:-}" ]; then
    for arch in "${ARCHES[@]}"; do
        check_arch "$arch"
        if [ ! -x "$BUILD_DIR/qemu/qemu-system-$(qemu_arch "$arch")" ]; then
            msg "no patched QEMU in $BUILD_DIR/qemu: running qemu/build.sh"
            bash "$REPO_DIR/qemu/build.sh"
            break
        fi
    done
fi

DISK="$E2E_OUT/nvme-emu.img"
mkdir -p "$E2E_OUT"

for arch in "${ARCHES[@]}"; do
    check_arch "$arch"
    arch="$(qemu_arch "$arch")"
    img="$E2E_OUT/guest-$arch"
    msg "=== $arch"
    if ! step "build-guest" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img"; then
        record "boot" "$arch" 0 "FAIL (no image)"
        record "module" "$arch" 0 "FAIL (no image)"
        record "nvme-emu" "$arch" 0 "FAIL (no image)"
        continue
    fi
    step "boot" "$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" -t /tests/boot.sh || true
    if [ "$arch" = x86_64 ]; then
        # run-guest.sh boots vmlinux through PVH by default; check the ordinary
        # bzImage path (SeaBIOS, real-mode setup, xz decompression) as well.
        step "boot (bzImage)" "$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" -t /tests/boot.sh \
            --bzimage --name boot-bzimage || true
    fi

    # An out-of-tree module built against the guest's own kernel headers and
    # shipped with --module: the path the macvfio guest module takes.
    if module_toolchain "$arch"; then
        mimg="$E2E_OUT/guest-$arch-module"
        if step "module: headers+build" "$arch" build_kmod "$arch" "$img" e2e_hello \
                "$E2E_DIR/modules/e2e_hello/e2e_hello.c" "$E2E_DIR/modules/e2e_hello/Kbuild" &&
            step "module: image" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$mimg" \
                --module "$(kmod_path "$arch" e2e_hello)"; then
            step "module: boot" "$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$mimg" -t /tests/module.sh || true
        fi
    else
        record "module" "$arch" 0 "SKIP (no $MODULE_CC; scripts/install-deps-e2e.sh)"
    fi

    rm -f "$DISK"
    truncate -s 64M "$DISK"
    step "nvme-emu (QEMU nvme, 4 MiB)" "$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" -t /tests/nvme-emu.sh -- \
        -drive "file=$DISK,if=none,id=d0,format=raw" \
        -device nvme,drive=d0,serial=macvfio-emu0 || true
done
rm -f "$DISK"

report_results boot
