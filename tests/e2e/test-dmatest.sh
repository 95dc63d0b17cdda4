#!/usr/bin/env bash
# End-to-end test of vfio-apple-pci: a real macvfiod serving sim:dmatest, the
# patched QEMU (TCG) passing it through to Debian's own kernel, x86_64 and
# aarch64 guests.
#
#   tests/e2e/test-dmatest.sh [ARCH...]      (default: x86_64 aarch64)
#
# For each architecture:
#   dmatest        boot tests/dmatest.sh with -device vfio-apple-pci,socket=...
#                  and memfd shared RAM: sysfs identity, BAR sizes and
#                  capabilities; BAR0 registers through resource0; a pattern
#                  written through resource2 is what the device sums; sysfs
#                  reset clears the function; MSI-X: the dmatest_irq module
#                  (modules/dmatest_irq) rings faulting DMA doorbells and
#                  counts its interrupts in /proc/interrupts; the
#                  apple-dma-pci companion: 1b36:00e1 class 0x088000, MAGIC
#                  and VERSION, PCI_ADDR = the device's bus/devfn, STRATEGY
#                  WINDOW and a window table with IOVAs >= 0xf000000000, one
#                  ring per vCPU (2 vCPUs here), STRATEGY_SELECT;
#                  sim:dmatest DMA both ways between its window and a locked
#                  guest page at the IOVA the table gives (pcitool dmawin);
#                  the guest selects ONDEMAND and DMAs through a ring MAP
#                  (pcitool dmaring)
#   QOM properties x86_64: apple-dma-pci's QOM properties read over QMP after
#                  the guest's ring test: strategy "window", guest-strategy
#                  "ondemand" (the guest's selection), doorbells and maps > 0
#   window mapped  while the guest ran, macvfiod had guest RAM mapped (its
#                  live mappings, polled with `macvfio info --json`) and QEMU
#                  traced the window strategy
#   released       after the guest powered off, macvfiod has no mapping, no
#                  registered memory and the device is unclaimed
#   no shared RAM  QEMU with plain -m fails at start-up, saying guest RAM must
#                  be shareable and how
#   no macvfiod    a socket nobody serves: a clear start-up error
#   host= only     the IOKit transport, which the production libmacvfio has
#                  on macOS only: refused, saying so (test-iokit.sh runs the
#                  path with the test-only variant)
#   window too big dma-strategy=window with macvfiod --dma-budget 64M: start-up
#                  error; with the default (auto): boots, on-demand, no
#                  window mapped (at most the guest's own ring mapping), and
#                  apple-dma-pci reads STRATEGY ONDEMAND, rings, no windows;
#                  a ring MAP gives an IOVA sim:dmatest DMAs through both
#                  ways, UNMAP makes it fault (pcitool dmaring); x86_64: QOM
#                  strategy "ondemand", doorbells and maps > 0
#   dma-strategy=pool  QEMU started paused (-S): apple-dma-pci's QOM
#                  strategy and guest-strategy are "pool", macvfiod has
#                  nothing mapped (registered only)
#   explicit companion x86_64: -device apple-dma-pci,id=gp0,device=va0 after
#                  the device: the guest checks as in dmatest and sees one
#                  companion (the explicit one replaced the automatic one);
#                  its QOM properties are at /machine/peripheral/gp0
#   companion errors  no device=, an unknown ID, an ID that is not a
#                  vfio-apple-pci, two companions for one device: start-up
#                  errors saying so
#   hot-plug refused  device_add vfio-apple-pci on a pcie-root-port (a bus
#                  that takes hot-plugged devices) over QMP: refused with
#                  "cannot be hot-plugged", macvfiod has nothing claimed
#                  or registered, the VM still answers QMP
#   root port, unplugged  vfio-apple-pci behind a pcie-root-port: the guest
#                  checks as above (companion on the root bus, PCI_ADDR bus 1),
#                  then powers the slot off: the companion goes with the
#                  device; macvfiod is left with nothing mapped or claimed
#   macvfiod killed  while the guest uses the device: QEMU reports it and
#                  exits with status 1 within seconds (no hang, no crash);
#                  again with the guest leaving the device alone and
#                  x-heartbeat-ms=0: QEMU notices from the socket alone
#   macvfiod stopped  SIGSTOP while the guest uses the device (a server that
#                  is alive but stuck): with x-msg-timeout=STOP_TIMEOUT_MS,
#                  QEMU reports that macvfiod did not reply within that
#                  time and exits with status 1, instead of hanging; after
#                  SIGCONT macvfiod has dropped the session (nothing mapped
#                  or claimed). x86_64 also checks the property's default,
#                  5000 ms (vfio-user-pci's x-msg-timeout)
#
# Builds what is missing: host packages (scripts/install-deps-e2e.sh), the
# patched QEMU (qemu/build.sh, cached; unless $QEMU_DIR names a directory with
# qemu-system-*), macvfiod and the macvfio tool (build/host), the static
# pcitool helper and the dmatest_irq module for each guest (x86_64: gcc-12;
# arm64: aarch64-linux-gnu-gcc). Prints timings, then "e2e: N passed, N failed";
# exit status 0 only if everything passed. Logs: $MACVFIO_BUILD_DIR/e2e/logs/.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

