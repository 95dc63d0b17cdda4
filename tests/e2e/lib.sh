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

# ---- test drivers (test-*.sh): results -----------------------------------

PASSED=0
FAILED=0
SKIPPED=0
RESULTS=()
STEP_NOTE=""

# record WHAT ARCH SECONDS STATUS: one row of the results table; STATUS
# starts with PASS, SKIP or anything else (a failure).
record() {
    RESULTS+=("$(printf '%-34s %-8s %7ss  %s' "$1" "$2" "$3" "$4")")
    case "$4" in
    PASS*) PASSED=$((PASSED + 1)) ;;
    SKIP*) SKIPPED=$((SKIPPED + 1)) ;;
    *) FAILED=$((FAILED + 1)) ;;
    esac
    msg "$4: $1 ($2, $3 s)"
}

# step NAME ARCH CMD...: runs CMD, timed, and records it; CMD may set
# STEP_NOTE to add a remark.  Returns CMD's success.
step() {
    local what="$1" arch="$2" t0 t1 st=PASS
    shift 2
    STEP_NOTE=""
    t0=$(now)
    "$@" || st=FAIL
    t1=$(now)
    record "$what" "$arch" "$(elapsed "$t0" "$t1")" "$st${STEP_NOTE:+ ($STEP_NOTE)}"
    [ "$st" = PASS ]
}

# report_results TITLE: the table, then the closing "e2e: N passed, N
# failed" line that make check counts; succeeds when nothing failed.
report_results() {
    echo
    echo "e2e $1 tests (TCG, $(nproc) cores, wall-clock seconds):"
    printf '%s\n' "${RESULTS[@]}"
    echo
    if [ "$SKIPPED" -gt 0 ]; then
        echo "e2e: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    else
        echo "e2e: $PASSED passed, $FAILED failed"
    fi
    [ "$FAILED" -eq 0 ]
}

# ---- test drivers: guest kernel modules and static helpers --------------

# module_toolchain ARCH: sets MODULE_CC and MODULE_MAKE (make arguments for
# the guest kernel, built with gcc-12) and HELPER_CC (static userspace
# helpers); true when the module toolchain is installed.
module_toolchain() {
    # shellcheck disable=SC2034  # used by the scripts that source this
    case "$1" in
    x86_64) HELPER_CC=gcc; MODULE_CC=gcc-12; MODULE_MAKE=(CC=gcc-12) ;;
    aarch64) HELPER_CC=aarch64-linux-gnu-gcc; MODULE_CC=aarch64-linux-gnu-gcc-12
             MODULE_MAKE=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
    esac
    command -v "$MODULE_CC" >/dev/null && command -v make >/dev/null
}

# kmod_path ARCH NAME: where build_kmod leaves NAME.ko.
kmod_path() { echo "$E2E_OUT/modbuild-$2-$1/$2.ko"; }

# build_kmod ARCH IMAGE NAME FILE[:SUBDIR]...: builds NAME.ko for the
# kernel of guest IMAGE from the FILEs (FILE:SUBDIR copies FILE into that
# subdirectory of the build); module_toolchain ARCH must have run.
build_kmod() {
    local arch="$1" image="$2" name="$3" kdir out f
    shift 3
    out="$(dirname "$(kmod_path "$arch" "$name")")"
    kdir=$("$E2E_DIR/guest-headers.sh" "$image" | tail -n 1) || return 1
    rm -rf "$out"
    mkdir -p "$out"
    for f in "$@"; do
        case "$f" in
        *:*) mkdir -p "$out/${f#*:}"; cp "${f%%:*}" "$out/${f#*:}/" ;;
        *) cp "$f" "$out/" ;;
        esac
    done
    make -s -C "$kdir" M="$out" ${MODULE_MAKE[@]+"${MODULE_MAKE[@]}"} modules 2>&1 |
        grep -v '^Skipping BTF generation' >&2 || true
    [ -f "$out/$name.ko" ] || { msg "$name.ko was not built"; return 1; }
}

# ---- test drivers: macvfiod and the patched QEMU --------------------------

HOST_BUILD="${MACVFIO_HOST_BUILD:-$BUILD_DIR/host}"
MACVFIOD="$HOST_BUILD/daemon/macvfiod"
MACVFIO_TOOL="$HOST_BUILD/tools/macvfio"
QEMU_DIR="${QEMU_DIR:-$BUILD_DIR/qemu}"
DAEMON_PID=""

# need_host_tools: builds macvfiod and the macvfio tool if missing.
need_host_tools() {
    [ -x "$MACVFIOD" ] && [ -x "$MACVFIO_TOOL" ] && return 0
    msg "building macvfiod and the macvfio tool in $HOST_BUILD"
    "$REPO_DIR/scripts/meson-setup.sh" "$HOST_BUILD"
    ninja -C "$HOST_BUILD" daemon/macvfiod tools/macvfio >/dev/null
}

