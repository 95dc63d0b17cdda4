#!/usr/bin/env bash
# End-to-end hostile-guest test of apple-dma-pci: a guest program writes
# garbage into the companion's registers and rings; QEMU and macvfiod must
# stay up, and the device must keep working for the honest driver afterwards.
#
#   tests/e2e/test-hostile.sh [ARCH...]      (default: x86_64 aarch64)
#
# macvfiod serves sim:nvme on a 64 MiB backing file with --dma-budget 64M, so
# QEMU (512 MiB guest, default dma-strategy auto) chooses the on-demand
# strategy and the companion has request rings (one per vCPU; 2 vCPUs).
# For each architecture:
#   hostile.c       helpers/hostile.c, static, shipped as /bin/hostile
#   macvfio.ko      the guest module from guest/ (for the honest driver)
#   hostile cases   tests/hostile.sh, booted with macvfio.modules=none: every
#                   case (read-only registers, bad access sizes, rings >=
#                   NUM_RINGS, STRATEGY, bad ring set-ups, refused doorbells,
#                   wrapping batches, bad MAP/UNMAP entries, 1000 random
#                   entries from a fixed seed, register garbage, BUDGET
#                   exhausted, RESET, an honest MAP/UNMAP) gets the status
#                   docs/guest-protocol.md specifies
#   QEMU survived   QEMU exited with status 0 (the guest powered off), its
#                   log shows no abort, assertion or crash, and the guest
#                   reached its verdict
#   macvfiod        still running, answers `macvfio info --json`, and has no
#                   live mapping once the guest is gone
#   honest driver   in the same boot, after the hostile cases: modprobe
#                   macvfio (on-demand), modprobe nvme, a 4 MiB pattern
#                   written and read back with O_DIRECT (needs the guest
#                   module's on-demand support)
#   backing file    the pattern is in the backing file
#   MAX_MAPPINGS    a second boot with --dma-max-mappings 64: the hostile
#                   cases again, now exhausting MAX_MAPPINGS (-EMFILE); QEMU
#                   and macvfiod as above
#
# Prints timings, then "e2e: N passed, N failed"; exit status 0 only if
# everything passed.  Logs: $MACVFIO_BUILD_DIR/e2e/logs/hostile*-ARCH.*
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

PATTERN_SEED=20261125   # the same seed as tests/hostile.sh
HOSTILE_SEED=20261125
GUEST_TIMEOUT=420

passthrough_setup hostile "${ARCHES[@]}"

# QEMU through a wrapper that keeps its exit status (run-guest.sh only
# reports the guest's verdict)
cat >"$RUN/qemu-wrapper" <<'EOF'
#!/bin/sh
"$HOSTILE_REAL_QEMU" "$@"
rc=$?
echo "$rc" > "$HOSTILE_QEMU_RC"
exit $rc
EOF
chmod +x "$RUN/qemu-wrapper"

build_helper() {  # build_helper ARCH: $E2E_OUT/helpers/ARCH/hostile
    local out="$E2E_OUT/helpers/$1"
    mkdir -p "$out"
    "$HELPER_CC" -static -pthread -O2 -Wall -Wextra -Werror -I"$REPO_DIR/include" \
        -o "$out/hostile.tmp.$$" "$E2E_DIR/helpers/hostile.c" &&
        mv -f "$out/hostile.tmp.$$" "$out/hostile"
}

# --- one guest (macvfiod: start_nvme_daemon in lib.sh) ------------------------------

