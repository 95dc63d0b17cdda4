#!/usr/bin/env bash
# Build a bootable e2e guest image: Debian's own kernel + a busybox initramfs.
#
#   tests/e2e/build-guest.sh ARCH OUTDIR [options]
#
#   ARCH                x86_64 | aarch64
#   OUTDIR              receives vmlinuz, initramfs.cpio.gz, guest-info.txt,
#                       kernel-version and, for x86_64, vmlinux (the same kernel
#                       uncompressed, which run-guest.sh boots faster via PVH)
#
# Options (each may be repeated):
#   --module PATH.ko    out-of-tree module to ship (lib/modules/<kver>/extra/),
#                       autoloaded by init before the stock drivers, in the
#                       order given; its dependencies come from the kernel
#   --file SRC:DEST     copy a file (or directory) into the initramfs at DEST
#                       (DEST ending in '/' keeps SRC's name)
#   --kmod NAME         ship one more module of the kernel (plus dependencies)
#   --kernel PKG[=VER]  use this kernel package instead of the candidate of
#                       linux-image-<debarch> (e.g. linux-image-6.1.0-56-amd64=6.1.192-2)
#   --kernel-suite S    take the kernel from Debian suite S (bookworm, the
#                       default, or e.g. trixie: 6.12), through a private apt
#                       state of its own ($MACVFIO_CACHE_DIR/guest/apt-S);
#                       busybox still comes from bookworm. Compressed kernel
#                       modules (trixie's .ko.xz) are shipped decompressed
#   --refresh           refresh the package lists first (picks up a newer kernel)
#
# Everything downloaded comes from Debian's archive through apt-get and is kept in
# $MACVFIO_CACHE_DIR/guest (default /var/cache/macvfio/guest), keyed by package
# version; a warm run needs no network and takes about a second.
# See tests/e2e/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

# Modules every image carries when the kernel has them as modules (built-in
# ones need nothing; absent ones are reported). Dependencies are added from
# modules.dep.
DEFAULT_KMODS=(nvme nvme-core virtio_pci virtio_blk vfio vfio_iommu_type1 vfio-pci)
# Loaded by init at boot (after the --module ones), unless the kernel command
# line says otherwise (macvfio.modules=...).
DEFAULT_AUTOLOAD=(nvme virtio_pci virtio_blk)

ARCH=""
OUTDIR=""
EXTRA_KOS=()
EXTRA_FILES=()
EXTRA_KMODS=()
KERNEL_SPEC=""
KSUITE=""
REFRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
    --module) [ $# -ge 2 ] || die "--module needs a PATH.ko"; EXTRA_KOS+=("$2"); shift 2 ;;
    --module=*) EXTRA_KOS+=("${1#*=}"); shift ;;
    --file) [ $# -ge 2 ] || die "--file needs SRC:DEST"; EXTRA_FILES+=("$2"); shift 2 ;;
    --file=*) EXTRA_FILES+=("${1#*=}"); shift ;;
    --kmod) [ $# -ge 2 ] || die "--kmod needs a module name"; EXTRA_KMODS+=("$2"); shift 2 ;;
    --kmod=*) EXTRA_KMODS+=("${1#*=}"); shift ;;
    --kernel) [ $# -ge 2 ] || die "--kernel needs PKG[=VER]"; KERNEL_SPEC="$2"; shift 2 ;;
    --kernel=*) KERNEL_SPEC="${1#*=}"; shift ;;
    --kernel-suite) [ $# -ge 2 ] || die "--kernel-suite needs a suite"; KSUITE="$2"; shift 2 ;;
    --kernel-suite=*) KSUITE="${1#*=}"; shift ;;
    --refresh) REFRESH=1; shift ;;
    -h|--help) usage 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
        if [ -z "$ARCH" ]; then ARCH="$1"
        elif [ -z "$OUTDIR" ]; then OUTDIR="$1"
        else die "unexpected argument $1 (see --help)"; fi
        shift ;;
    esac
done
if [ -z "$ARCH" ] || [ -z "$OUTDIR" ]; then usage 2 >&2; fi
check_arch "$ARCH"
DEBARCH="$(deb_arch "$ARCH")"
ARCH="$(qemu_arch "$ARCH")"

case "$KSUITE" in *[!a-z0-9-]*) die "--kernel-suite '$KSUITE': expected a suite name such as trixie" ;; esac
for tool in apt-get apt-cache dpkg-deb depmod modinfo cpio gzip flock sha256sum; do
    command -v "$tool" >/dev/null ||
        die "$tool not found; run scripts/install-deps-e2e.sh (as root)"
