#!/usr/bin/env bash
# End to end through the macOS code path, on Linux: the patched QEMU linked
# with the test-only libmacvfio variant (qemu/build.sh --iokit-double) takes
# the device with vfio-apple-pci,host=00:00.0 (no socket=), so it goes
# through libmacvfio's IOKit transport (lib/transport_iokit.c) and the
# IOKitLib double to dkhost: the dext's own code (dext/) on the DriverKit
# double, in a process of its own, serving sim:nvme on a 256 MiB backing
# file.  Guest RAM is registered by QEMU's address.  Debian's kernel, its
# stock nvme driver and guest/macvfio.ko, as in test-nvme.sh.
#
#   tests/e2e/test-iokit.sh [ARCH...]      (default: x86_64 aarch64)
#
# Per architecture, one boot each (guest side: tests/nvme-dma.sh), the
# module loaded first, 64 MiB written with O_DIRECT and read back: window,
# pool and on-demand.  After each: the backing file
# holds the pattern, the dext has 0 live mappings, and dkhost stops with
# status 0 (no kernel rule of the double broken, nothing left alive).
# Then, x86_64: QEMU killed (SIGKILL) during the I/O: the dext ends its
# session (0 mappings) and serves the next client; dkhost killed during the
# I/O: QEMU reports it and exits with a failure status, no hang.
#
# Prints timings, then "e2e: N passed, N failed".  Logs:
# $MACVFIO_BUILD_DIR/e2e/logs/ (iokit-*).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

PATTERN_SEED=20261125   # the same seed as tests/nvme-dma.sh
QEMU_IOKIT="$BUILD_DIR/qemu-iokit"
DEXT_BUILD="$BUILD_DIR/dext"
DKHOST="$DEXT_BUILD/tests/dext/iokit/dkhost"
IOKIT_TOOL="$DEXT_BUILD/tests/dext/iokit/macvfio-iokit"
DK_PID=""

passthrough_setup iokit "${ARCHES[@]}"
trap '[ -z "$DK_PID" ] || kill "$DK_PID" 2>/dev/null || true; rm -rf "$RUN"' EXIT

# The QEMU variant and dkhost (the dext build of make check's step 3).
need_iokit_tools() {
    local arch
    for arch in "${ARCHES[@]}"; do
        qemu_has_device "$QEMU_IOKIT" "$arch" && continue
        msg "no QEMU of the IOKit-double variant in $QEMU_IOKIT: qemu/build.sh --iokit-double"
        bash "$REPO_DIR/qemu/build.sh" --iokit-double
        break
    done
    if [ ! -x "$DKHOST" ] || [ ! -x "$IOKIT_TOOL" ]; then
        msg "building dkhost and the IOKit macvfio tool in $DEXT_BUILD"
        CC=clang CXX=clang++ "$REPO_DIR/scripts/meson-setup.sh" "$DEXT_BUILD" -Ddext=true \
            -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
        ninja -C "$DEXT_BUILD" tests/dext/iokit/dkhost tests/dext/iokit/macvfio-iokit >/dev/null
    fi
}
need_iokit_tools

# --- dkhost ------------------------------------------------------------------

# dk_start NAME: dkhost serving sim:nvme on $RUN/disk.img in a directory of
# its own (DKDIR, the IOKitLib double's $MVF_DKHOST_DIR); sets DK_PID.
dk_start() {
    DKDIR="$RUN/dk-$1"
    DK_LOG="$LOGS/dkhost-$1.log"
    rm -rf "$DKDIR"
    mkdir -p "$DKDIR"
    mkfifo "$DKDIR/ready"
    ASAN_OPTIONS=detect_leaks=1 "$DKHOST" --socket "$DKDIR/nvme.sock" \
        --device "sim:nvme,file=$RUN/disk.img" --ready-fd 3 3>"$DKDIR/ready" >"$DK_LOG" 2>&1 &
    DK_PID=$!
    if ! read -r -t 60 -n 1 _ <"$DKDIR/ready"; then
        msg "dkhost did not come up (log: $DK_LOG)"
        return 1
    fi
}

# dk_stop: SIGTERM; dkhost's status is 0 only if nothing was left.
dk_stop() {
    local rc=0
    [ -n "$DK_PID" ] || return 0
    kill "$DK_PID" 2>/dev/null || true
    wait "$DK_PID" || rc=$?
    DK_PID=""
    if [ "$rc" != 0 ]; then
        msg "dkhost exited with $rc: $(tail -n 2 "$DK_LOG" | tr '\n' ' ')"
        return 1
    fi
}