HOST_BUILD="${MACVFIO_HOST_BUILD:-$BUILD_DIR/host}"
MACVFIOD="$HOST_BUILD/daemon/macvfiod"
MACVFIO_TOOL="$HOST_BUILD/tools/macvfio"
QEMU_DIR="${QEMU_DIR:-$BUILD_DIR/qemu}"
LOGS="$E2E_OUT/logs"
START_TIMEOUT=60        # a QEMU that must fail at start-up
KILL_DEADLINE=15        # seconds QEMU may take to go once macvfiod is killed
STOP_TIMEOUT_MS=2000    # x-msg-timeout for the stopped-macvfiod case; QEMU
                        # may take that plus KILL_DEADLINE to go


# step NAME ARCH CMD...: runs CMD, records its time and result.  CMD may set
# STEP_NOTE to say more on its result line.

RUN="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-dmatest.XXXXXX")"
DAEMON_PIDS=()
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    local pid
    for pid in ${DAEMON_PIDS[@]+"${DAEMON_PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

# --- what the tests need ------------------------------------------------------

"$REPO_DIR/scripts/install-deps-e2e.sh"

if [ ! -x "$MACVFIOD" ] || [ ! -x "$MACVFIO_TOOL" ]; then
    msg "building macvfiod and the macvfio tool in $HOST_BUILD"
    "$REPO_DIR/scripts/meson-setup.sh" "$HOST_BUILD"
    ninja -C "$HOST_BUILD" daemon/macvfiod tools/macvfio >/dev/null
fi

qemu_has_device() {  # (captured first: grep -q closing the pipe early trips pipefail)
    local devices
    devices=$("$QEMU_DIR/qemu-system-$1" -device help 2>/dev/null) || return 1
    grep -q '"vfio-apple-pci"' <<<"$devices"
}
for arch in "${ARCHES[@]}"; do
    check_arch "$arch"
    if ! qemu_has_device "$(qemu_arch "$arch")"; then
        [ "$QEMU_DIR" = "$BUILD_DIR/qemu" ] ||
            die "$QEMU_DIR/qemu-system-$(qemu_arch "$arch") has no vfio-apple-pci"
        msg "no patched QEMU with vfio-apple-pci in $QEMU_DIR: running qemu/build.sh"
        bash "$REPO_DIR/qemu/build.sh"
        break
    fi
done

mkdir -p "$LOGS"

# Toolchains of the guest architectures: static helpers and kernel modules.

build_helper() {  # build_helper ARCH
    local out="$E2E_OUT/helpers/$1"
    mkdir -p "$out"
    "$HELPER_CC" -static -O2 -Wall -Wextra -Werror -o "$out/pcitool" \
        "$E2E_DIR/helpers/pcitool.c"
}


# --- macvfiod -------------------------------------------------------------------

# start_daemon NAME [OPTIONS...]: macvfiod serving sim:dmatest on $RUN/NAME.sock;
# sets SOCK and DAEMON_PID.
start_daemon() {
    local name="$1"
    shift
    SOCK="$RUN/$name.sock"
    "$MACVFIOD" --socket "$SOCK" --device sim:dmatest "$@" \
        >"$LOGS/macvfiod-$name.log" 2>&1 &
    DAEMON_PID=$!
    DAEMON_PIDS+=("$DAEMON_PID")
    for _ in $(seq 1 100); do
        [ -S "$SOCK" ] && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    msg "macvfiod did not come up (log: $LOGS/macvfiod-$name.log)"
    return 1
}

stop_daemon() {
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
}

# stats SOCK: "live_mappings mapped_bytes registered_bytes claimed" of device 0
stats() {
    "$MACVFIO_TOOL" info --json --socket "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["stats"]
print(s["live_mappings"], s["mapped_bytes"], s["registered_bytes"], int(bool(d["claimed"])))'
}

# --- QEMU ------------------------------------------------------------------------

# guest_ready LOG PID NAME: waits (up to 60 s) for the guest whose console
# is LOG (QEMU run by PID) to say DMATEST-READY; if it never does, shows
# $RUN/NAME.out, reaps PID, stops macvfiod and returns 1.
guest_ready() {
    local log="$1" pid="$2" name="$3"
    for _ in $(seq 1 600); do
        grep -q DMATEST-READY "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q DMATEST-READY "$log" 2>/dev/null && return 0
    msg "the guest never got ready"
    cat "$RUN/$name.out" >&2
    wait "$pid" || true
    stop_daemon
    return 1
}

machine_args() {  # machine_args ARCH: -machine ... for a start-up-only QEMU
    case "$1" in
    x86_64) echo "-machine q35" ;;
    aarch64) echo "-machine virt -cpu cortex-a57" ;;
    esac
}

