#!/usr/bin/env bash
# End-to-end test of the macvfio guest module (guest/) with each DMA
# strategy: a real macvfiod serving sim:nvme on a 256 MiB backing file, the
# patched QEMU (TCG) passing it through with vfio-apple-pci, Debian's own
# kernel with its stock nvme driver and guest/macvfio.ko.
#
#   tests/e2e/test-nvme.sh [ARCH...]      (default: x86_64 aarch64)
#   NVME_ONLY=ondemand-modfirst tests/e2e/test-nvme.sh x86_64   (a subset)
#   NVME_612=0 tests/e2e/test-nvme.sh                         (no 6.12 guests)
#
# Configurations (guest side: tests/nvme-dma.sh; each is one boot):
#   x86_64   window, pool and on-demand, each with macvfio loaded before
#            nvme (then rmmod + modprobe: unbinds and re-binds nvme, data
#            intact) and after it (macvfio re-binds nvme; on-demand then
#            with lazy_unmap_ms=0, strict unmapping); on-demand under a
#            1 MiB host budget (far below the working set: the I/O must
#            complete and verify, idle extents evicted); on-demand in 2 GiB
#            and 8 GiB guests with macvfiod's default 1.5 GiB budget (QEMU's
#            own choice); the on-demand boots add random 4 KiB I/O from 4
#            threads (tests/nvme-dma.sh rand=) and check the cache's books
#   aarch64  window both orders, on-demand module first
#   6.12     (x86_64, after the rest) Debian trixie's 6.12 kernel
#            (build-guest.sh --kernel-suite trixie, the ABI of the
#            trixie-kbuild.sh chroot) with the module test-kbuild.sh
#            --only 6.12 builds there: window and on-demand, module first,
#            on a fresh backing file
# Window: QEMU's default (all RAM fits the budget).  Pool and on-demand:
# macvfiod --dma-budget 64M makes QEMU choose on-demand; the module is
# asked for pool with strategy=pool.
#
# Each boot writes a pattern (64 MiB module first, 16 MiB nvme first) with
# O_DIRECT and reads it back (1 MiB and 4 KiB blocks); the guest checks the
# module's debugfs counters (window and pool: no doorbell during I/O, pool
# bounced every byte; on-demand: doorbells and maps) and that an IOVA
# differs from its guest-physical address.  Then on the host: the backing
# file holds exactly the pattern at that offset, the mapped bytes never
# exceeded the budget, and macvfiod has 0 live mappings after the guest.
#
# Prints timings, then "e2e: N passed, N failed"; exit status 0 only if
# everything passed.  Logs: $MACVFIO_BUILD_DIR/e2e/logs/ (nvme-*-ARCH.log).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

PATTERN_SEED=20261125   # the same seed as tests/nvme-dma.sh

passthrough_setup nvme "${ARCHES[@]}"


# --- one guest (macvfiod: start_nvme_daemon in lib.sh) ----------------------------

# run_nvme ARCH IMAGE NAME GUEST_ARGS APPEND [DEVICE_PROPS]: boots
# tests/nvme-dma.sh; sets GUEST_RC, MAX_LIVE and MAX_MAPPED
run_nvme() {
    local arch="$1" img="$2" name="$3" gargs="$4" append="$5" props="${6:-}" mem="${7:-512M}"
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/nvme-dma.sh -n "$name" -T 420 -m "$mem" \
        --append "macvfio.modules=none macvfio.args=$gargs${append:+ $append}" -- \
        -device "vfio-apple-pci,socket=$SOCK${props:+,$props}" \
        -trace enable=vfio_apple_dma_strategy >"$RUN/$name.out" 2>&1 &
    watch_guest $! stats "$SOCK"
    cat "$RUN/$name.out" >&2
}

# --- the tests ----------------------------------------------------------------------