done
for ko in ${EXTRA_KOS[@]+"${EXTRA_KOS[@]}"}; do
    [ -f "$ko" ] || die "--module $ko: no such file"
    case "$ko" in *.ko) ;; *) die "--module $ko: expected a .ko file" ;; esac
done
for spec in ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"}; do
    case "$spec" in *:/*) ;; *) die "--file $spec: expected SRC:/ABSOLUTE/DEST" ;; esac
    [ -e "${spec%%:*}" ] || die "--file $spec: ${spec%%:*} does not exist"
done

T0=$(now)
mkdir -p "$GUEST_CACHE" || die "cannot create $GUEST_CACHE (run as root or set MACVFIO_CACHE_DIR)"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

# shellcheck source-path=SCRIPTDIR source=apt.sh
. "$E2E_DIR/apt.sh"

# Two apt states when the kernel comes from another suite: the usual one
# (apt.sh's SUITE, bookworm: busybox, and the kernel by default) and
# guest/apt-<suite> for the kernel.
BASE_SUITE="$SUITE"
[ -n "$KSUITE" ] || KSUITE="$BASE_SUITE"
SUITES=("$BASE_SUITE")
[ "$KSUITE" = "$BASE_SUITE" ] || SUITES+=("$KSUITE")
apt_use() {  # apt_use SUITE: the apt state (APT_DIR, APT_CONFIG) of SUITE
    SUITE="$1"
    if [ "$1" = "$BASE_SUITE" ]; then APT_DIR="$GUEST_CACHE/apt"; else APT_DIR="$GUEST_CACHE/apt-$1"; fi
    apt_setup
}
LISTS_REFRESHED=0
# update_lists [all]: refreshes the lists of every suite in use (all), or
# those that have none yet.
update_lists() {
    local s
    for s in "${SUITES[@]}"; do
        apt_use "$s"
        if [ "${1:-}" = all ] || ! ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1; then
            APT_UPDATED=0
            apt_update
        fi
    done
    [ "${1:-}" != all ] || LISTS_REFRESHED=1
}

# Sets KPKG KVER_DEB BB_VER. The answer is remembered in resolved/<debarch>
# (resolved/<debarch>-<suite> for a kernel from another suite) until the
# package lists change, so a warm run does not start apt at all.
resolve_all() {
    local memo="$GUEST_CACHE/resolved/$DEBARCH" s newer=""
    [ "$KSUITE" = "$BASE_SUITE" ] || memo="$memo-$KSUITE"
    for s in "${SUITES[@]}"; do
        apt_use "$s"
        if [ -s "$memo" ] && [ -z "$newer" ]; then
            newer=$(find "$APT_DIR/lists" -maxdepth 1 -type f -name '*Packages*' -newer "$memo" -print -quit)
        fi
    done
    if [ -z "$KERNEL_SPEC" ] && [ -s "$memo" ] && [ -z "$newer" ] &&
        read -r KPKG KVER_DEB BB_VER < "$memo" && [ -n "${BB_VER:-}" ]; then
        return 0
    fi
    apt_use "$KSUITE"
    resolve_kernel || { msg "cannot resolve the kernel package for $DEBARCH in $KSUITE"; return 1; }
    apt_use "$BASE_SUITE"
    read -r _ BB_VER < <(apt_candidate "busybox-static:$DEBARCH") ||
        { msg "cannot resolve busybox-static:$DEBARCH"; return 1; }
    if [ -z "$KERNEL_SPEC" ]; then
        mkdir -p "${memo%/*}"
        echo "$KPKG $KVER_DEB $BB_VER" > "$memo"
    fi
}

fetch_all() {
    resolve_all || return 1
    KDIR="$GUEST_CACHE/kernel/$DEBARCH/${KPKG}_${KVER_DEB//:/%3a}"
    BBDIR="$GUEST_CACHE/busybox/$DEBARCH/${BB_VER//:/%3a}"
    if [ ! -f "$KDIR/.complete" ]; then
        apt_use "$KSUITE"
        KDEB=$(fetch_deb "$KPKG" "$DEBARCH" "$KVER_DEB") || {
            cat "$APT_DIR/download.log" >&2 2>/dev/null || true
            return 1
        }
    fi
    if [ ! -f "$BBDIR/.complete" ]; then
        apt_use "$BASE_SUITE"
        BBDEB=$(fetch_deb busybox-static "$DEBARCH" "$BB_VER") || {
            cat "$APT_DIR/download.log" >&2 2>/dev/null || true
            return 1
        }
    fi
}

# x86: the uncompressed ELF vmlinux inside Debian's bzImage. QEMU boots it
# through its PVH entry point, which skips the real-mode setup and, above all,
# the xz decompression that costs about 3 s under TCG (boot: ~6.5 s -> ~3 s).
extract_vmlinux() {  # extract_vmlinux BZIMAGE OUT
    local magic off tool
    for magic in "xz:\xfd7zXZ\x00" "zstd:\x28\xb5\x2f\xfd" "gzip:\x1f\x8b\x08"; do
        tool="${magic%%:*}"
        command -v "$tool" >/dev/null || continue
        off=$(LC_ALL=C grep -aboP -m1 "${magic#*:}" "$1" 2>/dev/null | head -n1 | cut -d: -f1) || true
        [ -n "$off" ] || continue
        tail -c +"$((off + 1))" "$1" | "$tool" -dc 2>/dev/null > "$2.tmp" || true
        if [ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
            mv "$2.tmp" "$2"
            return 0
        fi
    done
    rm -f "$2.tmp"
    msg "note: no vmlinux found inside $(basename "$1"); x86 guests boot the bzImage (slower)"
    touch "$2.none"
}

extract_kernel() {
    [ -f "$KDIR/.complete" ] && return 0
    local t tmp kver; t=$(now)
    msg "extracting $(basename "$KDEB")"
    tmp="$KDIR.tmp.$$"
    rm -rf "$KDIR".tmp.* "$KDIR"   # leftovers of interrupted runs (the lock is ours)
    mkdir -p "$tmp"
    dpkg-deb -x "$KDEB" "$tmp"
    # merged /usr (trixie): the modules are in usr/lib/modules; the host's
    # depmod (kmod 30) and everything here expect lib/modules
    if [ ! -d "$tmp/lib/modules" ] && [ -d "$tmp/usr/lib/modules" ]; then
        mkdir -p "$tmp/lib"
        mv "$tmp/usr/lib/modules" "$tmp/lib/modules"
    fi
    [ -d "$tmp/lib/modules" ] || die "$KDEB: no lib/modules or usr/lib/modules"
    kver=$(cd "$tmp/lib/modules" && ls)
    [ "$(wc -w <<<"$kver")" -eq 1 ] || die "$KDEB: expected one lib/modules/<ver>, found: $kver"
    [ -f "$tmp/boot/vmlinuz-$kver" ] || die "$KDEB: no boot/vmlinuz-$kver"
    depmod -b "$tmp" "$kver"
    echo "$kver" > "$tmp/kernel-version"
    mv "$tmp" "$KDIR"
    touch "$KDIR/.complete"
    msg "kernel $kver extracted in $(elapsed "$t" "$(now)")s"
}

extract_busybox() {
    [ -f "$BBDIR/.complete" ] && return 0
    local tmp="$BBDIR.tmp.$$"
    rm -rf "$tmp" "$BBDIR"
    mkdir -p "$tmp"
    dpkg-deb -x "$BBDEB" "$tmp"
    [ -x "$tmp/bin/busybox" ] || die "$BBDEB: no bin/busybox"
    mv "$tmp" "$BBDIR"
    touch "$BBDIR/.complete"
}

# ---------------------------------------------------------------------------
# Fetch (serialised: the cache is shared by every clone on the machine).
exec 9>"$GUEST_CACHE/.lock"
flock 9
if [ "$REFRESH" -eq 1 ]; then update_lists all; else update_lists; fi
if ! fetch_all; then
    # not in the cached lists (or no longer in the archive): refresh once
    [ "$LISTS_REFRESHED" -eq 0 ] ||
        die "cannot get the $DEBARCH kernel ($KSUITE) and busybox-static from Debian's archive"
    msg "not in the cached package lists (or no longer in the archive); refreshing"
    update_lists all
    fetch_all || die "cannot get the $DEBARCH kernel ($KSUITE) and busybox-static from Debian's archive"
fi
extract_kernel
extract_busybox
if [ "$DEBARCH" = amd64 ] && [ ! -f "$KDIR/vmlinux" ] && [ ! -f "$KDIR/vmlinux.none" ]; then
    extract_vmlinux "$KDIR/boot/vmlinuz-$(cat "$KDIR/kernel-version")" "$KDIR/vmlinux"
fi
flock -u 9
exec 9>&-
T_FETCH=$(now)

KVER=$(cat "$KDIR/kernel-version")
MODDIR="$KDIR/lib/modules/$KVER"

# ---------------------------------------------------------------------------
# Module closure from the kernel's modules.dep.
norm() { local n="${1##*/}"; n="${n%%.ko*}"; echo "${n//-/_}"; }

# (no command substitution per line: modules.dep has thousands of lines)
declare -A MOD_PATH=() MOD_DEPS=() BUILTIN=()
while IFS= read -r line; do
    path="${line%%:*}"
    n="${path##*/}"; n="${n%%.ko*}"; n="${n//-/_}"
    MOD_PATH[$n]="$path"
    MOD_DEPS[$n]="${line#*:}"
done < "$MODDIR/modules.dep"
while IFS= read -r path; do
    n="${path##*/}"; n="${n%%.ko*}"; n="${n//-/_}"
    BUILTIN[$n]=1
done < "$MODDIR/modules.builtin"

declare -A WANT=()   # relative path -> 1
SHIPPED=()           # module names asked for (normalised) that ship as modules
NOTES=()
add_module() {  # add_module NAME REQUIRED(0|1) WHY [list|nolist]
    local n; n=$(norm "$1")
    if [ -n "${MOD_PATH[$n]:-}" ]; then
        local d
        WANT[${MOD_PATH[$n]}]=1
        for d in ${MOD_DEPS[$n]}; do WANT[$d]=1; done
        if [ "${4:-list}" = list ]; then SHIPPED+=("$n"); fi
    elif [ -n "${BUILTIN[$n]:-}" ]; then
        NOTES+=("$n: built into the kernel")
    elif [ "$2" -eq 1 ]; then
        die "$3: kernel $KVER has no module '$1'"
    else
        NOTES+=("$n: not in kernel $KVER")
    fi
}
for m in "${DEFAULT_KMODS[@]}"; do add_module "$m" 0 default; done
for m in ${EXTRA_KMODS[@]+"${EXTRA_KMODS[@]}"}; do add_module "$m" 1 "--kmod $m"; done

EXTRA_NAMES=()
for ko in ${EXTRA_KOS[@]+"${EXTRA_KOS[@]}"}; do
    vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
    case "$vermagic" in
    "$KVER "*) ;;
    *) die "--module $ko was built for '${vermagic:-?}', not for the guest kernel $KVER" ;;
    esac
    for d in $(modinfo -F depends "$ko" | tr ',' ' '); do
        add_module "$d" 1 "dependency of $ko" nolist
    done
    EXTRA_NAMES+=("$(norm "$ko")")
