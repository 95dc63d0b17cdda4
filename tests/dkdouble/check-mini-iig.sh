#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/mini_iig.py on the test classes (DkTestDriver.iig, and
# test_dk_kernel's DkKernelDriver.iig and DkTestUserClient.iig) and on the dext's
# two .iig files: the generated header and glue, with the class's methods,
# compile (a) for DriverKit (clang-16, freestanding, Mach-O objects) and
# (b) for Linux with host clang++ -fblocks against dext/dk; and every
# file in bad/ is refused with a message naming its line.
# Usage: check-mini-iig.sh SRCROOT OUTDIR
set -euo pipefail
SRC=$(realpath "$1")
OUT=$2
IIG=(python3 "$SRC/tools/mini_iig.py")
CLANGXX16=${CLANGXX16:-clang++-16}
CLANGXX=${CXX:-clang++}
rm -rf "$OUT"
mkdir -p "$OUT/gen"
fail=0

for def in "$SRC/tests/dkdouble/DkTestDriver.iig" "$SRC/tests/dkdouble/DkKernelDriver.iig" \
           "$SRC/tests/dkdouble/DkTestUserClient.iig" "$SRC/dext/MacvfioDriver.iig" \
           "$SRC/dext/MacvfioUserClient.iig"; do
    base=$(basename "$def" .iig)
    "${IIG[@]}" --def "$def" --header "$OUT/gen/$base.h" --impl "$OUT/gen/$base.iig.cpp"
done

WARN=(-Wall -Wextra -Werror)
INC=(-I"$SRC/dext/dk" -I"$SRC/dext" -I"$SRC/include" -I"$SRC" -I"$OUT/gen")
srcs=("$SRC/tests/dkdouble/DkTestDriver.cpp" "$SRC/tests/dkdouble/DkKernelDriver.cpp"
      "$SRC/tests/dkdouble/DkTestUserClient.cpp" "$OUT"/gen/*.iig.cpp)
if command -v "$CLANGXX16" >/dev/null; then
    RES=$(clang-16 -print-resource-dir)
    for f in "${srcs[@]}"; do
        "$CLANGXX16" -target arm64-apple-driverkit22.0 -std=gnu++17 -nostdinc -nostdinc++ \
            -ffreestanding -isystem "$RES/include" -fno-exceptions -fno-rtti "${WARN[@]}" \
            "${INC[@]}" -c "$f" -o "$OUT/$(basename "$f").dk.o" ||
            { echo "FAIL (DriverKit) $f"; fail=1; }
    done
else
    echo "check-mini-iig: $CLANGXX16 not found, DriverKit half skipped"
fi
for f in "${srcs[@]}"; do
    "$CLANGXX" -fblocks -std=gnu++17 -fno-exceptions "${WARN[@]}" "${INC[@]}" \
        -c "$f" -o "$OUT/$(basename "$f").linux.o" || { echo "FAIL (Linux) $f"; fail=1; }
done

# The generated shape: what IMPL and the kernel's dispatch rely on.
h="$OUT/gen/DkTestDriver.h"
for want in 'DkTestDriver_Start_Args IOService_Start_Args' 'DkTestDriver_InterruptOccurred_ID 0x' \
            'CreateActionInterruptOccurred(size_t referenceSize, OSAction \*\*action)' \
            'union { struct DkTestDriver_IVars \*ivars' 'using super = IOService' \
            'void InterruptOccurred(OSAction \*action, uint64_t count, uint64_t time, OSDispatchMethod supermethod = NULL)' \
            'virtual void free() override' 'uint64_t Interrupts() LOCALONLY'; do
    grep -q "$want" "$h" || { echo "FAIL: $h lacks: $want"; fail=1; }
done
grep -q 'case IOService_Start_ID\|case DkTestDriver_Start_ID' "$OUT/gen/DkTestDriver.iig.cpp" ||
    { echo "FAIL: no Start case in _Dispatch"; fail=1; }

for bad in "$SRC"/tests/dkdouble/bad/*.iig; do
    if "${IIG[@]}" --def "$bad" --header "$OUT/bad.h" --impl "$OUT/bad.cpp" 2>"$OUT/err.txt"; then
        echo "FAIL: mini_iig accepted $(basename "$bad")"; fail=1
    elif ! grep -q "$(basename "$bad"):[0-9]" "$OUT/err.txt"; then
        echo "FAIL: no file:line in the refusal of $(basename "$bad"): $(cat "$OUT/err.txt")"; fail=1
    else
        echo "ok   refused $(basename "$bad"): $(cat "$OUT/err.txt")"
    fi
done
[ "$fail" = 0 ] && echo "check-mini-iig: ok"
exit "$fail"