# t_guest ARCH IMAGE NAME QEMU_STRATEGY GUEST_ARGS APPEND BUDGET_MIB [MEM]: one
# boot (BUDGET_MIB 0: macvfiod's default, 1536)
t_guest() {
    local arch="$1" img="$2" name="$3" qstrat="$4" gargs="$5" append="$6" budget="$7" mem="${8:-}"
    local log="$LOGS/$name-$arch.log" dopts=() note
    [ "$budget" = 0 ] || dopts=(--dma-budget "${budget}M")
    start_nvme_daemon "$name-$arch" ${dopts[@]+"${dopts[@]}"} || return 1
    run_nvme "$arch" "$img" "$name" "$gargs" "$append" "" "$mem"
    [ "$GUEST_RC" = 0 ] || return 1
    if ! grep -q "vfio_apple_dma_strategy .* $qstrat:" "$LOGS/$name-$arch.qemu.log"; then
        msg "QEMU did not trace the $qstrat strategy"
        return 1
    fi
    if [ "$MAX_MAPPED" -gt $(((budget ? budget : 1536) << 20)) ]; then
        msg "macvfiod had $MAX_MAPPED bytes mapped with a budget of $budget MiB"
        return 1
    fi
    note="$(grep -o 'pattern verify [0-9]* MiB at.*1024 KiB.*' "$log" | head -n 1 | tr -d '\r')"
    if [[ "$gargs" == *tiny* ]]; then
        note="$note; $(grep -o '[0-9]* failure(s); [0-9]* I/O requests' "$log" | head -n 1 | tr -d '\r')"
    else
        note="$note; $(grep -o 'doorbells per I/O request: .*' "$log" | head -n 1 | tr -d '\r')"
    fi
    if grep -q 'pattern random' "$log"; then
        note="$note; $(grep -o 'pattern random [0-9]* I/Os' "$log" | head -n 1 | tr -d '\r'): $(grep -o 'hits [0-9]*, misses [0-9]*, evictions [0-9]*' "$log" | head -n 1 | tr -d '\r')"
    fi
    STEP_NOTE="$note; $(grep -o 'translation example: .*' "$log" | head -n 1 | tr -d '\r' | cut -c 22-); up to $MAX_LIVE live mapping(s)"
}

t_backing() {  # t_backing OFFSET_MIB SIZE_MIB: the backing file holds the pattern there
    "$PATTERN" verify "$RUN/disk.img" --seed "$PATTERN_SEED" --offset "$1" --size "$2" --buffered >&2 ||
        return 1
    STEP_NOTE="$2 MiB at $1 MiB"
}

# config ARCH IMAGE LABEL NAME QEMU_STRATEGY GUEST_ARGS APPEND BUDGET [MEM]: a
# boot, then the backing file and the mappings left on the host
config() {
    local arch="$1" img="$2" label="$3" name="$4" gargs="$6" seek size ok=0
    [[ "$name" == *"${NVME_ONLY:-}"* ]] || return 0   # NVME_ONLY=ondemand: a subset
    seek=$(sed -n 's/.*seek=\([0-9]*\).*/\1/p' <<<"$gargs")
    size=$(sed -n 's/.*size=\([0-9]*\).*/\1/p' <<<"$gargs")
    step "$label" "$arch" t_guest "$arch" "$img" "$name" "$5" "$gargs" "$7" "$8" "${9:-}" && ok=1
    if [ "$ok" = 1 ]; then
        step "  backing file" "$arch" t_backing "$seek" "$size" || true
    fi
    step "  released" "$arch" t_released || true
    daemon_stop
}

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    img="$E2E_OUT/guest-$arch-nvme"
    nvme_guest_image nvme "$arch" "$img" || continue
    rm -f "$RUN/disk.img"
    truncate -s 256M "$RUN/disk.img"
    nf="nvme_core.admin_timeout=5"
    config "$arch" "$img" "window, module first" nvme-window-modfirst window \
        modfirst,seek=0,size=64 "" 0
    config "$arch" "$img" "window, nvme first" nvme-window-nvmefirst window \
        nvmefirst,seek=64,size=16 "$nf" 0
    if [ "$arch" = x86_64 ]; then
        config "$arch" "$img" "pool, module first" nvme-pool-modfirst ondemand \
            strategy=pool,modfirst,seek=80,size=64 "" 64
        config "$arch" "$img" "pool, nvme first" nvme-pool-nvmefirst ondemand \
            strategy=pool,nvmefirst,seek=144,size=16 "$nf" 64
    fi
    config "$arch" "$img" "on-demand, module first" nvme-ondemand-modfirst ondemand \
        expect=ondemand,modfirst,seek=160,size=64,rand=4000 "" 64
    if [ "$arch" = x86_64 ]; then
        config "$arch" "$img" "on-demand, nvme first" nvme-ondemand-nvmefirst ondemand \
            expect=ondemand,nvmefirst,lazy=0,seek=224,size=16 "$nf" 64
        config "$arch" "$img" "on-demand, 1 MiB budget" nvme-ondemand-tiny ondemand \
            expect=ondemand,tiny,modfirst,seek=240,size=16,rand=2000 "" 1
        config "$arch" "$img" "on-demand, 2 GiB guest" nvme-ondemand-2g ondemand \
            expect=ondemand,modfirst,seek=176,size=32,rand=4000 "" 0 2G
        config "$arch" "$img" "on-demand, 8 GiB guest" nvme-ondemand-8g ondemand \
            expect=ondemand,modfirst,seek=208,size=32,rand=4000 "" 0 8G
    fi
