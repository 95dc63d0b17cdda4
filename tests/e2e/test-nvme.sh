#!/usr/bin/env bash
# End-to-end test of the macvfio guest module (guest/) with the window
# strategy: a real macvfiod serving sim:nvme on a 64 MiB backing file, the
# patched QEMU (TCG) passing it through with vfio-apple-pci, Debian's own
# kernel with its stock nvme driver and guest/macvfio.ko, x86_64 and aarch64.
#
#   tests/e2e/test-nvme.sh [ARCH...]      (default: x86_64 aarch64)
#
# For each architecture:
#   macvfio.ko     built from guest/ against the guest kernel's headers
#   module first   macvfio autoloaded before nvme (tests/nvme-window.sh
#                  modfirst): /dev/nvme0n1 appears, debugfs says window and no
#                  rebind, 4 MiB pattern written and read back with O_DIRECT
#                  (1 MiB and 4 KiB blocks); rmmod macvfio unbinds nvme;
#                  modprobe + bind brings it back and the data reads the same
#   nvme first     modprobe nvme (bound without the translation), then
#                  modprobe macvfio: it unbinds nvme (or attaches it again if
#                  nvme gave up), installs the windows (debugfs: rebinds +
#                  attaches >= 1), same I/O at 8 MiB
#   backing file   after each guest: the file holds the pattern at the offset
#                  written (the host regenerates it from the same seed)
#   released       after each guest: macvfiod has 0 live mappings
#   refused        macvfiod --dma-budget 64M: on-demand strategy; macvfio
#                  (alone) refuses the companion with a clear message
#
# Prints timings, then "e2e: N passed, N failed"; exit status 0 only if
# everything passed.  Logs: $MACVFIO_BUILD_DIR/e2e/logs/ (nvme-*-ARCH.log).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

HOST_BUILD="${MACVFIO_HOST_BUILD:-$BUILD_DIR/host}"
MACVFIOD="$HOST_BUILD/daemon/macvfiod"
MACVFIO_TOOL="$HOST_BUILD/tools/macvfio"
QEMU_DIR="${QEMU_DIR:-$BUILD_DIR/qemu}"
LOGS="$E2E_OUT/logs"
PATTERN_SEED=20261125



RUN="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-nvme.XXXXXX")"
DAEMON_PID=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    [ -z "$DAEMON_PID" ] || kill "$DAEMON_PID" 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

# --- what the tests need ------------------------------------------------------

"$REPO_DIR/scripts/install-deps-e2e.sh"

if [ ! -x "$MACVFIOD" ] || [ ! -x "$MACVFIO_TOOL" ]; then
    msg "building macvfiod and the macvfio tool in $HOST_BUILD"
    [ -f "$HOST_BUILD/build.ninja" ] || meson setup "$HOST_BUILD" "$REPO_DIR" >/dev/null
    ninja -C "$HOST_BUILD" daemon/macvfiod tools/macvfio >/dev/null
fi
for arch in "${ARCHES[@]}"; do
    check_arch "$arch"
    devices=$("$QEMU_DIR/qemu-system-$(qemu_arch "$arch")" -device help 2>/dev/null) || devices=""
    if ! grep -q '"vfio-apple-pci"' <<<"$devices"; then
        msg "no patched QEMU with vfio-apple-pci in $QEMU_DIR: running qemu/build.sh"
        bash "$REPO_DIR/qemu/build.sh"
        break
    fi
done
mkdir -p "$LOGS"

# The pattern: 4 MiB from a fixed seed, shipped in the image as /pattern
python3 -c '
import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(4 << 20))' \
    "$PATTERN_SEED" >"$RUN/pattern"



# --- macvfiod ---------------------------------------------------------------------

start_daemon() {  # start_daemon NAME [OPTIONS...]: sim:nvme on $RUN/disk.img; sets SOCK
    local name="$1"
    shift
    SOCK="$RUN/$name.sock"
    "$MACVFIOD" --socket "$SOCK" --device "sim:nvme,file=$RUN/disk.img" "$@" \
        >"$LOGS/macvfiod-$name.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 100); do
        [ -S "$SOCK" ] && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    msg "macvfiod did not come up (log: $LOGS/macvfiod-$name.log)"
    return 1
}

stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}

stats() {  # stats SOCK: "live_mappings mapped_bytes" of device 0
    "$MACVFIO_TOOL" info --json --socket "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["stats"]
print(s["live_mappings"], s["mapped_bytes"])'
}