done

# ---------------------------------------------------------------------------
# Stage the initramfs tree.
STAGE="$OUTDIR/.stage"
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,lib,etc/macvfio,proc,sys,dev,tmp,run,mnt,root,var,tests}
install -m 0755 "$BBDIR/bin/busybox" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"
install -m 0755 "$E2E_DIR/init" "$STAGE/init"
install -m 0644 "$E2E_DIR/guest-lib.sh" "$STAGE/lib/e2e.sh"
for t in "$E2E_DIR"/tests/*; do
    [ -f "$t" ] || continue
    install -m 0755 "$t" "$STAGE/tests/"
done
if [ "$(id -u)" -eq 0 ]; then
    mknod -m 0600 "$STAGE/dev/console" c 5 1
    mknod -m 0666 "$STAGE/dev/null" c 1 3
fi

SMOD="$STAGE/lib/modules/$KVER"
mkdir -p "$SMOD"
for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$SMOD/"
done
mapfile -t MODS_SORTED < <(printf '%s\n' "${!WANT[@]}" | LC_ALL=C sort)
# Compressed modules (trixie: .ko.xz) are shipped decompressed: busybox's
# modprobe cannot load them (and the initramfs is gzipped anyway).
DECOMPRESSED=0
for rel in "${MODS_SORTED[@]}"; do
    [ -n "$rel" ] || continue
    mkdir -p "$SMOD/$(dirname "$rel")"
    case "$rel" in
    *.ko.xz) xz -dc "$MODDIR/$rel" > "$SMOD/${rel%.xz}" ;;
    *.ko.zst) zstd -q -dc "$MODDIR/$rel" > "$SMOD/${rel%.zst}" ;;
    *.ko.gz) gzip -dc "$MODDIR/$rel" > "$SMOD/${rel%.gz}" ;;
    *) cp "$MODDIR/$rel" "$SMOD/$rel"; continue ;;
    esac
    DECOMPRESSED=$((DECOMPRESSED + 1))
done
if [ ${#EXTRA_KOS[@]} -gt 0 ]; then
    mkdir -p "$SMOD/extra"
    for ko in "${EXTRA_KOS[@]}"; do
        install -m 0644 "$ko" "$SMOD/extra/$(basename "$ko")"
    done
fi
depmod -b "$STAGE" "$KVER"

for spec in ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"}; do
    src="${spec%%:*}"; dest="${spec#*:}"
    case "$dest" in */) dest="$dest$(basename "$src")" ;; esac
    mkdir -p "$STAGE$(dirname "$dest")"
    cp -R "$src" "$STAGE$dest"
