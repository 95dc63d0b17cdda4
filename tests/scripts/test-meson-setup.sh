#!/usr/bin/env bash
# scripts/meson-setup.sh recovers every build directory state it can meet:
# fresh, intact, configured by another meson version, partial, broken data.
# Each stale case first checks that the directory really is unusable as it
# is (meson test fails in it), then that the helper makes it usable again
# with the options it was configured with.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
helper="$root/scripts/meson-setup.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir="$work/b"
passed=0 failed=0

ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# usable: ninja and meson test can load the directory's build data
usable() {
  local out
  out=$(meson test -C "$dir" --list --no-rebuild 2>&1) || true
  ! grep -q '^ERROR:' <<<"$out"
}
# option_kept: the option given at the first configure is still in force
option_kept() { grep -qx 'fuzz_seconds = 7' "$dir/meson-private/cmd_line.txt"; }
recorded_version() { grep -o '"full": *"[^"]*"' "$dir/meson-info/meson-info.json" | head -n 1; }
# a pickle of a class that no longer exists, as an older meson's data reads
# to a newer one
old_pickle() { printf 'cmesonbuild.gone_in_this_version\nGone\n)\x81.'; }

# 1. fresh
"$helper" "$dir" -Dtests=disabled -Dfuzz_seconds=7 >"$work/out" 2>&1
if [ -f "$dir/build.ninja" ] && usable && option_kept; then ok "fresh directory configured"
else bad "fresh directory not configured: $(cat "$work/out")"; fi

# 2. intact: left alone, silently
before=$(stat -c %Y.%s "$dir/meson-private/coredata.dat")
"$helper" "$dir" >"$work/out" 2>&1
if [ ! -s "$work/out" ] && [ "$before" = "$(stat -c %Y.%s "$dir/meson-private/coredata.dat")" ]
then ok "intact directory left alone"; else bad "intact directory touched: $(cat "$work/out")"; fi

# stale NAME: the directory must be unusable now, and usable after the helper
stale() {
  if usable; then bad "$1: the faked state did not break the directory"; return; fi
  if ! "$helper" "$dir" >"$work/out" 2>&1; then bad "$1: helper failed: $(cat "$work/out")"; return; fi
  if ! usable; then bad "$1: still unusable after the helper"; return; fi
  if ! option_kept; then bad "$1: the directory's options were lost"; return; fi
  if [ "$(recorded_version)" != "$want_version" ]; then bad "$1: recorded $(recorded_version)"; return; fi
  if ! grep -q reconfiguring "$work/out"; then bad "$1: helper did not say it reconfigured"; return; fi
  ok "$1: recovered with its options"
}
want_version=$(recorded_version)

# 3. configured by an older meson (bookworm's 1.0.1): what it recorded
sed -i 's/"full": *"[^"]*"/"full": "1.0.1"/' "$dir/meson-info/meson-info.json"
old_pickle >"$dir/meson-private/build.dat"
stale "configured by meson 1.0.1"

# 4. partial: an interrupted configure
rm -f "$dir/build.ninja" "$dir/meson-info/meson-info.json"
old_pickle >"$dir/meson-private/coredata.dat"
stale "partial configure"

# 5. same version, build data that does not load
old_pickle >"$dir/meson-private/coredata.dat"
stale "unloadable build data"

echo "meson-setup: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
