#!/usr/bin/env bash
# Guest I/O benchmark: 4 KiB random reads, 128 KiB sequential reads and
# 4 KiB random writes in an x86_64 or aarch64 guest (TCG), on macvfiod's sim:nvme
# passed through by vfio-apple-pci under each DMA strategy of the macvfio
# guest module, next to QEMU's own emulated nvme on the same backing file.
# Prints figures, never asserts them (`make bench` runs it; see
# bench/README.md).
#
#   bench/guest-io.sh [options] [CONFIG...]      (default: every configuration)
#
# Options:
#   --secs S        seconds per load (default 10, or $BENCH_IO_SECS)
#   --qd N[,N...]   I/Os in flight; each load runs once per value in the same
#                   boot (default 4, or $BENCH_IO_QD)
#   --loads L[,L..] randread (4 KiB), seqread (128 KiB), randwrite (4 KiB;
#                   every block rewritten with its own offset, read back
#                   and checked after the load) (default randread,seqread,
#                   or $BENCH_IO_LOADS)
#   --engine E      iogen engine: aio (default) or sync ($BENCH_IO_ENGINE)
#   --smp N[,N...]  guest vCPUs; one boot per configuration per value
#                   (default 2, or $BENCH_IO_SMP)
#   --arch A        guest architecture: x86_64 (default) or aarch64 (QEMU's
#                   virt machine, -cpu cortex-a57; $BENCH_IO_ARCH)
#   --matrix        issue #12's matrix: --loads randread,randwrite,seqread
#                   --qd 1,4,32 --smp 1,4
#   --disk-mb N     backing file size in MiB (default 256, or $BENCH_IO_DISK_MB)
#   --rounds N      run every configuration N times, interleaved, and report
#                   the median of each figure and each round's ratio to emu
#                   (default 1, or $BENCH_IO_ROUNDS)
#   --config 'NAME|MACVFIOD OPTS|VFIO-APPLE-PCI PROPS|MACVFIO PARAMS|EXPECT[|BOOT]'
#                   add (or replace, by NAME) a configuration; '-' or empty
#                   fields mean none; selected when no CONFIG is named, or by NAME;
#                   BOOT: mem=SIZE (guest RAM, default 512M), engine=E,
#                   qd=N[,N...] (instead of --qd), pool=MIB (iogen -P: each
#                   I/O, read or write, uses a random slot of a buffer
#                   pool; sync engine) for this configuration only
#   --list          print the configurations and exit
#   --report FILE   print the table of an earlier run's results.txt and exit
#   --no-build      do not build QEMU or macvfiod when missing (say so and
#                   exit 0); iogen, macvfio.ko and the image are always rebuilt
#
# A configuration is what one guest boot runs under: macvfiod's options, the
# vfio-apple-pci properties, the `modprobe macvfio` parameters, and the
# strategy the module's debugfs must then report (a module that ignored the
# parameter is not measured under the wrong name).  `emu` is the reference:
# QEMU's emulated nvme (-drive ...,readonly=on -device nvme,serial=emu) on the
# same file, no macvfiod.  A configuration that cannot run (QEMU refuses the
# property, the module refuses the strategy, ...) is reported n/a with the
# reason; the others still run.
#
# Per boot (one at a time, tests/e2e/run-guest.sh, 512 MiB memfd RAM unless
# the configuration's mem= says otherwise): the
# guest (tests/e2e/tests/bench-io.sh) loads the drivers, runs /bin/iogen
# (tests/e2e/helpers/iogen.c, static) for each load at each queue depth,
# --secs each, O_DIRECT, verifying every 4 KiB block read (or written)
# holds its own offset (the file is pre-filled by `iogen fill`), and prints
# the deltas of /sys/kernel/debug/macvfio/<BDF>/{doorbells,maps,unmaps,
# batches,bytes_bounced,failures,...} and of the nvme I/O queue interrupts
# around each load (a counter the module does not have counts as 0).  The
# host polls macvfiod (`macvfio info --json`) for its trapped MMIO accesses,
# and apple-dma-pci (QMP: its map-calls and unmap-calls) for the host DMA
# calls it made, twice a second, and reads them at the guest's marks
# around each load (the guest idles a second inside each mark), so traps
# and calls are per load.
#
# Results: the table on stdout; raw lines in build/e2e/bench-io/results.txt
# (build/e2e/bench-io-aarch64/ for --arch aarch64);
# console and QEMU logs in build/e2e/logs/bench-io-CONFIG-smpN-ARCH.{log,qemu.log}.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"
_e2e_prog=guest-io

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

