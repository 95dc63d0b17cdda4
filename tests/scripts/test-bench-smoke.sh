#!/usr/bin/env bash
# `make bench`'s host programs still run and check what they measure:
# bench_host and bench_companion (which verifies every ring entry's status
# and the engine's counters, and exits non-zero otherwise) against a real
# macvfiod serving sim:dmatest, with few iterations.  Timings are printed,
# never judged.
#   test-bench-smoke.sh MACVFIOD BENCH_HOST BENCH_COMPANION
set -euo pipefail
daemon=$1 host=$2 companion=$3
dir=$(mktemp -d)
pid=""
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$daemon" --quiet --socket "$dir/s" --device sim:dmatest &
pid=$!
for _ in $(seq 100); do [ -S "$dir/s" ] && break; sleep 0.05; done
"$host" --socket "$dir/s" --iterations 200 > "$dir/host.out"
"$companion" --socket "$dir/s" --iterations 200 > "$dir/companion.out"
cat "$dir/host.out" "$dir/companion.out"
# one line per figure bench/README.md describes
grep -q '^DMA map+unmap, batches of 256' "$dir/host.out"
for n in 1 16 256; do
    grep -Eq "^ +$n  per entry .* ${n}\.0\$" "$dir/companion.out"
    grep -Eq "^ +$n  per doorbell .* 1\.0\$" "$dir/companion.out"
done
echo "bench smoke: ok"