# qemu_has_device DIR ARCH: DIR's qemu-system for ARCH has vfio-apple-pci.
qemu_has_device() {
    local devices
    # captured first: grep -q closing the pipe early trips pipefail
    devices=$("$1/qemu-system-$(qemu_arch "$2")" -device help 2>/dev/null) || devices=""
    grep -q '"vfio-apple-pci"' <<<"$devices"
}

# need_patched_qemu ARCH...: runs qemu/build.sh unless $QEMU_DIR has a QEMU
# with vfio-apple-pci for every ARCH (dies if QEMU_DIR is not ours to build).
need_patched_qemu() {
    local arch
    for arch in "$@"; do
        check_arch "$arch"
        qemu_has_device "$QEMU_DIR" "$arch" && continue
        [ "$QEMU_DIR" = "$BUILD_DIR/qemu" ] ||
            die "$QEMU_DIR/qemu-system-$(qemu_arch "$arch") has no vfio-apple-pci"
        msg "no patched QEMU with vfio-apple-pci in $QEMU_DIR: running qemu/build.sh"
        bash "$REPO_DIR/qemu/build.sh"
        return
    done
}

# daemon_start SOCK LOG MACVFIOD_ARGS...: macvfiod in the background, up
# when SOCK exists; sets DAEMON_PID.  Fails (with the log's last line) if
# it does not come up within 5 s.
daemon_start() {
    local sock="$1" log="$2"
    shift 2
    "$MACVFIOD" --socket "$sock" "$@" >"$log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 100); do
        [ -S "$sock" ] && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    msg "macvfiod did not come up: $(tail -n 1 "$log") (log: $log)"
    daemon_stop
    return 1
}

# daemon_stop: SIGTERM to the macvfiod of daemon_start, and wait for it.
daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}

# daemon_stats SOCK FIELD...: those fields of device 0's statistics
# (macvfio info --json), on one line; FIELD may be a sum, a+b.
daemon_stats() {
    local sock="$1"
    shift
    # awk, not Python: bench/guest-io.sh calls this twice a second, and a
    # Python start-up costs about 0.1 s of CPU. The stats object is flat
    # (unsigned integers only, macvfio's tools/report_json.c).
    "$MACVFIO_TOOL" info --json --socket "$sock" 2>/dev/null | awk -v want="$*" '
        { text = text $0 " " }
        END {
            i = index(text, "\"stats\"")
            if (!i) exit 1
            s = substr(text, i + 7)
            s = substr(s, index(s, "{") + 1)
            s = substr(s, 1, index(s, "}") - 1)
            n = split(s, kv, ",")
            for (k = 1; k <= n; k++)
                if (match(kv[k], /"[a-z_]+"[ \t]*:[ \t]*[0-9]+/)) {
                    e = substr(kv[k], RSTART, RLENGTH)
                    key = e; sub(/^"/, "", key); sub(/".*/, "", key)
                    val = e; sub(/.*:[ \t]*/, "", val)
                    v[key] = val
                }
            nf = split(want, f, " ")
            for (x = 1; x <= nf; x++) {
                m = split(f[x], part, "+")
                sum = 0
                for (y = 1; y <= m; y++) {
                    if (!(part[y] in v)) exit 1
                    sum += v[part[y]]
                }
                printf "%s%.0f", (x > 1 ? " " : ""), sum
            }
            print ""
        }'
}

# passthrough_setup NAME ARCH...: what a passthrough test needs first: a
# scratch directory RUN (removed on exit, with the macvfiod of
# daemon_start stopped), the host packages, macvfiod and the tool, the
# patched QEMU for every ARCH, LOGS, and PATTERN: the pattern tool
# (helpers/pattern.c) built for this host, to check backing files.
passthrough_setup() {
    local name="$1"
    shift
    RUN="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-$name.XXXXXX")"
    LOGS="$E2E_OUT/logs"
    trap '[ -z "$DAEMON_PID" ] || kill "$DAEMON_PID" 2>/dev/null || true; rm -rf "$RUN"' EXIT
    trap 'msg "interrupted"; exit 130' INT TERM
    "$REPO_DIR/scripts/install-deps-e2e.sh"
    need_host_tools
    need_patched_qemu "$@"
    mkdir -p "$LOGS"
    PATTERN="$RUN/pattern"
    gcc -O2 -Wall -Wextra -Werror -o "$PATTERN" "$E2E_DIR/helpers/pattern.c"
}

# build_guest_pattern ARCH: the pattern tool, static, for ARCH's guests, in
# $E2E_OUT/helpers/ARCH/pattern (ship it as /bin/pattern); module_toolchain
# ARCH must have run (HELPER_CC).
build_guest_pattern() {
    mkdir -p "$E2E_OUT/helpers/$1"
    "$HELPER_CC" -static -O2 -Wall -Wextra -Werror -o "$E2E_OUT/helpers/$1/pattern" \
        "$E2E_DIR/helpers/pattern.c"
}