# dk_stats FIELD...: those statistics of the dext's device, on one line.
dk_stats() {
    MVF_DKHOST_DIR="$DKDIR" "$IOKIT_TOOL" info --json --iokit 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
print(*(s[k] for k in sys.argv[1:]))' "$@"
}

# dk_mappings: "live mapped" of the dext's device, for watch_guest.
dk_mappings() { dk_stats live_mappings mapped_bytes; }

# guest ARCH IMG NAME GUEST_ARGS DEVICE_PROPS: boots tests/nvme-dma.sh
# against the dext, in the background; sets GUEST_PID.
guest() {
    local arch="$1" img="$2" name="$3" gargs="$4" props="$5"
    # until_io reads the console log: never an earlier run's
    rm -f "$LOGS/$name-$arch.log" "$LOGS/$name-$arch.qemu.log"
    MVF_DKHOST_DIR="$DKDIR" QEMU="$QEMU_IOKIT/qemu-system-$arch" \
        "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" -t /tests/nvme-dma.sh -n "$name" -T 400 \
        --append "macvfio.modules=none macvfio.args=$gargs" -- \
        -name "$name" -device "vfio-apple-pci,host=00:00.0,$props" \
        -trace enable=vfio_apple_dma_strategy >"$RUN/$name.out" 2>&1 &
    GUEST_PID=$!
}

# --- the tests -------------------------------------------------------------------

# t_guest ARCH IMG NAME QEMU_STRATEGY GUEST_ARGS: one boot, verified
t_guest() {
    local arch="$1" img="$2" name="$3" qstrat="$4" gargs="$5"
    local log="$LOGS/$name-$arch.log"
    dk_start "$name-$arch" || return 1
    guest "$arch" "$img" "$name" "$gargs" "dma-strategy=$qstrat"
    watch_guest "$GUEST_PID" dk_mappings
    cat "$RUN/$name.out" >&2
    [ "$GUEST_RC" = 0 ] || return 1
    if ! grep -q "vfio_apple_dma_strategy .* $qstrat:" "$LOGS/$name-$arch.qemu.log"; then
        msg "QEMU did not trace the $qstrat strategy"
        return 1
    fi
    STEP_NOTE="$(grep -o 'pattern verify [0-9]* MiB at.*1024 KiB.*' "$log" | head -n 1 | tr -d '\r')"
    STEP_NOTE="$STEP_NOTE; up to $MAX_LIVE live mapping(s), $((MAX_MAPPED >> 20)) MiB"
}

t_backing() {  # t_backing OFFSET_MIB SIZE_MIB
    "$PATTERN" verify "$RUN/disk.img" --seed "$PATTERN_SEED" --offset "$1" --size "$2" --buffered >&2 ||
        return 1
    STEP_NOTE="$2 MiB at $1 MiB"
}