done

AUTOLOAD=()
for n in ${EXTRA_NAMES[@]+"${EXTRA_NAMES[@]}"}; do AUTOLOAD+=("$n"); done
for m in "${DEFAULT_AUTOLOAD[@]}"; do
    n=$(norm "$m")
    [ -n "${MOD_PATH[$n]:-}" ] && AUTOLOAD+=("$n")
done
printf '%s\n' ${AUTOLOAD[@]+"${AUTOLOAD[@]}"} > "$STAGE/etc/macvfio/autoload"
printf '%s\n' ${SHIPPED[@]+"${SHIPPED[@]}"} ${EXTRA_NAMES[@]+"${EXTRA_NAMES[@]}"} |
    awk '!seen[$0]++' > "$STAGE/etc/macvfio/modules"
echo "$KVER" > "$STAGE/etc/macvfio/kernel-version"
echo "$ARCH" > "$STAGE/etc/macvfio/arch"

# ---------------------------------------------------------------------------
# Pack: sorted, owned by root, every timestamp 0, gzip without a name or time,
# so the same inputs give the same bytes.
find "$STAGE" -exec touch -h -d @0 {} +
(cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --reproducible -R 0:0 --quiet) |
    gzip -n -6 > "$OUTDIR/initramfs.cpio.gz.tmp"
