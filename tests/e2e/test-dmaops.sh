#!/usr/bin/env bash
# End-to-end test of the DMA API through the macvfio guest module (guest/)
# under each strategy: a real macvfiod serving sim:dmatest, the patched QEMU
# (TCG, 4 vCPUs) passing it through with vfio-apple-pci, Debian's kernel
# with guest/macvfio.ko and the test-only driver modules/mvf_dmacheck.
#
#   tests/e2e/test-dmaops.sh [ARCH...]      (default: x86_64 aarch64)
#
# One boot per strategy (guest side: tests/dmaops.sh):
#   window     macvfiod's default budget: QEMU maps all RAM (auto: window),
#              modprobe macvfio strategy=window
#   pool       macvfiod --dma-budget 256M, QEMU dma-strategy=pool,
#              modprobe macvfio strategy=pool pool_mb=32
#   ondemand   macvfiod --dma-budget 256M (below the 512 MiB of RAM: QEMU
#              chooses on-demand), modprobe macvfio strategy=ondemand
# In each, mvf_dmacheck checks, with the device moving the data both ways
# and the module comparing it: dma_alloc_coherent from 4 KiB to 64 MiB
# (the largest must be at least 4 MiB, the page allocator's largest block
# and the pool's chunk; larger ones come only from CMA, which arm64's
# Debian kernel has (window: 32 MiB here) and amd64's has not, and which
# modules cannot call, so pool and on-demand stop at 4 MiB), dma_get_sgtable (+ dma_map_sgtable of the table),
# dma_map_sg of 128 segments, dma_map_single from timers on all 4 vCPUs at
# once (softirq), and dma_mmap_coherent (helpers/dmamap.c writes and reads
# the buffer through its user mapping).  Then on the host: macvfiod has no
# mapping left.  The guest's longest interrupts-off ring submission
# (macvfio's debugfs irqoff_max_ns) is shown in the pool and on-demand rows.
#
# Prints timings, then "e2e: N passed, N failed"; exit status 0 only if
# everything passed.  Logs: $MACVFIO_BUILD_DIR/e2e/logs/ (dmaops-*-ARCH.log).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

passthrough_setup dmaops "${ARCHES[@]}"

build_dmamap() {  # build_dmamap ARCH: the static helper for ARCH's guests
    mkdir -p "$E2E_OUT/helpers/$1"
    "$HELPER_CC" -static -O2 -Wall -Wextra -Werror -o "$E2E_OUT/helpers/$1/dmamap" \
        "$E2E_DIR/helpers/dmamap.c"
}

# t_dmaops ARCH IMAGE STRATEGY GUEST_ARGS BUDGET_MIB [DEVICE_PROPS]: one boot
t_dmaops() {
    local arch="$1" img="$2" strat="$3" gargs="$4" budget="$5" props="${6:-}"
    local name="dmaops-$strat" log dopts=() irqoff
    log="$LOGS/$name-$arch.log"
    [ "$budget" = 0 ] || dopts=(--dma-budget "${budget}M")
    SOCK="$RUN/$name.sock"
    daemon_start "$SOCK" "$LOGS/macvfiod-$name-$arch.log" --device sim:dmatest \
        ${dopts[@]+"${dopts[@]}"} || return 1
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/dmaops.sh -n "$name" -T 300 -m 512M --smp 4 \
        --append "macvfio.modules=none macvfio.args=strategy=$strat${gargs:+,$gargs}" -- \
        -device "vfio-apple-pci,socket=$SOCK${props:+,$props}" >"$RUN/$name.out" 2>&1 &
    watch_guest $! stats "$SOCK"
    cat "$RUN/$name.out" >&2
    grep -a '\[e2e\] check ' "$log" | tr -d '\r' >&2 || true
    [ "$GUEST_RC" = 0 ] || return 1
    irqoff="$(grep -ao 'irqoff max: [0-9]* ns' "$log" | head -n 1)"
    STEP_NOTE="$(grep -ao 'checks: [0-9]* passed, [0-9]* failed' "$log" | head -n 1)"
    STEP_NOTE="$STEP_NOTE; $(grep -ao 'coherent: largest allocation [0-9]* KiB' "$log" | head -n 1)"
    [ "$strat" = window ] || STEP_NOTE="$STEP_NOTE; $irqoff"
}

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    base="$E2E_OUT/guest-$arch"
    img="$E2E_OUT/guest-$arch-dmaops"
    step "build-guest (base)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$base" || continue
    if ! module_toolchain "$arch"; then
        record "dmaops" "$arch" 0 "FAIL (no $MODULE_CC; scripts/install-deps-e2e.sh)"
        continue
    fi
    step "macvfio.ko ($MODULE_CC)" "$arch" build_kmod "$arch" "$base" macvfio \
        "$REPO_DIR"/guest/*.c "$REPO_DIR"/guest/*.h "$REPO_DIR/guest/Kbuild" \
        "$REPO_DIR/include/macvfio/guest_proto.h:include/macvfio" || continue
    step "mvf_dmacheck.ko" "$arch" build_kmod "$arch" "$base" mvf_dmacheck \
        "$E2E_DIR/modules/mvf_dmacheck/mvf_dmacheck.c" \
        "$E2E_DIR/modules/mvf_dmacheck/Kbuild" \
        "$REPO_DIR/include/macvfio/dmatest.h:include/macvfio" || continue
    step "dmamap (static $HELPER_CC)" "$arch" build_dmamap "$arch" || continue
    step "build-guest (dmaops)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" \
        --module "$(kmod_path "$arch" macvfio)" \
        --module "$(kmod_path "$arch" mvf_dmacheck)" \
        --file "$E2E_OUT/helpers/$arch/dmamap:/bin/dmamap" || continue
    step "window" "$arch" t_dmaops "$arch" "$img" window "" 0 || true
    step "  released" "$arch" t_released || true
    step "pool" "$arch" t_dmaops "$arch" "$img" pool pool_mb=32 256 dma-strategy=pool || true
    step "  released" "$arch" t_released || true
    step "ondemand" "$arch" t_dmaops "$arch" "$img" ondemand "" 256 || true
    step "  released" "$arch" t_released || true
    daemon_stop
done

report_results dmaops
