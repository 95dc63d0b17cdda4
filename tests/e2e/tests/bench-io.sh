#!/bin/sh
# Guest side of the guest I/O benchmark (host: bench/guest-io.sh): loads
# the drivers, finds the disk, and runs /bin/iogen (tests/e2e/helpers/iogen.c)
# loads on it (4 KiB random reads, 128 KiB sequential reads, 4 KiB random
# writes) with O_DIRECT at each queue depth asked, for a fixed time each,
# reading the macvfio module's debugfs counters and the nvme interrupt
# counts before and after each run.  Figures only: no threshold is checked; it fails only when
# the configuration cannot be measured (driver, strategy, disk, I/O errors).
#
# Arguments (macvfio.args=, comma separated key=value; the image is booted
# with macvfio.modules=none, this script loads what it needs):
#   target=pt|emu       pt: the function passed through by vfio-apple-pci,
#                       translated by macvfio (default); emu: QEMU's own
#                       emulated nvme with serial=emu (no macvfio)
#   modparams=A=x:B=y   parameters for `modprobe macvfio` (':' separates)
#   expect=NAME         pt: debugfs strategy must read NAME (window, pool,
#                       ondemand), else the run is refused: a module that
#                       ignored strategy= must not be measured under the
#                       wrong name
#   secs=S              seconds per load (default 10)
#   qd=N[:N...]         I/Os in flight, one run of each load per value
#                       (default 4)
#   loads=L[:L...]      randread (4 KiB), seqread (128 KiB), randwrite
#                       (4 KiB, each block rewritten with its own offset
#                       so the pattern stays; with verify=1 every block
#                       written is read back and checked after the load,
#                       outside the counts); default randread:seqread
#   engine=aio|sync     iogen engine (default aio)
#   verify=0|1          check every 4 KiB block holds its offset (default 1;
#                       the host pre-filled the backing file with `iogen fill`)
#   pool=MIB            iogen -P: sync engine threads read into (or, for
#                       randwrite, write from) random slots of a MIB buffer
#                       pool (buffers come and go)
#   boot=TEXT           echoed on the disk line (the host's boot options)
#
# Output, for the host to parse (one line each, prefixed BENCH-IO):
#   BENCH-IO disk target=.. dev=nvme0n1 bdf=.. strategy=.. sectors=.. ignored=PARAM:..|-
#            boot=TEXT
#   BENCH-IO queues cpus=N io_queues=N vectors=N (blk-mq hardware queues; nvme
#            I/O queue interrupt lines in /proc/interrupts)
#   BENCH-IO mark begin|end test=randread qd=4 (the host reads macvfiod's
#            trapped MMIO count when it sees each; the guest idles 1 s
#            after begin and before end so the count brackets the load)
#   BENCH-IO result test=randread mode=randread engine=aio bs=4096 qd=4 ... (iogen's line)
#   BENCH-IO delta test=randread qd=4 doorbells=N maps=N ... irqs=N (debugfs,
#            '-' = no such file; irqs: nvme I/O queue interrupts, all CPUs)
#   BENCH-IO cache live=N idle=N mapped=B peak=B budget=B (on-demand, after the loads)
# shellcheck source=/dev/null  # /lib/e2e.sh is guest-lib.sh
. /lib/e2e.sh

TARGET=pt
MODPARAMS=""
EXPECT=""
SECS=10
QD=4
LOADS=randread:seqread
ENGINE=aio
VERIFY=1
BOOT=-
POOL=0
for a in "$@"; do
    case "$a" in
    target=*) TARGET=${a#*=} ;;
    modparams=*) MODPARAMS=$(echo "${a#*=}" | tr ':' ' ') ;;
    expect=*) EXPECT=${a#*=} ;;
    secs=*) SECS=${a#*=} ;;
    qd=*) QD=${a#*=} ;;
    loads=*) LOADS=${a#*=} ;;
    engine=*) ENGINE=${a#*=} ;;
    verify=*) VERIFY=${a#*=} ;;
    boot=*) BOOT=${a#*=} ;;
    pool=*) POOL=${a#*=} ;;
    *) fail "unknown argument '$a'" ;;
    esac
