#!/usr/bin/env bash
# make bench: prints the host layer's figures (never asserts timings).
set -euo pipefail
build=${1:-build/host}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

echo "== DART allocator (core/dart.c)"
"$build/bench/bench_dart"

echo
echo "== host round trips: libmacvfio -> socket -> macvfiod -> sim:dmatest"
"$build/daemon/macvfiod" --quiet --socket "$dir/s" --device sim:dmatest &
pid=$!
for _ in $(seq 100); do [ -S "$dir/s" ] && break; sleep 0.05; done
"$build/bench/bench_host" --socket "$dir/s" --iterations "${BENCH_ITERATIONS:-20000}"
