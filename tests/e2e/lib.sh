# Helpers shared by the host-side e2e scripts (build-guest.sh, run-guest.sh,
# test-*.sh). Sourced, not run.
# shellcheck shell=bash

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$E2E_DIR/../.." && pwd)"
BUILD_DIR="${MACVFIO_BUILD_DIR:-$REPO_DIR/build}"
CACHE_ROOT="${MACVFIO_CACHE_DIR:-/var/cache/macvfio}"
# shellcheck disable=SC2034  # used by the scripts that source this
GUEST_CACHE="$CACHE_ROOT/guest"
# shellcheck disable=SC2034
E2E_OUT="$BUILD_DIR/e2e"

_e2e_prog="$(basename "$0" .sh)"

# Under set -e a failing command ends the script; say where instead of
# ending silently.
set -E
trap 'printf "%s: error: unexpected failure (status %s) at %s line %s: %s\n" "$_e2e_prog" "$?" "$(basename "${BASH_SOURCE[0]}")" "$LINENO" "$BASH_COMMAND" >&2' ERR

msg() { printf '%s: %s\n' "$_e2e_prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$_e2e_prog" "$*" >&2; exit 1; }

# Seconds since the epoch with milliseconds, and a difference of two of them.
now() { date +%s.%N | cut -c1-14; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Dies (in this shell, not in a $(...)) unless ARCH is one we support.
check_arch() {
    case "$1" in
    x86_64|amd64|aarch64|arm64) ;;
    *) die "unsupported guest architecture '$1' (x86_64 or aarch64)" ;;
    esac
}

# ARCH (x86_64|aarch64) -> Debian architecture name.
deb_arch() {
    case "$1" in
    x86_64|amd64) echo amd64 ;;
    aarch64|arm64) echo arm64 ;;
    *) die "unsupported guest architecture '$1' (x86_64 or aarch64)" ;;
    esac
}

# ARCH -> QEMU's name for it (qemu-system-<name>).
qemu_arch() {
    case "$1" in
    x86_64|amd64) echo x86_64 ;;
    aarch64|arm64) echo aarch64 ;;
    *) die "unsupported guest architecture '$1' (x86_64 or aarch64)" ;;
    esac
}
