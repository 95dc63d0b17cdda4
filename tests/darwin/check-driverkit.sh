#!/usr/bin/env bash
# The dext's code compiled for Apple's DriverKit target on Linux.
#
#   tests/darwin/check-driverkit.sh SRC OUT [GENDIR...]
#   tests/darwin/check-driverkit.sh --self-test SRC OUT
#
# With Debian's clang-16 and -target arm64-apple-driverkit22.0 it compiles
# what the dext binary is made of, as objects (Mach-O arm64), with
# -Wall -Wextra -Werror:
#   - core/*.c, against the arm64 glibc headers standing in for DriverKit's
#     libc (Darwin triples predefine __nonnull and friends, which glibc's
#     headers use differently: -U fixes that);
#   - dext/*.cpp, if there are any, and the iig glue (*.iig.cpp in each
#     GENDIR), freestanding
#     (-nostdinc -nostdinc++ -ffreestanding), against our declaration
#     headers in dext/dk and the generated class headers in GENDIR.
# Then every symbol the objects leave undefined must be on the allowlist
# (tests/darwin/driverkit-symbols.txt): what DriverKit, PCIDriverKit and the
# part of libc we believe a dext has provide.  A call to pthread, a file or
# socket API, or anything else a dext lacks fails here.
#
# --self-test compiles a file that calls pthread_mutex_lock and requires the
# allowlist check to refuse it, so the check is known to be able to fail.
#
# What it proves: the code compiles for the DriverKit triple, and links
# against nothing outside the allowlist.  What it does not: Apple's real
# SDK headers (errors in our declarations pass), Apple's libc (glibc is
# more permissive), linking and running.  docs/macos.md says so too.
set -euo pipefail

CLANG=${CLANG16:-clang-16}
CLANGXX=${CLANGXX16:-clang++-16}
NM=${LLVM_NM16:-llvm-nm-16}
TRIPLE=arm64-apple-driverkit22.0
CROSS_INC=/usr/aarch64-linux-gnu/include

self_test=0
if [ "${1:-}" = --self-test ]; then
    self_test=1
    shift
fi
SRC=$(realpath "$1")
OUT=$2
shift 2
GENDIRS=("$@")

for tool in "$CLANG" "$CLANGXX" "$NM"; do
    command -v "$tool" >/dev/null ||
        { echo "check-driverkit: $tool not found (make deps installs clang-16 and llvm-16)" >&2; exit 1; }
done
[ -d "$CROSS_INC" ] ||
    { echo "check-driverkit: $CROSS_INC missing (make deps installs libc6-dev-arm64-cross)" >&2; exit 1; }

RES=$("$CLANG" -print-resource-dir)
WARN=(-Wall -Wextra -Werror)
C_FLAGS=(-target "$TRIPLE" -std=c11 -D_GNU_SOURCE -nostdinc -isystem "$RES/include"
         -isystem "$CROSS_INC" -U__nonnull -U__nullable -U__null_unspecified
         -I"$SRC/include" -I"$SRC/core" "${WARN[@]}" -Wno-unused-parameter -Wshadow
         -Wstrict-prototypes -Wmissing-prototypes)
CXX_FLAGS=(-target "$TRIPLE" -std=gnu++17 -nostdinc -nostdinc++ -ffreestanding
           -isystem "$RES/include" -fno-exceptions -fno-rtti
           -I"$SRC/dext/dk" -I"$SRC/dext" -I"$SRC/include" -I"$SRC/core" "${WARN[@]}")
for g in "${GENDIRS[@]}"; do
    CXX_FLAGS+=(-I"$g")
done

rm -rf "$OUT"
mkdir -p "$OUT"
objs=()
failed=0

compile() {  # compile LANG FILE
    local lang=$1 f=$2 o
    o="$OUT/$(echo "${f#"$SRC"/}" | tr '/' '_').o"
    if [ "$lang" = c ]; then
        "$CLANG" "${C_FLAGS[@]}" -c "$f" -o "$o" || { echo "FAIL $f"; failed=1; return; }
    else
        "$CLANGXX" "${CXX_FLAGS[@]}" -c "$f" -o "$o" || { echo "FAIL $f"; failed=1; return; }
    fi
    echo "ok   ${f#"$SRC"/}"
    objs+=("$o")
}

if [ "$self_test" = 1 ]; then
    cat > "$OUT/uses_pthread.c" <<'C'
#include <pthread.h>
int mvf_self_test(pthread_mutex_t *m);
int mvf_self_test(pthread_mutex_t *m) { return pthread_mutex_lock(m); }
C
    compile c "$OUT/uses_pthread.c"
else
    for f in "$SRC"/core/*.c; do compile c "$f"; done
    shopt -s nullglob
    dext_srcs=("$SRC"/dext/*.cpp)
    # The dext's C++ needs our DriverKit declaration headers (dext/dk).
    if [ ${#dext_srcs[@]} -gt 0 ] && [ ! -d "$SRC/dext/dk" ]; then
        echo "check-driverkit: dext/*.cpp but no dext/dk headers to compile them against" >&2
        exit 1
    fi
    for f in "${dext_srcs[@]}"; do compile cxx "$f"; done
    for g in "${GENDIRS[@]}"; do
        for f in "$g"/*.iig.cpp; do compile cxx "$f"; done
    done
fi
[ "$failed" = 0 ] || { echo "check-driverkit: compile errors"; exit 1; }

# Undefined symbols of the whole set, minus what the set defines itself.
"$NM" -C -u "${objs[@]}" | grep -v ':$' | sed 's/^ *U //; /^$/d' | sort -u > "$OUT/undefined.txt"
"$NM" -C --defined-only -j "${objs[@]}" | grep -v ':$' | sed '/^$/d' | sort -u > "$OUT/defined.txt"
comm -23 "$OUT/undefined.txt" "$OUT/defined.txt" > "$OUT/external.txt"

python3 - "$SRC/tests/darwin/driverkit-symbols.txt" "$OUT/external.txt" "$self_test" <<'PY'
import re, sys
allow_file, ext_file, self_test = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
pats = []
for n, line in enumerate(open(allow_file), 1):
    line = line.split('#', 1)[0].strip()
    if line:
        pats.append(re.compile(line))
ext = [l.strip() for l in open(ext_file) if l.strip()]
bad = [s for s in ext if not any(p.fullmatch(s) for p in pats)]
print(f"check-driverkit: {len(ext)} external symbols, {len(bad)} not allowed")
for s in bad:
    print(f"  not in DriverKit: {s}")
if self_test:
    if not any('pthread_mutex_lock' in s for s in bad):
        print("check-driverkit: self-test FAILED: pthread_mutex_lock was allowed")
        sys.exit(1)
    print("check-driverkit: self-test ok: pthread_mutex_lock refused")
    sys.exit(0)
sys.exit(1 if bad else 0)
PY