done

# --- 6.12: Debian trixie's kernel, x86_64 -------------------------------------------

K612_KO="$E2E_OUT/kbuild/6.12/x86_64/macvfio.ko"
K612_SPEC=""
# kbuild_612: macvfio.ko for trixie's 6.12 (test-kbuild.sh, in its chroot:
# gcc-14, W=1 clean); sets K612_SPEC, the linux-image package of the
# chroot's headers ABI and version.
kbuild_612() {
    local log="$LOGS/nvme-6.12-kbuild.log" hpkg ver kdir krel
    "$E2E_DIR/test-kbuild.sh" --only 6.12 x86_64 >"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; STEP_NOTE="see $log"; return 1; }
    read -r hpkg ver kdir krel < <("$E2E_DIR/trixie-kbuild.sh" --info 2>>"$log" |
        sed -n 's/^kernel amd64: //p') || { STEP_NOTE="no amd64 kernel in trixie-kbuild.sh --info"; return 1; }
    [ -f "$K612_KO" ] || { STEP_NOTE="no $K612_KO"; return 1; }
    K612_SPEC="linux-image-$krel=$ver"
    STEP_NOTE="$krel ($ver, $hpkg), gcc-14 in the trixie chroot, $kdir"
}

for arch in "${ARCHES[@]}"; do
    [ "${NVME_612:-1}" != 0 ] || break   # NVME_612=0: 6.1 only
    [ "$(qemu_arch "$arch")" = x86_64 ] || continue
    arch=x86_64
    msg "=== $arch, 6.12 (trixie)"
    img="$E2E_OUT/guest-$arch-nvme-6.12"
    step "6.12: macvfio.ko (test-kbuild.sh)" "$arch" kbuild_612 || break
    if [ ! -x "$E2E_OUT/helpers/$arch/pattern" ]; then
        module_toolchain "$arch" || true   # sets HELPER_CC
        step "pattern (static $HELPER_CC)" "$arch" build_guest_pattern "$arch" || break
    fi
    step "6.12: build-guest (nvme)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" \
        --kernel-suite trixie --kernel "$K612_SPEC" --module "$K612_KO" \
        --file "$E2E_OUT/helpers/$arch/pattern:/bin/pattern" || break
    # a backing file of its own: the configurations above filled 0-256 MiB
    rm -f "$RUN/disk.img"
    truncate -s 256M "$RUN/disk.img"
    config "$arch" "$img" "6.12: window, module first" nvme612-window-modfirst window \
        modfirst,seek=0,size=64 "" 0
    config "$arch" "$img" "6.12: on-demand, module first" nvme612-ondemand-modfirst ondemand \
        expect=ondemand,modfirst,seek=64,size=64,rand=4000 "" 64
    break
done

report_results nvme
