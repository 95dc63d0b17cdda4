#!/bin/bash
# Compile-check, on this Linux machine, the hw/vfio and hw/vfio-apple files
# that a Darwin (macOS) build of the patched QEMU compiles.
#
#   qemu/check-darwin.sh [SRC [OBJ]]
#
# SRC is the patched QEMU source (default: $MACVFIO_BUILD_DIR/qemu-src/tree),
# OBJ a build directory configured from it, with compile_commands.json
# (default: $MACVFIO_BUILD_DIR/qemu-src/obj; qemu/build.sh leaves both).
#
# For each file, the compiler command of the Linux build is re-run with
# -fsyntax-only, changed the way a Darwin build differs:
#   - config-host.h with CONFIG_LINUX and the Linux-only host features
#     (eventfd, memfd, inotify, ...) undefined and CONFIG_DARWIN defined;
#     per target, config-target.h without CONFIG_KVM and config-devices.h
#     without the Linux-only devices (IOMMUFD, VFIO_USER, VFIO_IGD, ...);
#   - the include path of a Darwin build: not linux-headers/, but
#     include/compat/darwin/ (the VFIO uapi header and the <linux/types.h>
#     and <linux/ioctl.h> it needs, which Darwin lacks);
#   - a file that QEMU includes and that resolves to a Linux kernel header
#     (/usr/include/linux, asm, or linux-headers/ other than linux/vfio.h
#     through the compat directory) is an error: Darwin has none.
#
# What it proves: the files compile without CONFIG_LINUX, with only the
# compat headers standing in for Linux's, and the Kconfig/meson file list of
# a Darwin build is the one checked (a hw/vfio file this script does not know
# is an error).  What it does not prove: it compiles against glibc, not
# Darwin's libc and SDK, with GCC, not Apple clang; it does not link
# (a function a Darwin build lacks is not found) and does not run; Kconfig
# is not evaluated for Darwin (the config-devices.h edits mirror it by hand).
#
# Prints one line per file and "darwin-check: N files, N failed"; exit
# status 0 only if every file compiled.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC="$(realpath "${1:-$BUILD_DIR/qemu-src/tree}")"
OBJ="$(realpath "${2:-$BUILD_DIR/qemu-src/obj}")"
[ -f "$OBJ/compile_commands.json" ] ||
    die "$OBJ/compile_commands.json: no configured QEMU build (run qemu/build.sh)"
[ -d "$SRC/include/compat/darwin" ] ||
    die "$SRC has no include/compat/darwin: not a tree with the Darwin patch"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/macvfio-darwin-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

python3 - "$SRC" "$OBJ" "$WORK" <<'PY'
import json, os, re, shlex, subprocess, sys

src, obj, work = sys.argv[1:4]

# What a Darwin build compiles (hw/vfio/meson.build and the Kconfig of
# hw/vfio, hw/vfio-user, backends with LINUX off and DARWIN on) ...
DARWIN_SPECIFIC = ['hw/vfio/listener.c', 'hw/vfio/container.c',
                   'hw/vfio/helpers.c', 'hw/vfio/pci-quirks.c',
                   'hw/vfio/pci.c']
DARWIN_SYSTEM = ['hw/vfio/cpr.c', 'hw/vfio/device.c', 'hw/vfio/migration.c',
                 'hw/vfio/migration-multifd.c', 'hw/vfio/region.c',
                 'hw/vfio/display.c', 'hw/vfio/iommufd-stubs.c']
# ... and what it does not: kernel VFIO, iommufd, vfio-user, s390, IGD
LINUX_ONLY = ['hw/vfio/container-legacy.c', 'hw/vfio/cpr-legacy.c',
              'hw/vfio/spapr.c', 'hw/vfio/iommufd.c',
              'hw/vfio/cpr-iommufd.c', 'hw/vfio/ccw.c', 'hw/vfio/ap.c',
              'hw/vfio/igd.c']