# --- configurations ------------------------------------------------------------
# NAME | macvfiod options | vfio-apple-pci properties | modprobe macvfio parameters | expected debugfs strategy [| BOOT]
# Issue #13, the on-demand cache against the window strategy: guests of
# 512 MiB, 2 GiB and 8 GiB, 4 threads of synchronous O_DIRECT I/O (iogen
# --engine sync), macvfiod's default 1.5 GiB budget for on-demand (which
# QEMU chooses itself for 2 and 8 GiB); the window needs a budget that
# holds all RAM: 4 GiB for the 2 GiB guest, 16 GiB for the 8 GiB one;
# od-64m-2g: the 2 GiB guest on a 64 MiB budget.  *-churn: the threads
# read into (and, with --loads randwrite, write from) random slots of a
# 64 MiB buffer pool (iogen -P), so DMA buffers come back only after
# seconds, as a page cache's do.
CONFIGS=(
    "emu|-|-|-|-"
    "window|-|dma-strategy=window|strategy=window|window"
    "pool|-|dma-strategy=pool|strategy=pool|pool"
    "ondemand|--dma-budget 64M|dma-strategy=ondemand|strategy=ondemand|ondemand"
    "win-512m|-|dma-strategy=window|strategy=window|window|mem=512M engine=sync"
    "od-512m|-|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=512M engine=sync"
    "win-2g|--dma-budget 4G|dma-strategy=window|strategy=window|window|mem=2G engine=sync"
    "od-2g|-|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=2G engine=sync"
    "od-64m-2g|--dma-budget 64M|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=2G engine=sync"
    "win-2g-churn|--dma-budget 4G|dma-strategy=window|strategy=window|window|mem=2G engine=sync pool=64"
    "od-2g-churn|-|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=2G engine=sync pool=64"
    "od-64m-2g-churn|--dma-budget 64M|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=2G engine=sync pool=64"
    "win-8g|--dma-budget 16G|dma-strategy=window|strategy=window|window|mem=8G engine=sync"
    "od-8g|-|dma-strategy=ondemand|strategy=ondemand|ondemand|mem=8G engine=sync"
)

SECS="${BENCH_IO_SECS:-10}"
QD="${BENCH_IO_QD:-4}"
ENGINE="${BENCH_IO_ENGINE:-aio}"
SMP="${BENCH_IO_SMP:-2}"
LOADS="${BENCH_IO_LOADS:-randread,seqread}"
DISK_MB="${BENCH_IO_DISK_MB:-256}"
ROUNDS="${BENCH_IO_ROUNDS:-1}"
ARCH="${BENCH_IO_ARCH:-x86_64}"
BUILD=1
LIST=0
REPORT=""
SELECT=()
need() { [ "$1" -ge 2 ] || die "$2 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
    --secs) need $# "$1"; SECS="$2"; shift 2 ;;
    --qd) need $# "$1"; QD="$2"; shift 2 ;;
    --engine) need $# "$1"; ENGINE="$2"; shift 2 ;;
    --smp) need $# "$1"; SMP="$2"; shift 2 ;;
    --arch) need $# "$1"; ARCH="$2"; shift 2 ;;
    --loads) need $# "$1"; LOADS="$2"; shift 2 ;;
    --matrix) LOADS=randread,randwrite,seqread; QD=1,4,32; SMP=1,4; shift ;;
    --disk-mb) need $# "$1"; DISK_MB="$2"; shift 2 ;;
    --config)
        need $# "$1"
        case "$(tr -cd '|' <<<"$2" | wc -c)" in 4|5) ;; *) die "--config '$2': expected 5 or 6 fields separated by |" ;; esac
        n="${2%%|*}"
        kept=()
        for c in "${CONFIGS[@]}"; do [ "${c%%|*}" = "$n" ] || kept+=("$c"); done
        CONFIGS=(${kept[@]+"${kept[@]}"} "$2")
        shift 2 ;;
    --rounds) need $# "$1"; ROUNDS="$2"; shift 2 ;;
    --list) LIST=1; shift ;;
    --report) need $# "$1"; REPORT="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) SELECT+=("$1"); shift ;;
    esac
done
for v in SECS DISK_MB ROUNDS; do
    case "${!v}" in ''|*[!0-9]*|0) die "${v,,} must be a positive integer" ;; esac
done
for v in QD SMP; do
    for x in ${!v//,/ }; do
        case "$x" in ''|*[!0-9]*|0) die "${v,,} must be positive integers separated by commas" ;; esac
    done
    [ -n "${!v//,/}" ] || die "${v,,}: no value"
done
case "$ARCH" in x86_64|aarch64) ;; *) die "--arch: x86_64 or aarch64, not '$ARCH'" ;; esac
for x in ${LOADS//,/ }; do
    case "$x" in randread|seqread|randwrite) ;; *) die "--loads: unknown load '$x' (randread, seqread, randwrite)" ;; esac
done

field() { cut -d'|' -f"$2" <<<"$1" | sed 's/^ *-\? *$//'; }   # field CONFIG N ('-' -> empty)

