# shellcheck shell=bash disable=SC2034
# Shared helpers for qemu/build.sh and qemu/dev.sh.  Source it; do not run it.
#
# Everything here is idempotent: a second call does nothing that is not needed.

QEMU_DEB_VERSION="1:10.2.2+ds-1"        # Debian source package we patch
QEMU_UPSTREAM_VERSION="10.2.2"
QEMU_SRC_DIRNAME="qemu-10.2.2+ds"       # what dpkg-source unpacks to

QEMU_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$QEMU_DIR/.." && pwd)"
PATCH_DIR="$QEMU_DIR/patches"
SERIES="$PATCH_DIR/series"
BUILD_DIR="${MACVFIO_BUILD_DIR:-$ROOT/build}"
SRC_WORK="$BUILD_DIR/qemu-src"          # work area, never committed
CACHE_ROOT="${MACVFIO_CACHE_DIR:-/var/cache/macvfio}"
# Fallback copy of the Debian source package, beside the repository.
FALLBACK_SRC="${MACVFIO_QEMU_FALLBACK_SRC:-$ROOT/../shared/debian-src}"
# libmacvfio for QEMU: built from this repository's lib/ in a meson build
# directory of its own, then staged (static archive, headers, macvfio.pc)
# in a private prefix that QEMU's configure finds through PKG_CONFIG_PATH.
LIBMACVFIO_BUILD="$SRC_WORK/libmacvfio-build"
LIBMACVFIO_PREFIX="$SRC_WORK/libmacvfio"
# What libmacvfio is built from (part of the QEMU cache key): the library,
# its public headers, and the top-level meson files that set its flags.
LIBMACVFIO_INPUTS=(lib include/macvfio meson.build meson_options.txt)
# Extra meson options for libmacvfio (build.sh --iokit-double sets them).
LIBMACVFIO_MESON_ARGS=()

# Build dependencies from bookworm.  meson (>= 1.5) and pycotap come from
# trixie, installed one by one with an explicit /trixie: never "-t trixie".
BOOKWORM_DEPS=(
    gcc libc6-dev make ninja-build pkg-config ccache
    python3 python3-venv python3-distlib
    flex bison
    libglib2.0-dev libfdt-dev libpixman-1-dev zlib1g-dev
    dpkg-dev xz-utils patch git
    # firmware for running the minimal build (-L /usr/share/seabios etc.)
    seabios qemu-system-data
)
TRIXIE_DEPS=(meson/trixie python3-pycotap/trixie)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" = 0 ] || die "$1 needs root (apt, /var/cache/macvfio)"
}

# The trixie source and pin (shared with make deps) and apt_write_if_changed.
# shellcheck source=scripts/apt-install.sh
. "$ROOT/scripts/apt-install.sh"

# Add the sid deb-src and the trixie binary source (pinned to 100, so that
# nothing comes from trixie unless asked for by name), then apt-get update
# only if something changed or the qemu source package is not yet known.
setup_apt() {
    need_root "setting up apt sources"
    apt_setup_trixie
    apt_write_if_changed /etc/apt/sources.list.d/macvfio-sid-src.sources <<'EOF' && APT_LISTS_STALE=1
# macvfio: Debian's QEMU source package (deb-src only)
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

    # (capture first: grep -q closing the pipe early trips pipefail)
    local srcs
    srcs="$(apt-cache showsrc qemu 2>/dev/null || true)"
    if [ "$APT_LISTS_STALE" = 1 ] ||
       ! grep -qx "Version: $QEMU_DEB_VERSION" <<<"$srcs"; then
        log "apt-get update"
        if apt-get update -qq; then APT_LISTS_STALE=0
        else log "apt-get update failed (continuing)"; fi
    else
        log "apt sources already set up"
    fi
}

deb_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = \
        "install ok installed" ]
}

install_deps() {
    local missing=() pkg meson_ver
    need_root "installing build dependencies"
    for pkg in "${BOOKWORM_DEPS[@]}"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing from bookworm: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi

    meson_ver="$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)"
    if [ -z "$meson_ver" ] ||
       ! dpkg --compare-versions "$meson_ver" ge 1.5 ||
       ! deb_installed python3-pycotap; then
        log "installing from trixie: ${TRIXIE_DEPS[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${TRIXIE_DEPS[@]}"
    fi
    if [ "${#missing[@]}" = 0 ] && [ -n "$meson_ver" ]; then
        log "build dependencies already installed (meson $meson_ver)"
    fi
}