LINUX_ONLY_DEVICES = ['CONFIG_IOMMUFD', 'CONFIG_VFIO_USER',
                      'CONFIG_VFIO_USER_SERVER', 'CONFIG_VFIO_IGD',
                      'CONFIG_VFIO_CCW', 'CONFIG_VFIO_AP']
LINUX_ONLY_HOST = ['CONFIG_LINUX', 'CONFIG_ACCEPT4', 'CONFIG_AF_VSOCK',
                   'CONFIG_BLKZONED', 'CONFIG_CLOCK_ADJTIME',
                   'CONFIG_CLOSE_RANGE', 'CONFIG_DUP3', 'CONFIG_EPOLL',
                   'CONFIG_EPOLL_CREATE1', 'CONFIG_EVENTFD',
                   'CONFIG_FALLOCATE', 'CONFIG_FALLOCATE_PUNCH_HOLE',
                   'CONFIG_FALLOCATE_ZERO_RANGE', 'CONFIG_FIEMAP',
                   'CONFIG_FSFREEZE', 'CONFIG_FSTRIM', 'CONFIG_GETAUXVAL',
                   'CONFIG_GETCPU', 'CONFIG_GETRANDOM', 'CONFIG_GETTID',
                   'CONFIG_INOTIFY', 'CONFIG_INOTIFY1', 'CONFIG_KVM_TARGETS',
                   'CONFIG_LINUX_MAGIC_H', 'CONFIG_LINUX_AIO',
                   'CONFIG_LINUX_IO_URING', 'CONFIG_MEMALIGN',
                   'CONFIG_MEMFD', 'CONFIG_OPEN_BY_HANDLE',
                   'CONFIG_POSIX_FALLOCATE', 'CONFIG_PPOLL',
                   'CONFIG_PRCTL_PR_SET_TIMERSLACK',
                   'CONFIG_PTHREAD_AFFINITY_NP',
                   'CONFIG_PTHREAD_SETNAME_NP_W_TID', 'CONFIG_RTNETLINK',
                   'CONFIG_SENDFILE', 'CONFIG_SETNS', 'CONFIG_SIGNALFD',
                   'CONFIG_SPLICE', 'CONFIG_SYNCFS', 'CONFIG_SYNC_FILE_RANGE',
                   'CONFIG_SYSMACROS', 'CONFIG_TIMERFD', 'CONFIG_VALLOC',
                   'CONFIG_VHOST_KERNEL', 'CONFIG_VHOST_VDPA']

def undef(text, names):
    for n in names:
        text = re.sub(r'^#define %s\b.*$' % n, '#undef %s' % n, text,
                      flags=re.M)
    return text

def write(name, text):
    with open(os.path.join(work, name), 'w') as f:
        f.write(text)

def read(name):
    with open(os.path.join(obj, name)) as f:
        return f.read()

write('config-host.h', undef(read('config-host.h'), LINUX_ONLY_HOST) +
      '\n/* macvfio check-darwin.sh */\n#define CONFIG_DARWIN\n'
      '#define CONFIG_PTHREAD_SETNAME_NP_WO_TID\n')

entries = json.load(open(os.path.join(obj, 'compile_commands.json')))
def abspath(e):
    return os.path.normpath(os.path.join(e['directory'], e['file']))
# The source OBJ was configured from; its paths in the commands become SRC
objsrc = next(abspath(e)[:-len('/hw/vfio/device.c')] for e in entries
              if abspath(e).endswith('/hw/vfio/device.c'))
def rel(e):
    return os.path.relpath(abspath(e), objsrc)

# Every hw/vfio and hw/vfio-apple file must be classified
known = set(DARWIN_SPECIFIC + DARWIN_SYSTEM + LINUX_ONLY)
apple = sorted('hw/vfio-apple/' + f
               for f in os.listdir(os.path.join(src, 'hw/vfio-apple'))
               if f.endswith('.c')) \
    if os.path.isdir(os.path.join(src, 'hw/vfio-apple')) else []
unknown = sorted({rel(e) for e in entries
                  if re.match(r'hw/vfio/[^/]+\.c$', rel(e))} - known)