# qemu_start_fails ARCH LOGNAME PATTERN QEMU-ARGS...: QEMU must exit non-zero at
# start-up (before any guest runs) and say PATTERN on stderr.
qemu_start_fails() {
    local arch="$1" name="$2" pattern="$3" rc=0 out
    shift 3
    out="$LOGS/$name-$arch.qemu.log"
    # shellcheck disable=SC2046  # machine_args is words on purpose
    timeout --kill-after=5 "$START_TIMEOUT" "$QEMU_DIR/qemu-system-$arch" -accel tcg \
        $(machine_args "$arch") -nodefaults -display none -monitor none -serial none \
        -L /usr/share/seabios -L /usr/share/qemu "$@" </dev/null >"$out" 2>&1 || rc=$?
    if [ "$rc" = 0 ] || [ "$rc" -ge 124 ]; then
        msg "$name: QEMU exited with status $rc, expected a start-up error (log: $out)"
        return 1
    fi
    if ! grep -qF -- "$pattern" "$out"; then
        msg "$name: QEMU did not say '$pattern'; it said:"
        sed 's/^/  | /' "$out" >&2
        return 1
    fi
    # the message from the pattern on (the device's name and path before it)
    STEP_NOTE="$(grep -F -m1 -- "$pattern" "$out" | awk -v p="$pattern" '{ print substr($0, index($0, p)) }')"
    STEP_NOTE="${STEP_NOTE//$RUN/\$RUN}"
    STEP_NOTE="\"${STEP_NOTE:0:110}\""
}

# shellcheck disable=SC2054  # commas are QEMU's
MEMFD_ARGS=(-object memory-backend-memfd,id=mem,size=512M,share=on -m 512M)
memfd_machine() {
    case "$1" in
    x86_64) echo "-machine q35,memory-backend=mem" ;;
    aarch64) echo "-machine virt,memory-backend=mem -cpu cortex-a57" ;;
    esac
}

# QOM properties of apple-dma-pci that the tests read
QOM_PROPS=(strategy guest-strategy doorbells entries maps unmaps map-calls
           unmap-calls errors resets live-mappings mapped-bytes)
COMPANION=/machine/peripheral/va0/apple-dma-pci

# qmp_qom SOCKET [quit]: "NAME VALUE" for each of QOM_PROPS of $COMPANION,
# read over QMP; with "quit", then quits QEMU.
qmp_qom() { qom_get "$1" "${2:-}" "$COMPANION" "${QOM_PROPS[@]}"; }

# qom_value NAME: the value of NAME in $QOM (qmp_qom's output)
qom_value() { awk -v n="$1" '$1 == n { print $2 }' <<<"$QOM"; }

# check_qom STRATEGY GUEST_STRATEGY: $QOM says so, the guest rang
# doorbells and mapped through a ring, and no doorbell cost the server
# more than one map call and one unmap call
check_qom() {
    if [ -z "$QOM" ]; then
        msg "apple-dma-pci's QOM properties were not read (QMP: $LOGS/$QOM_NAME.qmp.log)"
        return 1
    fi
    printf '  qom %s\n' "${QOM//$'\n'/$'\n'  qom }" >&2
    if [ "$(qom_value strategy)" != "$1" ] || [ "$(qom_value guest-strategy)" != "$2" ]; then
        msg "apple-dma-pci: strategy $(qom_value strategy), guest-strategy $(qom_value guest-strategy); expected $1, $2"
        return 1
    fi
    if ! [ "$(qom_value doorbells)" -gt 0 ] || ! [ "$(qom_value maps)" -gt 0 ]; then
        msg "apple-dma-pci: $(qom_value doorbells) doorbell(s), $(qom_value maps) map(s) after the guest's ring test"
        return 1
    fi
    if [ "$(qom_value map-calls)" -gt "$(qom_value doorbells)" ] ||
       [ "$(qom_value unmap-calls)" -gt "$(( $(qom_value doorbells) + $(qom_value resets) ))" ]; then
        msg "apple-dma-pci: $(qom_value map-calls) map and $(qom_value unmap-calls) unmap call(s) for $(qom_value doorbells) doorbell(s) and $(qom_value resets) reset(s)"
        return 1
    fi
    STEP_NOTE="qom-get: strategy $1, guest-strategy $2, $(qom_value doorbells) doorbell(s), $(qom_value maps) map(s) in $(qom_value map-calls) call(s), $(qom_value unmaps) unmap(s) in $(qom_value unmap-calls) call(s), $(qom_value errors) error(s)"
}

