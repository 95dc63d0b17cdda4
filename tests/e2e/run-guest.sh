#!/usr/bin/env bash
# Boot an e2e guest under the patched QEMU (TCG) and report its test's verdict.
#
#   tests/e2e/run-guest.sh [options] --test /tests/NAME.sh [-- QEMU ARGS...]
#
# Options:
#   -a, --arch ARCH       x86_64 (default) | aarch64
#   -i, --image DIR       vmlinuz + initramfs.cpio.gz from build-guest.sh
#                         (default: $MACVFIO_BUILD_DIR/e2e/guest-ARCH)
#   -t, --test PATH       test script inside the guest (e.g. /tests/boot.sh)
#   -n, --name NAME       name on the verdict line (default: script name without .sh)
#   -T, --timeout SEC     hard limit for the whole run (default 120, or $E2E_TIMEOUT)
#   -m, --mem SIZE        guest RAM (default 512M): memory-backend-memfd,share=on
#       --smp N           vCPUs (default 1)
#       --append ARGS     more kernel command line (e.g. macvfio.modules=none)
#       --log FILE        serial console log (default: $MACVFIO_BUILD_DIR/e2e/logs/NAME-ARCH.log)
#       --bzimage         x86_64: boot vmlinuz through SeaBIOS + the bzImage
#                         setup instead of vmlinux through PVH (the default
#                         when the image has vmlinux; ~3 s faster under TCG)
#   -v, --verbose         stream the guest console while it runs
#   everything after --  passed to QEMU as is (e.g. -device nvme,drive=d0,serial=x)
#
# Environment: QEMU (QEMU binary; default $MACVFIO_BUILD_DIR/qemu/qemu-system-ARCH),
# E2E_TIMEOUT, E2E_VERBOSE=1.
#
# Exit status: 0 only if the console shows "MACVFIO-E2E: PASS NAME" (and no FAIL
# for it); otherwise 1 and the tail of the console log. QEMU never outlives
# this script.
#
# The guest does not power off after its verdict (macvfio.hold=HOLD_SECS on
# its command line): this script watches the console log while QEMU runs and,
# once a verdict line for NAME is complete in it, ends QEMU with SIGTERM (a
# normal shutdown: QEMU exits 0). So the verdict never depends on the guest's
# UART having sent it before a power-off, however loaded the machine is.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

ARCH=x86_64
IMAGE=""
TEST=""
NAME=""
TIMEOUT="${E2E_TIMEOUT:-120}"
MEM=512M
SMP=1
APPEND=""
LOG=""
VERBOSE="${E2E_VERBOSE:-0}"
BZIMAGE=0
QEMU_EXTRA=()
need() { [ "$1" -ge 2 ] || die "$2 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
    -a|--arch) need $# "$1"; ARCH="$2"; shift 2 ;;
    -i|--image) need $# "$1"; IMAGE="$2"; shift 2 ;;
    -t|--test) need $# "$1"; TEST="$2"; shift 2 ;;
    -n|--name) need $# "$1"; NAME="$2"; shift 2 ;;
    -T|--timeout) need $# "$1"; TIMEOUT="$2"; shift 2 ;;
    -m|--mem) need $# "$1"; MEM="$2"; shift 2 ;;
    --smp) need $# "$1"; SMP="$2"; shift 2 ;;
    --append) need $# "$1"; APPEND="$APPEND $2"; shift 2 ;;
    --log) need $# "$1"; LOG="$2"; shift 2 ;;
    -v|--verbose) VERBOSE=1; shift ;;
    --bzimage) BZIMAGE=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; QEMU_EXTRA=("$@"); break ;;
    *) die "unknown option $1 (see --help; QEMU arguments go after --)" ;;
    esac
done
[ -n "$TEST" ] || die "--test /tests/NAME.sh is required (see --help)"
case "$TEST" in /*) ;; *) die "--test takes the script's path inside the guest, e.g. /tests/boot.sh" ;; esac
case "$TIMEOUT" in ''|*[!0-9]*|0) die "--timeout must be a positive number of seconds" ;; esac
check_arch "$ARCH"
ARCH="$(qemu_arch "$ARCH")"
if [ -z "$NAME" ]; then NAME="${TEST##*/}"; NAME="${NAME%.sh}"; fi
case "$NAME" in *[!A-Za-z0-9._+-]*|'') die "--name '$NAME': use letters, digits and . _ + - only" ;; esac
IMAGE="${IMAGE:-$E2E_OUT/guest-$ARCH}"
LOG="${LOG:-$E2E_OUT/logs/$NAME-$ARCH.log}"

