#!/usr/bin/env bash
# A Debian 13 (trixie) chroot for building out-of-tree modules (the macvfio
# guest module) against Debian's 6.12 kernel, whose headers need gcc-14: the
# host is bookworm (gcc-12), and nothing from trixie is ever installed on it.
#
#   tests/e2e/trixie-kbuild.sh [--refresh]    make the chroot unless there; print
#                                             its directory as the last line
#   tests/e2e/trixie-kbuild.sh --info         what it holds (versions, build dirs)
#   tests/e2e/trixie-kbuild.sh --exec CMD...  run CMD inside it (as root, clean
#                                             environment, private mount namespace)
#
# The chroot ($MACVFIO_CACHE_DIR/trixie-kbuild/root, shared by every clone on
# the machine) is made once with `debootstrap --variant=minbase trixie` from
# Debian's archive and holds make, gcc-14, libc6-dev, perl (W=1 runs
# kernel-doc), gcc-14 for the other architecture (cross), and linux-headers of
# the current trixie 6.12 ABI for amd64 and arm64 (what the linux-headers-amd64
# and linux-headers-arm64 metapackages depend on, from trixie, trixie-updates
# and trixie-security). As in guest-headers.sh, the headers packages (and their
# -common) are unpacked with dpkg-deb -x rather than installed: they depend on
# the kernel image, and the arm64 one on an arm64 linux-kbuild whose programs
# would not run here; the linux-kbuild of the chroot's own architecture is
# installed instead and serves both (the flavour directories link to it).
# Debian's 6.12 headers set ARCH, CROSS_COMPILE and CC=gcc-14 themselves, so
#
#   tests/e2e/trixie-kbuild.sh --exec make -C /usr/src/linux-headers-<abi>-arm64 M=/build/x modules
#
# cross-builds with no further arguments. The kernel build directories are
# listed by --info ("kernel ARCH: PACKAGE VERSION BUILD_DIR").
#
# Made in root.tmp.PID and renamed into place when complete, under an exclusive
# flock on trixie-kbuild/.lock (--exec holds it shared), so an interrupted run
# leaves no half-made chroot (leftovers are removed by the next one) and
# --refresh does not pull the chroot from under a running build. debootstrap
# and --exec run in a private mount namespace (unshare -m): their /proc mounts
# vanish with them. The chroot stays as made (same headers from run to run)
# until --refresh, which makes a new one with the archive's current 6.12 ABI.
# Needs root and debootstrap (scripts/install-deps-e2e.sh). Knobs:
# MACVFIO_DEBIAN_MIRROR, MACVFIO_DEBIAN_SECURITY_MIRROR.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

MODE=print
REFRESH=0
case "${1:-}" in
-h|--help) usage 0 ;;
--refresh) REFRESH=1; shift ;;
--info) MODE=info; shift ;;
--exec) MODE="exec"; shift; [ $# -gt 0 ] || usage 2 >&2 ;;
"") ;;
*) usage 2 >&2 ;;
esac
[ "$MODE" = exec ] || [ $# -eq 0 ] || usage 2 >&2

SUITE=trixie
MIRROR="${MACVFIO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MACVFIO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
KB_CACHE="$CACHE_ROOT/trixie-kbuild"
ROOT="$KB_CACHE/root"
INFO_FILE=etc/macvfio-kbuild.txt        # inside the chroot

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
for tool in unshare chroot flock; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
HOSTARCH=$(dpkg --print-architecture)
case "$HOSTARCH" in
amd64) OTHERARCH=arm64; CROSS_GNU=aarch64-linux-gnu ;;
arm64) OTHERARCH=amd64; CROSS_GNU=x86-64-linux-gnu ;;
*) die "unsupported host architecture $HOSTARCH" ;;
esac