# run_dmatest ARCH IMAGE NAME GUEST_ARGS [QEMU ARGS...]: boots tests/dmatest.sh
# in the background while polling macvfiod ($SOCK); sets GUEST_RC, MAX_LIVE,
# MAX_MAPPED, QLOG.  VA_BUS: put vfio-apple-pci on this bus (after a pcie-root-port
# of that id, slot 1).  GUEST_ARGS with "qom": when the guest says DMATEST-QOM,
# reads apple-dma-pci's QOM properties over QMP into QOM (else QOM is empty).
# SMP: vCPUs (default 1).
run_dmatest() {
    local arch="$1" img="$2" name="$3" gargs="$4" pid live mapped reg claimed
    local log="$LOGS/$name-$arch.log" qmp="$RUN/$name-$arch.qmp"
    shift 4
    QLOG="$LOGS/$name-$arch.qemu.log"
    QOM=""
    QOM_NAME="$name-$arch"
    MAX_LIVE=0
    MAX_MAPPED=0
    rm -f "$log" "$LOGS/$QOM_NAME.qmp.log"
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/dmatest.sh -n "$name" -T 120 --log "$log" --smp "${SMP:-1}" \
        --append "macvfio.modules=none${gargs:+ macvfio.args=$gargs}" -- \
        ${VA_BUS:+-device "pcie-root-port,id=$VA_BUS,chassis=1,slot=1"} \
        -device "vfio-apple-pci,id=va0,socket=$SOCK${VA_BUS:+,bus=$VA_BUS}" \
        -qmp "unix:$qmp,server=on,wait=off" \
        -trace enable=vfio_apple_dma_strategy -trace enable=vfio_apple_dma_window_map \
        "$@" >"$RUN/$name.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if read -r live mapped reg claimed < <(stats "$SOCK"); then
            [ "$live" -gt "$MAX_LIVE" ] && MAX_LIVE=$live
            [ "$mapped" -gt "$MAX_MAPPED" ] && MAX_MAPPED=$mapped
        fi
        if [ -z "$QOM" ] && [[ ",$gargs," == *,qom,* ]] &&
            grep -q DMATEST-QOM "$log" 2>/dev/null; then
            QOM=$(qmp_qom "$qmp" 2>>"$LOGS/$QOM_NAME.qmp.log") || QOM=""
            [ -n "$QOM" ] || gargs=""   # one attempt
        fi
        sleep 0.3
    done
    GUEST_RC=0
    wait "$pid" || GUEST_RC=$?
    cat "$RUN/$name.out" >&2
}

# --- the tests --------------------------------------------------------------------

# The guest reads QOM properties on x86_64 only (QMP is the same on both)
qom_arg() { [ "$1" = x86_64 ] && echo qom; }

t_dmatest() {  # t_dmatest ARCH IMAGE WITH_IRQ
    start_daemon "dmatest-$1" || return 1
    SMP=2 run_dmatest "$1" "$2" dmatest "$3${3:+,}$(qom_arg "$1")"
    DMATEST_QOM="$QOM"
    [ "$GUEST_RC" = 0 ] || { stop_daemon; return 1; }
    STEP_NOTE="2 vCPUs, guest log: $LOGS/dmatest-$1.log"
}

t_qom_window() {
    QOM="$DMATEST_QOM" QOM_NAME="dmatest-x86_64" check_qom window ondemand
}

t_explicit() {  # t_explicit ARCH IMAGE
    start_daemon "explicit-$1" || return 1
    COMPANION=/machine/peripheral/gp0 run_dmatest "$1" "$2" dmatest-explicit qom \
        -device apple-dma-pci,id=gp0,device=va0
    [ "$GUEST_RC" = 0 ] || { stop_daemon; return 1; }
    stop_daemon
    QOM_NAME="dmatest-explicit-$1" check_qom window ondemand || return 1
    STEP_NOTE="-device apple-dma-pci,id=gp0,device=va0: one companion, window and ring DMA; ${STEP_NOTE#qom-get: }"
}

t_explicit_errors() {  # t_explicit_errors ARCH
    local arch="$1" rc=0 notes=() va
    start_daemon "explicit-errors-$arch" || return 1
    va=(-machine memory-backend=mem "${MEMFD_ARGS[@]}" -device "vfio-apple-pci,id=va0,socket=$SOCK")
    qemu_start_fails "$arch" companion-nodev "device=<vfio-apple-pci id> is required" \
        "${va[@]}" -device apple-dma-pci || rc=1
    notes+=("$STEP_NOTE")
    qemu_start_fails "$arch" companion-noid "Device 'nosuch' not found" \
        "${va[@]}" -device apple-dma-pci,device=nosuch || rc=1
    notes+=("$STEP_NOTE")
    qemu_start_fails "$arch" companion-type "expected: vfio-apple-pci" \
        "${va[@]}" -device pcie-root-port,id=rp9,chassis=9 -device apple-dma-pci,device=rp9 || rc=1
    notes+=("$STEP_NOTE")
    qemu_start_fails "$arch" companion-two "va0 already has a companion" \
        "${va[@]}" -device apple-dma-pci,device=va0 -device apple-dma-pci,device=va0 || rc=1
    notes+=("$STEP_NOTE")
    stop_daemon
    STEP_NOTE="${notes[*]}"
    return "$rc"
}