# report FILE: the table, from the raw lines (configurations in file order;
# with several rounds, the median of each figure and counters over all).
report() {
    awk '
function kv(line, key,   f, i, n) {
    n = split(line, f, " ")
    for (i = 1; i <= n; i++) if (index(f[i], key "=") == 1) return substr(f[i], length(key) + 2)
    return ""
}
function num(v) { return (v == "" || v == "-") ? 0 : v + 0 }
function per(a, b,   x) {
    if (b <= 0) return "-"
    x = a / b
    return x == 0 ? "0" : sprintf(x < 0.01 ? "%.4f" : x < 100 ? "%.3f" : "%.0f", x)
}
function median(arr, key, n,   v, i, j, x) {
    for (i = 1; i <= n; i++) v[i] = arr[key, i] + 0
    for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(list, item, set) { return (item in set) ? list : list " " item }
/^# bench/ { if (load == "") load = $(NF - 2) " " $(NF - 1) " " $NF; cores = $(NF - 5); next }
/^# secs=/ { secs = kv($0, "secs"); loads = kv($0, "loads"); qds = kv($0, "qd"); engine = kv($0, "engine"); rounds = kv($0, "rounds"); arch = kv($0, "arch"); if (arch == "") arch = "x86_64"; next }
/^#/ { next }
{ name = $1; smp = substr($2, 5); kind = $3
  order = add(order, name, seen); seen[name] = 1
  sorder = add(sorder, smp, sseen); sseen[smp] = 1 }
kind == "na" { line = $0; sub(/^[^ ]+ [^ ]+ na /, "", line); if (!((name, smp) in na)) na[name, smp] = line; nna[name, smp]++; next }
kind == "disk" { strat[name] = kv($0, "strategy"); ign[name] = kv($0, "ignored"); bootk[name] = kv($0, "boot") }
kind == "cache" { line = $0; sub(/^[^ ]+ [^ ]+ cache /, "", line)
                  cache[name, smp] = cache[name, smp] (cache[name, smp] == "" ? "" : "; ") line }
kind == "queues" { queues[name, smp] = kv($0, "io_queues") " I/O queues, " kv($0, "vectors") " vectors, " kv($0, "cpus") " CPUs" }
kind == "result" { t = kv($0, "test"); d = kv($0, "qd"); key = name SUBSEP smp SUBSEP t SUBSEP d
                   torder = add(torder, t, tseen); tseen[t] = 1; dorder = add(dorder, d, dseen); dseen[d] = 1
                   k = ++nres[key]; iv[key, k] = kv($0, "iops"); mv[key, k] = kv($0, "mbps")
                   p50[key, k] = kv($0, "lat_p50_us"); p99[key, k] = kv($0, "lat_p99_us")
                   ios[key] += kv($0, "ios"); bootios[name, smp] += kv($0, "ios") }
kind == "delta" { key = name SUBSEP smp SUBSEP kv($0, "test") SUBSEP kv($0, "qd")
                  for (i = 4; i <= NF; i++) { split($i, p, "=")
                      if (p[1] == "test" || p[1] == "qd") continue
                      if (p[2] == "-") cnt[key, p[1]] = "-"; else if (cnt[key, p[1]] != "-") cnt[key, p[1]] += p[2] } }
kind == "load" { key = name SUBSEP smp SUBSEP kv($0, "test") SUBSEP kv($0, "qd"); ltrap[key] += kv($0, "trapped"); nload[key]++
                 if (kv($0, "calls") != "" && kv($0, "calls") != "-") { lcalls[key] += kv($0, "calls"); ncalls[key]++ } }
kind == "host" { if (kv($0, "trapped") != "-") { btrap[name, smp] += kv($0, "trapped") }
                 hmaps[name, smp] += num(kv($0, "host_maps")); boots[name, smp]++ }
END {
    r = rounds > 1 ? sprintf(", median of %d rounds", rounds) : ""
    printf "Guest I/O (%s guest, TCG, %s host cores, load %s): iogen %s (unless noted below), %d s per load%s, O_DIRECT, every block verified\n\n", arch, cores, load, engine, secs, r
    printf "%-3s %-9s %3s %-15s %-8s %8s %8s %6s %13s %9s %9s %9s %8s\n", "cpu", "load", "qd", "config", "strategy", "IOPS", "MB/s", "x emu", "p50/p99 us", "traps/IO", "dbells/IO", "calls/IO", "irqs/IO"
    # No result at all (every configuration n/a): the loads and queue
    # depths asked for, so that the n/a lines are still printed.
    if (torder == "") { torder = loads; gsub(/,/, " ", torder) }
    if (dorder == "") { dorder = qds; gsub(/,/, " ", dorder) }
    ns = split(sorder, S, " "); nt = split(torder, T, " "); nd = split(dorder, D, " "); nc = split(order, C, " ")
    for (a = 1; a <= ns; a++) for (b = 1; b <= nt; b++) for (e = 1; e <= nd; e++) {
        ekey = "emu" SUBSEP S[a] SUBSEP T[b] SUBSEP D[e]
        ref = nres[ekey] ? median(iv, ekey, nres[ekey]) : 0
        for (g = 1; g <= nc; g++) {
            c = C[g]; key = c SUBSEP S[a] SUBSEP T[b] SUBSEP D[e]
            if (!nres[key]) {
                if ((c, S[a]) in na && !((c, S[a]) in nasaid)) {
                    nasaid[c, S[a]] = 1
                    why = na[c, S[a]]
                    if (length(why) > 90) { notes = notes sprintf("  %s %s CPUs n/a: %s\n", c, S[a], why); why = substr(why, 1, 87) "..." }
                    printf "%-3s %-9s %3s %-15s %-8s %s\n", S[a], T[b], D[e], c, "n/a", why
                }
                continue
            }
            if (nna[c, S[a]]) notes = notes sprintf("  %s %s CPUs: n/a in %d round(s): %s\n", c, S[a], nna[c, S[a]], na[c, S[a]])
            iops = median(iv, key, nres[key])
            tr = (key in nload) ? per(ltrap[key], ios[key]) : "-"
            db = (c == "emu") ? "-" : ((key, "doorbells") in cnt && cnt[key, "doorbells"] != "-") ? per(cnt[key, "doorbells"], ios[key]) : "0*"
            if (db == "0*") anystar = 1
            ir = ((key, "irqs") in cnt && cnt[key, "irqs"] != "-") ? per(cnt[key, "irqs"], ios[key]) : "-"
            hc = (key in ncalls) ? per(lcalls[key], ios[key]) : "-"
            printf "%-3s %-9s %3s %-15s %-8s %8.0f %8.1f %6s %13s %9s %9s %9s %8s\n", S[a], T[b], D[e], c,
                (c == "emu") ? "(QEMU)" : strat[c], iops, median(mv, key, nres[key]),
                (ref > 0 ? sprintf("%.2f", iops / ref) : "-"),
                median(p50, key, nres[key]) "/" median(p99, key, nres[key]), tr, db, hc, ir
            # Rounds run interleaved: round k of each is paired with
            # round k of emu, so the spread of the ratio shows.
            if (c != "emu" && nres[key] > 1 && nres[key] == nres[ekey]) {
                line = ""; above = 0
                for (k = 1; k <= nres[key]; k++) {
                    x = iv[ekey, k] > 0 ? iv[key, k] / iv[ekey, k] : 0
                    line = line sprintf(" %.2f", x); above += x >= 1.0
                }
                spread = spread sprintf("%-3s %-9s %3s %-15s%s  (%d of %d at or above 1.0)\n", S[a], T[b], D[e], c, line, above, nres[key])
            }
            if (c != "emu") {
                nk = split("maps unmaps batches cache_hits cache_misses evictions refusals coalesced bytes_bounced dma_maps failures", keys, " ")
                line = ""
                for (k = 1; k <= nk; k++)
                    if ((key, keys[k]) in cnt && cnt[key, keys[k]] != "-" && cnt[key, keys[k]] != 0)
                        line = line (keys[k] == "failures" ? sprintf(", failures %d (count)", cnt[key, "failures"]) : sprintf(", %s %s", keys[k], per(cnt[key, keys[k]], ios[key])))
                if (line != "") det = det sprintf("  %-15s %s CPUs %-9s qd %-3s %s\n", c, S[a], T[b], D[e], substr(line, 3))
            }
        }
    }
    for (g = 1; g <= nc; g++) for (a = 1; a <= ns; a++) {
        c = C[g]
        if ((c, S[a]) in queues) qn = qn sprintf("  %-15s %s CPUs: %s\n", c, S[a], queues[c, S[a]])
        if (c != "emu" && boots[c, S[a]]) bt = bt sprintf("  %-15s %s CPUs: %s traps per I/O over whole boots (probing included), macvfiod DMA maps per boot %s\n",
            c, S[a], per(btrap[c, S[a]], bootios[c, S[a]]), hmaps[c, S[a]] / boots[c, S[a]])
        if (boots[c, S[a]] && bootk[c] != "" && bootk[c] != "-") bt = bt sprintf("  %-15s %s CPUs: guest RAM/engine/qd[/buffer pool]: %s\n", c, S[a], bootk[c])
        if ((c, S[a]) in cache) bt = bt sprintf("  %-15s %s CPUs: cache after the loads: %s\n", c, S[a], cache[c, S[a]])
        if (ign[c] != "" && ign[c] != "-" && !(c in ignsaid)) { ignsaid[c] = 1
            notes = notes sprintf("  %s: the module ignored %s= (unknown to it); it ran the companion'"'"'s strategy, %s\n", c, ign[c], strat[c]) }
    }
    # on-demand against window: od-X (and od-64m-X) next to win-X, per vCPU
    # count and queue depth, each load the two have in common
    for (g = 1; g <= nc; g++) {
        c = C[g]
        if (substr(c, 1, 3) != "od-") continue
        w = c; sub(/^od-(64m-)?/, "win-", w)
        if (!(w in seen)) continue
        for (a = 1; a <= ns; a++) for (e = 1; e <= nd; e++) {
            line = ""; mp = ""
            for (b = 1; b <= nt; b++) {
                key = c SUBSEP S[a] SUBSEP T[b] SUBSEP D[e]; wkey = w SUBSEP S[a] SUBSEP T[b] SUBSEP D[e]
                if (!nres[key] || !nres[wkey]) continue
                x = median(iv, wkey, nres[wkey])
                line = line sprintf(", %s %.2fx", T[b], x ? median(iv, key, nres[key]) / x : 0)
                mp = mp (mp == "" ? "" : "/") (((key, "maps") in cnt && cnt[key, "maps"] != "-") ? per(cnt[key, "maps"], ios[key]) : "-")
            }
            if (line != "") rat = rat sprintf("  %-15s vs %-12s %s CPUs qd %-3s %s; host MAPs per I/O %s\n", c, w, S[a], D[e], substr(line, 3), mp)
        }
    }
    if (spread != "") { print ""; print "x emu in each round (IOPS over emulated NVMe'"'"'s in the same round), to show the spread:"; printf "%s", spread }
    if (rat != "") { print ""; print "on-demand / window IOPS, same guest size and load (issue #13 goal >= 0.9x, MAPs/I/O <= 0.05):"; printf "%s", rat }
    print ""
    print "MB/s: 10^6 bytes/s. x emu: IOPS over emulated NVMe'"'"'s in the same row group. p50/p99: iogen'"'"'s submit-to-completion latency."
    print "traps/IO: BAR accesses macvfiod served (NVMe doorbells) during the load, per I/O. dbells/IO: apple-dma-pci"
    print "doorbells rung by macvfio per I/O (debugfs)" (anystar ? "; 0*: the module has no doorbells counter." : ".") " calls/IO: host DMA map and unmap calls"
    print "apple-dma-pci made for them per I/O (QOM map-calls + unmap-calls). irqs/IO: the nvme I/O queues'"'"' interrupts per I/O."
    if (qn != "") { print "Queues the stock nvme driver set up (blk-mq hardware queues, MSI-X vectors):"; printf "%s", qn }
    if (bt != "") { print "Per boot:"; printf "%s", bt }
    if (det != "") { print "macvfio debugfs counters per I/O (nonzero):"; printf "%s", det }
    if (notes != "") { print "Notes:"; printf "%s", notes }
}' "$1"
}
if [ -n "$REPORT" ]; then
    [ -f "$REPORT" ] || die "--report $REPORT: no such file"
    report "$REPORT"
    exit 0
fi

if [ "$LIST" = 1 ]; then
    printf '%-15s %-18s %-26s %-22s %-9s %s\n' NAME MACVFIOD VFIO-APPLE-PCI "MODPROBE MACVFIO" EXPECT BOOT
    for c in "${CONFIGS[@]}"; do
        f2=$(field "$c" 2); f3=$(field "$c" 3); f4=$(field "$c" 4); f5=$(field "$c" 5); f6=$(field "$c" 6)
        printf '%-15s %-18s %-26s %-22s %-9s %s\n' "$(field "$c" 1)" "${f2:--}" "${f3:--}" "${f4:--}" "${f5:--}" "${f6:--}"
    done
    exit 0
fi

RUNLIST=()
if [ ${#SELECT[@]} -eq 0 ]; then
    RUNLIST=("${CONFIGS[@]}")
else
    for s in "${SELECT[@]}"; do
        found=""
        for c in "${CONFIGS[@]}"; do [ "${c%%|*}" = "$s" ] && found="$c"; done
        [ -n "$found" ] || die "no configuration '$s' (see --list)"
        RUNLIST+=("$found")
    done
fi
# The BOOT fields, before any boot: a typo must not cost a run.
for c in "${RUNLIST[@]}"; do
    for kvp in $(field "$c" 6); do
        case "$kvp" in
        mem=[0-9]*) ;;
        engine=aio|engine=sync) ;;
        qd=*)
            x=${kvp#qd=}
            [ -n "${x//[,:]/}" ] || die "$(field "$c" 1): $kvp: no value"
            for x in ${x//[,:]/ }; do
                case "$x" in *[!0-9]*|0) die "$(field "$c" 1): $kvp: positive integers separated by commas" ;; esac
            done ;;
        pool=*) case "${kvp#pool=}" in ''|*[!0-9]*) die "$(field "$c" 1): $kvp: MiB, an integer" ;; esac ;;
        *) die "$(field "$c" 1): unknown BOOT setting '$kvp' (mem=, engine=aio|sync, qd=, pool=)" ;;
        esac
    done
