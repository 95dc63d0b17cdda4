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

PASSED=0
FAILED=0
SKIPPED=0
RESULTS=()
record() {  # record WHAT ARCH SECONDS STATUS
    RESULTS+=("$(printf '%-28s %-8s %7ss  %s' "$1" "$2" "$3" "$4")")
    case "$4" in
    PASS) PASSED=$((PASSED + 1)) ;;
    SKIP*) SKIPPED=$((SKIPPED + 1)) ;;
    *) FAILED=$((FAILED + 1)) ;;
    esac
}

# The compiler for out-of-tree modules of ARCH's guest kernel (Debian's are
# built with gcc-12).
module_toolchain() {
    case "$1" in
    x86_64) MODULE_CC=gcc-12; MODULE_MAKE=() ;;
    aarch64) MODULE_CC=aarch64-linux-gnu-gcc-12; MODULE_MAKE=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
    esac
    command -v "$MODULE_CC" >/dev/null && command -v make >/dev/null
}

build_module() {  # build_module ARCH IMAGE
    local kdir out="$E2E_OUT/modbuild-$1"
    kdir=$("$E2E_DIR/guest-headers.sh" "$2") || return 1
    rm -rf "$out"
    mkdir -p "$out"
    cp "$E2E_DIR/modules/e2e_hello/e2e_hello.c" "$E2E_DIR/modules/e2e_hello/Kbuild" "$out/"
    make -s -C "$kdir" M="$out" ${MODULE_MAKE[@]+"${MODULE_MAKE[@]}"} modules 2>&1 |
        grep -v '^Skipping BTF generation' >&2 || true
    [ -f "$out/e2e_hello.ko" ] || { msg "e2e_hello.ko was not built"; return 1; }
}

# step NAME ARCH CMD...: runs CMD, records its time and result.
step() {
    local what="$1" arch="$2" t0 t1 st=PASS
    shift 2
    t0=$(now)
    "$@" || st=FAIL
    t1=$(now)
    record "$what" "$arch" "$(elapsed "$t0" "$t1")" "$st"
    [ "$st" = PASS ]
}

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
        if step "module: headers+build" "$arch" build_module "$arch" "$img" &&
            step "module: image" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$mimg" \
                --module "$E2E_OUT/modbuild-$arch/e2e_hello.ko"; then
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

echo
echo "e2e boot tests (TCG, $(nproc) cores, wall-clock seconds):"
printf '%s\n' "${RESULTS[@]}"
echo
if [ "$SKIPPED" -gt 0 ]; then
    echo "e2e: $PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "e2e: $PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]