# qemu_paused ARCH OUT QMP QEMU-ARGS...: starts QEMU stopped (-S) in the
# background with memfd RAM and a QMP socket QMP, output to OUT; sets QPID
# and waits (up to 20 s) for the socket.
qemu_paused() {
    local arch="$1" out="$2" qmp="$3"
    shift 3
    # shellcheck disable=SC2046  # machine args are words on purpose
    timeout --kill-after=5 "$START_TIMEOUT" "$QEMU_DIR/qemu-system-$arch" -accel tcg -S \
        $(memfd_machine "$arch") "${MEMFD_ARGS[@]}" -nodefaults -display none \
        -monitor none -serial none -L /usr/share/seabios -L /usr/share/qemu \
        -qmp "unix:$qmp,server=on,wait=off" "$@" </dev/null >"$out" 2>&1 &
    QPID=$!
    for _ in $(seq 1 200); do
        [ -S "$qmp" ] && break
        kill -0 "$QPID" 2>/dev/null || break
        sleep 0.1
    done
}

# qmp_run SOCKET CMD-JSON...: runs each {"execute":...} over QMP and prints
# "ok" or "error: DESC" for each.
qmp_run() {
    python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()                                   # greeting
def run(c):
    f.write(json.dumps(c) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r:
            return "ok"
        if "error" in r:
            return "error: " + r["error"]["desc"]
run({"execute": "qmp_capabilities"})
for c in sys.argv[2:]:
    print(run(json.loads(c)))
PY
}

t_hotplug() {  # t_hotplug ARCH
    local arch="$1" qmp="$RUN/hotplug-$1.qmp" out="$LOGS/hotplug-$1.qemu.log" pid
    local live mapped reg claimed rc=0 res
    start_daemon "hotplug-$arch" || return 1
    qemu_paused "$arch" "$out" "$qmp" -device pcie-root-port,id=rp1,chassis=1,slot=1
    pid=$QPID
    res=$(qmp_run "$qmp" "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vfio-apple-pci\", \"id\": \"va0\", \"bus\": \"rp1\", \"socket\": \"$SOCK\"}}" \
          '{"execute": "query-status"}' 2>>"$out") || rc=1
    read -r live mapped reg claimed < <(stats "$SOCK") || rc=1
    qmp_run "$qmp" '{"execute": "quit"}' >/dev/null 2>>"$out" || rc=1
    wait "$pid" || rc=1
    stop_daemon
    printf '  qmp %s\n' "${res//$'\n'/$'\n'  qmp }" >&2
    if [ "$rc" != 0 ]; then
        msg "QEMU did not start, answer QMP or quit ($out)"
        return 1
    fi
    if [[ "$(sed -n 1p <<<"$res")" != *"vfio-apple-pci cannot be hot-plugged"* ]] ||
       [ "$(sed -n 2p <<<"$res")" != ok ]; then
        msg "device_add vfio-apple-pci: expected a refusal, then a running QEMU; QMP said: $res"
        return 1
    fi
    if [ "${live:-x}" != 0 ] || [ "${reg:-x}" != 0 ] || [ "${claimed:-x}" != 0 ]; then
        msg "after the refused hot-plug: $live live mapping(s), $reg registered, claimed $claimed"
        return 1
    fi
    STEP_NOTE="device_add on rp1: \"$(sed -n 1p <<<"$res" | cut -c1-90)\"; macvfiod: nothing claimed or registered"
}

t_unplug() {  # t_unplug ARCH IMAGE
    local live mapped reg claimed
    start_daemon "unplug-$1" || return 1
    VA_BUS=rp1 run_dmatest "$1" "$2" dmatest-unplug unplug
    [ "$GUEST_RC" = 0 ] || { stop_daemon; return 1; }
    read -r live mapped reg claimed < <(stats "$SOCK") || { stop_daemon; return 1; }
    stop_daemon
    if [ "$live" != 0 ] || [ "$mapped" != 0 ] || [ "$reg" != 0 ] || [ "$claimed" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped, $reg registered, claimed $claimed"
        return 1
    fi
    STEP_NOTE="behind a root port: companion on the root bus, PCI_ADDR bus 1, window DMA; unplugged with it"
}

t_window_mapped() {
    if ! grep -q 'vfio_apple_dma_strategy .* window:' "$QLOG"; then
        msg "QEMU did not trace the window strategy ($QLOG)"
        return 1
    fi
    if [ "$MAX_LIVE" -le 0 ]; then
        msg "macvfiod never had a live mapping while the guest ran"
        return 1
    fi
    STEP_NOTE="up to $MAX_LIVE live mapping(s), $((MAX_MAPPED / 1048576)) MiB mapped; $(grep -c vfio_apple_dma_window_map "$QLOG") window(s) mapped by QEMU"
}

t_released() {
    local live mapped reg claimed
    read -r live mapped reg claimed < <(stats "$SOCK") || { stop_daemon; return 1; }
    stop_daemon
    if [ "$live" != 0 ] || [ "$mapped" != 0 ] || [ "$reg" != 0 ] || [ "$claimed" != 0 ]; then
        msg "after the guest: $live live mapping(s), $mapped bytes mapped, $reg registered, claimed $claimed"
        return 1
    fi
    STEP_NOTE="0 live mappings, 0 registered, unclaimed"
}

t_no_shared_ram() {
    start_daemon "noshare-$1" || return 1
    # shellcheck disable=SC2046
    qemu_start_fails "$1" no-shared-ram \
        "guest RAM must be shareable, use -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem" \
        -m 512M -device "vfio-apple-pci,socket=$SOCK"
    local rc=$?
    stop_daemon
    return $rc
}

t_no_daemon() {
    # shellcheck disable=SC2046
    qemu_start_fails "$1" no-macvfiod "cannot connect to macvfiod at $RUN/nobody.sock" \
        $(memfd_machine "$1") "${MEMFD_ARGS[@]}" -device "vfio-apple-pci,socket=$RUN/nobody.sock"
}

t_host_only() {
    # shellcheck disable=SC2046
    qemu_start_fails "$1" host-only "selects the IOKit transport: mvf_connect_iokit: the IOKit transport exists on macOS only" \
        $(memfd_machine "$1") "${MEMFD_ARGS[@]}" -device "vfio-apple-pci,host=01:00.0"
}

t_window_too_big() {
    start_daemon "budget-$1" --dma-budget 64M || return 1
    # shellcheck disable=SC2046
    qemu_start_fails "$1" window-too-big "dma-strategy=window: guest RAM needs 512 MiB of DMA mappings" \
        $(memfd_machine "$1") "${MEMFD_ARGS[@]}" -device "vfio-apple-pci,socket=$SOCK,dma-strategy=window"
    local rc=$?
    stop_daemon
    return $rc
}

t_ondemand() {  # t_ondemand ARCH IMAGE
    start_daemon "ondemand-$1" --dma-budget 64M || return 1
    run_dmatest "$1" "$2" dmatest-ondemand "ondemand${3:+,$3}"
    stop_daemon
    [ "$GUEST_RC" = 0 ] || return 1
    if ! grep -q 'vfio_apple_dma_strategy .* ondemand:' "$QLOG"; then
        msg "QEMU did not trace the on-demand strategy ($QLOG)"
        return 1
    fi
    # At most the one granule the guest maps through apple-dma-pci's ring
    if [ "$MAX_LIVE" -gt 1 ]; then
        msg "$MAX_LIVE live mapping(s) with the on-demand strategy, expected at most the guest's one"
        return 1
    fi
    STEP_NOTE="512 MiB > 64 MiB budget: on-demand, guest passed (ring MAP, DMA, UNMAP), $MAX_LIVE live mapping(s) seen"
    if [ -n "$3" ]; then
        check_qom ondemand ondemand || return 1
        STEP_NOTE="on-demand, ring MAP/DMA/UNMAP, $MAX_LIVE live mapping(s); $STEP_NOTE"
    fi
}

# dma-strategy=pool: nothing mapped by QEMU, the companion reports POOL.
# QEMU is started paused: the strategy is chosen at realize.
t_pool() {  # t_pool ARCH
    local arch="$1" qmp="$RUN/pool-$1.qmp" out="$LOGS/pool-$1.qemu.log" pid
    local live mapped reg claimed rc=0
    start_daemon "pool-$arch" || return 1
    qemu_paused "$arch" "$out" "$qmp" \
        -device "vfio-apple-pci,id=va0,socket=$SOCK,dma-strategy=pool" \
        -trace enable=vfio_apple_dma_strategy
    pid=$QPID
    # The QMP socket exists before the device is realized (it claims and
    # registers RAM then): wait for that rather than sampling once.
    for _ in $(seq 1 100); do
        read -r live mapped reg claimed < <(stats "$SOCK") || true
        [ "${claimed:-0}" = 1 ] && [ "${reg:-0}" != 0 ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    QOM=$(qmp_qom "$qmp" quit 2>>"$out") || rc=1
    wait "$pid" || rc=1
    stop_daemon
    if [ "$rc" != 0 ] || [ -z "$QOM" ]; then
        msg "QEMU with dma-strategy=pool did not start or answer QMP ($out)"
        return 1
    fi
    if [ "$(qom_value strategy)" != pool ] || [ "$(qom_value guest-strategy)" != pool ]; then
        msg "dma-strategy=pool: apple-dma-pci says strategy $(qom_value strategy), guest-strategy $(qom_value guest-strategy)"
        return 1
    fi
    if ! grep -q 'vfio_apple_dma_strategy .* pool:' "$out"; then
        msg "QEMU did not trace the pool strategy ($out)"
        return 1
    fi
    if [ "${live:-x}" != 0 ] || [ "${reg:-0}" = 0 ] || [ "${claimed:-0}" != 1 ]; then
        msg "dma-strategy=pool, QEMU paused: $live live mapping(s), $reg bytes registered, claimed ${claimed:-?}; expected 0, > 0, 1"
        return 1
    fi
    STEP_NOTE="qom-get strategy pool, guest-strategy pool; macvfiod: 0 live mappings, $((reg / 1048576)) MiB registered"
}

# t_daemon_killed ARCH IMAGE [GUEST_ARG [DEVICE_PROPS]]: GUEST_ARG wait (the
# guest keeps reading BAR0, the default) or idle (it leaves the device alone)
t_daemon_killed() {
    local arch="$1" img="$2" garg="${3:-wait}" props="${4:-}" pid t_kill t_end rc=0 out
    local name=dmatest-kill${3:+-$3}
    local log="$LOGS/$name-$arch.log"
    start_daemon "kill-$arch" || return 1
    rm -f "$log"
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/dmatest.sh -n "$name" -T 120 --log "$log" \
        --append "macvfio.modules=none macvfio.args=$garg" -- \
        -device "vfio-apple-pci,socket=$SOCK${props:+,$props}" >"$RUN/$name.out" 2>&1 &
    pid=$!
    guest_ready "$log" "$pid" "$name" || return 1
    t_kill=$(now)
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    # QEMU must go by itself (run-guest.sh's own timeout is much longer)
    for _ in $(seq 1 $((KILL_DEADLINE * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    t_end=$(now)
    if kill -0 "$pid" 2>/dev/null; then
        msg "QEMU still runs ${KILL_DEADLINE}s after macvfiod was killed"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" || true
        return 1
    fi
    wait "$pid" || rc=$?
    out=$(cat "$RUN/$name.out")
    if ! grep -q "QEMU exited with status 1\$" <<<"$out"; then
        msg "expected QEMU to exit with status 1; run-guest.sh said:"
        printf '  | %s\n' "${out//$'\n'/$'\n'  | }" >&2
        return 1
    fi
    if ! grep -q "lost the connection to macvfiod at $SOCK" "$LOGS/$name-$arch.qemu.log"; then
        msg "QEMU did not report the lost connection ($LOGS/$name-$arch.qemu.log)"
        return 1
    fi
    STEP_NOTE="QEMU reported it and exited with status 1 after $(elapsed "$t_kill" "$t_end")s"
}

# t_daemon_stopped ARCH IMAGE: macvfiod is SIGSTOPped (alive, never answers)
# while the guest keeps reading BAR0.
t_daemon_stopped() {
    local arch="$1" img="$2" pid t_stop t_end out help
    local name=dmatest-stop log="$LOGS/dmatest-stop-$arch.log"
    local live mapped reg claimed
    local deadline=$((STOP_TIMEOUT_MS / 1000 + KILL_DEADLINE))
    if [ "$arch" = x86_64 ]; then
        help=$("$QEMU_DIR/qemu-system-$arch" -device vfio-apple-pci,help 2>&1) || true
        if ! grep -q 'x-msg-timeout=<uint32>.*(default: 5000)' <<<"$help"; then
            msg "vfio-apple-pci lists no x-msg-timeout with default 5000:"
            grep -i timeout <<<"$help" >&2 || true
            return 1
        fi
    fi
    start_daemon "stop-$arch" || return 1
    rm -f "$log"
    QEMU="$QEMU_DIR/qemu-system-$arch" "$E2E_DIR/run-guest.sh" -a "$arch" -i "$img" \
        -t /tests/dmatest.sh -n "$name" -T 120 --log "$log" \
        --append "macvfio.modules=none macvfio.args=wait" -- \
        -device "vfio-apple-pci,socket=$SOCK,x-msg-timeout=$STOP_TIMEOUT_MS" \
        >"$RUN/$name.out" 2>&1 &
    pid=$!
    guest_ready "$log" "$pid" "$name" || return 1
    t_stop=$(now)
    kill -STOP "$DAEMON_PID"
    for _ in $(seq 1 $((deadline * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    t_end=$(now)
    kill -CONT "$DAEMON_PID"
    if kill -0 "$pid" 2>/dev/null; then
        msg "QEMU still runs ${deadline}s after macvfiod was stopped (x-msg-timeout=$STOP_TIMEOUT_MS)"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" || true
        stop_daemon
        return 1
    fi
    wait "$pid" || true
    out=$(cat "$RUN/$name.out")
    if ! grep -q "QEMU exited with status 1\$" <<<"$out"; then
        msg "expected QEMU to exit with status 1; run-guest.sh said:"
        printf '  | %s\n' "${out//$'\n'/$'\n'  | }" >&2
        stop_daemon
        return 1
    fi
    if ! grep -q "macvfiod at $SOCK did not reply within $STOP_TIMEOUT_MS ms (x-msg-timeout)" \
            "$LOGS/$name-$arch.qemu.log"; then
        msg "QEMU did not report the timed-out server ($LOGS/$name-$arch.qemu.log)"
        stop_daemon
        return 1
    fi
    # Running again, macvfiod has dropped the timed-out session
    read -r live mapped reg claimed < <(stats "$SOCK") || true
    stop_daemon
    if [ "${live:-x}" != 0 ] || [ "${reg:-x}" != 0 ] || [ "${claimed:-x}" != 0 ]; then
        msg "after SIGCONT: $live live mapping(s), $reg bytes registered, claimed ${claimed:-?}; expected 0, 0, 0"
        return 1
    fi
    STEP_NOTE="QEMU reported the timeout and exited with status 1 after $(elapsed "$t_stop" "$t_end")s (x-msg-timeout=$STOP_TIMEOUT_MS); macvfiod clean after SIGCONT"
}

# --- per architecture -----------------------------------------------------------------

for arch in "${ARCHES[@]}"; do
    arch="$(qemu_arch "$arch")"
    msg "=== $arch"
    base="$E2E_OUT/guest-$arch"
    img="$E2E_OUT/guest-$arch-dmatest"
    image_args=(--file "$E2E_OUT/helpers/$arch/pcitool:/bin/pcitool")
    with_irq=""
    have_kmod=0
    module_toolchain "$arch" && have_kmod=1   # also sets HELPER_CC

    if ! command -v "$HELPER_CC" >/dev/null ||
        ! step "pcitool (static $HELPER_CC)" "$arch" build_helper "$arch"; then
        record "dmatest" "$arch" 0 "FAIL (no pcitool helper; scripts/install-deps-e2e.sh)"
        continue
    fi
    if ! step "build-guest (base)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$base"; then
        record "dmatest" "$arch" 0 "FAIL (no image)"
        continue
    fi
    if [ "$have_kmod" = 1 ]; then
        if step "dmatest_irq.ko" "$arch" build_kmod "$arch" "$base" dmatest_irq \
                "$E2E_DIR/modules/dmatest_irq/dmatest_irq.c" \
                "$E2E_DIR/modules/dmatest_irq/Kbuild"; then
            image_args+=(--module "$(kmod_path "$arch" dmatest_irq)")
            with_irq=irq
        fi
    else
        record "dmatest_irq.ko" "$arch" 0 "SKIP (no $MODULE_CC: MSI-X not tested)"
    fi
    if ! step "build-guest (dmatest)" "$arch" "$E2E_DIR/build-guest.sh" "$arch" "$img" "${image_args[@]}"; then
        record "dmatest" "$arch" 0 "FAIL (no image)"
        continue
    fi

    if step "dmatest${with_irq:+ (+MSI-X)}" "$arch" t_dmatest "$arch" "$img" "$with_irq"; then
        step "window mapped while running" "$arch" t_window_mapped || true
        if [ "$arch" = x86_64 ]; then
            step "QOM properties (window)" "$arch" t_qom_window || true
        fi
        step "released after shutdown" "$arch" t_released || true
    fi
    step "no shared RAM" "$arch" t_no_shared_ram "$arch" || true
    step "no macvfiod" "$arch" t_no_daemon "$arch" || true
    step "host= (IOKit) refused" "$arch" t_host_only "$arch" || true
    step "dma-strategy=window too big" "$arch" t_window_too_big "$arch" || true
    step "auto: on-demand when too big" "$arch" t_ondemand "$arch" "$img" "$(qom_arg "$arch")" || true
    step "dma-strategy=pool" "$arch" t_pool "$arch" || true
    if [ "$arch" = x86_64 ]; then
        step "explicit companion" "$arch" t_explicit "$arch" "$img" || true
    fi
    step "companion errors" "$arch" t_explicit_errors "$arch" || true
    step "hot-plug refused" "$arch" t_hotplug "$arch" || true
    step "behind a root port, unplugged" "$arch" t_unplug "$arch" "$img" || true
    step "macvfiod killed" "$arch" t_daemon_killed "$arch" "$img" || true
    step "macvfiod killed, device idle" "$arch" t_daemon_killed "$arch" "$img" idle x-heartbeat-ms=0 || true
    step "macvfiod stopped (SIGSTOP)" "$arch" t_daemon_stopped "$arch" "$img" || true
done

report_results dmatest
