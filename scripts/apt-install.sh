# shellcheck shell=bash
# Sourced by the deps installers (scripts/install-deps*.sh, qemu/lib.sh):
#
#   apt_setup_trixie              add Debian trixie as a binary source pinned
#                                 at priority 100, so that nothing comes from
#                                 it unless asked for by name (PKG/trixie;
#                                 never "apt-get install -t trixie")
#   apt_install_missing LABEL PACKAGE[/SUITE]...
#                                 install whichever are not installed yet;
#                                 PKG/SUITE is satisfied by an installed
#                                 version at least SUITE's
#
# Idempotent: with everything present they need no network and no root.
# APT_LISTS_STALE=1 after apt_setup_trixie changed a source: the next
# install refreshes the package lists first.
APT_LISTS_STALE=${APT_LISTS_STALE:-0}

# apt_write_if_changed FILE: write stdin to FILE unless it already has that
# content.  Returns 0 if the file changed.
apt_write_if_changed() {
  local file="$1" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  install -m 0644 "$tmp" "$file"
  rm -f "$tmp"
  return 0
}

apt_setup_trixie() {
  [ "$(id -u)" -eq 0 ] || { echo "apt: adding trixie needs root" >&2; return 1; }
  apt_write_if_changed /etc/apt/sources.list.d/macvfio-trixie.sources <<'EOF' && APT_LISTS_STALE=1
# macvfio: meson >= 1.5 and python3-pycotap (QEMU 10.2 and all our builds)
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_write_if_changed /etc/apt/preferences.d/macvfio-trixie <<'EOF' && APT_LISTS_STALE=1
# macvfio: take from trixie only what is requested by name (pkg/trixie)
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
  # Sources written by an earlier run whose apt-get update did not happen
  # (or failed): the lists still lack trixie.
  local policy
  policy="$(apt-cache policy 2>/dev/null || true)"
  grep -q 'n=trixie' <<<"$policy" || APT_LISTS_STALE=1
  return 0
}

# apt_have PACKAGE[/SUITE]: installed (for PKG/SUITE: at SUITE's version or newer)
apt_have() {
  local name=${1%%/*} suite='' have want
  [ "$name" = "$1" ] || suite=${1#*/}
  have="$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)"
  [ "${have#install ok installed }" != "$have" ] || return 1
  [ -n "$suite" ] || return 0
  # SUITE's version from the package lists (none known yet: not satisfied)
  want="$(apt-cache madison "$name" 2>/dev/null |
          awk -F' *[|] *' -v s="/debian $suite/" 'index($3, s) { print $2; exit }')"
  [ -n "$want" ] && dpkg --compare-versions "${have#install ok installed }" ge "$want"
}

apt_install_missing() {
  local label=$1; shift
  local missing=() p
  for p in "$@"; do
    apt_have "$p" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "$label: all $# packages present"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$label: missing ${missing[*]}; run as root" >&2
    return 1
  fi
  echo "$label: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Try the current package lists first: no network round trip if they do.
  if [ "$APT_LISTS_STALE" = 1 ] ||
     ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    APT_LISTS_STALE=0
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  echo "$label: done"
}