# t_released: the dext holds no mapping and no client memory; dkhost
# then stops cleanly.
t_released() {
    local live mapped reg
    read -r live mapped reg < <(dk_stats live_mappings mapped_bytes registered_bytes) ||
        { dk_stop; return 1; }
    dk_stop || return 1
    if [ "$live" != 0 ] || [ "$mapped" != 0 ] || [ "$reg" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped, $reg registered"
        return 1
    fi
    STEP_NOTE="0 live mappings, 0 bytes registered; dkhost stopped cleanly"
}

# config ARCH IMG LABEL NAME QEMU_STRATEGY GUEST_ARGS
config() {
    local arch="$1" img="$2" label="$3" name="$4" gargs="$6" seek size
    seek=$(sed -n 's/.*seek=\([0-9]*\).*/\1/p' <<<"$gargs")
    size=$(sed -n 's/.*size=\([0-9]*\).*/\1/p' <<<"$gargs")
    if step "$label" "$arch" t_guest "$arch" "$img" "$name" "$5" "$gargs"; then
        step "  backing file" "$arch" t_backing "$seek" "$size" || true
    fi
    step "  released" "$arch" t_released || true
    dk_stop || true
}

# until_io NAME: waits (up to 300 s) for the guest to reach its I/O.
until_io() {
    local log="$LOGS/$1-x86_64.log"
    for _ in $(seq 1 3000); do
        grep -q 'nvme0n1: [0-9]* sectors' "$log" 2>/dev/null && return 0
        kill -0 "$GUEST_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# dk_fail MSG: the step fails; dkhost is stopped first (it holds the disk).
dk_fail() {
    msg "$1"
    dk_stop || true
    return 1
}

# io_under_way IMG NAME GUEST_ARGS DEVICE_PROPS: dkhost and an x86_64
# guest whose I/O has begun with mappings live (LIVE_BEFORE of them), for a
# kill; on failure dkhost is stopped.
io_under_way() {
    local img="$1" name="$2"
    dk_start "$name" || return 1
    guest x86_64 "$img" "$name" "$3" "$4"
    until_io "$name" || dk_fail "the guest did not reach its I/O" || return 1
    read -r LIVE_BEFORE _ < <(dk_stats live_mappings mapped_bytes) || LIVE_BEFORE=0
    [ "${LIVE_BEFORE:-0}" -gt 0 ] || dk_fail "no live mapping during the guest's I/O"
}

# t_qemu_killed IMG: SIGKILL to QEMU with the guest's I/O under way and
# mappings live; the dext cleans up and serves the next client.
t_qemu_killed() {
    local img="$1" name=iokit-qemu-killed live=1 mapped=1 reg=1
    io_under_way "$img" "$name" "expect=ondemand,modfirst,seek=96,size=128" \
        "dma-strategy=ondemand" || return 1
    pkill -KILL -f "^$QEMU_IOKIT/qemu-system-x86_64 .*-name $name" || true
    wait "$GUEST_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        read -r live mapped reg < <(dk_stats live_mappings mapped_bytes registered_bytes) || true
        [ "$live" = 0 ] && [ "$mapped" = 0 ] && [ "$reg" = 0 ] && break
        sleep 0.2
    done
    if [ "$live" != 0 ] || [ "$mapped" != 0 ] || [ "$reg" != 0 ]; then
        dk_fail "after QEMU was killed: $live live mapping(s), $mapped bytes mapped, $reg registered"
        return 1
    fi
    # The next client claims the device.
    if ! MVF_DKHOST_DIR="$DKDIR" "$IOKIT_TOOL" selftest --iokit >"$RUN/$name.selftest" 2>&1; then
        grep -v '^PASS' "$RUN/$name.selftest" >&2 || true
        dk_fail "the next client's selftest failed"
        return 1
    fi
    dk_stop || return 1
    STEP_NOTE="killed with $LIVE_BEFORE live mapping(s); then 0 left, the next client's selftest passed, dkhost stopped cleanly"
}

# t_dkhost_killed IMG: SIGKILL to dkhost with the guest's I/O under way;
# QEMU reports the lost server and exits with a failure status.
t_dkhost_killed() {
    local img="$1" name=iokit-dkhost-killed rc=0 t0 qlog
    qlog="$LOGS/$name-x86_64.qemu.log"
    io_under_way "$img" "$name" "modfirst,seek=96,size=128" "dma-strategy=window" || return 1
    kill -KILL "$DK_PID"
    wait "$DK_PID" 2>/dev/null || true
    DK_PID=""
    t0=$(date +%s)
    wait "$GUEST_PID" || rc=$?
    if [ "$rc" = 0 ]; then
        msg "the guest passed although its device's server was killed"
        return 1
    fi
    if ! grep -q 'lost the connection to the macvfio driver extension' "$qlog"; then
        msg "QEMU did not report the lost driver extension (log: $qlog)"
        return 1
    fi
    STEP_NOTE="killed with $LIVE_BEFORE live mapping(s); QEMU exited $(($(date +%s) - t0)) s after: $(grep -m 1 'lost the connection' "$qlog" | cut -c1-110)"
}

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    img="$E2E_OUT/guest-$arch-nvme"
    nvme_guest_image iokit "$arch" "$img" || continue
    rm -f "$RUN/disk.img"
    truncate -s 256M "$RUN/disk.img"
    config "$arch" "$img" "iokit: window, module first" iokit-window-modfirst window \
        modfirst,seek=0,size=64
    config "$arch" "$img" "iokit: pool, module first" iokit-pool-modfirst ondemand \
        strategy=pool,modfirst,seek=64,size=64
    config "$arch" "$img" "iokit: on-demand, module first" iokit-ondemand-modfirst ondemand \
        expect=ondemand,modfirst,seek=128,size=64
    if [ "$arch" = x86_64 ]; then
        step "iokit: QEMU killed during I/O" "$arch" t_qemu_killed "$img" || true
        step "iokit: dkhost killed during I/O" "$arch" t_dkhost_killed "$img" || true
    fi
done

report_results iokit
