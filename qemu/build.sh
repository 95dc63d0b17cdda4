#!/bin/bash
# Build macvfio's patched QEMU: Debian's QEMU 10.2.2 source + qemu/patches/series.
#
#   qemu/build.sh            build (or reuse a cached build) into build/qemu/
#   qemu/build.sh --key      print the cache key and exit
#   qemu/build.sh --force    rebuild even if the cache has this key
#   qemu/build.sh --libmacvfio  only build and stage libmacvfio (for building
#                            QEMU by hand, see qemu/README.md); prints the
#                            directory to put in PKG_CONFIG_PATH
#   qemu/build.sh --iokit-double  the test-only variant in build/qemu-iokit/:
#                            the same QEMU linked with a libmacvfio whose
#                            IOKit transport runs on Linux over the IOKitLib
#                            double (tests/dext/iokit), so host= without
#                            socket= reaches the dext in dkhost.  Built
#                            after the normal build in the same tree and
#                            object directory, so ccache makes it a relink
#
# Environment:
#   MACVFIO_QEMU_TARGETS  targets to build, space or comma separated
#                         (default: "x86_64-softmmu aarch64-softmmu")
#   MACVFIO_QEMU_JOBS     parallel jobs for ninja (default: nproc)
#   MACVFIO_BUILD_DIR     output/work directory (default: <repo>/build)
#   MACVFIO_CACHE_DIR     cache root (default: /var/cache/macvfio)
#   MACVFIO_QEMU_CACHE_KEEP  cached builds to keep (default: 4)
#
# QEMU links libmacvfio (lib/ of this repository) statically: it is built
# first, with meson, in a directory of its own, and found by QEMU's configure
# through pkg-config (macvfio.pc).
#
# Finished builds are kept in $MACVFIO_CACHE_DIR/qemu/<key>/, keyed by the
# sha256 of the series, every patch, the libmacvfio sources, this script,
# lib.sh and the configure flags, so that any clone on this machine reuses
# them.  See qemu/README.md.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FORCE=0
KEY_ONLY=0
LIB_ONLY=0
VARIANT=""
for arg in "$@"; do
    case "$arg" in
    --force) FORCE=1 ;;
    --iokit-double) VARIANT=iokit-double ;;
    --key) KEY_ONLY=1 ;;
    --libmacvfio) LIB_ONLY=1 ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg" ;;
    esac
done

START=$(date +%s)

TARGETS="${MACVFIO_QEMU_TARGETS:-x86_64-softmmu aarch64-softmmu}"
TARGETS="$(echo "$TARGETS" | tr ', ' '\n' | awk 'NF' | sort -u | paste -sd, -)"
[ -n "$TARGETS" ] || die "MACVFIO_QEMU_TARGETS is empty"
JOBS="${MACVFIO_QEMU_JOBS:-$(nproc)}"

CONFIGURE_FLAGS=(
    --python=/usr/bin/python3
    --without-default-features
    --enable-fdt=system
    --disable-install-blobs
    --disable-docs
    --enable-werror
    --enable-macvfio
    --target-list="$TARGETS"
)

OUT_DIR="$BUILD_DIR/qemu"
# Files of the test-only variant beyond libmacvfio's own (part of its key).
IOKIT_DOUBLE_INPUTS=(tests/dext/iokit/iokitlib_double.c tests/dext/iokit/dkhost_wire.h
                     tests/darwin/macos)
if [ "$VARIANT" = iokit-double ]; then
    OUT_DIR="$BUILD_DIR/qemu-iokit"
    # shellcheck disable=SC2034  # read by lib.sh build_libmacvfio
    LIBMACVFIO_MESON_ARGS=(-Diokit_double=true)
fi

# Binaries the build installs: qemu-system-<arch> for each softmmu target.
binaries() {
    local t
    for t in ${TARGETS//,/ }; do
        case "$t" in
        *-softmmu) echo "qemu-system-${t%-softmmu}" ;;
        *) die "unsupported target $t (only *-softmmu)" ;;
        esac
    done
}