done

# Keep kernel messages off the console while we print results.
echo 1 > /proc/sys/kernel/printk 2>/dev/null
[ -x /bin/iogen ] || fail "no /bin/iogen in the image"
DBG=/sys/kernel/debug/macvfio
# Counters of the module's debugfs directory; the ones a module does not
# have print '-' (the host counts them as 0).
COUNTERS="doorbells maps unmaps batches cache_hits cache_misses evictions refusals coalesced bytes_bounced failures dma_maps dma_unmaps installs rebinds attaches"

macvfio_why() { dmesg | grep -i macvfio | tail -n 2 | sed 's/^\[[^]]*\] //' | tr '\n' ' '; }

BDF=""
STRATEGY=-
IGNORED=""
case "$TARGET" in
pt)
    # shellcheck disable=SC2086  # parameters, one word each
    out=$(modprobe macvfio $MODPARAMS 2>&1) ||
        fail "modprobe macvfio $MODPARAMS: $(echo "$out" | tail -n 1)"
    log "modprobe macvfio $MODPARAMS: ok"
    # A parameter this module does not know is ignored with a warning: say so.
    for p in $MODPARAMS; do
        dmesg | grep -q "macvfio: unknown parameter '${p%%=*}' ignored" && IGNORED="$IGNORED${IGNORED:+:}${p%%=*}"
    done
    [ -z "$IGNORED" ] || log "macvfio ignored the parameter(s) $IGNORED (unknown to this module)"
    wait_for "$DBG" 10 || fail "no $DBG: $(macvfio_why)"
    BDF=$(managed_bdf)
    [ -n "$BDF" ] || fail "macvfio manages no device: $(macvfio_why)"
    STRATEGY=$(cat "$DBG/$BDF/strategy" 2>/dev/null || echo '?')
    if [ -n "$EXPECT" ] && [ "$STRATEGY" != "$EXPECT" ]; then
        fail "macvfio runs strategy '$STRATEGY', not '$EXPECT' (modprobe macvfio $MODPARAMS${IGNORED:+: parameter $IGNORED unknown to this module})"
    fi
    must modprobe nvme
    ;;
emu)
    must modprobe nvme
    ;;
*) fail "target=$TARGET: pt or emu" ;;
esac