QEMU="${QEMU:-$BUILD_DIR/qemu/qemu-system-$ARCH}"
[ -x "$QEMU" ] || die "no QEMU at $QEMU: run 'bash qemu/build.sh' (or set QEMU=)"
for f in vmlinuz initramfs.cpio.gz; do
    [ -f "$IMAGE/$f" ] || die "no $IMAGE/$f: run tests/e2e/build-guest.sh $ARCH $IMAGE"
done
KERNEL="$IMAGE/vmlinuz"
if [ "$ARCH" = x86_64 ] && [ "$BZIMAGE" -eq 0 ] && [ -f "$IMAGE/vmlinux" ]; then
    KERNEL="$IMAGE/vmlinux"   # ELF with a PVH entry point: no decompression in the guest
fi

FIRMWARE=()
for d in /usr/share/seabios /usr/share/qemu; do
    [ -d "$d" ] || die "$d missing: run scripts/install-deps-e2e.sh (as root)"
    FIRMWARE+=(-L "$d")
done

# The guest's own watchdog fires a little before ours, so that a stuck test
# still ends with a FAIL line that says so.
GUEST_TIMEOUT=0
[ "$TIMEOUT" -gt 20 ] && GUEST_TIMEOUT=$((TIMEOUT - 10))
# Past the hold the guest powers off by itself, so a run whose watcher
# missed the verdict still ends (and is judged from the log all the same).
HOLD_SECS=60
CMDLINE="panic=-1 rdinit=/init macvfio.test=$TEST macvfio.name=$NAME macvfio.timeout=$GUEST_TIMEOUT"
CMDLINE="$CMDLINE macvfio.hold=$HOLD_SECS"

# shellcheck disable=SC2054  # commas are QEMU's
case "$ARCH" in
x86_64)
    MACHINE=(-machine q35,memory-backend=mem)
    # no_timer_check: under TCG on a loaded host the boot-time check that
    # the IO-APIC timer ticks (a busy-wait against calibrated delays) can
    # miss its ticks and panic ("IO-APIC + timer doesn't work!"), as
    # virtualized x86 guests are known to; the timer itself works.
    CMDLINE="console=ttyS0 no_timer_check $CMDLINE"
    ;;
aarch64)
    MACHINE=(-machine virt,memory-backend=mem -cpu cortex-a57)
    CMDLINE="console=ttyAMA0 $CMDLINE"
    ;;
esac
CMDLINE="$CMDLINE${APPEND}"

mkdir -p "$(dirname "$LOG")"
LOG="$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")"
QLOG="${LOG%.log}.qemu.log"
: > "$LOG"
: > "$QLOG"
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/macvfio-e2e.XXXXXX")

QEMU_ARGS=(
    -accel tcg
    "${MACHINE[@]}"
    -object "memory-backend-memfd,id=mem,size=$MEM,share=on"
    -m "$MEM"
    -smp "$SMP"
    "${FIRMWARE[@]}"
    -nodefaults -nographic -no-reboot
    -monitor none
    -serial "file:$LOG"
    -kernel "$KERNEL"
    -initrd "$IMAGE/initramfs.cpio.gz"
    -append "$CMDLINE"
    ${QEMU_EXTRA[@]+"${QEMU_EXTRA[@]}"}
)

TIMEOUT_PID=""
TAIL_PID=""

# signal_qemu SIG: QEMU itself, by the pid it wrote, if it is still ours
# (not the timeout or a wrapper around it, so that they see QEMU's own exit)
signal_qemu() {
    local pid
    [ -s "$RUNDIR/qemu.pid" ] || return 1
    pid=$(cat "$RUNDIR/qemu.pid")
    [ -n "$pid" ] && grep -q "qemu-system" "/proc/$pid/cmdline" 2>/dev/null &&
        kill "-$1" "$pid" 2>/dev/null
}

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    if [ -n "$TIMEOUT_PID" ] && kill -0 "$TIMEOUT_PID" 2>/dev/null; then
        kill -TERM "$TIMEOUT_PID" 2>/dev/null || true   # timeout passes it on to QEMU
        sleep 1
    fi
    # Belt and braces
    signal_qemu KILL || true
    if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
    rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