# The key covers everything that determines the binaries we produce.
compute_key() {
    {
        echo "debian-source $QEMU_DEB_VERSION"
        echo "configure ${CONFIGURE_FLAGS[*]}"
        echo "series"
        cat "$SERIES" 2>/dev/null || true
        local p
        while read -r p; do
            [ -f "$PATCH_DIR/$p" ] || die "series lists $p, which does not exist"
            echo "patch $p"
            cat "$PATCH_DIR/$p"
        done < <(series_patches)
        echo "libmacvfio"
        local f
        while read -r f; do
            echo "file $f"
            cat "$ROOT/$f"
        done < <(libmacvfio_inputs)
        if [ -n "$VARIANT" ]; then
            echo "variant $VARIANT"
            (cd "$ROOT" && find "${IOKIT_DOUBLE_INPUTS[@]}" -type f | LC_ALL=C sort |
                 while read -r f; do echo "file $f"; cat "$f"; done)
        fi
        echo "build.sh"
        cat "$QEMU_DIR/build.sh"
        echo "lib.sh"
        cat "$QEMU_DIR/lib.sh"
        echo "check-darwin.sh"
        cat "$QEMU_DIR/check-darwin.sh"
    } | sha256sum | cut -c1-64
}

if [ "$LIB_ONLY" = 1 ]; then
    if ! command -v meson >/dev/null || ! command -v ninja >/dev/null; then
        die "meson and ninja are needed: run qemu/build.sh (as root) once to install them"
    fi
    build_libmacvfio
    exit 0
fi

KEY="$(compute_key)"
if [ "$KEY_ONLY" = 1 ]; then
    echo "$KEY"
    exit 0
fi
CACHE="$CACHE_ROOT/qemu/$KEY"

install_from_cache() {
    local b
    rm -rf "$OUT_DIR"
    mkdir -p "$OUT_DIR"
    for b in $(binaries); do
        cp -p "$CACHE/$b" "$OUT_DIR/$b"
    done
    cp -p "$CACHE/build-info.txt" "$OUT_DIR/build-info.txt"
}

cache_complete() {
    local b
    [ -f "$CACHE/build-info.txt" ] || return 1
    for b in $(binaries); do
        [ -x "$CACHE/$b" ] || return 1
    done
}

elapsed() { echo "$(( $(date +%s) - START ))s"; }

log "macvfio QEMU $QEMU_DEB_VERSION, targets $TARGETS"
log "cache key $KEY"

need_root "build.sh"
mkdir -p "$CACHE_ROOT/qemu"
# One build per machine at a time; a second caller waits, then finds the cache.
exec 9>"$CACHE_ROOT/qemu/.lock"
flock 9
rm -rf "$CACHE_ROOT/qemu"/.stage.*     # left by an interrupted build

if [ "$FORCE" = 0 ] && cache_complete; then
    touch "$CACHE"                       # pruning keeps recently used keys
    install_from_cache
    log "cached build $KEY reused: $OUT_DIR ($(elapsed))"
    # Same key, same inputs (check-darwin.sh included): same result
    log "$(grep -m1 '^darwin-check:' "$CACHE/build-info.txt" ||
           echo 'darwin-check: not recorded for this build')"
    exit 0
fi

if [ "$FORCE" = 1 ]; then
    log "building... (--force)"
else
    log "building... (no cached build for this key)"
fi

# 1. system: apt sources and build dependencies
setup_apt
install_deps

# 2. source: Debian's patched tree, copied fresh, then our series
PRISTINE="$(fetch_debian_source)"
TREE="$SRC_WORK/tree"
OBJ="$SRC_WORK/obj"
log "copying Debian source to $TREE"
rm -rf "$TREE" "$OBJ"
cp -a "$PRISTINE" "$TREE"

n=0
while read -r p; do
    n=$((n + 1))
    log "applying $p"
    if ! patch -d "$TREE" -p1 --forward --batch --fuzz=0 \
            --no-backup-if-mismatch -s -i "$PATCH_DIR/$p" >&2; then
        die "patch $p does not apply to Debian's QEMU $QEMU_DEB_VERSION (see above); \
use qemu/dev.sh export to rebase the series"
    fi
done < <(series_patches)
if [ -n "$(find "$TREE" -name '*.rej' -print -quit)" ]; then
    die "rejected hunks left in $TREE"
fi
log "applied $n patch(es)"

# 3. libmacvfio, which QEMU's configure finds with pkg-config
PKGCONF_DIR="$(build_libmacvfio)"
export PKG_CONFIG_PATH="$PKGCONF_DIR${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# 4. configure and build.  configure names the compiler ("cc") itself, so
# meson does not add ccache on its own: put Debian's ccache wrappers first
# in PATH.  The compiler cache lives next to ours, so a rebuild after a patch
# change only recompiles what the change touches.
if [ -d /usr/lib/ccache ]; then
    export PATH="/usr/lib/ccache:$PATH"
    export CCACHE_DIR="${CCACHE_DIR:-$CACHE_ROOT/ccache}"
    # Hash paths relative to the work area, so another checkout of the
    # repository (a git worktree, a CI clone elsewhere) hits the same cache.
    export CCACHE_BASEDIR="$SRC_WORK" CCACHE_NOHASHDIR=1
    mkdir -p "$CCACHE_DIR"
    ccache -M 5G >/dev/null 2>&1 || true
