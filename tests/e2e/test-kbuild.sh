#!/usr/bin/env bash
# Builds the macvfio guest module (guest/) against every Debian kernel it
# supports, for x86_64 and aarch64, with W=1 and warnings as errors:
#
#   tests/e2e/test-kbuild.sh [--refresh] [--only 6.1|6.12] [ARCH...]
#                                                    (default: x86_64 aarch64)
#
#   6.1  (bookworm)  on the host with gcc-12 (aarch64: the cross gcc-12),
#                    against the headers of the e2e guest image's kernel
#                    (build-guest.sh + guest-headers.sh + build_kmod, as
#                    test-nvme.sh); vermagic must equal that of the image's
#                    own nvme.ko
#   6.12 (trixie)    in the trixie chroot of trixie-kbuild.sh (gcc-14, cross
#                    gcc-14 for arm64), against the current trixie ABI's
#                    linux-headers; vermagic must name that kernel release
#
# The sources are whatever guest/*.c, guest/*.h, guest/Kbuild and
# guest/Makefile exist (Kbuild lists the objects), plus
# include/macvfio/guest_proto.h copied to include/macvfio/ of the build
# directory (the DKMS layout). The flags are W=1 KCFLAGS=-Werror; a build
# fails if no .ko comes out or its output has any warning (modpost's too).
# --refresh re-creates the trixie chroot with the archive's newest 6.12 ABI;
# --only builds just that kernel's rows (test-nvme.sh: --only 6.12, for the
# module its 6.12 guest loads).
#
# Needs root (the chroot) and the host packages of scripts/install-deps-e2e.sh
# (run first). Prints timings, then "e2e: N passed, N failed"; exit status 0
# only if everything passed. Logs: $MACVFIO_BUILD_DIR/e2e/logs/kbuild-*.log;
# the built modules: $MACVFIO_BUILD_DIR/e2e/kbuild/.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
REFRESH=()
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage 0 ;;
    --refresh) REFRESH=(--refresh); shift ;;
    --only) [ $# -ge 2 ] || usage 2 >&2; ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    -*) usage 2 >&2 ;;
    *) break ;;
    esac
done
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)
for arch in "${ARCHES[@]}"; do check_arch "$arch"; done
case "$ONLY" in ""|6.1|6.12) ;; *) die "--only $ONLY: expected 6.1 or 6.12" ;; esac

LOGS="$E2E_OUT/logs"
OUT="$E2E_OUT/kbuild"
KBUILD_CHROOT="$E2E_DIR/trixie-kbuild.sh"
KFLAGS=(W=1 KCFLAGS=-Werror)
mkdir -p "$LOGS" "$OUT"

BUILD_IN_CHROOT=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() { [ -z "$BUILD_IN_CHROOT" ] || rm -rf "$BUILD_IN_CHROOT"; }
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

"$REPO_DIR/scripts/install-deps-e2e.sh"

# The module's sources, as build_kmod FILE[:SUBDIR] arguments.
shopt -s nullglob
SOURCES=("$REPO_DIR"/guest/*.c "$REPO_DIR"/guest/*.h "$REPO_DIR/guest/Kbuild")
[ ! -f "$REPO_DIR/guest/Makefile" ] || SOURCES+=("$REPO_DIR/guest/Makefile")
shopt -u nullglob
SOURCES+=("$REPO_DIR/include/macvfio/guest_proto.h:include/macvfio")
msg "sources: $(for f in "${SOURCES[@]}"; do printf '%s ' "${f#"$REPO_DIR"/}"; done)"

# clean_log LOG: fails (with STEP_NOTE) if the build output LOG has a warning
# or an error; "Skipping BTF generation" (6.1 headers have no vmlinux) is fine.
clean_log() {
    local bad
    bad=$(grep -v '^Skipping BTF generation' "$1" | grep -ciE 'warning|error') || :
    [ "${bad:-0}" -eq 0 ] && return 0
    STEP_NOTE="$bad warning/error lines, see $1"
    sed 's/^/    /' "$1" >&2
    return 1
}

# has_config KDIR OPTION: true if OPTION=y in the kernel's .config.
has_config() { grep -q "^$2=y" "$1/.config"; }

# ---- 6.1: the e2e guest image's kernel, on the host ------------------------------

kbuild_61() {
    local arch="$1" img="$E2E_OUT/guest-$1" log="$LOGS/kbuild-6.1-$1.log" ko kver info kcache ref want got
    if ! "$E2E_DIR/build-guest.sh" "$arch" "$img" >"$LOGS/kbuild-6.1-image-$arch.log" 2>&1; then
        STEP_NOTE="build-guest.sh failed, see $LOGS/kbuild-6.1-image-$arch.log"
        return 1
    fi
    module_toolchain "$arch" || { STEP_NOTE="no $MODULE_CC: run scripts/install-deps-e2e.sh"; return 1; }
    MODULE_MAKE+=("${KFLAGS[@]}")
    E2E_OUT="$OUT/6.1" build_kmod "$arch" "$img" macvfio "${SOURCES[@]}" >"$log" 2>&1 ||
        { sed 's/^/    /' "$log" >&2; STEP_NOTE="no macvfio.ko, see $log"; return 1; }
    clean_log "$log" || return 1
    ko=$(E2E_OUT="$OUT/6.1" kmod_path "$arch" macvfio)
    # The vermagic of a module Debian built for this kernel.
    kver=$(cat "$img/kernel-version")
    info="$img/guest-info.txt"
    kcache=$(sed -n 's/^kernel cache: //p' "$info")
    ref=$(find "$kcache/lib/modules/$kver/kernel" -name 'nvme.ko*' -print -quit 2>/dev/null)
    [ -n "$ref" ] || { STEP_NOTE="no nvme.ko under $kcache to compare vermagic with"; return 1; }
    want=$(modinfo -F vermagic "$ref") || return 1
    got=$(modinfo -F vermagic "$ko") || return 1
    [ "$got" = "$want" ] || { STEP_NOTE="vermagic '$got', the kernel's modules have '$want'"; return 1; }
    STEP_NOTE="$kver, $MODULE_CC, W=1 clean, vermagic ok"
}

# ---- 6.12: trixie's current ABI, in the chroot -----------------------------------

CHROOT=""
chroot_ready() {
    local existed=0 out
    [ -f "$CACHE_ROOT/trixie-kbuild/root/etc/macvfio-kbuild.txt" ] && existed=1
    out=$("$KBUILD_CHROOT" ${REFRESH[@]+"${REFRESH[@]}"} 2>"$LOGS/kbuild-chroot.log") ||
        { cat "$LOGS/kbuild-chroot.log" >&2; STEP_NOTE="see $LOGS/kbuild-chroot.log"; return 1; }
    cat "$LOGS/kbuild-chroot.log" >&2
    CHROOT=$(tail -n 1 <<<"$out")
    [ -d "$CHROOT/build" ] || { STEP_NOTE="no chroot at '$CHROOT'"; return 1; }
    if [ "$existed" -eq 1 ] && [ ${#REFRESH[@]} -eq 0 ]; then
        STEP_NOTE="cached"
    else
        STEP_NOTE="created, $(du -sh --one-file-system "$CHROOT" | cut -f1)"
    fi
    STEP_NOTE+=", $(sed -n 's/^gcc: \([^ ]* [^,]*\).*/\1/p' "$CHROOT/etc/macvfio-kbuild.txt")"
}