# run_hostile ARCH IMAGE NAME GUEST_ARGS: boots tests/hostile.sh against
# macvfiod at $SOCK; sets GUEST_RC, QEMU_RC, MAX_LIVE, MAX_MAPPED, GLOG, QLOG
run_hostile() {
    local arch="$1" img="$2" name="$3" gargs="$4"
    GLOG="$LOGS/$name-$arch.log"
    QLOG="$LOGS/$name-$arch.qemu.log"
    rm -f "$RUN/qemu.rc"
    HOSTILE_REAL_QEMU="$QEMU_DIR/qemu-system-$arch" HOSTILE_QEMU_RC="$RUN/qemu.rc" \
        QEMU="$RUN/qemu-wrapper" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/hostile.sh -n "$name" -T "$GUEST_TIMEOUT" --smp 2 \
        --append "macvfio.modules=none macvfio.args=$gargs" -- \
        -device "vfio-apple-pci,socket=$SOCK" \
        -trace enable=vfio_apple_dma_strategy >"$RUN/$name.out" 2>&1 &
    watch_guest $! stats "$SOCK"
    QEMU_RC=$(cat "$RUN/qemu.rc" 2>/dev/null || echo "none")
    cat "$RUN/$name.out" >&2
}

# --- the checks ------------------------------------------------------------------------

clean_log() { tr -d '\r' <"$GLOG"; }

verdict() {  # verdict TAG: the last "TAG: ..." line of the console log, in VERDICT
    VERDICT=$(clean_log | grep -o "$1: .*" | tail -n 1)
    [ -n "$VERDICT" ] || { msg "no $1 verdict in $GLOG"; return 1; }
}

t_hostile_cases() {  # the hostile program's verdict (from the console log)
    local line
    verdict HOSTILE || return 1
    line=$VERDICT
    clean_log | grep -E '^(FAIL|SKIP) ' | sed 's/^/  | /' >&2 || true
    STEP_NOTE="$(grep -o 'hostile: [0-9]* passed, [0-9]* failed, [0-9]* skipped' <<<"$line")"
    [ "${line#HOSTILE: PASS}" != "$line" ]
}

t_qemu_survived() {
    local bad
    if [ "$QEMU_RC" != 0 ]; then
        msg "QEMU exited with status $QEMU_RC (log: $QLOG)"
        tail -n 20 "$QLOG" | sed 's/^/  | /' >&2
        return 1
    fi
    if bad=$(grep -iE 'assert|abort|core dumped|segmentation|fatal|critical|lost the connection|\*\*' "$QLOG"); then
        msg "QEMU's log ($QLOG) says:"
        head -n 20 <<<"$bad" | sed 's/^/  | /' >&2
        return 1
    fi
    if ! clean_log | grep -q "^MACVFIO-E2E: \(PASS\|FAIL\) "; then
        msg "the guest never reached its verdict ($GLOG)"
        return 1
    fi
    if ! grep -q 'vfio_apple_dma_strategy .* ondemand:' "$QLOG"; then
        msg "QEMU did not trace the on-demand strategy ($QLOG)"
        return 1
    fi
    STEP_NOTE="QEMU exit status 0 (run-guest.sh: $GUEST_RC), on-demand strategy, no abort/assertion in its log"
}