mv -f "$OUTDIR/initramfs.cpio.gz.tmp" "$OUTDIR/initramfs.cpio.gz"
cmp -s "$KDIR/boot/vmlinuz-$KVER" "$OUTDIR/vmlinuz" ||
    cp "$KDIR/boot/vmlinuz-$KVER" "$OUTDIR/vmlinuz"
if [ -f "$KDIR/vmlinux" ]; then
    cmp -s "$KDIR/vmlinux" "$OUTDIR/vmlinux" || cp "$KDIR/vmlinux" "$OUTDIR/vmlinux"
else
    rm -f "$OUTDIR/vmlinux"
fi

{
    echo "arch: $ARCH ($DEBARCH)"
    echo "kernel: $KPKG $KVER_DEB ($KVER)"
    echo "kernel suite: $KSUITE"
    echo "busybox: busybox-static $BB_VER"
    echo "kernel cache: $KDIR"
    echo "modules shipped: $(tr '\n' ' ' < "$STAGE/etc/macvfio/modules")"
    echo "with dependencies: ${#MODS_SORTED[@]} kernel modules + ${#EXTRA_KOS[@]} extra$([ "$DECOMPRESSED" -eq 0 ] || echo " ($DECOMPRESSED decompressed from ${MODS_SORTED[0]##*.})")"
    echo "autoload: $(tr '\n' ' ' < "$STAGE/etc/macvfio/autoload")"
    for n in ${NOTES[@]+"${NOTES[@]}"}; do echo "note: $n"; done
    for spec in ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"}; do echo "file: $spec"; done
    echo "tests: $(cd "$STAGE/tests" && find . -mindepth 1 -printf '%P ' | LC_ALL=C sort)"
    echo "initramfs sha256: $(sha256sum "$OUTDIR/initramfs.cpio.gz" | cut -d' ' -f1)"
} > "$OUTDIR/guest-info.txt"
echo "$KVER" > "$OUTDIR/kernel-version"

T1=$(now)
msg "$ARCH guest ready in $OUTDIR: kernel $KVER, initramfs $(du -h "$OUTDIR/initramfs.cpio.gz" | cut -f1)" \
    "(fetch $(elapsed "$T0" "$T_FETCH")s, total $(elapsed "$T0" "$T1")s)"