done

QEMU_BIN="$QEMU_DIR/qemu-system-$ARCH"
# Loads per boot (times each configuration's queue depths), and whether one
# writes (the emulated drive is then writable).
NLOADS=$(wc -w <<<"${LOADS//,/ }")
WRITES=""
case ",$LOADS," in *,randwrite,*) WRITES=1 ;; esac
# x86_64 keeps the directory it always had; another architecture gets its own.
OUT="$E2E_OUT/bench-io"
[ "$ARCH" = x86_64 ] || OUT="$E2E_OUT/bench-io-$ARCH"
LOGS="$E2E_OUT/logs"
DISK="$OUT/disk-${DISK_MB}M.img"
# Own directories for everything built here: other e2e runs in this tree
# rebuild build/e2e/guest-ARCH and modbuild-* at any time.
BASE_IMG="$OUT/guest-base"
IMG="$OUT/guest"
KBUILD="$OUT/modbuild"
RESFILE="$OUT/results.txt"

skip() { echo "guest I/O benchmark skipped: $*"; exit 0; }

RUN="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-bench-io.XXXXXX")"
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    if [ -n "$DAEMON_PID" ]; then
        kill "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

# --- what it needs (built when missing, like the e2e suites) ---------------------

has_vfio_apple() { "$QEMU_BIN" -device help 2>/dev/null | grep -q '"vfio-apple-pci"'; }
if [ "$BUILD" = 1 ]; then
    "$REPO/scripts/install-deps-e2e.sh" >/dev/null || skip "scripts/install-deps-e2e.sh failed"
    if ! has_vfio_apple; then
        msg "no patched QEMU in $QEMU_DIR: running qemu/build.sh"
        bash "$REPO/qemu/build.sh" >&2 || skip "qemu/build.sh failed"
    fi
    if [ ! -x "$MACVFIOD" ] || [ ! -x "$MACVFIO_TOOL" ]; then
        "$REPO/scripts/meson-setup.sh" "$HOST_BUILD"
        ninja -C "$HOST_BUILD" daemon/macvfiod tools/macvfio >/dev/null || skip "cannot build macvfiod"
    fi