# The namespace: pt by the PCI function macvfio manages, emu by its serial.
DEV=""
i=0
while [ -z "$DEV" ] && [ $i -lt 600 ]; do
    for b in /sys/block/nvme*n1; do
        [ -e "$b" ] || continue
        if [ "$TARGET" = pt ]; then
            case "$(readlink -f "$b")" in */"$BDF"/*) DEV=${b##*/} ;; esac
        else
            [ "$(tr -d ' ' < "$b/device/serial" 2>/dev/null)" = emu ] && DEV=${b##*/}
        fi
    done
    [ -n "$DEV" ] && break
    # nvme gave up on the function: no point waiting any longer
    if [ $((i % 10)) = 9 ] && dmesg | grep -q 'nvme.*Removing after probe failure'; then
        fail "nvme gave up: $(dmesg | grep -i -e nvme -e macvfio | tail -n 3 | sed 's/^\[[^]]*\] //' | tr '\n' ' ')"
    fi
    usleep 100000
    i=$((i + 1))
done
[ -n "$DEV" ] || fail "no nvme namespace for target $TARGET within 60 s: $(dmesg | grep -i -e nvme -e macvfio | tail -n 3 | sed 's/^\[[^]]*\] //' | tr '\n' ' ')"
[ -n "$BDF" ] || BDF=$(basename "$(readlink -f "/sys/block/$DEV/device/device")")
SECTORS=$(cat "/sys/block/$DEV/size")
echo "BENCH-IO disk target=$TARGET dev=$DEV bdf=$BDF strategy=$STRATEGY sectors=$SECTORS ignored=${IGNORED:--} boot=$BOOT"
CTRL=${DEV%n1}
# Interrupts of the controller's I/O queues (nvme0q1, nvme0q2, ...; q0 is
# the admin queue), summed over every CPU.
irqs() {
    awk -v c="$CTRL" '$NF ~ ("^" c "q[1-9][0-9]*$") {
        for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts
}
NVEC=$(awk -v c="$CTRL" '$NF ~ ("^" c "q[1-9][0-9]*$")' /proc/interrupts | wc -l)
NHWQ=0
for q in "/sys/block/$DEV/mq/"*; do [ -d "$q" ] && NHWQ=$((NHWQ + 1)); done
echo "BENCH-IO queues cpus=$(grep -c '^processor' /proc/cpuinfo) io_queues=$NHWQ vectors=$NVEC"

snap() {  # snap FILE: the counters, one "name value" a line
    : > "$1"
    for c in $COUNTERS; do
        f="$DBG/$BDF/$c"
        if [ "$TARGET" = pt ] && [ -r "$f" ]; then
            echo "$c $(cat "$f")" >> "$1"
        else
            echo "$c -" >> "$1"
        fi
    done
}

delta() {  # delta BEFORE AFTER: name=after-before ... ('-' if missing)
    awk 'NR == FNR { b[$1] = $2; next }
         { printf " %s=%s", $1, ($2 == "-" || b[$1] == "-") ? "-" : $2 - b[$1] }
         END { print "" }' "$1" "$2"
}

VFLAG=""
[ "$VERIFY" = 1 ] && VFLAG=-V
run() {  # run TEST BS QD
    echo "BENCH-IO mark begin test=$1 qd=$3"
    sleep 1
    snap /tmp/c0
    i0=$(irqs)
    WFLAG=""
    [ "$1" = randwrite ] && [ -n "$VFLAG" ] && WFLAG="-W /tmp/written"
    # shellcheck disable=SC2086  # VFLAG, WFLAG: empty or words
    out=$(iogen -m "$1" -b "$2" -q "$3" -e "$ENGINE" -t "$SECS" -P "$POOL" $VFLAG $WFLAG "/dev/$DEV" 2>&1)
    rc=$?
    i1=$(irqs)
    snap /tmp/c1
    sleep 1
    echo "BENCH-IO mark end test=$1 qd=$3"
    if [ -n "$WFLAG" ] && [ $rc = 0 ]; then
        # shellcheck disable=SC2086  # WFLAG: two words
        vout=$(iogen -m verify -b "$2" $WFLAG "/dev/$DEV" 2>&1) ||
            fail "$1 qd $3: the blocks written do not read back: $(echo "$vout" | tail -n 1)"
        log "$1 qd $3: $(echo "$vout" | grep '^iogen ' | sed 's/^iogen //')"
    fi
    line=$(echo "$out" | grep '^iogen ' | tail -n 1)
    [ -n "$line" ] || fail "$1 qd $3: iogen printed no result: $(echo "$out" | tail -n 1)"
    echo "BENCH-IO result test=$1 ${line#iogen }"
    echo "BENCH-IO delta test=$1 qd=$3$(delta /tmp/c0 /tmp/c1) irqs=$((i1 - i0))"
    [ $rc = 0 ] || fail "$1 qd $3: iogen failed (status $rc): $(echo "$out" | grep -v '^iogen ' | tail -n 1) (errors=${line##*errors=})"
}

for load in $(echo "$LOADS" | tr ':' ' '); do
    case "$load" in
    randread|randwrite) bs=4096 ;;
    seqread) bs=131072 ;;
    *) fail "loads: unknown load '$load' (randread, seqread, randwrite)" ;;
    esac
    for qd in $(echo "$QD" | tr ':' ' '); do
        run "$load" "$bs" "$qd"
    done
done
if [ "$STRATEGY" = ondemand ]; then
    st() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$DBG/$BDF/state"; }
    echo "BENCH-IO cache live=$(st live) idle=$(st idle) mapped=$(st mapped) peak=$(st 'peak mapped') budget=$(st budget)"
fi
log "done: $TARGET $DEV strategy $STRATEGY"
exit 0
