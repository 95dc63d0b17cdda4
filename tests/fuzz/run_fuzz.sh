#!/usr/bin/env bash
# run_fuzz.sh FUZZER SEED_DIR SECONDS: fuzzes from a scratch copy of the
# seeds (libFuzzer writes new units into its first corpus directory).
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
# libFuzzer's default crash exit code, 77, means "skipped" to meson:
# make every finding a plain failure.  An input that runs for seconds
# is a hang (fuzz_server: a blocked notifier write), so it fails too.
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
          -timeout="${FUZZ_TIMEOUT:-20}" \
          -error_exitcode=1 -timeout_exitcode=1 \
          -artifact_prefix="${FUZZ_ARTIFACTS:-$work/}" "$work"