# console_verdict [SIZE]: the verdict for NAME in the console log, judged
# from its first SIZE bytes' whole lines (default: the whole log): "FAIL
# <its line>" if there is a FAIL line for NAME (a FAIL wins), else "PASS" if
# there is its PASS line, else nothing.
console_verdict() {
    local lines
    if [ -n "${1:-}" ]; then
        head -c "$1" "$LOG" >"$RUNDIR/console"
        # a line the UART is still sending (no newline yet) is left out
        [ "$(tail -c 1 "$RUNDIR/console" | od -An -tx1 | tr -d ' ')" = 0a ] ||
            sed -i '$d' "$RUNDIR/console"
        lines=$(tr -d '\r' < "$RUNDIR/console")
    else
        lines=$(tr -d '\r' < "$LOG")
    fi
    if grep -qxF "MACVFIO-E2E: FAIL $NAME" <<<"$lines" ||
        grep -q "^MACVFIO-E2E: FAIL $NAME: " <<<"$lines"; then
        echo "FAIL $(grep "^MACVFIO-E2E: FAIL $NAME" <<<"$lines" | head -n1)"
    elif grep -qxF "MACVFIO-E2E: PASS $NAME" <<<"$lines"; then
        echo PASS
    fi
}

msg "booting $ARCH guest ($(basename "$KERNEL")): test $TEST (name $NAME), timeout ${TIMEOUT}s, log $LOG"
{
    printf '%q ' "$QEMU" "${QEMU_ARGS[@]}"
    echo
} > "$RUNDIR/cmd"
cp "$RUNDIR/cmd" "${LOG%.log}.cmd"

if [ "$VERBOSE" = 1 ]; then
    tail -n +1 -F "$LOG" 2>/dev/null &
    TAIL_PID=$!
fi

T0=$(now)
timeout --kill-after=5 "$TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" -pidfile "$RUNDIR/qemu.pid" \
    </dev/null >"$QLOG" 2>&1 &
TIMEOUT_PID=$!
# Until QEMU exits: once the verdict line is complete, end QEMU (see above)
SEEN=-1
while kill -0 "$TIMEOUT_PID" 2>/dev/null; do
    size=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
    if [ "$size" != "$SEEN" ]; then
        SEEN=$size
        if [ -n "$(console_verdict "$size")" ]; then
            signal_qemu TERM || kill -TERM "$TIMEOUT_PID" 2>/dev/null || true
            break
        fi
    fi
    sleep 0.2
done
QRC=0
wait "$TIMEOUT_PID" || QRC=$?
TIMEOUT_PID=""
T1=$(now)
if [ -n "$TAIL_PID" ]; then sleep 0.2; kill "$TAIL_PID" 2>/dev/null || true; TAIL_PID=""; fi

SECS=$(elapsed "$T0" "$T1")
CLEAN=$(tr -d '\r' < "$LOG")
verdict=$(console_verdict)
why=""
if [ "${verdict#FAIL}" != "$verdict" ]; then
    why=${verdict#FAIL }
elif [ "$verdict" != PASS ]; then
    panic=$(grep -m1 -o 'Kernel panic - .*' <<<"$CLEAN" || true)
    case "$QRC" in
    124|137) why="no verdict: timed out after ${TIMEOUT}s" ;;
    0) [ -n "$panic" ] && why="no verdict: guest ${panic#Kernel }" ||
           why="no verdict: QEMU exited (guest powered off or rebooted)" ;;
    *) why="no verdict: QEMU exited with status $QRC" ;;
    esac
fi

if [ -z "$why" ]; then
    msg "PASS $NAME ($ARCH) in ${SECS}s"
    exit 0
fi
msg "FAIL $NAME ($ARCH) after ${SECS}s: $why"
if [ -s "$QLOG" ]; then
    msg "QEMU said ($QLOG):"
    tail -n 20 "$QLOG" | sed 's/^/  | /' >&2
fi
msg "last 40 lines of the guest console ($LOG):"
tail -n 40 <<<"$CLEAN" | sed 's/^/  | /' >&2
exit 1