# in_root DIR CMD...: CMD in the chroot DIR, clean environment, private mounts.
in_root() {
    local dir="$1"
    shift
    # shellcheck disable=SC2016  # expanded by that sh
    unshare --mount --propagation private -- sh -c '
        r=$1; shift
        # debootstrap makes the device nodes with mknod; where it cannot, they
        # are bind-mount targets only.
        [ -c "$r/dev/null" ] || mount --rbind /dev "$r/dev" || exit 1
        mount -t proc proc "$r/proc" 2>/dev/null || :
        exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' sh "$dir" "$@"
}

# Removes leftovers of interrupted runs (exclusive lock held: nobody uses them).
clean_leftovers() {
    local d
    for d in "$KB_CACHE"/root.tmp.* "$KB_CACHE"/root.old.*; do
        [ -e "$d" ] || continue
        # Mounts were private to the dead run's namespace; refuse if any shows.
        if grep -qF " $d/" /proc/self/mountinfo; then die "$d has mounts; not removing it"; fi
        msg "removing the leftover $d"
        rm -rf --one-file-system "$d"
    done
}

# "NAME VERSION" of the versioned linux-headers package behind the metapackage
# linux-headers-ARCH (for ARCH), inside chroot $1.
resolve_headers() {
    local dir="$1" arch="$2" deps pkg
    deps=$(in_root "$dir" apt-cache show --no-all-versions "linux-headers-$arch:$arch" |
        sed -n 's/^Depends: //p' | head -n1)
    pkg=$(tr ',' '\n' <<<"$deps" | sed -n 's/^ *\(linux-headers-[0-9][^ ]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1)
    [ -n "$pkg" ] || { msg "cannot resolve linux-headers-$arch (Depends: $deps)"; return 1; }
    echo "$pkg"
}

# Prints the -common and linux-kbuild packages package $2:$3=$4 depends on.
headers_deps() {
    local dir="$1" pkg="$2" arch="$3" ver="$4" deps
    deps=$(in_root "$dir" apt-cache show "$pkg:$arch=$ver" | sed -n 's/^Depends: //p' | head -n1)
    tr ',' '\n' <<<"$deps" | sed -n 's/^ *\(linux-headers-[^ ]*-common\).*/\1/p;s/^ *\(linux-kbuild-[^ ]*\).*/\1/p'
}

create() {
    local t0 tmp log arch pkg ver common kbuild kdir krel line
    local -a kbuilds=() downloads=() lines=()
    t0=$(now)
    tmp="$KB_CACHE/root.tmp.$$"
    log="$KB_CACHE/create.log"
    : >"$log"
    msg "creating the trixie chroot in $tmp (debootstrap --variant=minbase; log: $log)"
    mkdir -p "$tmp"
    # shellcheck disable=SC2064  # $tmp now
    trap "rm -rf --one-file-system '$tmp'" EXIT
    unshare --mount --propagation private -- debootstrap --variant=minbase --components=main \
        --include=make,gcc-14,libc6-dev,perl "$SUITE" "$tmp" "$MIRROR" >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "debootstrap failed (log: $log)"; }
    msg "debootstrap done in $(elapsed "$t0" "$(now)")s"

    cat >"$tmp/etc/apt/sources.list" <<EOF
# written by tests/e2e/trixie-kbuild.sh
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    cat >"$tmp/etc/apt/apt.conf.d/90macvfio" <<EOF
// written by tests/e2e/trixie-kbuild.sh
APT::Install-Recommends "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
    in_root "$tmp" dpkg --add-architecture "$OTHERARCH"
    in_root "$tmp" apt-get update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed in the chroot"; }

    for arch in "$HOSTARCH" "$OTHERARCH"; do
        line=$(resolve_headers "$tmp" "$arch") || die "no 6.12 headers for $arch in $SUITE"
        read -r pkg ver <<<"$line"
        common=""; kbuild=""
        { read -r common; read -r kbuild; } < <(headers_deps "$tmp" "$pkg" "$arch" "$ver" | sort) || :
        case "$common:$kbuild" in
        linux-headers-*-common:linux-kbuild-*) ;;
        *) die "unexpected dependencies of $pkg:$arch=$ver: $common $kbuild" ;;
        esac
        kbuilds+=("$kbuild")
        downloads+=("$pkg:$arch=$ver" "$common=$ver")
        lines+=("$arch $pkg $ver")
    done
    msg "installing $(printf "%s\n" "${kbuilds[@]}" | sort -u | tr "\n" " ")gcc-14-$CROSS_GNU; unpacking $(printf "%s\n" "${downloads[@]}" | sort -u | tr "\n" " ")"
    # shellcheck disable=SC2046  # the kbuild names, deduplicated
    in_root "$tmp" apt-get install -y -qq $(printf '%s\n' "${kbuilds[@]}" | sort -u) \
        "gcc-14-$CROSS_GNU" "binutils-$CROSS_GNU" >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "apt-get install failed in the chroot"; }
    mkdir -p "$tmp/var/tmp/headers"
    # shellcheck disable=SC2046,SC2016
    in_root "$tmp" sh -c 'cd /var/tmp/headers && apt-get download -qq "$@" && for f in *.deb; do dpkg-deb -x "$f" /; done' \
        sh $(printf '%s\n' "${downloads[@]}" | sort -u) >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "cannot download or unpack the headers"; }

    {
        echo "# written by tests/e2e/trixie-kbuild.sh"
        echo "suite: $SUITE $SUITE-updates $SUITE-security ($MIRROR, $SECURITY_MIRROR)"
        echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "gcc: $(in_root "$tmp" dpkg-query -W -f="\${Package} \${Version}, " gcc-14 "gcc-14-$CROSS_GNU" | sed "s/, $//")"
        for line in "${lines[@]}"; do
            read -r arch pkg ver <<<"$line"
            kdir="/usr/src/$pkg"
            [ -f "$tmp$kdir/Makefile" ] || die "no $kdir/Makefile after unpacking $pkg"
            krel=$(cat "$tmp$kdir/include/config/kernel.release") || die "no kernel.release in $kdir"
            [ -e "$tmp$kdir/scripts/mod/modpost" ] || die "$kdir/scripts/mod/modpost missing (linux-kbuild)"
            echo "kernel $arch: $pkg $ver $kdir $krel"
        done
    } >"$tmp/$INFO_FILE.new"
    mv "$tmp/$INFO_FILE.new" "$tmp/$INFO_FILE"

    # What only served the creation.
    in_root "$tmp" apt-get clean
    rm -rf "$tmp/var/tmp/headers" "$tmp"/var/lib/apt/lists/*_* "$tmp"/var/cache/apt/*.bin
    mkdir -p "$tmp/build"

    if [ -d "$ROOT" ]; then
        mv "$ROOT" "$KB_CACHE/root.old.$$"
    fi
    mv "$tmp" "$ROOT"
    trap - EXIT
    rm -rf --one-file-system "$KB_CACHE/root.old.$$"
    msg "trixie chroot ready in $(elapsed "$t0" "$(now)")s: $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1))"
    sed -n 's/^kernel /  /p' "$ROOT/$INFO_FILE" >&2
}

mkdir -p "$KB_CACHE"
exec 9>"$KB_CACHE/.lock"
if [ "$REFRESH" -eq 1 ] || [ ! -f "$ROOT/$INFO_FILE" ]; then
    command -v debootstrap >/dev/null || die "debootstrap not found: run scripts/install-deps-e2e.sh"
    flock -x 9
    if [ "$REFRESH" -eq 1 ] || [ ! -f "$ROOT/$INFO_FILE" ]; then
        clean_leftovers
        # A root without the info file cannot come from create(); refuse to guess.
        [ ! -e "$ROOT" ] || [ -f "$ROOT/$INFO_FILE" ] || die "$ROOT is incomplete: remove it"
        create
    fi
fi
flock -s 9

case "$MODE" in
print) echo "$ROOT" ;;
info) cat "$ROOT/$INFO_FILE"; echo "chroot: $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1))" ;;
exec) rc=0; in_root "$ROOT" "$@" || rc=$?; exit "$rc" ;;
esac
