# shellcheck shell=sh
# Helpers for e2e test scripts running inside the guest (busybox sh).
# Shipped as /lib/e2e.sh; a test starts with:  . /lib/e2e.sh
#
# A test passes by exiting 0. `fail REASON` (or any non-zero exit) fails it;
# REASON ends up on the verdict line: MACVFIO-E2E: FAIL <name>: <reason>.

E2E_REASON_FILE="${E2E_REASON_FILE:-/run/macvfio/reason}"

log() { echo "[e2e] $*"; }

fail() {
    mkdir -p "${E2E_REASON_FILE%/*}"
    echo "$*" > "$E2E_REASON_FILE"
    echo "[e2e] FAIL: $*"
    exit 1
}

# Runs a command; fails the test with its output's last line if it fails.
must() {
    out=$("$@" 2>&1) || fail "'$*' failed: $(echo "$out" | tail -n 1)"
    [ -z "$out" ] || echo "$out"
}

# wait_for PATH [SECONDS]: waits (10 ms steps) until PATH exists.
wait_for() {
    _w_left=$(( ${2:-30} * 100 ))
    while [ ! -e "$1" ]; do
        [ "$_w_left" -gt 0 ] || return 1
        _w_left=$((_w_left - 1))
        usleep 10000
    done
}

# uptime_cs: guest uptime in centiseconds (for timing steps inside a test).
uptime_cs() { awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime; }

# rate BYTES START_CS END_CS: "N.NN s, M MiB/s"
rate() {
    awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { d = (e - s) / 100; if (d <= 0) d = 0.01;
        printf "%.2f s, %.1f MiB/s", d, b / 1048576 / d }'
}

# pci_list: one line per PCI function: BDF vendor:device class driver
pci_list() {
    for d in /sys/bus/pci/devices/*; do
        [ -e "$d/vendor" ] || continue
        drv=-
        [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        echo "${d##*/} $(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device")" \
            "class=$(cat "$d/class")" "driver=$drv"
    done
}

# module_loaded NAME: true if NAME (dashes or underscores) is loaded or built in.
module_loaded() {
    _m=$(echo "$1" | tr - _)
    [ -d "/sys/module/$_m" ] && return 0
    grep -q "/$(echo "$1" | tr _ -)\.ko\|/$_m\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null
}

# cmdline_arg KEY: value of KEY=... on the kernel command line (empty if absent).
cmdline_arg() {
    # shellcheck disable=SC2013  # words, on purpose
    for _a in $(cat /proc/cmdline); do
        case "$_a" in "$1="*) echo "${_a#*=}"; return 0 ;; esac
    done
    return 0
}

# companion: sysfs directory of the apple-dma-pci companion (1b36:00e1);
# fails the test if there is none.
companion() {
    for _c in /sys/bus/pci/devices/*; do
        if [ "$(cat "$_c/vendor")" = 0x1b36 ] && [ "$(cat "$_c/device")" = 0x00e1 ]; then
            echo "$_c"
            return 0
        fi
    done
    fail "no apple-dma-pci (1b36:00e1); PCI: $(pci_list | tr '\n' ';')"
}

# managed_bdf: the BDF of the device macvfio manages (its directory in
# /sys/kernel/debug/macvfio), or nothing.
managed_bdf() {
    for _d in /sys/kernel/debug/macvfio/*; do
        [ -d "$_d" ] && echo "${_d##*/}" && return 0
    done
    return 0
}