# nvme_guest_image SUITE ARCH IMG: the guest of the nvme suites in IMG
# (Debian's kernel, guest/macvfio.ko, /bin/pattern), each part a step;
# fails (recorded) if any part cannot be built.
nvme_guest_image() {
    local suite="$1" arch="$2" img="$3" base="$E2E_OUT/guest-$2"
    step "build-guest (base)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$base" || return 1
    if ! module_toolchain "$arch" ||
        ! step "macvfio.ko ($MODULE_CC)" "$arch" build_kmod "$arch" "$base" macvfio \
            "$REPO_DIR"/guest/*.c "$REPO_DIR"/guest/*.h "$REPO_DIR/guest/Kbuild" \
            "$REPO_DIR/include/macvfio/guest_proto.h:include/macvfio"; then
        record "$suite" "$arch" 0 "FAIL (no macvfio.ko)"
        return 1
    fi
    step "pattern (static $HELPER_CC)" "$arch" build_guest_pattern "$arch" &&
        step "build-guest (nvme)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" \
            --module "$(kmod_path "$arch" macvfio)" \
            --file "$E2E_OUT/helpers/$arch/pattern:/bin/pattern"
}

# watch_guest PID STATS...: until PID (a run-guest.sh) exits, polls the
# server's mappings with the command STATS..., which prints "live mapped"
# (macvfiod: stats SOCK); sets MAX_LIVE, MAX_MAPPED (the peaks) and GUEST_RC.
watch_guest() {
    local pid="$1" live mapped
    shift
    MAX_LIVE=0
    MAX_MAPPED=0
    while kill -0 "$pid" 2>/dev/null; do
        if read -r live mapped < <("$@"); then
            [ "$live" -gt "$MAX_LIVE" ] && MAX_LIVE=$live
            [ "$mapped" -gt "$MAX_MAPPED" ] && MAX_MAPPED=$mapped
        fi
        sleep 0.5
    done
    GUEST_RC=0
    # shellcheck disable=SC2034  # for the caller
    wait "$pid" || GUEST_RC=$?
}

# start_nvme_daemon NAME [OPTIONS...]: macvfiod serving sim:nvme on
# $RUN/disk.img (passthrough_setup made RUN); sets SOCK and DAEMON_LOG.
start_nvme_daemon() {
    local name="$1"
    shift
    SOCK="$RUN/$name.sock"
    DAEMON_LOG="$LOGS/macvfiod-$name.log"
    daemon_start "$SOCK" "$DAEMON_LOG" --device "sim:nvme,file=$RUN/disk.img" "$@"
}

# stats SOCK: "live_mappings mapped_bytes" of device 0
stats() { daemon_stats "$1" live_mappings mapped_bytes; }

# t_released: a step after a guest: stops the daemon of $SOCK, and fails
# unless the guest's session left no mapping behind on it.
t_released() {
    local live mapped
    read -r live mapped < <(stats "$SOCK") || { daemon_stop; return 1; }
    daemon_stop
    if [ "$live" != 0 ] || [ "$mapped" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped"
        return 1
    fi
    STEP_NOTE="0 live mappings"
}

# qom_get SOCKET QUIT OBJECT PROPERTY...: "PROPERTY VALUE" for each, read
# over QEMU's QMP socket; QUIT non-empty: then quits QEMU.  Fails (with
# QMP's message) if QEMU does not answer within 10 s or refuses one.
qom_get() { python3 "$E2E_DIR/qmp_qom.py" get "$@"; }

# qom_watch_start SOCKET OBJECT PROPERTY...: one QMP client for a whole
# boot (a coprocess; one at a time), so that polling costs no Python
# start-up.  qom_watch_read prints the values, space-separated, or "-"
# when QEMU cannot be reached (yet, or any more) or is slow to answer.
# (bash closes a coprocess's descriptors when it ends: keep our copies.)
qom_watch_start() {
    coproc QOM_WATCH { exec python3 "$E2E_DIR/qmp_qom.py" watch "$@"; }
    QW_PID=$QOM_WATCH_PID
    exec {QW_TO}>&"${QOM_WATCH[1]}" {QW_FROM}<&"${QOM_WATCH[0]}"
}
qom_watch_read() {
    local line
    if [ -n "${QW_PID:-}" ] && kill -0 "$QW_PID" 2>/dev/null &&
        { echo >&"$QW_TO"; } 2>/dev/null &&
        read -r -t 12 line <&"$QW_FROM"; then
        echo "$line"
    else
        echo -
    fi
}
qom_watch_stop() {
    [ -n "${QW_PID:-}" ] || return 0
    exec {QW_TO}>&- {QW_FROM}<&-
    kill "$QW_PID" 2>/dev/null || true
    wait "$QW_PID" 2>/dev/null || true
    QW_PID=""
}