# Unpack Debian's patched QEMU source (pristine: no macvfio patches) into
# $SRC_WORK/debian/$QEMU_SRC_DIRNAME once, and print that path.
# apt-get source first; the copy beside the repository only if that fails.
fetch_debian_source() {
    local dest="$SRC_WORK/debian" tmp
    if [ -f "$dest/.complete" ] && [ -d "$dest/$QEMU_SRC_DIRNAME" ]; then
        log "Debian source already unpacked in $dest"
        echo "$dest/$QEMU_SRC_DIRNAME"
        return
    fi
    mkdir -p "$SRC_WORK"
    rm -rf "$dest" "$SRC_WORK"/debian.tmp.*
    tmp="$(mktemp -d "$SRC_WORK/debian.tmp.XXXXXX")"
    chmod 0755 "$tmp"   # lets apt download as _apt instead of warning

    log "fetching QEMU source: apt-get source qemu=$QEMU_DEB_VERSION"
    if ! (cd "$tmp" && apt-get source -q "qemu=$QEMU_DEB_VERSION" >&2); then
        log "apt-get source failed; falling back to $FALLBACK_SRC"
        [ -f "$FALLBACK_SRC/qemu_${QEMU_DEB_VERSION#*:}.dsc" ] ||
            die "no Debian source: apt-get source failed and $FALLBACK_SRC has no dsc"
        rm -rf "${tmp:?}"/*
        cp "$FALLBACK_SRC"/qemu_* "$tmp/"
        if [ -f "$FALLBACK_SRC/SHA256SUMS" ]; then
            (cd "$tmp" && sha256sum --quiet -c "$FALLBACK_SRC/SHA256SUMS" >&2) ||
                die "fallback source does not match its SHA256SUMS"
        fi
        (cd "$tmp" && dpkg-source -x "qemu_${QEMU_DEB_VERSION#*:}.dsc" >&2) ||
            die "dpkg-source -x failed on the fallback copy"
    fi
    [ -d "$tmp/$QEMU_SRC_DIRNAME" ] || die "unpacked source has no $QEMU_SRC_DIRNAME"
    # quilt's bookkeeping is not part of the source
    rm -rf "$tmp/$QEMU_SRC_DIRNAME/.pc"
    touch "$tmp/.complete"
    mv "$tmp" "$dest"
    echo "$dest/$QEMU_SRC_DIRNAME"
}

# Print the patch file names listed in the series, in order (quilt syntax:
# one name per line, '#' comments and blank lines ignored).
series_patches() {
    [ -f "$SERIES" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$SERIES" |
        awk 'NF { print $1 }'
}

# Print the files libmacvfio is built from (relative to $ROOT), sorted.
libmacvfio_inputs() {
    (cd "$ROOT" && find "${LIBMACVFIO_INPUTS[@]}" -type f ! -name '*~' \
        ! -name '.*' -print | LC_ALL=C sort)
}

# Build libmacvfio and stage it in $LIBMACVFIO_PREFIX: lib/libmacvfio.a,
# include/macvfio/*.h and lib/pkgconfig/macvfio.pc (generated by
# lib/meson.build).  Only the static archive is staged, never the shared
# library, so that -lmacvfio resolves to it and the QEMU binaries run
# without LD_LIBRARY_PATH.  Prints the pkg-config directory.
build_libmacvfio() {
    local b="$LIBMACVFIO_BUILD" p="$LIBMACVFIO_PREFIX" pc
    log "building libmacvfio (static) from $ROOT/lib into $p"
    rm -rf "$b" "$p"
    mkdir -p "$SRC_WORK"
    # Only the library is built; tests (cmocka) are not needed for it.
    "$ROOT/scripts/meson-setup.sh" "$b" --prefix="$p" --libdir=lib \
        -Dtests=disabled ${LIBMACVFIO_MESON_ARGS[@]+"${LIBMACVFIO_MESON_ARGS[@]}"} \
        >"$SRC_WORK/libmacvfio-setup.log" 2>&1 || {
        tail -n 30 "$SRC_WORK/libmacvfio-setup.log" >&2
        die "meson setup of libmacvfio failed (log: $SRC_WORK/libmacvfio-setup.log)"
    }
    ninja -C "$b" lib/libmacvfio.a >"$SRC_WORK/libmacvfio-build.log" 2>&1 || {
        tail -n 30 "$SRC_WORK/libmacvfio-build.log" >&2
        die "building libmacvfio failed (log: $SRC_WORK/libmacvfio-build.log)"
    }
    # The "devel" install tag is the archive, the headers and macvfio.pc
    # (plus the libmacvfio.so symlink, removed below: no shared library here).
    meson install -C "$b" --no-rebuild --tags devel \
        >>"$SRC_WORK/libmacvfio-build.log" 2>&1 ||
        die "staging libmacvfio failed (log: $SRC_WORK/libmacvfio-build.log)"
    rm -f "$p"/lib/libmacvfio.so*
    pc="$p/lib/pkgconfig"
    if [ ! -f "$p/lib/libmacvfio.a" ] || [ ! -f "$pc/macvfio.pc" ] ||
       [ ! -f "$p/include/macvfio/macvfio.h" ]; then
        die "libmacvfio staging in $p is incomplete"
    fi
    echo "$pc"
}