kbuild_612() {
    local arch="$1" debarch log="$LOGS/kbuild-6.12-$1.log" ver kdir krel f dest ko got
    debarch=$(deb_arch "$arch")
    read -r _ ver kdir krel < <(sed -n "s/^kernel $debarch: //p" "$CHROOT/etc/macvfio-kbuild.txt") ||
        { STEP_NOTE="no $debarch headers in the chroot"; return 1; }
    BUILD_IN_CHROOT=$(mktemp -d "$CHROOT/build/macvfio-$arch.XXXXXX") || return 1
    mkdir -p "$BUILD_IN_CHROOT/include/macvfio"
    for f in "${SOURCES[@]}"; do
        case "$f" in
        *:*) cp "${f%%:*}" "$BUILD_IN_CHROOT/${f#*:}/" || return 1 ;;
        *) cp "$f" "$BUILD_IN_CHROOT/" || return 1 ;;
        esac
    done
    # Debian's 6.12 headers set ARCH, CROSS_COMPILE and CC (gcc-14) themselves.
    "$KBUILD_CHROOT" --exec make -s -j"$(nproc)" -C "$kdir" M="/build/${BUILD_IN_CHROOT##*/}" \
        "${KFLAGS[@]}" modules >"$log" 2>&1 || :
    dest="$OUT/6.12/$arch"
    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    cp -a "$BUILD_IN_CHROOT" "$dest" || return 1
    rm -rf "$BUILD_IN_CHROOT"
    BUILD_IN_CHROOT=""
    ko="$dest/macvfio.ko"
    [ -f "$ko" ] || { sed 's/^/    /' "$log" >&2; STEP_NOTE="no macvfio.ko, see $log"; return 1; }
    clean_log "$log" || return 1
    # vermagic: "6.12.118+deb13-amd64 SMP preempt mod_unload modversions "
    got=$(modinfo -F vermagic "$ko") || return 1
    case "$got " in
    "$krel "*) ;;
    *) STEP_NOTE="vermagic '$got' is not for $krel"; return 1 ;;
    esac
    if has_config "$CHROOT$kdir" CONFIG_MODVERSIONS && [[ "$got" != *modversions* ]]; then
        STEP_NOTE="vermagic '$got' lacks modversions"; return 1
    fi
    if has_config "$CHROOT$kdir" CONFIG_SMP && [[ "$got" != *SMP* ]]; then
        STEP_NOTE="vermagic '$got' lacks SMP"; return 1
    fi
    msg "$arch: $(modinfo "$ko" | grep -E '^(vermagic|depends|license):' | tr -s ' ' | paste -sd ';')"
    STEP_NOTE="$krel ($ver), gcc-14, W=1 clean, vermagic ok"
}

# ---- run -------------------------------------------------------------------------

BUILT=()
for arch in "${ARCHES[@]}"; do
    [ "$ONLY" != 6.12 ] || break
    if step "macvfio.ko 6.1 (bookworm)" "$arch" kbuild_61 "$arch"; then BUILT+=("6.1 $arch"); fi
done
if [ "$ONLY" = 6.1 ]; then
    :
elif [ "$(id -u)" -ne 0 ]; then
    record "trixie chroot" host 0 "SKIP (needs root)"
elif step "trixie chroot" host chroot_ready; then
    for arch in "${ARCHES[@]}"; do
        if step "macvfio.ko 6.12 (trixie)" "$arch" kbuild_612 "$arch"; then BUILT+=("6.12 $arch"); fi
    done
fi

echo
built=$(IFS=,; echo "${BUILT[*]:-nothing}")
echo "macvfio.ko builds on: ${built//,/, }"
report_results kbuild || exit 1
