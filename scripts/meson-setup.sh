#!/usr/bin/env bash
# scripts/meson-setup.sh DIR [MESON SETUP ARGS...]
#
# Makes DIR a build directory of this repository configured by the meson on
# PATH, whatever state DIR is in.  Every script and make target that
# configures a build directory goes through here.
#   - no meson build in DIR yet:         meson setup DIR ARGS
#   - configured by this meson, intact:  nothing (ninja regenerates as needed)
#   - configured by another meson version, or partial, or its build data no
#     longer loads:                      meson setup --wipe DIR ARGS
# Why: a directory configured by bookworm's meson (1.0) stops every later
# ninja / meson test with "generated with an old version of meson" once
# trixie's meson (1.7) is installed.  --wipe keeps the options DIR was
# configured with (meson-private/cmd_line.txt); ARGS given here win.
# The environment (CC=clang etc.) is meson setup's as usual.
# Prints nothing unless it reconfigures or fails.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [meson setup args...]" >&2; exit 2; }
dir=$1; shift
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
me=meson-setup

# why_stale: prints why DIR cannot be used as it is, or nothing if it can.
why_stale() {
  local info="$dir/meson-info/meson-info.json" want had out
  for f in build.ninja meson-private/coredata.dat meson-private/build.dat \
           meson-private/cmd_line.txt meson-info/meson-info.json; do
    [ -f "$dir/$f" ] || { echo "it has no $f (a partial configure)"; return; }
  done
  want=$(meson --version)
  # meson-info.json: {"meson_version": {"full": "1.7.0", ...}, ...}
  had=$(grep -o '"full": *"[^"]*"' "$info" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
  if [ "$had" != "$want" ]; then
    echo "it was configured by meson ${had:-of unknown version}, this is meson $want"
    return
  fi
  # Loads both pickled build data files, as ninja and meson test will.
  out=$(meson test -C "$dir" --list --no-rebuild 2>&1) || true
  if grep -q '^ERROR:' <<<"$out"; then
    echo "its build data does not load: $(grep -m 1 '^ERROR:' <<<"$out")"
  fi
}

run_setup() {  # run_setup [--wipe]: meson setup, its output only on failure
  local out
  if ! out=$(meson setup "$@" "$dir" "$src" ${args[@]+"${args[@]}"} 2>&1); then
    printf '%s\n' "$out" | tail -n 30 >&2
    echo "$me: meson setup $* $dir failed (log: $dir/meson-logs/meson-log.txt)" >&2
    return 1
  fi
}

args=("$@")
if [ ! -d "$dir/meson-private" ]; then
  run_setup
  exit
fi
why=$(why_stale)
[ -n "$why" ] || exit 0
echo "$me: reconfiguring $dir from scratch with its options: $why" >&2
run_setup --wipe