# run_nvme ARCH IMAGE NAME GUEST_ARGS [APPEND]: boots tests/nvme-window.sh;
# sets GUEST_RC and MAX_LIVE
run_nvme() {
    local arch="$1" img="$2" name="$3" gargs="$4" append="${5:-}" pid live mapped
    MAX_LIVE=0
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/nvme-window.sh -n "$name" -T 240 \
        --append "macvfio.args=$gargs${append:+ $append}" -- \
        -device "vfio-apple-pci,socket=$SOCK" \
        -trace enable=vfio_apple_dma_strategy >"$RUN/$name.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if read -r live mapped < <(stats "$SOCK"); then
            [ "$live" -gt "$MAX_LIVE" ] && MAX_LIVE=$live
        fi
        sleep 0.5
    done
    GUEST_RC=0
    wait "$pid" || GUEST_RC=$?
    cat "$RUN/$name.out" >&2
}

# --- the tests ----------------------------------------------------------------------

t_guest() {  # t_guest ARCH IMAGE NAME GUEST_ARGS [APPEND]
    local arch="$1" name="$3"
    start_daemon "$name-$arch" || return 1
    run_nvme "$@"
    [ "$GUEST_RC" = 0 ] || { stop_daemon; return 1; }
    if ! grep -q 'vfio_apple_dma_strategy .* window:' "$LOGS/$name-$arch.qemu.log"; then
        msg "QEMU did not trace the window strategy"
        stop_daemon
        return 1
    fi
    STEP_NOTE="$(grep -o 'write 4 MiB at [0-9]* MiB[^:]*: .*' "$LOGS/$name-$arch.log" | head -n 1 | tr -d '\r'); up to $MAX_LIVE live mapping(s)"
}

t_refused() {  # t_refused ARCH IMAGE: on-demand strategy, macvfio refuses it
    local arch="$1"
    start_daemon "nvme-refuse-$arch" --dma-budget 64M || return 1
    run_nvme "$arch" "$2" nvme-refuse refuse "macvfio.modules=macvfio"
    stop_daemon
    [ "$GUEST_RC" = 0 ] || return 1
    STEP_NOTE="$(grep -o 'refused: .*' "$LOGS/nvme-refuse-$arch.log" | head -n 1 | tr -d '\r' | cut -c1-110)"
}

t_backing() {  # t_backing OFFSET_MIB: the backing file holds the pattern there
    cmp -n $((4 << 20)) -i "$(($1 << 20)):0" "$RUN/disk.img" "$RUN/pattern" >&2 || return 1
    STEP_NOTE="4 MiB at $1 MiB: sha256 $(sha256sum "$RUN/pattern" | cut -c1-16)..."
}

t_released() {
    local live mapped
    read -r live mapped < <(stats "$SOCK") || { stop_daemon; return 1; }
    stop_daemon
    if [ "$live" != 0 ] || [ "$mapped" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped"
        return 1
    fi
    STEP_NOTE="0 live mappings"
}

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    base="$E2E_OUT/guest-$arch"
    img="$E2E_OUT/guest-$arch-nvme"
    if ! step "build-guest (base)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$base"; then
        continue
    fi
    if ! module_toolchain "$arch" ||
        ! step "macvfio.ko ($MODULE_CC)" "$arch" build_kmod "$arch" "$base" macvfio \
            "$REPO_DIR/guest/macvfio.c" "$REPO_DIR/guest/Kbuild" \
            "$REPO_DIR/include/macvfio/guest_proto.h:include/macvfio"; then
        record "nvme" "$arch" 0 "FAIL (no macvfio.ko)"
        continue
    fi
    if ! step "build-guest (nvme)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" \
        --module "$(kmod_path "$arch" macvfio)" --file "$RUN/pattern:/pattern"; then
        continue
    fi
    rm -f "$RUN/disk.img"
    truncate -s 64M "$RUN/disk.img"

    if step "module first, then nvme" "$arch" t_guest "$arch" "$img" nvme-modfirst modfirst,seek=0; then
        step "backing file (module first)" "$arch" t_backing 0 || true
        step "released (module first)" "$arch" t_released || true
    fi
    if step "nvme first, then module" "$arch" t_guest "$arch" "$img" nvme-nvmefirst nvmefirst,seek=8 \
        "macvfio.modules=none nvme_core.admin_timeout=5"; then
        step "backing file (nvme first)" "$arch" t_backing 8 || true
        step "released (nvme first)" "$arch" t_released || true
    fi
    step "on-demand refused" "$arch" t_refused "$arch" "$img" || true
    stop_daemon
done

report_results nvme
