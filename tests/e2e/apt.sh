# Debian packages for the e2e guests, through apt-get with a private apt state.
# Sourced by build-guest.sh and guest-headers.sh (after lib.sh), not run.
# shellcheck shell=bash
#
# A private apt state (lists for amd64 and arm64, bookworm + updates + security,
# in $GUEST_CACHE/apt) so that we neither add a foreign architecture to the
# host's dpkg nor touch its apt lists or locks. The host's apt.conf.d (proxies
# etc.) still applies. Knobs: MACVFIO_DEBIAN_MIRROR, MACVFIO_DEBIAN_SECURITY_MIRROR,
# MACVFIO_DEBIAN_SUITE.
APT_DIR="$GUEST_CACHE/apt"
MIRROR="${MACVFIO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MACVFIO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE="${MACVFIO_DEBIAN_SUITE:-bookworm}"

apt_setup() {
    mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d}
    [ -f "$APT_DIR/status" ] || : > "$APT_DIR/status"
    cat > "$APT_DIR/sources.list.d/debian.sources.new" <<EOF
# written by tests/e2e/apt.sh
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat > "$APT_DIR/apt.conf.new" <<EOF
// written by tests/e2e/apt.sh: apt state private to the e2e guest cache
Dir::State::Lists "$APT_DIR/lists";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR/cache";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$APT_DIR/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$APT_DIR/preferences.d";
APT::Architectures { "amd64"; "arm64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
    local f
    for f in "$APT_DIR/sources.list.d/debian.sources" "$APT_DIR/apt.conf"; do
        if cmp -s "$f.new" "$f"; then rm -f "$f.new"; else mv -f "$f.new" "$f"; fi
    done
    export APT_CONFIG="$APT_DIR/apt.conf"
}
# On the command line because /etc/apt/apt.conf.d (read after APT_CONFIG) may
# switch the binary cache off (Debian's docker images do); without it each
# apt-cache call re-parses ~40 MB of lists.
APT_OPTS=(-o "Dir::Cache::pkgcache=pkgcache.bin" -o "Dir::Cache::srcpkgcache=")

APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" -eq 0 ] || return 0
    msg "refreshing package lists ($SUITE, amd64+arm64) in $APT_DIR"
    local t; t=$(now)
    apt-get "${APT_OPTS[@]}" update -qq >"$APT_DIR/update.log" 2>&1 || {
        cat "$APT_DIR/update.log" >&2
        die "apt-get update failed"
    }
    APT_UPDATED=1
    msg "package lists refreshed in $(elapsed "$t" "$(now)")s"
}

# Prints "NAME VERSION" of the candidate of package $1 (arch-qualified), or fails.
apt_candidate() {
    apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1" 2>/dev/null |
        awk '/^Package:/ { p = $2 } /^Version:/ { v = $2 } END { if (p != "" && v != "") print p, v; else exit 1 }'
}

# shellcheck disable=SC2034  # KPKG, KVER_DEB: results for the caller
# Resolves the kernel to KPKG KVER_DEB (package name and Debian version), from
# KERNEL_SPEC (PKG[=VER], may be empty) and DEBARCH.
resolve_kernel() {
    local meta deps
    if [ -n "$KERNEL_SPEC" ]; then
        KPKG="${KERNEL_SPEC%%=*}"
        if [ "$KERNEL_SPEC" != "$KPKG" ]; then
            KVER_DEB="${KERNEL_SPEC#*=}"
            return 0
        fi
        read -r _ KVER_DEB < <(apt_candidate "$KPKG:$DEBARCH") || return 1
        return 0
    fi
    meta="linux-image-$DEBARCH"
    deps=$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "$meta:$DEBARCH" 2>/dev/null |
        sed -n 's/^Depends: //p') || return 1
    # "linux-image-6.1.0-56-amd64 (= 6.1.192-2)"
    KPKG=$(tr ',' '\n' <<<"$deps" | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
    [ -n "$KPKG" ] || return 1
    read -r _ KVER_DEB < <(apt_candidate "$KPKG:$DEBARCH") || return 1
}

# Downloads PKG:ARCH=VER (ARCH may be "all") into $GUEST_CACHE/debs unless
# there; prints the path.
fetch_deb() {
    local pkg="$1" arch="$2" ver="$3" f
    local debs="$GUEST_CACHE/debs"
    mkdir -p "$debs"
    # apt names files PKG_VER_ARCH.deb with ':' in VER escaped as %3a.
    f="$debs/${pkg}_${ver//:/%3a}_${arch}.deb"
    local spec="$pkg:$arch=$ver"
    [ "$arch" = all ] && spec="$pkg=$ver"
    if [ ! -s "$f" ]; then
        local t; t=$(now)
        msg "downloading $spec"
        (cd "$debs" && apt-get "${APT_OPTS[@]}" download -qq "$spec" >/dev/null 2>"$APT_DIR/download.log") || {
            rm -f "$f"
            return 1
        }
        [ -s "$f" ] || { msg "apt-get download did not produce $f"; return 1; }
        msg "downloaded $(basename "$f") ($(du -h "$f" | cut -f1)) in $(elapsed "$t" "$(now)")s"
    fi
    echo "$f"
}

# Runs "$@" (a resolve+fetch step); on failure refreshes the lists once and retries.
with_refresh() {
    "$@" && return 0
    [ "$APT_UPDATED" -eq 0 ] || return 1
    msg "not in the cached package lists (or no longer in the archive); refreshing"
    apt_update
    "$@"
}
