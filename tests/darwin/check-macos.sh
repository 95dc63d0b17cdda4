#!/usr/bin/env bash
# The client side compiled for the macOS target on Linux.
#
#   tests/darwin/check-macos.sh SRC OUT
#   tests/darwin/check-macos.sh --self-test SRC OUT
#
# With clang and -target arm64-apple-macos13 it compiles, to Mach-O
# objects, with -Wall -Wextra -Werror:
#   - lib/*.c and companion/*.c (libmacvfio, including the IOKit
#     transport and the apple-dma-pci engine) and tools/*.c (the macvfio
#     tool), as C11;
#   - installer/*.m (the host app that activates the system extension), as
#     Objective-C with ARC;
# against the arm64 glibc headers standing in for Darwin's libc (Darwin
# triples predefine __nonnull and friends, which glibc's headers use
# differently: -U fixes that; _DEFAULT_SOURCE stands for Darwin's
# everything-visible default, where the Linux build has _GNU_SOURCE) and our own Darwin headers in
# tests/darwin/macos (IOKitLib, Mach, dispatch, CoreFoundation, Foundation,
# SystemExtensions), with poison-linux.h force-included: a Linux-only call,
# flag or header (memfd, eventfd, epoll, SOCK_CLOEXEC, ...) fails.
#
# --self-test compiles small files and requires the check to refuse each
# one's Linux-only use (an eventfd call, a SOCK_CLOEXEC flag, memfd_create,
# pipe2 from Objective-C) and to accept a clean file, so the poison is known
# to be able to fail.
#
# What it proves: the code compiles for the macOS triple and uses no
# Linux-only interface we know of.  What it does not: Apple's real SDK
# headers (a mistake in our declarations passes), Darwin's libc (glibc is
# more permissive), linking and running.  Nothing here has run on a Mac.
set -euo pipefail

CLANG=${CLANG_MACOS:-clang}
TRIPLE=arm64-apple-macos13
CROSS_INC=/usr/aarch64-linux-gnu/include

self_test=0
if [ "${1:-}" = --self-test ]; then
    self_test=1
    shift
fi
SRC=$(realpath "$1")
OUT=$2

# Without the tools the check cannot run: exit 77, which meson reports as
# skipped (make deps installs both).
command -v "$CLANG" >/dev/null ||
    { echo "check-macos: SKIP: $CLANG not found" >&2; exit 77; }
[ -d "$CROSS_INC" ] ||
    { echo "check-macos: SKIP: $CROSS_INC missing (make deps installs libc6-dev-arm64-cross)" >&2; exit 77; }

RES=$("$CLANG" -print-resource-dir)
DARWIN_INC=$SRC/tests/darwin/macos
POISON=$SRC/tests/darwin/poison-linux.h
COMMON=(-target "$TRIPLE" -nostdinc -I"$DARWIN_INC" -isystem "$RES/include"
        -isystem "$CROSS_INC" -U__nonnull -U__nullable -U__null_unspecified
        -D_DEFAULT_SOURCE -include "$POISON" -I"$SRC/include"
        -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow)
C_FLAGS=("${COMMON[@]}" -std=c11 -Wstrict-prototypes -Wmissing-prototypes)
OBJC_FLAGS=("${COMMON[@]}" -x objective-c -std=gnu11 -fobjc-arc -fblocks)

rm -rf "$OUT"
mkdir -p "$OUT"
failed=0

compile() {  # compile LANG FILE [extra flags...]
    local lang=$1 f=$2 o
    shift 2
    o="$OUT/$(echo "${f#"$SRC"/}" | tr '/' '_').o"
    if [ "$lang" = c ]; then
        "$CLANG" "${C_FLAGS[@]}" "$@" -c "$f" -o "$o" || { echo "FAIL $f"; failed=1; return 1; }
    else
        "$CLANG" "${OBJC_FLAGS[@]}" "$@" -c "$f" -o "$o" || { echo "FAIL $f"; failed=1; return 1; }
    fi
    echo "ok   ${f#"$SRC"/}"
}

if [ "$self_test" = 1 ]; then
    # A file that must be refused, and why (the text clang prints).
    refused() {  # refused NAME WHAT CODE [objc]
        local name=$1 what=$2 code=$3 log="$OUT/$1.log" flags=("${C_FLAGS[@]}")
        [ "${4:-}" = objc ] && flags=("${OBJC_FLAGS[@]}")
        printf '%s\n' "$code" > "$OUT/$name.c"
        if "$CLANG" "${flags[@]}" -c "$OUT/$name.c" -o "$OUT/$name.o" 2> "$log"; then
            echo "FAIL self-test: $what compiled for macOS"
            failed=1
        elif ! grep -q "poisoned" "$log"; then
            echo "FAIL self-test: $what was refused, but not by the poison:"
            cat "$log"
            failed=1
        else
            echo "ok   self-test: $what refused ($(grep -m1 -o "attempt to use a poisoned identifier" "$log"))"
        fi
    }
    refused eventfd "an eventfd() call" \
'#include <sys/eventfd.h>
int make_notifier(void);
int make_notifier(void) { return eventfd(0, 0); }'
    refused sock_cloexec "SOCK_CLOEXEC" \
'#include <sys/socket.h>
int make_socket(void);
int make_socket(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }'
    refused memfd "memfd_create" \
'#define _GNU_SOURCE
#include <sys/mman.h>
int make_mem(void);
int make_mem(void) { return memfd_create("x", 0); }'
    refused objc_pipe2 "pipe2() in Objective-C" \
'#import <Foundation/Foundation.h>
int make_pipe(int p[2]);
int make_pipe(int p[2]) { return pipe2(p, 0); }' objc
    printf '%s\n' '#include <fcntl.h>' '#include <unistd.h>' \
        'int make_pipe(int p[2]);' \
        'int make_pipe(int p[2]) { return pipe(p) ? -1 : fcntl(p[0], F_SETFD, FD_CLOEXEC); }' \
        > "$OUT/clean.c"
    compile c "$OUT/clean.c" || echo "FAIL self-test: a portable pipe() refused"
    exit "$failed"
fi

for f in "$SRC"/lib/*.c "$SRC"/companion/*.c "$SRC"/tools/*.c; do
    compile c "$f" || true
done
for f in "$SRC"/installer/*.m; do
    [ -e "$f" ] || continue
    compile objc "$f" || true
done
exit "$failed"