t_daemon() {  # macvfiod up, answering, no mapping left; stops it
    local live mapped rc
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null && rc=0 || rc=$?
        msg "macvfiod is gone (exit status $rc; log $DAEMON_LOG)"
        tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /' >&2
        DAEMON_PID=""
        return 1
    fi
    if ! read -r live mapped < <(stats "$SOCK"); then
        msg "macvfio info --json failed: $("$MACVFIO_TOOL" info --json --socket "$SOCK" 2>&1 | tail -n 1)"
        daemon_stop
        return 1
    fi
    daemon_stop
    if [ "$live" != 0 ] || [ "$mapped" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped"
        return 1
    fi
    STEP_NOTE="running, answers info --json, 0 live mappings (up to $MAX_LIVE live, $((MAX_MAPPED >> 20)) MiB, while the guest ran)"
}

t_honest() {  # the honest driver's verdict (from the console log)
    local line
    verdict HONEST || return 1
    line="${VERDICT#HONEST: }"
    STEP_NOTE="$(cut -c1-150 <<<"${line#[A-Z][A-Z][A-Z][A-Z] }")"
    [ "${line#PASS}" != "$line" ]
}

t_backing() {  # t_backing OFFSET_MIB: the backing file holds the pattern there
    "$PATTERN" verify "$RUN/disk.img" --seed "$PATTERN_SEED" --offset "$1" --size 4 --buffered >&2 ||
        return 1
    STEP_NOTE="4 MiB at $1 MiB"
}

t_maxmap() {  # t_maxmap ARCH IMAGE: hostile again with 64 mappings at most
    local arch="$1" img="$2" cases qemu=ok daemon=ok emfile=reached ok=0
    rm -f "$RUN/disk.img"
    truncate -s 64M "$RUN/disk.img"
    start_nvme_daemon "hostile-maxmap-$arch" --dma-budget 64M --dma-max-mappings 64 || return 1
    run_hostile "$arch" "$img" hostile-maxmap "seed=$((HOSTILE_SEED + 1)),nohonest"
    t_hostile_cases || ok=1
    cases="$STEP_NOTE"
    t_qemu_survived || { qemu=FAILED; ok=1; }
    t_daemon || { daemon=FAILED; ok=1; }
    if ! clean_log | grep -q '^PASS MAX_MAPPINGS exhausted'; then
        emfile="NOT reached"
        ok=1
    fi
    STEP_NOTE="$cases; -EMFILE $emfile; QEMU $qemu; macvfiod $daemon"
    return $ok
}

# --- per architecture ------------------------------------------------------------------------

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    base="$E2E_OUT/guest-$arch-hostile-base"   # private: other suites build guest-$arch
    img="$E2E_OUT/guest-$arch-hostile"
    image_args=(--file "$E2E_OUT/helpers/$arch/hostile:/bin/hostile"
                --file "$E2E_OUT/helpers/$arch/pattern:/bin/pattern")
    have_kmod=0
    module_toolchain "$arch" && have_kmod=1   # also sets HELPER_CC

    if ! command -v "$HELPER_CC" >/dev/null ||
        ! step "hostile.c (static $HELPER_CC)" "$arch" build_helper "$arch" ||
        ! step "pattern (static $HELPER_CC)" "$arch" build_guest_pattern "$arch"; then
        record "hostile" "$arch" 0 "FAIL (no hostile helper; scripts/install-deps-e2e.sh)"
        continue
    fi
    if ! step "build-guest (base)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$base"; then
        record "hostile" "$arch" 0 "FAIL (no image)"
        continue
    fi
    kmod_src=("$REPO_DIR"/guest/*.[ch] "$REPO_DIR/guest/Kbuild")
    if [ "$have_kmod" = 1 ] &&
        step "macvfio.ko ($MODULE_CC)" "$arch" build_kmod "$arch" "$base" macvfio \
            "${kmod_src[@]}" "$REPO_DIR/include/macvfio/guest_proto.h:include/macvfio"; then
        # a private copy: test-nvme.sh builds in the same place
        mkdir -p "$RUN/kmod-$arch"
        cp "$(kmod_path "$arch" macvfio)" "$RUN/kmod-$arch/macvfio.ko"
        image_args+=(--module "$RUN/kmod-$arch/macvfio.ko")
    elif [ "$have_kmod" = 0 ]; then
        record "macvfio.ko" "$arch" 0 "FAIL (no $MODULE_CC: no honest driver)"
    fi
    if ! step "build-guest (hostile)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" \
        "${image_args[@]}"; then
        record "hostile" "$arch" 0 "FAIL (no image)"
        continue
    fi

    rm -f "$RUN/disk.img"
    truncate -s 64M "$RUN/disk.img"
    if step "macvfiod sim:nvme --dma-budget 64M" "$arch" start_nvme_daemon "hostile-$arch" --dma-budget 64M; then
        run_hostile "$arch" "$img" hostile "seed=$HOSTILE_SEED,seek=0"
        step "hostile cases" "$arch" t_hostile_cases || true
        step "QEMU survived" "$arch" t_qemu_survived || true
        step "macvfiod up, 0 live mappings after" "$arch" t_daemon || true
        if step "honest driver afterwards (on-demand)" "$arch" t_honest; then
            step "backing file" "$arch" t_backing 0 || true
        fi
    fi
    daemon_stop
    step "hostile, --dma-max-mappings 64 (-EMFILE)" "$arch" t_maxmap "$arch" "$img" || true
    daemon_stop
done

report_results hostile
