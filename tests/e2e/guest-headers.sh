#!/usr/bin/env bash
# Kernel headers for building out-of-tree modules (the macvfio guest module)
# against the exact kernel of an e2e guest image.
#
#   tests/e2e/guest-headers.sh IMAGE_DIR
#
# IMAGE_DIR is an image made by build-guest.sh (its guest-info.txt names the
# kernel). Downloads linux-headers-<kver>, its -common package and linux-kbuild
# (for this host's architecture: its programs run at build time) from Debian's
# archive, unpacks them once under $MACVFIO_CACHE_DIR/guest/headers/, and prints
# the kernel build directory as the last line of stdout. Then:
#
#   KDIR=$(tests/e2e/guest-headers.sh build/e2e/guest-x86_64)
#   make -C "$KDIR" M=$PWD modules                      # x86_64 guest, host gcc-12
#   make -C "$KDIR" M=$PWD ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules
#                                                       # aarch64 guest: needs gcc-aarch64-linux-gnu
#   tests/e2e/build-guest.sh ARCH IMAGE_DIR --module $PWD/foo.ko
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
case "${1:-}" in -h|--help) usage 0 ;; "") usage 2 >&2 ;; esac
[ $# -eq 1 ] || usage 2 >&2
IMAGE="$1"
INFO="$IMAGE/guest-info.txt"
[ -f "$INFO" ] || die "no $INFO: build the image first (tests/e2e/build-guest.sh ARCH $IMAGE)"

# "kernel: linux-image-6.1.0-56-amd64 6.1.192-2 (6.1.0-56-amd64)"
read -r _ KPKG KVER_DEB KVER < <(grep '^kernel: ' "$INFO") || die "$INFO: no kernel line"
KVER="${KVER#(}"; KVER="${KVER%)}"
DEBARCH=$(sed -n 's/^arch: .*(\(.*\))$/\1/p' "$INFO")
if [ -z "$KVER" ] || [ -z "$DEBARCH" ]; then die "$INFO: cannot parse the kernel or the architecture"; fi
# build-guest.sh --kernel-suite: this script knows bookworm's headers only
KSUITE=$(sed -n 's/^kernel suite: //p' "$INFO")
if [ -n "$KSUITE" ] && [ "$KSUITE" != "${MACVFIO_DEBIAN_SUITE:-bookworm}" ]; then
    die "$IMAGE has a $KSUITE kernel ($KVER): build modules for it in the chroot of tests/e2e/trixie-kbuild.sh (as test-kbuild.sh does)"
fi
HOSTARCH=$(dpkg --print-architecture)

for tool in apt-get apt-cache dpkg-deb flock; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
mkdir -p "$GUEST_CACHE"
# shellcheck source-path=SCRIPTDIR source=apt.sh
. "$E2E_DIR/apt.sh"

HDIR="$GUEST_CACHE/headers/$DEBARCH/${KVER}_${KVER_DEB//:/%3a}"
BUILD="$HDIR/usr/src/linux-headers-$KVER"

fetch_headers() {
    local deps common kbuild
    HPKG="linux-headers-$KVER"
    deps=$(apt-cache "${APT_OPTS[@]}" show "$HPKG:$DEBARCH=$KVER_DEB" 2>/dev/null |
        sed -n 's/^Depends: //p' | head -n1) || return 1
    [ -n "$deps" ] || { msg "$HPKG:$DEBARCH=$KVER_DEB is not in the package lists"; return 1; }
    common=$(tr ',' '\n' <<<"$deps" | sed -n 's/^ *\(linux-headers-[^ ]*-common\).*/\1/p' | head -n1)
    kbuild=$(tr ',' '\n' <<<"$deps" | sed -n 's/^ *\(linux-kbuild-[^ ]*\).*/\1/p' | head -n1)
    if [ -z "$common" ] || [ -z "$kbuild" ]; then msg "unexpected Depends of $HPKG: $deps"; return 1; fi
    DEBS=()
    DEBS+=("$(fetch_deb "$HPKG" "$DEBARCH" "$KVER_DEB")") || return 1
    DEBS+=("$(fetch_deb "$common" all "$KVER_DEB")") || return 1
    DEBS+=("$(fetch_deb "$kbuild" "$HOSTARCH" "$KVER_DEB")") || return 1
}

if [ ! -f "$HDIR/.complete" ]; then
    apt_setup
    exec 9>"$GUEST_CACHE/.lock"
    flock 9
    if [ ! -f "$HDIR/.complete" ]; then
        ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1 || apt_update
        with_refresh fetch_headers || die "cannot get the headers of $KVER ($KVER_DEB) from Debian's archive"
        tmp="$HDIR.tmp.$$"
        rm -rf "$tmp" "$HDIR"
        mkdir -p "$tmp"
        for deb in "${DEBS[@]}"; do dpkg-deb -x "$deb" "$tmp"; done
        [ -f "$tmp/usr/src/linux-headers-$KVER/Makefile" ] || die "no Makefile in the headers of $KVER"
        # Debian's flavour Makefile includes the -common one by absolute path.
        sed -i "s|/usr/src/|$HDIR/usr/src/|g" "$tmp/usr/src/linux-headers-$KVER/Makefile"
        mv "$tmp" "$HDIR"
        touch "$HDIR/.complete"
        msg "headers of $KVER unpacked in $HDIR"
    fi
    flock -u 9
fi
[ "$DEBARCH" = "$HOSTARCH" ] || command -v aarch64-linux-gnu-gcc-12 >/dev/null ||
    msg "note: building for $DEBARCH needs a cross compiler: apt-get install gcc-aarch64-linux-gnu"
echo "$BUILD"