unknown += sorted(f for f in os.listdir(os.path.join(src, 'hw/vfio'))
                  if f.endswith('.c') and 'hw/vfio/' + f not in known
                  and 'hw/vfio/' + f not in unknown)
if unknown:
    print('darwin-check: hw/vfio files this check does not know (Darwin or '
          'Linux only?): ' + ' '.join(unknown))
    sys.exit(1)

# (file, target or None, reference entry)
by_file = {}
for e in entries:
    m = re.search(r'-DCONFIG_TARGET="([^"]+)-config-target\.h"',
                  e['command'])
    by_file[(rel(e), m.group(1) if m else None)] = e
targets = sorted({t for (_, t) in by_file if t and
                  (('hw/vfio/pci.c', t) in by_file)})
jobs = []
for f in DARWIN_SYSTEM + apple:
    ref = by_file.get((f, None)) or by_file[('hw/vfio/device.c', None)]
    jobs.append((f, None, ref))
for t in targets:
    write(t + '-config-target.h',
          undef(read(t + '-config-target.h'), ['CONFIG_KVM']))
    write(t + '-config-devices.h',
          undef(read(t + '-config-devices.h'), LINUX_ONLY_DEVICES))
    for f in DARWIN_SPECIFIC:
        ref = by_file.get((f, t)) or by_file[('hw/vfio/pci.c', t)]
        jobs.append((f, t, ref))

def command(ref, f):
    args = shlex.split(ref['command'])
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ('-MQ', '-MF', '-o', '-c'):
            i += 2
            continue
        if a == '-MD':
            i += 1
            continue
        if a == '-isystem' and args[i + 1].endswith('linux-headers'):
            i += 2          # Linux builds only (meson.build)
            continue
        if a.startswith('-isystem') and a.endswith('linux-headers'):
            i += 1
            continue
        out.append(a.replace(objsrc, src) if objsrc != src else a)
        i += 1
    # config headers first; then the include path of a Darwin build
    return [out[0], '-iquote', work] + out[1:] + \
        ['-isystem', os.path.join(src, 'include/compat/darwin')]

compat = os.path.join(src, 'include/compat/darwin')
mine = (src + '/', obj + '/', work + '/')

def kernel_includes(cmd, cwd):
    """(file, header) for each active #include <linux/...> or <asm...>
    of a QEMU file (outside the compat directory) that the compat
    directory does not provide"""
    p = subprocess.run(cmd + ['-E', '-dI'], cwd=cwd, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    bad, cur = set(), None
    for line in p.stdout.splitlines():
        m = re.match(r'^# \d+ "([^"]+)"', line)
        if m:
            cur = os.path.normpath(os.path.join(cwd, m.group(1)))
            continue
        m = re.match(r'^#\s*include\s*[<"]((linux|asm[^/]*)/[^>"]+)[>"]',
                     line)
        if not m or not cur or not cur.startswith(mine) or \
                cur.startswith(compat + '/'):
            continue
        if not os.path.exists(os.path.join(compat, m.group(1))):
            bad.add('%s includes <%s>, which Darwin does not have' %
                    (os.path.relpath(cur, src), m.group(1)))
    return sorted(bad)

failed = 0
for f, t, ref in jobs:
    cmd = command(ref, f)
    p = subprocess.run(cmd + ['-fsyntax-only', os.path.join(src, f)],
                       cwd=ref['directory'], stderr=subprocess.PIPE,
                       stdout=subprocess.DEVNULL, text=True)
    bad = kernel_includes(cmd + [os.path.join(src, f)], ref['directory'])
    name = f + (' (%s)' % t if t else '')
    if p.returncode or bad:
        failed += 1
        print('FAIL ' + name)
        errors = [l for l in p.stderr.splitlines()
                  if re.match(r'^(In file included from |\s+from |\S+:\d+:)',
                              l)]
        for l in errors[:40] + bad:
            print('  | ' + l)
    else:
        print('ok   ' + name)
print('darwin-check: %d files, %d failed' % (len(jobs), failed))
sys.exit(1 if failed else 0)
PY