fi
has_vfio_apple || skip "no QEMU with vfio-apple-pci at $QEMU_BIN (bash qemu/build.sh)"
[ -x "$MACVFIOD" ] || skip "no $MACVFIOD (make host)"
module_toolchain "$ARCH" || skip "no $MODULE_CC for the guest module (scripts/install-deps-e2e.sh)"
command -v "$HELPER_CC" >/dev/null || skip "no $HELPER_CC"
mkdir -p "$OUT" "$LOGS"

t0=$(now)
"$HELPER_CC" -static -O2 -Wall -Wextra -Werror -pthread -o "$OUT/iogen" \
    "$E2E_DIR/helpers/iogen.c" || skip "cannot build iogen"
# Always (a few seconds): the benchmark measures the module and scripts of
# this tree. Without macvfio.ko only the emu reference can run.
"$E2E_DIR/build-guest.sh" "$ARCH" "$BASE_IMG" >"$OUT/build.log" 2>&1 ||
    skip "cannot build the guest image (see $OUT/build.log)"
KO_ERR=""
image_args=(--file "$OUT/iogen:/bin/iogen")
# macvfio.ko from every source of guest/ (the module is growing files; its
# Kbuild lists them), like lib.sh's build_kmod but in a directory of our own.
build_macvfio() {
    local kdir
    kdir=$("$E2E_DIR/guest-headers.sh" "$BASE_IMG" | tail -n 1) || return 1
    rm -rf "$KBUILD"
    mkdir -p "$KBUILD/include/macvfio"
    cp "$REPO"/guest/*.[ch] "$REPO/guest/Kbuild" "$KBUILD/"
    cp "$REPO/include/macvfio/guest_proto.h" "$KBUILD/include/macvfio/"
    make -s -C "$kdir" M="$KBUILD" ${MODULE_MAKE[@]+"${MODULE_MAKE[@]}"} modules 2>&1 |
        grep -v '^Skipping BTF generation' || true
    [ -f "$KBUILD/macvfio.ko" ]
}
if build_macvfio >>"$OUT/build.log" 2>&1; then
    image_args+=(--module "$KBUILD/macvfio.ko")
else
    KO_ERR="guest/macvfio.ko did not build: $(grep -m1 -i 'error' "$OUT/build.log" || tail -n 1 "$OUT/build.log")"
    msg "$KO_ERR (see $OUT/build.log)"
fi
"$E2E_DIR/build-guest.sh" "$ARCH" "$IMG" "${image_args[@]}" >>"$OUT/build.log" 2>&1 ||
    skip "cannot build the benchmark image (see $OUT/build.log)"
# The backing file: real data, every 4 KiB block starting with its offset.
# Filled on the host: with another guest architecture that takes an iogen
# of the host's own.
if [ ! -f "$DISK" ] || [ "$(stat -c %s "$DISK")" != $((DISK_MB << 20)) ]; then
    rm -f "$OUT"/disk-*.img
    filler="$OUT/iogen"
    if [ "$ARCH" != "$(uname -m)" ]; then
        filler="$OUT/iogen-host"
        gcc -O2 -Wall -Wextra -Werror -pthread -o "$filler" "$E2E_DIR/helpers/iogen.c" ||
            skip "cannot build iogen for the host"
    fi
    "$filler" fill "$DISK.tmp" "${DISK_MB}M" 20261125 ||
        skip "cannot write the backing file $DISK"
    mv "$DISK.tmp" "$DISK"
fi
msg "iogen, macvfio.ko, image and a ${DISK_MB} MiB backing file ready in $(elapsed "$t0" "$(now)")s"

# --- one configuration -----------------------------------------------------------

start_daemon() {  # start_daemon NAME OPTIONS...: sim:nvme on $DISK; sets SOCK
    local name="$1" log="$LOGS/macvfiod-bench-io-$1.log"
    shift
    SOCK="$RUN/$name.sock"
    # shellcheck disable=SC2068  # options, split on purpose
    daemon_start "$SOCK" "$log" --quiet --device "sim:nvme,file=$DISK" $@ 2>/dev/null || {
        WHY="macvfiod${*:+ $*} did not start: $(tail -n 1 "$log")"
        return 1
    }
}

host_stats() {  # host_stats SOCK: "trapped dma_maps" of device 0 (reads + writes)
    [ -x "$MACVFIO_TOOL" ] || return 1
    daemon_stats "$1" trapped_reads+trapped_writes dma_maps 2>/dev/null
}

# companion_calls: apple-dma-pci's host DMA calls so far (QOM map-calls +
# unmap-calls of the companion of vfio-apple-pci id=va0, from the boot's
# qom_watch), or "-"
companion_calls() {
    local maps unmaps
    read -r maps unmaps <<<"$(qom_watch_read)"
    if [[ "$maps" =~ ^[0-9]+$ && "${unmaps:-}" =~ ^[0-9]+$ ]]; then
        echo $((maps + unmaps))
    else
        echo -
    fi
}

# run_config CONFIG SMP: one boot; appends to $RESFILE
run_config() {
    local c="$1" smp="$2" name dopts props mparams expect log qlog args pid rc trapped maps t tm
    local seen=0 begin_tr=0 begin_calls=- calls=- qc marks m mkind mtest mqd tag
    local qmp
    qmp="$RUN/qmp-$(field "$c" 1)-$smp"
    name=$(field "$c" 1); dopts=$(field "$c" 2); props=$(field "$c" 3)
    mparams=$(field "$c" 4); expect=$(field "$c" 5)
    local boot mem=512M engine="$ENGINE" qd="$QD" pool=0 kvp nruns
    boot=$(field "$c" 6)
    for kvp in $boot; do
        case "$kvp" in
        mem=*) mem=${kvp#mem=} ;;
        engine=*) engine=${kvp#engine=} ;;
        qd=*) qd=${kvp#qd=}; qd=${qd//:/,} ;;
        pool=*) pool=${kvp#pool=} ;;
        esac
    done
    tag="$name smp=$smp"
    log="$LOGS/bench-io-$name-smp$smp-$ARCH.log"
    qlog="${log%.log}.qemu.log"
    WHY=""
    # Loads in this boot (each load at each of its queue depths).
    nruns=$(( NLOADS * $(wc -w <<<"${qd//,/ }") ))
    local bootk="$mem/$engine/qd${qd//,/:}"
    [ "$pool" = 0 ] || bootk="$bootk/pool${pool}M"
    args="secs=$SECS,qd=${qd//,/:},loads=${LOADS//,/:},engine=$engine,verify=1,pool=$pool,boot=$bootk"
    local qemu_args=()
    if [ "$name" = emu ]; then
        args="target=emu,$args"
        # Read-only unless a load writes (the writes keep the pattern).
        local ro=,readonly=on
        [ -z "$WRITES" ] || ro=""
        # shellcheck disable=SC2054  # commas are QEMU's
        qemu_args=(-drive "file=$DISK,if=none,id=d0,format=raw$ro"
                   -device nvme,drive=d0,serial=emu)
    else
        if [ -n "$KO_ERR" ]; then echo "$tag na $KO_ERR" >> "$RESFILE"; return 0; fi
        args="target=pt,$args${mparams:+,modparams=${mparams// /:}}${expect:+,expect=$expect}"
        # shellcheck disable=SC2086  # options, split on purpose
        start_daemon "$name" $dopts || { echo "$tag na $WHY" >> "$RESFILE"; return 0; }
        qemu_args=(-device "vfio-apple-pci,id=va0,socket=$SOCK${props:+,$props}"
                   -qmp "unix:$qmp,server=on,wait=off"
                   -trace enable=vfio_apple_dma_strategy)
    fi
    if [ "$name" = emu ]; then
        msg "--- $name, $smp vCPUs: QEMU's emulated nvme on the same file (no macvfiod, no macvfio)"
    else
        msg "--- $name, $smp vCPUs: macvfiod ${dopts:-(defaults)}; vfio-apple-pci ${props:-(defaults)}; modprobe macvfio ${mparams:-(no parameters)}; $mem guest, $engine qd=$qd$([ "$pool" = 0 ] || echo ", ${pool} MiB buffer pool")"
    fi
    QEMU="$QEMU_BIN" "$E2E_DIR/run-guest.sh" -a "$ARCH" -i "$IMG" -t /tests/bench-io.sh \
        -n "bench-io-$name" -T $((nruns * (SECS + 6) + 420)) --smp "$smp" -m "$mem" --log "$log" \
        --append "macvfio.modules=none macvfio.args=$args" -- "${qemu_args[@]}" \
        >"$RUN/$name.out" 2>&1 &
    pid=$!
    [ "$name" = emu ] ||
        qom_watch_start "$qmp" /machine/peripheral/va0/apple-dma-pci map-calls unmap-calls
    trapped=""; maps=""
    # take_marks COUNT CALLS: the marks the guest printed since the last
    # look get the trapped COUNT and companion CALLS just read (within a
    # second of each: the guest idles).
    take_marks() {
        local d=-
        mapfile -t marks < <(tr -d '\r' < "$log" 2>/dev/null |
            grep -a -o 'BENCH-IO mark [a-z]* test=[a-z]* qd=[0-9]*' || true)
        for ((m = seen; m < ${#marks[@]}; m++)); do
            read -r _ _ mkind mtest mqd <<<"${marks[m]}"
            if [ "$mkind" = begin ]; then
                begin_tr=$1; begin_calls=$2
            else
                [ "$2" = - ] || [ "$begin_calls" = - ] || d=$(($2 - begin_calls))
                echo "$tag load $mtest $mqd trapped=$(($1 - begin_tr)) calls=$d" >> "$RESFILE"
            fi
        done
        seen=${#marks[@]}
    }
    while kill -0 "$pid" 2>/dev/null; do
        if [ -n "$DAEMON_PID" ] && read -r t tm < <(host_stats "$SOCK"); then
            trapped=$t; maps=$tm
            # the last good answer stands (QEMU is gone after the last mark)
            qc=$(companion_calls)
            [ "$qc" = - ] || calls=$qc
            take_marks "$t" "$calls"
        fi
        sleep 0.5
    done
    rc=0
    wait "$pid" || rc=$?
    qom_watch_stop
    if [ -n "$DAEMON_PID" ] && read -r t tm < <(host_stats "$SOCK"); then
        [ "${t:-0}" -ge "${trapped:-0}" ] && { trapped=$t; maps=$tm; }
        take_marks "$trapped" "$calls"   # the last load's end, if the guest was quick
    fi
    daemon_stop
    local qstrat
    qstrat=$(grep -o 'vfio_apple_dma_strategy .*' "$qlog" 2>/dev/null | head -n 1 |
        grep -o -w -e window -e pool -e ondemand | head -n 1 || true)
    tr -d '\r' < "$log" | grep '^BENCH-IO ' | grep -v '^BENCH-IO mark ' |
        sed "s/^BENCH-IO /$tag /" >> "$RESFILE" || true
    echo "$tag host trapped=${trapped:--} host_maps=${maps:--} qemu_strategy=${qstrat:--}" >> "$RESFILE"
    if [ "$rc" != 0 ]; then
        WHY=$(grep -o "FAIL bench-io-$name.*" "$RUN/$name.out" | head -n 1 | sed "s/^FAIL bench-io-$name ([^)]*) after [0-9.]*s: //")
        grep -q '^MACVFIO-E2E: FAIL' <(tr -d '\r' < "$log") &&
            WHY=$(tr -d '\r' < "$log" | grep -m1 '^MACVFIO-E2E: FAIL' | sed "s/^MACVFIO-E2E: FAIL bench-io-$name: //")
        if grep -q 'QEMU exited with status' <<<"$WHY" && [ -s "$qlog" ]; then
            WHY="QEMU: $(grep -v '^vfio_apple' "$qlog" | tail -n 1 | sed 's/^.*qemu-system-[a-z0-9_]*: //; s/^-device [^ ]*: //')"
        fi
        echo "$tag na ${WHY:-failed (see $log)}" >> "$RESFILE"
        msg "$name: n/a: ${WHY:-failed}"
        sed 's/^/  | /' "$RUN/$name.out" | tail -n 8 >&2
    fi
}

# --- run and report --------------------------------------------------------------

: > "$RESFILE"
{
    echo "# bench/guest-io.sh $(date -u +%FT%TZ) host $(uname -n) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# secs=$SECS qd=$QD loads=$LOADS engine=$ENGINE smp=$SMP disk=${DISK_MB}MiB rounds=$ROUNDS arch=$ARCH qemu=$QEMU_BIN"
} >> "$RESFILE"
T0=$(now)
for ((round = 1; round <= ROUNDS; round++)); do
    [ "$ROUNDS" = 1 ] || msg "=== round $round of $ROUNDS"
    for smp in ${SMP//,/ }; do
        for c in "${RUNLIST[@]}"; do
            run_config "$c" "$smp"
        done
    done
done
T1=$(now)

report "$RESFILE"
echo "($(elapsed "$T0" "$T1") s; raw lines: $RESFILE; logs: $LOGS/bench-io-*)"