fi
mkdir -p "$OBJ"
log "configuring: ${CONFIGURE_FLAGS[*]}"
(cd "$OBJ" && "$TREE/configure" "${CONFIGURE_FLAGS[@]}" >configure.log 2>&1) || {
    tail -n 40 "$OBJ/configure.log" >&2
    die "configure failed (full log: $OBJ/configure.log)"
}
log "compiling with ninja -j$JOBS (log: $OBJ/ninja.log)"
BUILD_START=$(date +%s)
mapfile -t BINS < <(binaries)
(cd "$OBJ" && ninja -j"$JOBS" "${BINS[@]}" >ninja.log 2>&1) || {
    grep -E -B2 -A8 'error:|FAILED' "$OBJ/ninja.log" | tail -n 60 >&2 || true
    die "build failed (full log: $OBJ/ninja.log)"
}
BUILD_SECS=$(( $(date +%s) - BUILD_START ))

# 5. sanity check.
# libmacvfio must be linked in statically: the binaries run from build/qemu/
# with no LD_LIBRARY_PATH.
for b in $(binaries); do
    ver="$(env -u LD_LIBRARY_PATH "$OBJ/$b" -version)" || die "$b -version failed"
    case "$ver" in
    *"version $QEMU_UPSTREAM_VERSION"*) ;;
    *) die "$b does not report version $QEMU_UPSTREAM_VERSION: $ver" ;;
    esac
    # (capture first: grep -q closing the pipe early trips pipefail)
    libs="$(ldd "$OBJ/$b")" || die "ldd $b failed"
    if grep -q macvfio <<<"$libs"; then
        die "$b links libmacvfio dynamically; it must be static"
    fi
    devices="$("$OBJ/$b" -device help 2>&1)" || die "$b -device help failed"
    grep -q '"vfio-apple-pci"' <<<"$devices" ||
        die "$b has no vfio-apple-pci device (was libmacvfio found? see $OBJ/configure.log)"
done

# 6. what a Darwin build would compile of hw/vfio must compile without
# CONFIG_LINUX (qemu/check-darwin.sh: a syntax check on this machine);
# the variant's QEMU sources are the normal build's, checked there
if [ -n "$VARIANT" ]; then
    DARWIN_CHECK="darwin-check: not run for the $VARIANT variant (same QEMU sources)"
else
    log "checking the Darwin build of hw/vfio (qemu/check-darwin.sh)"
    bash "$QEMU_DIR/check-darwin.sh" "$TREE" "$OBJ" >"$OBJ/check-darwin.log" 2>&1 || {
        grep -v '^ok ' "$OBJ/check-darwin.log" | tail -n 60 >&2
        die "hw/vfio does not compile for Darwin (full log: $OBJ/check-darwin.log)"
    }
    DARWIN_CHECK="$(tail -n 1 "$OBJ/check-darwin.log")"
fi
log "$DARWIN_CHECK"

# 7. publish to the cache atomically and install.
STAGE="$(mktemp -d "$CACHE_ROOT/qemu/.stage.XXXXXX")"
chmod 0755 "$STAGE"
for b in $(binaries); do
    install -m 0755 "$OBJ/$b" "$STAGE/$b"
done
{
    echo "key: $KEY"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    echo "source: Debian qemu $QEMU_DEB_VERSION"
    echo "configure: ${CONFIGURE_FLAGS[*]}"
    echo "variant: ${VARIANT:-none}"
    echo "compile seconds: $BUILD_SECS"
    echo "libmacvfio: $(libmacvfio_inputs | wc -l) files from $ROOT"
    echo "$DARWIN_CHECK"
    echo "patches:"
    series_patches | sed 's/^/  /'
} >"$STAGE/build-info.txt"
rm -rf "$CACHE"
mv "$STAGE" "$CACHE"
install_from_cache

# Keep the most recently used builds (~180 MB each); older keys are dead weight.
KEEP="${MACVFIO_QEMU_CACHE_KEEP:-4}"
find "$CACHE_ROOT/qemu" -mindepth 1 -maxdepth 1 -type d -regextype egrep \
        -regex '.*/[0-9a-f]{64}' -printf '%T@ %p\n' |
    sort -rn | tail -n +"$((KEEP + 1))" | cut -d' ' -f2- |
    while read -r old; do
        log "pruning old cached build $(basename "$old")"
        rm -rf "$old"
    done

log "built $(binaries | paste -sd' ' -) into $OUT_DIR ($(elapsed)); cached as $CACHE"
