// SPDX-License-Identifier: MIT
/*
 * hostile: a hostile guest for apple-dma-pci (docs/guest-protocol.md).
 * Built on the host with gcc -static for each guest architecture and
 * shipped as /bin/hostile (tests/e2e/tests/hostile.sh runs it).
 *
 *   hostile [--seed N] [--random N] [--regs N] [--dev /sys/bus/pci/devices/X]
 *   hostile --set-master      only turn the companion's bus mastering on
 *
 * Finds the companion (1b36:00e1) in sysfs, enables it, mmaps BAR0
 * (resource0) and runs a table of hostile cases against the registers
 * and the request rings: writes to read-only and reserved registers, bad
 * access sizes, missing rings, STRATEGY, bad ring set-ups, refused
 * doorbells, wrapping batches, bad MAP and UNMAP entries, N random
 * garbage entries from a fixed seed (checked against a model of the live
 * mappings), register garbage, the budget and mapping count exhausted,
 * RESET; then an honest round (ring, MAP of a granule-aligned locked
 * buffer, IOVA in the aperture, UNMAP).  Each case asserts the exact
 * status the protocol specifies (DEV_STATUS, ring STATUS, PROCESSED,
 * entry status, LIVE_MAPPINGS, MAPPED) and prints one line:
 *
 *   PASS <case>: <what was seen>
 *   FAIL <case>: <seen> (expected <expected>)
 *   SKIP <case>: <why>
 *
 * then "hostile: N passed, N failed, N skipped".  Exit status 0 only if
 * nothing failed.  The device never needs to do DMA: ring entries are
 * read and written by the companion (QEMU), MAP targets are only checked
 * to be guest RAM.  Ring memory is a reserved huge page if
 * /proc/sys/vm/nr_hugepages allows one (rings up to 4096 entries), else
 * one locked 4 KiB page (128 entries).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macvfio/guest_proto.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

#define HUGE_SZ (2u << 20)

/* ---- output and counters ------------------------------------------------ */

static unsigned n_pass, n_fail, n_skip;

static void line(const char *verdict, const char *name, const char *fmt, ...)
{
    va_list ap;

    printf("%s %s: ", verdict, name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "hostile: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

static const char *ename(int32_t st)
{
    static char buf[4][24];
    static int n;
    char *b = buf[n++ & 3];

    switch (st) {
    case 0: return "0";
    case 1: return "PENDING(1)";
    case MVF_GP_EPERM: return "-EPERM";
    case MVF_GP_ENOENT: return "-ENOENT";
    case MVF_GP_EIO: return "-EIO";
    case MVF_GP_ENXIO: return "-ENXIO";
    case MVF_GP_E2BIG: return "-E2BIG";
    case MVF_GP_ENOMEM: return "-ENOMEM";
    case MVF_GP_EFAULT: return "-EFAULT";
    case MVF_GP_EBUSY: return "-EBUSY";
    case MVF_GP_ENODEV: return "-ENODEV";
    case MVF_GP_EINVAL: return "-EINVAL";
    case MVF_GP_EMFILE: return "-EMFILE";
    case MVF_GP_ENOSPC: return "-ENOSPC";
    case MVF_GP_ERANGE: return "-ERANGE";
    case MVF_GP_ENODATA: return "-ENODATA";
    case MVF_GP_EOVERFLOW: return "-EOVERFLOW";
    case MVF_GP_EOPNOTSUPP: return "-EOPNOTSUPP";
    }
    snprintf(b, sizeof(buf[0]), "%d", st);
    return b;
}

static int listed_status(int32_t st)
{
    switch (st) {
    case 0: case MVF_GP_EPERM: case MVF_GP_ENOENT: case MVF_GP_EIO:
    case MVF_GP_ENXIO: case MVF_GP_E2BIG: case MVF_GP_ENOMEM:
    case MVF_GP_EFAULT: case MVF_GP_EBUSY: case MVF_GP_ENODEV:
    case MVF_GP_EINVAL: case MVF_GP_EMFILE: case MVF_GP_ENOSPC:
    case MVF_GP_ERANGE: case MVF_GP_ENODATA: case MVF_GP_EOVERFLOW:
    case MVF_GP_EOPNOTSUPP:
        return 1;
    }
    return 0;
}

/* A case: accumulates mismatches, then prints one line. */
struct tcase {
    const char *name;
    char seen[512];
    char bad[768];
    int failed;
};

static void tc_begin(struct tcase *t, const char *name)
{
    t->name = name;
    t->seen[0] = t->bad[0] = 0;
    t->failed = 0;
}

static void tc_app(char *buf, size_t sz, const char *fmt, va_list ap)
{
    size_t l = strlen(buf);

    if (l + 3 >= sz)
        return;
    if (l)
        buf[l++] = ';', buf[l++] = ' ', buf[l] = 0;
    vsnprintf(buf + l, sz - l, fmt, ap);
}

/* While set, checks that pass add nothing to the case's line (batches) */
static int quiet;

static void tc_note(struct tcase *t, const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;

    va_start(ap, fmt);
    tc_app(t->seen, sizeof(t->seen), fmt, ap);
    va_end(ap);
}

/* Records "what seen" and, if it differs, "what (expected exp)". */
static void tc_st(struct tcase *t, const char *what, int32_t seen, int32_t exp)
{
    if (seen == exp) {
        tc_note(t, "%s %s", what, ename(seen));
    } else {
        char b[160];

        snprintf(b, sizeof(b), "%s %s (expected %s)", what, ename(seen),
                 ename(exp));
        t->failed = 1;
        size_t l = strlen(t->bad);
        if (l + 3 < sizeof(t->bad))
            snprintf(t->bad + l, sizeof(t->bad) - l, "%s%s", l ? "; " : "", b);
    }
}

static void tc_u(struct tcase *t, const char *what, uint64_t seen, uint64_t exp)
{
    if (seen == exp) {
        tc_note(t, "%s 0x%" PRIx64, what, seen);
    } else {
        size_t l = strlen(t->bad);

        t->failed = 1;
        if (l + 3 < sizeof(t->bad))
            snprintf(t->bad + l, sizeof(t->bad) - l,
                     "%s%s 0x%" PRIx64 " (expected 0x%" PRIx64 ")",
                     l ? "; " : "", what, seen, exp);
    }
}

static void tc_true(struct tcase *t, int ok, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (ok) {
        if (!quiet)
            tc_app(t->seen, sizeof(t->seen), fmt, ap);
    } else {
        t->failed = 1;
        tc_app(t->bad, sizeof(t->bad), fmt, ap);
    }
    va_end(ap);
}

static void tc_end(struct tcase *t)
{
    if (t->failed) {
        n_fail++;
        line("FAIL", t->name, "%s%s%s", t->bad, t->seen[0] ? " | ok: " : "",
             t->seen);
    } else {
        n_pass++;
        line("PASS", t->name, "%s", t->seen);
    }
}

static void skip(const char *name, const char *why)
{
    n_skip++;
    line("SKIP", name, "%s", why);
}

/* ---- BAR0 ------------------------------------------------------------------ */

static volatile uint8_t *bar;

static uint32_t rd32(uint32_t off) { return *(volatile uint32_t *)(bar + off); }
static void wr32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(bar + off) = v; }
static uint8_t rd8(uint32_t off) { return *(volatile uint8_t *)(bar + off); }
static void wr8(uint32_t off, uint8_t v) { *(volatile uint8_t *)(bar + off) = v; }
static uint16_t rd16(uint32_t off) { return *(volatile uint16_t *)(bar + off); }
static void wr16(uint32_t off, uint16_t v) { *(volatile uint16_t *)(bar + off) = v; }
static uint64_t rd64raw(uint32_t off) { return *(volatile uint64_t *)(bar + off); }
static void wr64raw(uint32_t off, uint64_t v) { *(volatile uint64_t *)(bar + off) = v; }
static uint64_t rd64(uint32_t off) { return rd32(off) | (uint64_t)rd32(off + 4) << 32; }

/*
 * Accesses the protocol does not allow (not 32 bits, unaligned) are
 * refused by the bus, before the device (spec 3): under QEMU's TCG an x86
 * read returns 0 and a write is dropped, while arm64 raises a synchronous
 * external abort, SIGBUS for this process.  refused_write() and refused_read()
 * make one such access.
 */
#if defined(__aarch64__)
#define REFUSED_FAULTS 1
#else
#define REFUSED_FAULTS 0
#endif
static __thread sigjmp_buf bus_jmp;
static __thread volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
    if (bus_armed) {
        bus_armed = 0;
        siglongjmp(bus_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One refused write of @size (1, 2 or 8) bytes; 1 if it raised a bus error */
static int refused_write(unsigned size, uint32_t off, uint64_t v)
{
    if (sigsetjmp(bus_jmp, 1))
        return 1;
    bus_armed = 1;
    if (size == 1)
        wr8(off, (uint8_t)v);
    else if (size == 2)
        wr16(off, (uint16_t)v);
    else
        wr64raw(off, v);
    bus_armed = 0;
    return 0;
}

/* One refused read into *@v (untouched on a bus error); as above */
static int refused_read(unsigned size, uint32_t off, uint64_t *v)
{
    if (sigsetjmp(bus_jmp, 1))
        return 1;
    bus_armed = 1;
    if (size == 1)
        *v = rd8(off);
    else if (size == 2)
        *v = rd16(off);
    else
        *v = rd64raw(off);
    bus_armed = 0;
    return 0;
}
static int32_t dev_status(void) { return (int32_t)rd32(MVF_GP_REG_DEV_STATUS); }
static uint32_t live(void) { return rd32(MVF_GP_REG_LIVE_MAPPINGS); }
static uint64_t mapped(void) { return rd64(MVF_GP_REG_MAPPED_LO); }

#if defined(__x86_64__)
/* A 32-bit access at an unaligned offset (x86 only: arm64 faults on
 * unaligned device memory accesses). */
static void wr32_unaligned(uint32_t off, uint32_t v)
{
    volatile void *p = bar + off;

    __asm__ volatile("movl %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static uint32_t rd32_unaligned(uint32_t off)
{
    volatile void *p = bar + off;
    uint32_t v;

    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(p) : "memory");
    return v;
}
#endif

#define RREG(r, f) MVF_GP_RING_REG(r, f)

/* ---- device facts ------------------------------------------------------------- */

static uint32_t features, num_rings, granule, max_mappings, strategy0;
static uint64_t budget, ap_base, ap_size, bar_phys, gm;

/* ---- guest memory ------------------------------------------------------------- */

struct mem {
    volatile uint8_t *va;
    uint64_t gpa;
    uint64_t len;     /* physically contiguous bytes */
};

static uint64_t virt_to_phys(volatile void *va)
{
    long psz = sysconf(_SC_PAGESIZE);
    uint64_t ent;
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if (fd < 0)
        die("cannot open /proc/self/pagemap");
    if (pread(fd, &ent, 8, (uintptr_t)va / psz * 8) != 8)
        die("cannot read /proc/self/pagemap");
    close(fd);
    if (!(ent & (1ull << 63)) || !(ent & ((1ull << 55) - 1)))
        die("page not present or no PFN in /proc/self/pagemap (need root?)");
    return (ent & ((1ull << 55) - 1)) * psz + ((uintptr_t)va % psz);
}

/* Ring memory: a huge page (physically contiguous 2 MiB) if possible,
 * else one locked page.  target: a granule-aligned buffer (or the
 * granule around a locked page) for MAPs. */
static struct mem ringmem, target;
static int have_huge;

static void alloc_memory(void)
{
    long psz = sysconf(_SC_PAGESIZE);
    void *p;

    p = mmap(NULL, HUGE_SZ, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE |
             MAP_LOCKED, -1, 0);
    if (p != MAP_FAILED) {
        memset(p, 0, HUGE_SZ);
        uint64_t g0 = virt_to_phys(p);

        if (virt_to_phys((uint8_t *)p + HUGE_SZ - psz) == g0 + HUGE_SZ - psz &&
            !(g0 & (granule - 1))) {
            have_huge = 1;
            ringmem.va = p;
            ringmem.gpa = g0;
            ringmem.len = HUGE_SZ / 2;           /* rings: first 1 MiB */
            target.va = (uint8_t *)p + HUGE_SZ / 2;
            target.gpa = g0 + HUGE_SZ / 2;
            target.len = HUGE_SZ / 2;
            printf("memory: huge page at gpa 0x%" PRIx64 " (rings up to 4096 "
                   "entries; MAP target 0x%" PRIx64 ")\n", g0, target.gpa);
            return;
        }
        munmap(p, HUGE_SZ);
    }
    p = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        die("cannot allocate locked pages");
    memset(p, 0, 2 * psz);
    ringmem.va = p;
    ringmem.gpa = virt_to_phys(p);
    ringmem.len = psz;
    /* the device never DMAs: the granule around the second page is enough */
    target.va = NULL;
    target.gpa = virt_to_phys((uint8_t *)p + psz) & ~(uint64_t)(granule - 1);
    target.len = granule;
    printf("memory: no huge page; ring in one locked page at gpa 0x%" PRIx64
           " (%ld entries); MAP target: the granule 0x%" PRIx64 " around "
           "another locked page\n", ringmem.gpa, psz / 32, target.gpa);
}

/* Largest "System RAM" range of /proc/iomem, granule aligned inwards:
 * guest RAM for sure.  Also the first non-RAM top-level address after it. */
static uint64_t ram_lo, ram_hi;   /* [ram_lo, ram_hi) */
/* The end of guest RAM there: ram_hi rounded up to 2 MiB (firmware keeps
 * the last pages of low RAM as "reserved": x86 q35 ends 512 MiB of RAM at
 * 0x1ffdffff in /proc/iomem; arm64 virt at 0x5fffffff). */
static uint64_t ram_end;

static void find_ram(void)
{
    FILE *f = fopen("/proc/iomem", "r");
    char buf[256];
    uint64_t best = 0;

    if (!f)
        die("cannot open /proc/iomem");
    while (fgets(buf, sizeof(buf), f)) {
        unsigned long long a, b;

        if (buf[0] == ' ' || !strstr(buf, "System RAM"))
            continue;
        if (sscanf(buf, "%llx-%llx", &a, &b) != 2 || !b)
            continue;
        uint64_t lo = (a + granule - 1) & ~(uint64_t)(granule - 1);
        uint64_t hi = (b + 1) & ~(uint64_t)(granule - 1);

        if (hi > lo && hi - lo > best) {
            best = hi - lo;
            ram_lo = lo;
            ram_hi = hi;
        }
    }
    fclose(f);
    if (!best)
        die("no System RAM in /proc/iomem (need root?)");
    ram_end = (ram_hi + HUGE_SZ - 1) & ~(uint64_t)(HUGE_SZ - 1);
    printf("guest RAM (largest System RAM range, granule aligned): 0x%" PRIx64
           "-0x%" PRIx64 ", RAM ends at 0x%" PRIx64 "\n", ram_lo, ram_hi, ram_end);
}

/* ---- sysfs ------------------------------------------------------------------- */

static char devdir[320];

static int read_hex(const char *path, unsigned long *v)
{
    FILE *f = fopen(path, "r");
    int ok;

    if (!f)
        return -1;
    ok = fscanf(f, "%lx", v) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

static void find_companion(void)
{
    DIR *d;
    struct dirent *e;
    char p[640];
    unsigned long ven, dev;

    if (devdir[0])
        return;
    d = opendir("/sys/bus/pci/devices");
    if (!d)
        die("no /sys/bus/pci/devices");
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", e->d_name);
        if (read_hex(p, &ven) || ven != MVF_GP_PCI_VENDOR)
            continue;
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", e->d_name);
        if (read_hex(p, &dev) || dev != MVF_GP_PCI_DEVICE)
            continue;
        snprintf(devdir, sizeof(devdir), "/sys/bus/pci/devices/%s", e->d_name);
        break;
    }
    closedir(d);
    if (!devdir[0])
        die("no apple-dma-pci (1b36:00e1) in /sys/bus/pci/devices");
}

static void sysfs_write(const char *name, const char *val)
{
    char p[640];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", devdir, name);
    fd = open(p, O_WRONLY);
    if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
        die("cannot write %s to %s", val, p);
    close(fd);
}

static uint16_t cmd_saved;

static uint16_t command_get(void)
{
    char p[640];
    uint16_t cmd;
    int fd;

    snprintf(p, sizeof(p), "%s/config", devdir);
    fd = open(p, O_RDONLY);
    if (fd < 0 || pread(fd, &cmd, 2, 4) != 2)
        die("cannot read the command register of %s", devdir);
    close(fd);
    return cmd;
}

static void command_set(uint16_t cmd)
{
    char p[640];
    int fd;

    snprintf(p, sizeof(p), "%s/config", devdir);
    fd = open(p, O_RDWR);
    if (fd < 0 || pwrite(fd, &cmd, 2, 4) != 2)
        die("cannot write the command register of %s", devdir);
    close(fd);
}

static void map_bar(void)
{
    char p[640];
    struct stat st;
    void *m;
    int fd;
    FILE *f;
    unsigned long long start;

    snprintf(p, sizeof(p), "%s/resource", devdir);
    f = fopen(p, "r");
    if (!f || fscanf(f, "%llx", &start) != 1)
        die("cannot read %s", p);
    fclose(f);
    bar_phys = start;
    snprintf(p, sizeof(p), "%s/resource0", devdir);
    fd = open(p, O_RDWR | O_SYNC);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)MVF_GP_BAR0_SIZE)
        die("cannot open %s", p);
    m = mmap(NULL, MVF_GP_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        die("cannot mmap %s", p);
    close(fd);
    bar = m;
}

/* ---- rings ---------------------------------------------------------------------- */

struct ring {
    unsigned r;
    volatile uint8_t *va;
    uint64_t gpa;
    uint32_t size;
};

struct ent {
    uint64_t gpa, len;
    uint16_t op, flags;
    uint64_t iova;
};

static volatile uint8_t *ent_va(const struct ring *rg, uint32_t i)
{
    return rg->va + (uint64_t)(i % rg->size) * MVF_GP_ENTRY_SIZE;
}

static void put_ent(const struct ring *rg, uint32_t i, const struct ent *e)
{
    volatile uint8_t *p = ent_va(rg, i);

    *(volatile uint64_t *)(p + 0) = e->gpa;
    *(volatile uint64_t *)(p + 8) = e->len;
    *(volatile uint16_t *)(p + 16) = e->op;
    *(volatile uint16_t *)(p + 18) = e->flags;
    *(volatile int32_t *)(p + 20) = MVF_GP_STATUS_PENDING;
    *(volatile uint64_t *)(p + 24) = e->iova;
}

static int32_t ent_status(const struct ring *rg, uint32_t i)
{
    return *(volatile int32_t *)(ent_va(rg, i) + 20);
}

static uint64_t ent_iova(const struct ring *rg, uint32_t i)
{
    return *(volatile uint64_t *)(ent_va(rg, i) + 24);
}

/* Bytes 0-19 still what put_ent wrote. */
static int ent_intact(const struct ring *rg, uint32_t i, const struct ent *e)
{
    volatile uint8_t *p = ent_va(rg, i);

    return *(volatile uint64_t *)(p + 0) == e->gpa &&
           *(volatile uint64_t *)(p + 8) == e->len &&
           *(volatile uint16_t *)(p + 16) == e->op &&
           *(volatile uint16_t *)(p + 18) == e->flags;
}

static void doorbell(const struct ring *rg, uint32_t v)
{
    __sync_synchronize();
    wr32(RREG(rg->r, MVF_GP_RING_DOORBELL), v);
    __sync_synchronize();
}

static int32_t ring_status(unsigned r) { return (int32_t)rd32(RREG(r, MVF_GP_RING_STATUS)); }
static uint32_t ring_processed(unsigned r) { return rd32(RREG(r, MVF_GP_RING_PROCESSED)); }
static uint32_t ring_ctrl(unsigned r) { return rd32(RREG(r, MVF_GP_RING_CTRL)); }

static void ring_program(unsigned r, uint64_t addr, uint32_t size)
{
    wr32(RREG(r, MVF_GP_RING_CTRL), 0);
    wr32(RREG(r, MVF_GP_RING_ADDR_LO), (uint32_t)addr);
    wr32(RREG(r, MVF_GP_RING_ADDR_HI), (uint32_t)(addr >> 32));
    wr32(RREG(r, MVF_GP_RING_SIZE), size);
}

/* Sets up and enables ring r over ringmem at byte offset off; dies if
 * the device refuses (the cases rely on it). */
static struct ring ring_setup(unsigned r, uint64_t off, uint32_t size)
{
    struct ring rg = { r, ringmem.va + off, ringmem.gpa + off, size };

    if (off + (uint64_t)size * MVF_GP_ENTRY_SIZE > ringmem.len)
        die("ring %u of %u entries does not fit the ring memory", r, size);
    memset((void *)rg.va, 0, (size_t)size * MVF_GP_ENTRY_SIZE);
    ring_program(r, rg.gpa, size);
    wr32(RREG(r, MVF_GP_RING_CTRL), MVF_GP_RING_CTRL_ENABLE);
    if (ring_ctrl(r) != 1)
        die("ring %u at gpa 0x%" PRIx64 " size %u refused: STATUS %s", r,
            rg.gpa, size, ename(ring_status(r)));
    return rg;
}

/* ---- a model of the live ring mappings --------------------------------------- */

#define MODEL_MAX 70000u

struct live_map {
    uint64_t iova, len;
};

static struct live_map model[MODEL_MAX];
static uint32_t n_model;
static uint64_t model_bytes;

static int model_find(uint64_t iova)
{
    for (uint32_t i = 0; i < n_model; i++)
        if (model[i].iova == iova)
            return (int)i;
    return -1;
}

static void model_add(uint64_t iova, uint64_t len)
{
    if (n_model == MODEL_MAX)
        die("model full");
    model[n_model].iova = iova;
    model[n_model].len = len;
    n_model++;
    model_bytes += len;
}

static void model_del(int i)
{
    model_bytes -= model[i].len;
    model[i] = model[--n_model];
}

static void model_clear(void)
{
    n_model = 0;
    model_bytes = 0;
}

static int range_ok(uint64_t a, uint64_t len)
{
    return len && len - 1 <= UINT64_MAX - a;
}

/* RAM knowledge for a MAP range: 1 surely RAM, 0 surely not, -1 unknown */
static int ram_known(uint64_t gpa, uint64_t len)
{
    if (!range_ok(gpa, len))
        return 0;
    if (gpa >= ram_lo && gpa < ram_hi && len <= ram_hi - gpa)
        return 1;
    if (gpa >= (1ull << 48) || len >= (1ull << 40))
        return 0;
    if (gpa <= bar_phys && bar_phys - gpa < len)
        return 0;   /* covers companion's BAR0 */
    return -1;
}

/* An expectation "-EFAULT or x": the model cannot tell whether the range
 * is guest RAM (then -EFAULT comes first), and if it is, the status is x. */
#define LOOSE(x) (1000 - (x))
#define IS_LOOSE(e) ((e) >= 1000)
#define LOOSE_ALT(e) (1000 - (e))

/* Expected status of a MAP by the protocol's order of checks. */
static int32_t expect_map(const struct ent *e)
{
    int k;

    if (!e->flags || (e->flags & ~3u))
        return MVF_GP_EINVAL;
    if (!e->len)
        return MVF_GP_ENODATA;
    if ((e->gpa | e->len) & gm)
        return MVF_GP_EINVAL;
    if (!range_ok(e->gpa, e->len))
        return MVF_GP_EOVERFLOW;
    k = ram_known(e->gpa, e->len);
    if (k == 0)
        return MVF_GP_EFAULT;
    if (n_model >= max_mappings)
        return k == 1 ? MVF_GP_EMFILE : LOOSE(MVF_GP_EMFILE);
    if (e->len > budget - model_bytes)
        return k == 1 ? MVF_GP_ENOSPC : LOOSE(MVF_GP_ENOSPC);
    return k == 1 ? 0 : LOOSE(0);
}

/* hint, or the next granule after it, that no live mapping starts at */
static uint64_t unused_iova(uint64_t hint)
{
    while (model_find(hint) >= 0)
        hint += granule;
    return hint;
}

static int32_t expect_unmap(const struct ent *e)
{
    int i;

    if (e->flags)
        return MVF_GP_EINVAL;
    if (!e->len)
        return MVF_GP_ENODATA;
    if ((e->iova | e->len) & gm)
        return MVF_GP_EINVAL;
    if (!range_ok(e->iova, e->len))
        return MVF_GP_EOVERFLOW;
    i = model_find(e->iova);
    if (i < 0)
        return MVF_GP_ENOENT;
    if (model[i].len != e->len)
        return MVF_GP_EINVAL;
    return 0;
}

static int32_t expect_entry(const struct ent *e)
{
    if (e->op == MVF_GP_OP_MAP)
        return expect_map(e);
    if (e->op == MVF_GP_OP_UNMAP)
        return expect_unmap(e);
    return MVF_GP_EOPNOTSUPP;
}

static int iova_ok(uint64_t iova, uint64_t len, uint64_t gpa)
{
    if (iova & gm || !range_ok(iova, len) || iova == gpa)
        return 0;
    if (ap_size && (iova < ap_base || iova - ap_base >= ap_size ||
                    len > ap_size - (iova - ap_base)))
        return 0;
    return 1;
}

/* Checks one processed entry against the model and updates it. */
static void judge_entry(struct tcase *t, const struct ring *rg, uint32_t idx,
                        const struct ent *e, int32_t exp, const char *label)
{
    int32_t st = ent_status(rg, idx);
    uint64_t iova = ent_iova(rg, idx);
    char what[96];

    snprintf(what, sizeof(what), "%s", label);
    if (IS_LOOSE(exp)) {  /* unknown RAM: -EFAULT or what RAM would give */
        tc_true(t, st == LOOSE_ALT(exp) || st == MVF_GP_EFAULT, "%s %s (%s or -EFAULT)",
                what, ename(st), ename(LOOSE_ALT(exp)));
    } else {
        tc_st(t, what, st, exp);
    }
    if (!ent_intact(rg, idx, e))
        tc_true(t, 0, "%s: bytes 0-19 of the entry were modified", what);
    if (e->op == MVF_GP_OP_MAP) {
        if (st == 0) {
            tc_true(t, iova_ok(iova, e->len, e->gpa), "%s iova 0x%" PRIx64
                    " granule aligned, != gpa, in the aperture", what, iova);
            tc_true(t, model_find(iova) < 0, "%s iova 0x%" PRIx64 " is new",
                    what, iova);
            model_add(iova, e->len);
        } else if (st < 0 && iova != UINT64_MAX) {
            tc_true(t, 0, "%s failed MAP wrote iova 0x%" PRIx64
                    " (expected all ones)", what, iova);
        }
    } else if (e->op == MVF_GP_OP_UNMAP) {
        if (iova != e->iova)
            tc_true(t, 0, "%s UNMAP iova written back as 0x%" PRIx64, what, iova);
        if (st == 0) {
            int i = model_find(e->iova);

            if (i < 0 || model[i].len != e->len)
                tc_true(t, 0, "%s UNMAP of iova 0x%" PRIx64 " we never got "
                        "succeeded", what, e->iova);
            else
                model_del(i);
        }
    } else if (iova != e->iova) {
        tc_true(t, 0, "%s bad-op iova changed to 0x%" PRIx64, what, iova);
    }
}

static void check_counts(struct tcase *t)
{
    uint32_t l = live();
    uint64_t m = mapped();

    if (l != n_model || m != model_bytes) {
        tc_true(t, 0, "LIVE_MAPPINGS %u MAPPED 0x%" PRIx64 " (model: %u, 0x%"
                PRIx64 ")", l, m, n_model, model_bytes);
    }
}

/* Runs entries e[0..n) from start in one doorbell and judges each one
 * against the model as the entries carried out before it left it (the
 * device does the UNMAPs in order, then the rest in order); expected[k]
 * overrides the model unless it is EXP_MODEL. */
#define EXP_MODEL 2
static void run_batch(struct tcase *t, const struct ring *rg, uint32_t start,
                      const struct ent *e, uint32_t n, const int32_t *expected,
                      const char *const *labels)
{
    int32_t *exp = calloc(n, sizeof(*exp));
    int32_t st;

    /* The expectation of entry k depends on entries before it */
    for (uint32_t k = 0; k < n; k++)
        put_ent(rg, start + k, &e[k]);
    doorbell(rg, MVF_GP_DOORBELL(start, n));
    st = ring_status(rg->r);
    quiet++;
    if (st)
        tc_st(t, "ring STATUS", st, 0);
    if (ring_processed(rg->r) != n)
        tc_u(t, "PROCESSED", ring_processed(rg->r), n);
    /* The device carries out a batch's UNMAPs before its MAPs (guest
     * protocol 6.3): judge them in that order */
    for (int unmaps = 1; unmaps >= 0; unmaps--) {
        for (uint32_t k = 0; k < n; k++) {
            char lb[64];

            if ((e[k].op == MVF_GP_OP_UNMAP) != unmaps)
                continue;
            if (labels)
                snprintf(lb, sizeof(lb), "%s", labels[k]);
            else
                snprintf(lb, sizeof(lb), "entry %u", k);
            exp[k] = expected && expected[k] != EXP_MODEL ? expected[k]
                                                          : expect_entry(&e[k]);
            judge_entry(t, rg, start + k, &e[k], exp[k], lb);
        }
    }
    check_counts(t);
    quiet--;
    tc_note(t, "%u entr%s from %u: ring STATUS 0, PROCESSED %u, statuses as "
            "specified, LIVE_MAPPINGS %u", n, n == 1 ? "y" : "ies", start, n, n_model);
    free(exp);
}

/* MAP one range through rg; returns status, stores iova. */
static int32_t map1(const struct ring *rg, uint32_t idx, uint64_t gpa,
                    uint64_t len, uint16_t flags, uint64_t *iova)
{
    struct ent e = { gpa, len, MVF_GP_OP_MAP, flags, 0 };
    int32_t st;

    put_ent(rg, idx, &e);
    doorbell(rg, MVF_GP_DOORBELL(idx, 1));
    st = ent_status(rg, idx);
    *iova = ent_iova(rg, idx);
    if (st == 0)
        model_add(*iova, len);
    return st;
}

static int32_t unmap1(const struct ring *rg, uint32_t idx, uint64_t iova,
                      uint64_t len)
{
    struct ent e = { 0x5a5a5a5a5a5a5a5aull, len, MVF_GP_OP_UNMAP, 0, iova };
    int32_t st;
    int i;

    put_ent(rg, idx, &e);
    doorbell(rg, MVF_GP_DOORBELL(idx, 1));
    st = ent_status(rg, idx);
    if (st == 0 && (i = model_find(iova)) >= 0)
        model_del(i);
    return st;
}

/* Unmaps everything the model holds, through rg. */
static void unmap_all(struct tcase *t, const struct ring *rg)
{
    while (n_model) {
        uint32_t n = n_model < rg->size ? n_model : rg->size;
        struct ent *e = calloc(n, sizeof(*e));

        if (n > MVF_GP_DOORBELL_MAX)
            n = MVF_GP_DOORBELL_MAX;
        for (uint32_t k = 0; k < n; k++)
            e[k] = (struct ent){ k, model[n_model - 1 - k].len,
                                 MVF_GP_OP_UNMAP, 0, model[n_model - 1 - k].iova };
        run_batch(t, rg, 0, e, n, NULL, NULL);
        free(e);
        if (t->failed)
            break;
    }
}

/* ---- DEV_STATUS priming ---------------------------------------------------------- */

/* Makes DEV_STATUS something other than not_this, so that a case proves
 * it was the one setting it. */
static void prime_dev(int32_t not_this)
{
    if (not_this != MVF_GP_EPERM)
        wr32(MVF_GP_REG_MAGIC, 0);          /* -EPERM */
    else
        wr32(MVF_GP_REG_RESET, 0);          /* -EINVAL */
}

/* Makes ring r's STATUS something other than not_this (ring disabled) */
static void prime_ring_disabled(unsigned r, int32_t not_this)
{
    if (not_this != MVF_GP_ENXIO)
        wr32(RREG(r, MVF_GP_RING_DOORBELL), MVF_GP_DOORBELL(0, 1)); /* -ENXIO */
    else
        wr32(RREG(r, MVF_GP_RING_CTRL), 2);                          /* -EINVAL */
}

/* ... of an enabled ring */
static void prime_ring_enabled(unsigned r, int32_t not_this)
{
    if (not_this != MVF_GP_EBUSY)
        wr32(RREG(r, MVF_GP_RING_CTRL), 1);                    /* -EBUSY */
    else
        wr32(RREG(r, MVF_GP_RING_DOORBELL), MVF_GP_DOORBELL(0, 0)); /* -EINVAL */
}

/* ---- the cases ------------------------------------------------------------------- */

static const uint32_t ro_header[] = {
    MVF_GP_REG_MAGIC, MVF_GP_REG_VERSION, MVF_GP_REG_FEATURES,
    MVF_GP_REG_DEV_STATUS, MVF_GP_REG_PCI_ADDR, MVF_GP_REG_GRANULE,
    MVF_GP_REG_BUDGET_LO, MVF_GP_REG_BUDGET_HI, MVF_GP_REG_MAX_MAPPINGS,
    MVF_GP_REG_NUM_RINGS, MVF_GP_REG_RING_MAX_ENTRIES, MVF_GP_REG_DOORBELL_MAX,
    MVF_GP_REG_APERTURE_BASE_LO, MVF_GP_REG_APERTURE_BASE_HI,
    MVF_GP_REG_APERTURE_SIZE_LO, MVF_GP_REG_APERTURE_SIZE_HI,
    MVF_GP_REG_WINDOW_COUNT, MVF_GP_REG_LIVE_MAPPINGS, MVF_GP_REG_MAPPED_LO,
    MVF_GP_REG_MAPPED_HI,
};

static void case_identity(void)
{
    struct tcase t;

    tc_begin(&t, "identity");
    tc_u(&t, "MAGIC", rd32(MVF_GP_REG_MAGIC), MVF_GP_MAGIC);
    tc_u(&t, "VERSION major", rd32(MVF_GP_REG_VERSION) >> 16, MVF_GP_VERSION_MAJOR);
    tc_true(&t, granule >= 4096 && !(granule & (granule - 1)), "GRANULE %u", granule);
    tc_u(&t, "RING_MAX_ENTRIES", rd32(MVF_GP_REG_RING_MAX_ENTRIES), 4096);
    tc_u(&t, "DOORBELL_MAX", rd32(MVF_GP_REG_DOORBELL_MAX), 1024);
    tc_true(&t, num_rings >= 1 && num_rings <= 64, "NUM_RINGS %u", num_rings);
    tc_true(&t, (features & MVF_GP_FEAT_ONDEMAND) && (features & MVF_GP_FEAT_POOL),
            "FEATURES 0x%x has ONDEMAND|POOL", features);
    tc_true(&t, !!(features & MVF_GP_FEAT_PERCPU_RINGS) == (num_rings > 1),
            "PERCPU_RINGS iff NUM_RINGS > 1");
    tc_true(&t, !!(features & MVF_GP_FEAT_WINDOW) == !!rd32(MVF_GP_REG_WINDOW_COUNT),
            "WINDOW iff WINDOW_COUNT %u", rd32(MVF_GP_REG_WINDOW_COUNT));
    tc_note(&t, "STRATEGY %u BUDGET 0x%" PRIx64 " MAX_MAPPINGS %u aperture 0x%"
            PRIx64 "+0x%" PRIx64, strategy0, budget, max_mappings, ap_base, ap_size);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    tc_end(&t);
}

static void case_readonly(void)
{
    struct tcase t;
    unsigned bad = 0, changed = 0;
    char b[64];

    tc_begin(&t, "writes to read-only header registers");
    for (unsigned i = 0; i < sizeof(ro_header) / sizeof(ro_header[0]); i++) {
        uint32_t off = ro_header[i], before = rd32(off), after;
        int32_t st;

        prime_dev(MVF_GP_EPERM);
        wr32(off, ~before);
        st = dev_status();
        after = rd32(off);
        if (st != MVF_GP_EPERM) {
            snprintf(b, sizeof(b), "DEV_STATUS after write to 0x%03x", off);
            tc_st(&t, b, st, MVF_GP_EPERM);
            bad++;
        }
        /* DEV_STATUS itself now reads -EPERM; the others must not move */
        if (off != MVF_GP_REG_DEV_STATUS && after != before) {
            snprintf(b, sizeof(b), "register 0x%03x after the write", off);
            tc_u(&t, b, after, before);
            changed++;
        }
    }
    tc_note(&t, "%zu registers: DEV_STATUS -EPERM each, values unchanged",
            sizeof(ro_header) / sizeof(ro_header[0]));
    tc_end(&t);

    tc_begin(&t, "writes to reserved header registers 0x058-0x3fc");
    bad = 0;
    for (uint32_t off = 0x058; off < 0x400; off += 4) {
        int32_t st;

        prime_dev(MVF_GP_EPERM);
        wr32(off, 0xffffffffu);
        st = dev_status();
        if (rd32(off) != 0 || st != MVF_GP_EPERM) {
            if (!bad++) {
                snprintf(b, sizeof(b), "0x%03x DEV_STATUS", off);
                tc_st(&t, b, st, MVF_GP_EPERM);
                snprintf(b, sizeof(b), "0x%03x reads", off);
                tc_u(&t, b, rd32(off), 0);
            }
        }
    }
    tc_note(&t, "%u registers: read 0 after the write, DEV_STATUS -EPERM",
            (0x400 - 0x58) / 4);
    tc_end(&t);

    tc_begin(&t, "writes to the window table 0x400-0x7fc");
    bad = 0;
    for (uint32_t off = 0x400; off < 0x800; off += 4) {
        uint32_t before = rd32(off);
        int32_t st;

        prime_dev(MVF_GP_EPERM);
        wr32(off, 0x12345678u);
        st = dev_status();
        if (rd32(off) != before || st != MVF_GP_EPERM) {
            if (!bad++) {
                snprintf(b, sizeof(b), "0x%03x DEV_STATUS", off);
                tc_st(&t, b, st, MVF_GP_EPERM);
                snprintf(b, sizeof(b), "0x%03x reads", off);
                tc_u(&t, b, rd32(off), before);
            }
        }
    }
    tc_note(&t, "256 registers: unchanged, DEV_STATUS -EPERM");
    tc_end(&t);

    tc_begin(&t, "write-only registers read 0");
    tc_u(&t, "RESET", rd32(MVF_GP_REG_RESET), 0);
    tc_u(&t, "ring 0 DOORBELL", rd32(RREG(0, MVF_GP_RING_DOORBELL)), 0);
    tc_u(&t, "ring 0 reserved", rd32(RREG(0, 0x1c)), 0);
    tc_end(&t);

    tc_begin(&t, "writes to read-only ring registers (STATUS, PROCESSED, reserved)");
    {
        static const uint32_t f[] = { MVF_GP_RING_STATUS, MVF_GP_RING_PROCESSED, 0x1c };

        for (unsigned r = 0; r < num_rings; r++) {
            for (unsigned i = 0; i < 3; i++) {
                uint32_t before = rd32(RREG(r, f[i]));

                prime_dev(MVF_GP_EPERM);
                wr32(RREG(r, f[i]), 0xdeadbeefu);
                if (dev_status() != MVF_GP_EPERM || rd32(RREG(r, f[i])) != before) {
                    snprintf(b, sizeof(b), "ring %u +0x%02x DEV_STATUS", r, f[i]);
                    tc_st(&t, b, dev_status(), MVF_GP_EPERM);
                    snprintf(b, sizeof(b), "ring %u +0x%02x reads", r, f[i]);
                    tc_u(&t, b, rd32(RREG(r, f[i])), before);
                }
            }
        }
        tc_note(&t, "%u ring(s): DEV_STATUS -EPERM, values unchanged", num_rings);
    }
    tc_end(&t);
    (void)changed;
}

static void case_reset_value(const struct ring *rg)
{
    struct tcase t;
    static const uint32_t vals[] = { 0, 2, 3, 0x80000001u, 0xffffffffu };

    tc_begin(&t, "RESET with values other than 1");
    for (unsigned i = 0; i < 5; i++) {
        char b[48];

        prime_dev(MVF_GP_EINVAL);
        wr32(MVF_GP_REG_RESET, vals[i]);
        snprintf(b, sizeof(b), "RESET=0x%x: DEV_STATUS", vals[i]);
        tc_st(&t, b, dev_status(), MVF_GP_EINVAL);
    }
    tc_u(&t, "ring still enabled (no reset happened)", ring_ctrl(rg->r), 1);
    tc_end(&t);
}

/* A refused write: a bus error exactly on arm64, DEV_STATUS unchanged */
static void tc_refused_write(struct tcase *t, const char *what, int faulted,
                             int32_t dev_before)
{
    char b[96];

    snprintf(b, sizeof(b), "%s: bus error", what);
    tc_u(t, b, (uint64_t)faulted, REFUSED_FAULTS);
    snprintf(b, sizeof(b), "%s: DEV_STATUS unchanged", what);
    tc_st(t, b, dev_status(), dev_before);
}

/* A refused read: a bus error on arm64, else it reads 0 */
static void tc_refused_read(struct tcase *t, const char *what, int faulted,
                            uint64_t v)
{
    char b[96];

    snprintf(b, sizeof(b), "%s: bus error", what);
    tc_u(t, b, (uint64_t)faulted, REFUSED_FAULTS);
    if (!faulted) {
        snprintf(b, sizeof(b), "%s: reads", what);
        tc_u(t, b, v, 0);
    }
}

static void case_access_sizes(const struct ring *rg)
{
    struct tcase t;
    uint32_t proc;
    uint64_t v;
    int f;

    tc_begin(&t, "bad access sizes: 8-bit and 16-bit writes are refused by the bus");
    prime_dev(MVF_GP_EINVAL);
    f = refused_write(1, MVF_GP_REG_RESET, 1);
    tc_refused_write(&t, "8-bit RESET=1", f, MVF_GP_EPERM);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    f = refused_write(2, MVF_GP_REG_RESET, 1);
    tc_refused_write(&t, "16-bit RESET=1", f, MVF_GP_EPERM);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    f = refused_write(1, RREG(rg->r, MVF_GP_RING_CTRL), 0);
    tc_refused_write(&t, "8-bit CTRL=0", f, MVF_GP_EPERM);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    f = refused_write(1, MVF_GP_REG_STRATEGY, 0);
    tc_refused_write(&t, "8-bit STRATEGY=0", f, MVF_GP_EPERM);
    tc_u(&t, "STRATEGY unchanged", rd32(MVF_GP_REG_STRATEGY), strategy0);
    /* a doorbell of 16 bits must not process anything */
    {
        struct ent e = { target.gpa, granule, MVF_GP_OP_MAP, 3, 0 };

        put_ent(rg, 0, &e);
        wr32(RREG(rg->r, MVF_GP_RING_DOORBELL), MVF_GP_DOORBELL(0, 0)); /* PROCESSED 0 */
        proc = ring_processed(rg->r);
        prime_dev(MVF_GP_EINVAL);
        f = refused_write(2, RREG(rg->r, MVF_GP_RING_DOORBELL), 0);
        tc_refused_write(&t, "16-bit DOORBELL low half", f, MVF_GP_EPERM);
        f = refused_write(2, RREG(rg->r, MVF_GP_RING_DOORBELL) + 2, 1);
        tc_refused_write(&t, "16-bit DOORBELL high half", f, MVF_GP_EPERM);
        tc_st(&t, "entry status", ent_status(rg, 0), 1);
        tc_u(&t, "PROCESSED", ring_processed(rg->r), proc);
        tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    }
    tc_end(&t);

    tc_begin(&t, "bad access sizes: 64-bit writes are refused by the bus");
    prime_dev(MVF_GP_EINVAL);
    f = refused_write(8, MVF_GP_REG_RESET, 1);   /* 0x48: RESET=1, 0x4c: LIVE_MAPPINGS */
    tc_refused_write(&t, "64-bit RESET=1", f, MVF_GP_EPERM);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    f = refused_write(8, RREG(rg->r, MVF_GP_RING_DOORBELL), MVF_GP_DOORBELL(0, 1));
    tc_refused_write(&t, "64-bit DOORBELL", f, MVF_GP_EPERM);
    tc_st(&t, "entry status", ent_status(rg, 0), 1);
    f = refused_write(8, RREG(rg->r, MVF_GP_RING_ADDR_LO), 0x1000);
    tc_refused_write(&t, "64-bit ADDR", f, MVF_GP_EPERM);
    tc_u(&t, "ADDR unchanged", rd64(RREG(rg->r, MVF_GP_RING_ADDR_LO)), rg->gpa);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_end(&t);

    tc_begin(&t, "bad access sizes: reads of 8, 16 and 64 bits are refused by the bus");
    v = 0xa5;
    f = refused_read(1, MVF_GP_REG_MAGIC, &v);
    tc_refused_read(&t, "8-bit MAGIC", f, v);
    v = 0xa5;
    f = refused_read(2, MVF_GP_REG_MAGIC, &v);
    tc_refused_read(&t, "16-bit MAGIC", f, v);
    v = 0xa5;
    f = refused_read(8, MVF_GP_REG_MAGIC, &v);
    tc_refused_read(&t, "64-bit MAGIC|VERSION", f, v);
    v = 0xa5;
    f = refused_read(1, MVF_GP_REG_NUM_RINGS, &v);
    tc_refused_read(&t, "8-bit NUM_RINGS", f, v);
    tc_u(&t, "MAGIC (32-bit) still", rd32(MVF_GP_REG_MAGIC), MVF_GP_MAGIC);
    tc_end(&t);

#if defined(__x86_64__)
    /* TCG splits an unaligned access into aligned pieces of 1 or 2
     * bytes, and the bus refuses each */
    tc_begin(&t, "unaligned 32-bit accesses (x86): refused by the bus");
    prime_dev(MVF_GP_EINVAL);
    wr32_unaligned(MVF_GP_REG_RESET + 2, 0x00010000u);
    tc_st(&t, "write at 0x4a: DEV_STATUS unchanged", dev_status(), MVF_GP_EPERM);
    wr32_unaligned(MVF_GP_REG_RESET - 1, 0x00000100u);
    tc_st(&t, "write at 0x47: DEV_STATUS unchanged", dev_status(), MVF_GP_EPERM);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    wr32_unaligned(RREG(rg->r, MVF_GP_RING_DOORBELL) + 1, 0x100);
    tc_st(&t, "write at DOORBELL+1: DEV_STATUS unchanged", dev_status(), MVF_GP_EPERM);
    tc_st(&t, "entry status", ent_status(rg, 0), 1);
    tc_u(&t, "read at 0x2", rd32_unaligned(2), 0);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_end(&t);
#else
    skip("unaligned 32-bit accesses", "arm64: unaligned device accesses fault in the guest");
#endif

    tc_begin(&t, "write to the last word of BAR0 (0xffc, ring 63 reserved)");
    prime_dev(MVF_GP_EPERM);
    wr32(0xffc, 0xffffffffu);
    /* 0xffc is ring 63's reserved word: -ENODEV if ring 63 is missing,
     * -EPERM (read-only) if it exists */
    tc_st(&t, "DEV_STATUS", dev_status(), num_rings < 64 ? MVF_GP_ENODEV : MVF_GP_EPERM);
    tc_u(&t, "reads", rd32(0xffc), 0);
    tc_end(&t);
}

static void case_missing_rings(void)
{
    struct tcase t;
    static const uint32_t f[] = { MVF_GP_RING_ADDR_LO, MVF_GP_RING_ADDR_HI,
                                  MVF_GP_RING_SIZE, MVF_GP_RING_CTRL,
                                  MVF_GP_RING_DOORBELL, MVF_GP_RING_STATUS,
                                  MVF_GP_RING_PROCESSED, 0x1c };
    unsigned rings[3] = { num_rings, num_rings + 1 < 64 ? num_rings + 1 : 63, 63 };
    unsigned bad = 0, n = 0;

    if (num_rings >= 64) {
        skip("writes to rings >= NUM_RINGS", "NUM_RINGS is 64");
        return;
    }
    tc_begin(&t, "writes to rings >= NUM_RINGS");
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned k = 0; k < 8; k++) {
            uint32_t off = RREG(rings[i], f[k]);
            char b[64];

            prime_dev(MVF_GP_ENODEV);
            wr32(off, f[k] == MVF_GP_RING_CTRL ? 1 :
                      f[k] == MVF_GP_RING_DOORBELL ? MVF_GP_DOORBELL(0, 1) :
                      f[k] == MVF_GP_RING_SIZE ? 4 : (uint32_t)ringmem.gpa);
            n++;
            if (dev_status() != MVF_GP_ENODEV || rd32(off)) {
                if (!bad++) {
                    snprintf(b, sizeof(b), "ring %u +0x%02x DEV_STATUS", rings[i], f[k]);
                    tc_st(&t, b, dev_status(), MVF_GP_ENODEV);
                    snprintf(b, sizeof(b), "ring %u +0x%02x reads", rings[i], f[k]);
                    tc_u(&t, b, rd32(off), 0);
                }
            }
        }
    }
    tc_note(&t, "%u writes to rings %u, %u, 63: DEV_STATUS -ENODEV, read 0",
            n, rings[0], rings[1]);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_end(&t);
}

static void case_strategy(void)
{
    struct tcase t;
    static const uint32_t vals[] = { 0, 1, 2, 3, 4, 0xffffffffu };

    if (!(features & MVF_GP_FEAT_STRATEGY_SELECT)) {
        tc_begin(&t, "STRATEGY writes without STRATEGY_SELECT");
        for (unsigned i = 0; i < 6; i++) {
            char b[48];

            prime_dev(MVF_GP_EPERM);
            wr32(MVF_GP_REG_STRATEGY, vals[i]);
            snprintf(b, sizeof(b), "STRATEGY=%d: DEV_STATUS", (int)vals[i]);
            tc_st(&t, b, dev_status(), MVF_GP_EPERM);
            tc_u(&t, "STRATEGY", rd32(MVF_GP_REG_STRATEGY), strategy0);
        }
        tc_end(&t);
        return;
    }
    tc_begin(&t, "STRATEGY writes with STRATEGY_SELECT");
    for (unsigned i = 0; i < 6; i++) {
        uint32_t v = vals[i], before = rd32(MVF_GP_REG_STRATEGY);
        int ok = v == 0 || (v == 1 && (features & MVF_GP_FEAT_WINDOW)) ||
                 ((v == 2 || v == 3) && num_rings >= 1);
        char b[48];

        prime_dev(ok ? MVF_GP_EINVAL : MVF_GP_EPERM);
        wr32(MVF_GP_REG_STRATEGY, v);
        snprintf(b, sizeof(b), "STRATEGY=%d: DEV_STATUS", (int)v);
        tc_st(&t, b, dev_status(), ok ? 0 : MVF_GP_EINVAL);
        tc_u(&t, "STRATEGY", rd32(MVF_GP_REG_STRATEGY), ok ? v : before);
    }
    wr32(MVF_GP_REG_STRATEGY, strategy0);
    tc_st(&t, "back to QEMU's choice: DEV_STATUS", dev_status(), 0);
    tc_u(&t, "STRATEGY", rd32(MVF_GP_REG_STRATEGY), strategy0);
    tc_end(&t);
}

static void case_ring_setup(void)
{
    struct tcase t;
    unsigned r = 0;
    uint64_t good = ringmem.gpa;
    struct {
        const char *name;
        uint64_t addr;
        uint32_t size, ctrl;
        int32_t exp;
    } c[] = {
        { "SIZE 0", good, 0, 1, MVF_GP_EINVAL },
        { "ADDR unaligned (+8)", good + 8, 4, 1, MVF_GP_EINVAL },
        { "ADDR unaligned (+31)", good + 31, 4, 1, MVF_GP_EINVAL },
        { "SIZE 4097", good, 4097, 1, MVF_GP_E2BIG },
        { "SIZE 0xffffffff", good, 0xffffffffu, 1, MVF_GP_E2BIG },
        { "CTRL 3", good, 4, 3, MVF_GP_EINVAL },
        { "CTRL 0x80000001", good, 4, 0x80000001u, MVF_GP_EINVAL },
        { "ADDR+32*SIZE wraps (ADDR 2^64-32, SIZE 2)", UINT64_MAX - 31, 2, 1, MVF_GP_EOVERFLOW },
        { "ADDR+32*SIZE wraps (ADDR 2^64-4096, SIZE 4096)", UINT64_MAX - 4095, 4096, 1, MVF_GP_EOVERFLOW },
        { "ADDR 2^64-32 SIZE 1 (no wrap, not RAM)", UINT64_MAX - 31, 1, 1, MVF_GP_EFAULT },
        { "ADDR 1<<60 (outside RAM)", 1ull << 60, 4, 1, MVF_GP_EFAULT },
        { "ADDR 1<<40 (outside RAM)", 1ull << 40, 4, 1, MVF_GP_EFAULT },
        { "ADDR = companion BAR0 (MMIO)", bar_phys, 4, 1, MVF_GP_EFAULT },
        { "ring straddles the end of RAM", ram_end - 32, 2, 1, MVF_GP_EFAULT },
        { "4096 entries straddling the end of RAM", ram_end - 4096, 4096, 1, MVF_GP_EFAULT },
        { "valid: RAM that is not ours (enabled, never rung)", ram_lo, 4096, 1, 0 },
    };
    unsigned n = sizeof(c) / sizeof(c[0]);

    /* the last one is a valid ring (128 KiB of RAM) */
    if (ram_hi - ram_lo < 4096 * 32)
        n--;
    for (unsigned i = 0; i < n; i++) {
        char name[128];

        snprintf(name, sizeof(name), "ring enable: %s", c[i].name);
        tc_begin(&t, name);
        ring_program(r, c[i].addr, c[i].size);
        prime_ring_disabled(r, c[i].exp);
        wr32(RREG(r, MVF_GP_RING_CTRL), c[i].ctrl);
        tc_st(&t, "STATUS", ring_status(r), c[i].exp);
        tc_u(&t, "CTRL", ring_ctrl(r), c[i].exp ? 0 : 1);
        tc_u(&t, "ADDR", rd64(RREG(r, MVF_GP_RING_ADDR_LO)), c[i].addr);
        tc_u(&t, "SIZE", rd32(RREG(r, MVF_GP_RING_SIZE)), c[i].size);
        if (!c[i].exp) {
            /* a ring in RAM that is not ours: never ring it, disable */
            wr32(RREG(r, MVF_GP_RING_CTRL), 0);
            tc_u(&t, "CTRL after CTRL=0", ring_ctrl(r), 0);
        }
        tc_end(&t);
    }
    ring_program(r, 0, 0);
}

static void case_ring_busy(struct ring *rg)
{
    struct tcase t;

    tc_begin(&t, "enabling an enabled ring");
    prime_ring_enabled(rg->r, MVF_GP_EBUSY);
    wr32(RREG(rg->r, MVF_GP_RING_CTRL), 1);
    tc_st(&t, "STATUS", ring_status(rg->r), MVF_GP_EBUSY);
    tc_u(&t, "CTRL (still enabled)", ring_ctrl(rg->r), 1);
    tc_end(&t);

    tc_begin(&t, "changing ADDR_LO, ADDR_HI, SIZE of an enabled ring");
    prime_ring_enabled(rg->r, MVF_GP_EBUSY);
    wr32(RREG(rg->r, MVF_GP_RING_ADDR_LO), 0x1000);
    tc_st(&t, "ADDR_LO: STATUS", ring_status(rg->r), MVF_GP_EBUSY);
    prime_ring_enabled(rg->r, MVF_GP_EBUSY);
    wr32(RREG(rg->r, MVF_GP_RING_ADDR_HI), 0x100);
    tc_st(&t, "ADDR_HI: STATUS", ring_status(rg->r), MVF_GP_EBUSY);
    prime_ring_enabled(rg->r, MVF_GP_EBUSY);
    wr32(RREG(rg->r, MVF_GP_RING_SIZE), 4096);
    tc_st(&t, "SIZE: STATUS", ring_status(rg->r), MVF_GP_EBUSY);
    tc_u(&t, "ADDR", rd64(RREG(rg->r, MVF_GP_RING_ADDR_LO)), rg->gpa);
    tc_u(&t, "SIZE", rd32(RREG(rg->r, MVF_GP_RING_SIZE)), rg->size);
    tc_u(&t, "CTRL", ring_ctrl(rg->r), 1);
    tc_end(&t);
}

static void case_doorbells(struct ring *rg)
{
    struct tcase t;
    struct ring bigr, *big = NULL;
    unsigned br = num_rings > 1 ? num_rings - 1 : rg->r;
    struct ent e = { target.gpa, granule, MVF_GP_OP_MAP, 3, 0 };
    struct {
        const char *name;
        uint32_t start, count;
        int32_t exp;
    } c[] = {
        { "count 0", 0, 0, MVF_GP_EINVAL },
        { "count 0, start >= SIZE", rg->size + 5, 0, MVF_GP_EINVAL },
        { "count SIZE+1", 0, rg->size + 1, MVF_GP_E2BIG },
        { "count 0xffff", 0, 0xffff, MVF_GP_E2BIG },
        { "count 0xffff, start 0xffff", 0xffff, 0xffff, MVF_GP_E2BIG },
        { "start SIZE", rg->size, 1, MVF_GP_ERANGE },
        { "start 0xffff", 0xffff, 1, MVF_GP_ERANGE },
    };

    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char name[96];

        snprintf(name, sizeof(name), "doorbell %s (SIZE %u)", c[i].name, rg->size);
        tc_begin(&t, name);
        for (uint32_t k = 0; k < rg->size; k++)
            put_ent(rg, k, &e);   /* valid MAPs: none may run */
        doorbell(rg, MVF_GP_DOORBELL(0, 1));   /* one MAP: PROCESSED 1 */
        if (ent_status(rg, 0) == 0 && model_find(ent_iova(rg, 0)) < 0)
            model_add(ent_iova(rg, 0), granule);
        put_ent(rg, 0, &e);
        doorbell(rg, MVF_GP_DOORBELL(c[i].start, c[i].count));
        tc_st(&t, "STATUS", ring_status(rg->r), c[i].exp);
        tc_u(&t, "PROCESSED", ring_processed(rg->r), 0);
        {
            uint32_t touched = 0;

            for (uint32_t k = 0; k < rg->size; k++)
                touched += ent_status(rg, k) != MVF_GP_STATUS_PENDING;
            tc_u(&t, "entries touched", touched, 0);
        }
        tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
        tc_end(&t);
    }

    if (have_huge) {
        if (br == rg->r)
            wr32(RREG(rg->r, MVF_GP_RING_CTRL), 0);
        bigr = ring_setup(br, 64 << 10, 4096);
        big = &bigr;
        tc_begin(&t, "doorbell count 1025 on a 4096-entry ring");
        for (uint32_t k = 0; k < 1025; k++)
            put_ent(big, k, &e);
        doorbell(big, MVF_GP_DOORBELL(0, 1025));
        tc_st(&t, "STATUS", ring_status(big->r), MVF_GP_E2BIG);
        tc_u(&t, "PROCESSED", ring_processed(big->r), 0);
        tc_st(&t, "entry 0 status", ent_status(big, 0), 1);
        tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
        tc_end(&t);
        tc_begin(&t, "doorbell start 4095 count 1024 (4096-entry ring, wraps)");
        {
            struct ent bad = { 0, 0, 0, 0, 0x77 };
            struct ent *v = calloc(1024, sizeof(*v));

            for (uint32_t k = 0; k < 1024; k++)
                v[k] = bad;
            run_batch(&t, big, 4095, v, 1024, NULL, NULL);
            tc_st(&t, "entry 1023 (index 1022) status", ent_status(big, 1022),
                  MVF_GP_EOPNOTSUPP);
            tc_st(&t, "index 1023 untouched", ent_status(big, 1023), 1);
            free(v);
        }
        tc_end(&t);
        wr32(RREG(br, MVF_GP_RING_CTRL), 0);
        if (br == rg->r)
            *rg = ring_setup(rg->r, 0, rg->size);
    } else {
        skip("doorbell count 1025 <= SIZE", "no huge page: rings of 128 entries only");
    }

    tc_begin(&t, "doorbell on a disabled ring");
    wr32(RREG(rg->r, MVF_GP_RING_CTRL), 0);
    put_ent(rg, 0, &e);
    doorbell(rg, MVF_GP_DOORBELL(0, 1));
    tc_st(&t, "STATUS", ring_status(rg->r), MVF_GP_ENXIO);
    tc_u(&t, "PROCESSED", ring_processed(rg->r), 0);
    tc_st(&t, "entry status", ent_status(rg, 0), 1);
    tc_u(&t, "LIVE_MAPPINGS (mappings stay after disable)", live(), n_model);
    wr32(RREG(rg->r, MVF_GP_RING_CTRL), 1);
    tc_u(&t, "CTRL after re-enable", ring_ctrl(rg->r), 1);
    tc_st(&t, "STATUS after re-enable", ring_status(rg->r), 0);
    tc_end(&t);

    tc_begin(&t, "unmapping what the earlier cases mapped");
    unmap_all(&t, rg);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_end(&t);
}

static void case_wrap(struct ring *rg)
{
    struct tcase t;
    struct ring w = *rg;
    struct ent e[4] = {
        { target.gpa, granule, MVF_GP_OP_MAP, MVF_GP_F_READ, 0 },
        { target.gpa, granule, MVF_GP_OP_MAP, MVF_GP_F_WRITE, 0 },
        { 1, 2, 0, 0, 0x1111 },
        { 3, 4, 7, 1, 0x2222 },
    };
    struct ent idle = { 0, 0, 0, 0, 0 };

    tc_begin(&t, "wrapping batch: SIZE 8, start 6, count 4 (6, 7, 0, 1)");
    w.size = 8;
    wr32(RREG(w.r, MVF_GP_RING_CTRL), 0);
    wr32(RREG(w.r, MVF_GP_RING_SIZE), 8);
    wr32(RREG(w.r, MVF_GP_RING_CTRL), 1);
    tc_u(&t, "CTRL", ring_ctrl(w.r), 1);
    for (uint32_t k = 0; k < 8; k++)
        put_ent(&w, k, &idle);
    run_batch(&t, &w, 6, e, 4, NULL, NULL);
    for (uint32_t k = 2; k < 6; k++)
        if (ent_status(&w, k) != 1)
            tc_true(&t, 0, "index %u outside the batch touched", k);
    tc_note(&t, "two MAPs (same gpa, distinct IOVAs) and two bad ops");
    tc_end(&t);

    tc_begin(&t, "wrapping batch: SIZE 8, start 7, count 8 (all, wrapping)");
    {
        struct ent v[8];

        for (uint32_t k = 0; k < 8; k++)
            v[k] = (struct ent){ k, 0, (uint16_t)(100 + k), 0, k };
        /* UNMAP both earlier mappings inside the batch */
        v[2] = (struct ent){ 0, model[0].len, MVF_GP_OP_UNMAP, 0, model[0].iova };
        v[5] = (struct ent){ 0, model[1].len, MVF_GP_OP_UNMAP, 0, model[1].iova };
        run_batch(&t, &w, 7, v, 8, NULL, NULL);
    }
    tc_end(&t);
    *rg = ring_setup(rg->r, 0, rg->size);
}

static void case_map_entries(struct ring *rg)
{
    struct tcase t;
    uint64_t G = granule, tg = target.gpa;
    uint64_t barg = bar_phys & ~(G - 1);
    struct ent e[] = {
        { tg, G, 0, 3, 0xabcdef },
        { tg, G, 3, 3, 0xabcdef },
        { tg, G, 0xffff, 3, 0xabcdef },
        { tg, G, MVF_GP_OP_MAP, 0, 0 },
        { tg, G, MVF_GP_OP_MAP, 4, 0 },
        { tg, G, MVF_GP_OP_MAP, 0x8003, 0 },
        { tg, G, MVF_GP_OP_MAP, 0xffff, 0 },
        { tg, 0, MVF_GP_OP_MAP, 0, 0 },
        { tg, 0, MVF_GP_OP_MAP, 3, 0 },
        { tg + 4096, G, MVF_GP_OP_MAP, 3, 0 },
        { tg + 1, G, MVF_GP_OP_MAP, 3, 0 },
        { tg, 4096, MVF_GP_OP_MAP, 3, 0 },
        { tg, G + 1, MVF_GP_OP_MAP, 3, 0 },
        { tg, G + 4096, MVF_GP_OP_MAP, 3, 0 },
        { UINT64_MAX - G + 1, 2 * G, MVF_GP_OP_MAP, 3, 0 },
        { 2 * G, UINT64_MAX - G + 1, MVF_GP_OP_MAP, 3, 0 },
        { UINT64_MAX - G + 1, G, MVF_GP_OP_MAP, 3, 0 },
        { G, UINT64_MAX - G + 1, MVF_GP_OP_MAP, 3, 0 },
        { 1ull << 60, G, MVF_GP_OP_MAP, 3, 0 },
        { 1ull << 40, G, MVF_GP_OP_MAP, 3, 0 },
        { barg, G, MVF_GP_OP_MAP, 3, 0 },
        { barg, G, MVF_GP_OP_MAP, MVF_GP_F_READ, 0 },
        { ram_end - G, 2 * G, MVF_GP_OP_MAP, 3, 0 },
        { ram_lo, (ram_hi - ram_lo) + (1ull << 30), MVF_GP_OP_MAP, 3, 0 },
        { ram_lo, 1ull << 40, MVF_GP_OP_MAP, 3, 0 },
        { tg, G, MVF_GP_OP_MAP, MVF_GP_F_READ, 0x1 },
        { tg, G, MVF_GP_OP_MAP, MVF_GP_F_WRITE, 0x2 },
        { tg, G, MVF_GP_OP_MAP, 3, 0x3 },
#if defined(__x86_64__)
        /* 576 KiB .. 1.5 MiB: low RAM, the VGA hole, the BIOS area, RAM */
        { 0x90000, 0x100000, MVF_GP_OP_MAP, 3, 0 },
#endif
    };
    static const char *const names[] = {
        "op 0", "op 3", "op 0xffff", "MAP flags 0", "MAP flags 4",
        "MAP flags 0x8003", "MAP flags 0xffff", "MAP flags 0 len 0 (flags first)",
        "MAP len 0", "MAP gpa +4 KiB", "MAP gpa +1", "MAP len 4 KiB",
        "MAP len G+1", "MAP len G+4 KiB", "MAP gpa 2^64-G len 2G (wraps)",
        "MAP gpa 2G len 2^64-G (wraps)", "MAP gpa 2^64-G len G (no wrap)",
        "MAP gpa G len 2^64-G (no wrap)", "MAP gpa 1<<60", "MAP gpa 1<<40",
        "MAP gpa = BAR0 granule", "MAP gpa = BAR0 granule, READ",
        "MAP straddling the end of RAM", "MAP RAM range + 1 GiB",
        "MAP len 1<<40", "MAP READ", "MAP WRITE", "MAP READ|WRITE",
        "MAP 0x90000+1 MiB across the x86 holes",
    };
    int32_t exp[sizeof(e) / sizeof(e[0])];
    uint32_t n = sizeof(e) / sizeof(e[0]);

    for (uint32_t k = 0; k < n; k++)
        exp[k] = EXP_MODEL;
    exp[22] = MVF_GP_EFAULT;      /* across the end of RAM */
    exp[23] = MVF_GP_EFAULT;      /* RAM range + 1 GiB: beyond any RAM */
#if defined(__x86_64__)
    exp[n - 1] = MVF_GP_EFAULT;   /* the model cannot know the holes */
#endif
    tc_begin(&t, "MAP entries: bad ops, flags, lengths, alignment, wraps, non-RAM");
    run_batch(&t, rg, 0, e, n, exp, names);
    tc_note(&t, "%u entries in one doorbell: each status as specified; "
            "bytes 0-19 untouched; failed MAPs write iova all ones, bad ops "
            "leave it; %u live", n, n_model);
    tc_end(&t);

    /* print them one by one too, for the log */
    for (uint32_t k = 0; k < n; k++)
        printf("  entry %2u %-44s status %s\n", k, names[k], ename(ent_status(rg, k)));
}

static void case_unmap_entries(struct ring *rg)
{
    struct tcase t;
    uint64_t G = granule, iova1 = 0, iova2 = 0, iova3 = 0;
    int32_t st;

    tc_begin(&t, "MAP a granule and a 2-granule range (the same memory twice)");
    st = map1(rg, 0, target.gpa, G, 3, &iova1);
    tc_st(&t, "MAP G", st, 0);
    if (target.len >= 2 * G)
        st = map1(rg, 1, target.gpa, 2 * G, 3, &iova2);
    else
        st = map1(rg, 1, ram_lo, 2 * G, 3, &iova2);
    tc_st(&t, "MAP 2G", st, 0);
    st = map1(rg, 2, target.gpa, G, MVF_GP_F_READ, &iova3);
    tc_st(&t, "MAP G again", st, 0);
    tc_true(&t, iova1 != iova3 && iova1 != iova2 && iova2 != iova3,
            "three distinct IOVAs 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64,
            iova1, iova2, iova3);
    tc_true(&t, iova_ok(iova1, G, target.gpa) && iova_ok(iova2, 2 * G, target.gpa) &&
            iova_ok(iova3, G, target.gpa), "IOVAs aligned, != gpa, in the aperture");
    tc_u(&t, "LIVE_MAPPINGS", live(), 3);
    tc_u(&t, "MAPPED", mapped(), 4 * G);
    tc_end(&t);
    if (t.failed) {
        skip("UNMAP entries", "the MAPs they need failed");
        return;
    }

    {
        /* a window's IOVA, or (no windows) an aperture IOVA nothing has */
        uint64_t win = rd32(MVF_GP_REG_WINDOW_COUNT) ?
                       rd64(MVF_GP_WIN_REG(0, MVF_GP_WIN_IOVA_LO)) : unused_iova(ap_base);
        struct ent e[] = {
            { 0, G, MVF_GP_OP_UNMAP, 0, unused_iova(ap_base + (1ull << 30)) },
            { 0, G, MVF_GP_OP_UNMAP, 0, 0 },
            { 0, G, MVF_GP_OP_UNMAP, 0, win },
            { 0, G, MVF_GP_OP_UNMAP, 1, iova1 },
            { 0, G, MVF_GP_OP_UNMAP, 0x8000, iova1 },
            { 0, 0, MVF_GP_OP_UNMAP, 0, iova1 },
            { 0, G, MVF_GP_OP_UNMAP, 0, iova1 + 4096 },
            { 0, 4096, MVF_GP_OP_UNMAP, 0, iova1 },
            { 0, 2 * G, MVF_GP_OP_UNMAP, 0, UINT64_MAX - G + 1 },
            { 0, 2 * G, MVF_GP_OP_UNMAP, 0, iova1 },
            { 0, G, MVF_GP_OP_UNMAP, 0, iova2 },
            { 0, G, MVF_GP_OP_UNMAP, 0, iova2 + G },
            { 0, 4 * G, MVF_GP_OP_UNMAP, 0, iova2 },
            { 0x123456789ull, G, MVF_GP_OP_UNMAP, 0, iova1 },
            { 0, G, MVF_GP_OP_UNMAP, 0, iova1 },
            { 0, 2 * G, MVF_GP_OP_UNMAP, 0, iova2 },
            { 0, 2 * G, MVF_GP_OP_UNMAP, 0, iova2 },
        };
        static const char *const names[] = {
            "UNMAP never-mapped IOVA (aperture + 1 GiB)", "UNMAP IOVA 0",
            "UNMAP a window IOVA / the aperture base", "UNMAP flags 1",
            "UNMAP flags 0x8000", "UNMAP len 0", "UNMAP unaligned IOVA",
            "UNMAP len 4 KiB", "UNMAP IOVA 2^64-G len 2G (wraps)",
            "UNMAP wrong length (2G for G)", "UNMAP wrong length (G for 2G)",
            "UNMAP an offset inside a mapping", "UNMAP wrong length (4G for 2G)",
            "UNMAP (gpa field garbage: ignored)", "double UNMAP",
            "UNMAP the 2G mapping", "double UNMAP of it",
        };
        int32_t exp[] = {
            MVF_GP_ENOENT, MVF_GP_ENOENT, MVF_GP_ENOENT, MVF_GP_EINVAL,
            MVF_GP_EINVAL, MVF_GP_ENODATA, MVF_GP_EINVAL, MVF_GP_EINVAL,
            MVF_GP_EOVERFLOW, MVF_GP_EINVAL, MVF_GP_EINVAL, MVF_GP_ENOENT,
            MVF_GP_EINVAL, 0, MVF_GP_ENOENT, 0, MVF_GP_ENOENT,
        };
        uint32_t n = sizeof(e) / sizeof(e[0]);

        tc_begin(&t, "UNMAP entries: never mapped, window IOVA, wrong length, "
                 "offset inside, double");
        run_batch(&t, rg, 3, e, n, exp, names);
        tc_u(&t, "LIVE_MAPPINGS", live(), 1);
        tc_u(&t, "MAPPED", mapped(), G);
        tc_note(&t, "%u entries in one doorbell", n);
        tc_end(&t);
        for (uint32_t k = 0; k < n; k++)
            printf("  entry %2u %-44s status %s\n", k, names[k],
                   ename(ent_status(rg, 3 + k)));
    }

    /* Mappings belong to the device: mapped from ring 0, unmapped from
     * another ring (or ring 0 disabled and re-enabled) */
    tc_begin(&t, "a mapping outlives its ring; unmapped from another ring");
    wr32(RREG(rg->r, MVF_GP_RING_CTRL), 0);
    tc_u(&t, "LIVE_MAPPINGS with ring disabled", live(), 1);
    if (num_rings > 1) {
        struct ring o = ring_setup(num_rings - 1, 2048, 64);

        st = unmap1(&o, 0, iova3, G);
        tc_st(&t, "UNMAP from the last ring", st, 0);
        wr32(RREG(o.r, MVF_GP_RING_CTRL), 0);
    } else {
        *rg = ring_setup(rg->r, 0, rg->size);
        st = unmap1(rg, 0, iova3, G);
        tc_st(&t, "UNMAP after re-enable", st, 0);
    }
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    tc_end(&t);
    *rg = ring_setup(rg->r, 0, rg->size);
}

/* Two rings over the same memory, ringing each other's entries */
static void case_shared_rings(struct ring *rg)
{
    struct tcase t;
    struct ring o;
    uint64_t iova;
    int32_t st;

    if (num_rings < 2) {
        skip("two rings over the same memory", "NUM_RINGS 1");
        return;
    }
    tc_begin(&t, "two rings over the same memory");
    o = *rg;
    o.r = num_rings - 1;
    ring_program(o.r, o.gpa, o.size);
    wr32(RREG(o.r, MVF_GP_RING_CTRL), 1);
    tc_u(&t, "second ring enabled", ring_ctrl(o.r), 1);
    st = map1(rg, 5, target.gpa, granule, 3, &iova);
    tc_st(&t, "MAP through ring 0", st, 0);
    st = unmap1(&o, 6, iova, granule);
    tc_st(&t, "UNMAP through the other ring, same memory", st, 0);
    st = unmap1(rg, 6, iova, granule);   /* the same entry again */
    tc_st(&t, "the same UNMAP entry rung again on ring 0", st, MVF_GP_ENOENT);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    wr32(RREG(o.r, MVF_GP_RING_CTRL), 0);
    tc_end(&t);
}

/* ---- read-only guest memory (x86: the BIOS shadow) -------------------------- */

#if defined(__x86_64__)
/* SeaBIOS leaves 0xf0000-0xfffff read-only (PAM): the guest cannot write
 * it, so neither may the device.  A MAP with WRITE must be refused; READ
 * may be allowed (or refused if QEMU does not offer ROM to the rings). */
static void case_rom(const struct ring *rg)
{
    struct tcase t;
    uint64_t iova = 0, gpa = 0xf0000 & ~(uint64_t)(granule - 1);
    int32_t st;

    int fd = open("/dev/mem", O_RDWR | O_SYNC), ro = -1;
    uint8_t b0, b1, b2;

    /* Can the guest itself write there?  Flip a byte through /dev/mem
     * (STRICT_DEVMEM allows the first MiB), read it back, restore it. */
    if (fd >= 0 && pread(fd, &b0, 1, 0xf0010) == 1) {
        b1 = (uint8_t)~b0;
        if (pwrite(fd, &b1, 1, 0xf0010) == 1 && pread(fd, &b2, 1, 0xf0010) == 1) {
            ro = b2 == b0;
            if (!ro)
                (void)!pwrite(fd, &b0, 1, 0xf0010);
        }
    }
    if (fd >= 0)
        close(fd);
    if (ro != 1) {
        skip("MAP of the read-only BIOS shadow (x86, 0xf0000)", ro < 0 ?
             "cannot probe 0xf0010 through /dev/mem" :
             "0xf0000 is writable for this guest: nothing to protect");
        return;
    }
    tc_begin(&t, "MAP of the read-only BIOS shadow (x86, 0xf0000)");
    tc_note(&t, "the guest's own write to 0xf0010 did not stick (read-only)");
    st = map1(rg, 20, gpa, granule, MVF_GP_F_READ, &iova);
    tc_true(&t, st == 0 || st == MVF_GP_EFAULT, "READ: %s (0 or -EFAULT)", ename(st));
    if (st == 0)
        tc_st(&t, "its UNMAP", unmap1(rg, 21, iova, granule), 0);
    st = map1(rg, 22, gpa, granule, MVF_GP_F_WRITE, &iova);
    tc_true(&t, st < 0, "WRITE: %s (must be refused: the guest itself cannot "
            "write there)", ename(st));
    if (st == 0)
        unmap1(rg, 23, iova, granule);
    st = map1(rg, 24, gpa, granule, MVF_GP_F_READ | MVF_GP_F_WRITE, &iova);
    tc_true(&t, st < 0, "READ|WRITE: %s (must be refused)", ename(st));
    if (st == 0)
        unmap1(rg, 25, iova, granule);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_end(&t);

    /* A ring there: the device would write each result (bytes 20-31 of
     * the entry) into memory the guest cannot write.  QEMU's write_guest
     * refuses ROM; the bytes must stay as they are. */
    tc_begin(&t, "a ring in the read-only BIOS shadow (x86, 0xf0000)");
    {
        uint8_t before[32], after[32];
        unsigned r = num_rings - 1;

        fd = open("/dev/mem", O_RDONLY | O_SYNC);
        if (fd < 0 || pread(fd, before, 32, 0xf0000) != 32)
            tc_true(&t, 0, "cannot read 0xf0000 through /dev/mem");
        if (r == rg->r)
            wr32(RREG(r, MVF_GP_RING_CTRL), 0);
        ring_program(r, 0xf0000, 1);
        wr32(RREG(r, MVF_GP_RING_CTRL), 1);
        st = ring_status(r);
        tc_true(&t, st == 0 || st == MVF_GP_EFAULT, "enable: STATUS %s", ename(st));
        if (ring_ctrl(r) == 1) {
            wr32(RREG(r, MVF_GP_RING_DOORBELL), MVF_GP_DOORBELL(0, 1));
            tc_note(&t, "doorbell: STATUS %s PROCESSED %u", ename(ring_status(r)),
                    ring_processed(r));
            wr32(RREG(r, MVF_GP_RING_CTRL), 0);
        }
        if (fd >= 0 && pread(fd, after, 32, 0xf0000) == 32) {
            tc_true(&t, !memcmp(before, after, 32), "0xf0000-0xf001f %s",
                    memcmp(before, after, 32) ? "MODIFIED by the device's "
                    "result write-back" : "unchanged");
        }
        if (fd >= 0)
            close(fd);
        ring_program(r, 0, 0);
        if (r == rg->r) {
            ring_program(r, rg->gpa, rg->size);
            wr32(RREG(r, MVF_GP_RING_CTRL), 1);
        }
        tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    }
    tc_end(&t);
}
#endif

/* ---- without bus mastering the companion cannot read its rings (spec §2) ---- */

static void case_no_bus_master(struct ring *rg)
{
    struct tcase t;
    uint64_t iova = 0;
    int32_t st;
    uint16_t cmd = command_get();
    struct ent e = { target.gpa, granule, MVF_GP_OP_MAP, 3, 0 };

    tc_begin(&t, "doorbell with the companion's bus mastering off (spec 2: "
             "STATUS -EFAULT, nothing read or mapped)");
    command_set((cmd | 0x2) & ~0x4);
    put_ent(rg, 9, &e);
    doorbell(rg, MVF_GP_DOORBELL(9, 1));
    tc_st(&t, "ring STATUS", ring_status(rg->r), MVF_GP_EFAULT);
    tc_u(&t, "PROCESSED", ring_processed(rg->r), 0);
    tc_st(&t, "entry status (still pending)", ent_status(rg, 9), 1);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_u(&t, "ring still enabled", ring_ctrl(rg->r), 1);
    command_set(cmd);
    st = map1(rg, 10, target.gpa, granule, 3, &iova);
    tc_st(&t, "MAP once bus mastering is back on", st, 0);
    if (st == 0)
        tc_st(&t, "UNMAP", unmap1(rg, 11, iova, granule), 0);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_end(&t);
}

/* ---- two CPUs at once ------------------------------------------------------------- */

/* One thread per CPU: an honest one doing MAP/UNMAP pairs on ring 0 while
 * a hostile one hammers the device (bad sizes, read-only registers, bad
 * doorbells and garbage entries on ring 1).  The honest thread must never
 * see an error: the hostile one's errors are its own. */
struct conc {
    struct ring rg;
    int cpu;
    uint32_t iters, errors, done;
    int32_t first_bad;
};

static void pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

static void *conc_honest(void *arg)
{
    struct conc *c = arg;

    pin(c->cpu);
    for (uint32_t i = 0; i < c->iters; i++) {
        uint32_t idx = (i * 2) % c->rg.size;
        struct ent m = { target.gpa, granule, MVF_GP_OP_MAP, 3, 0 };
        struct ent u;
        int32_t st;

        put_ent(&c->rg, idx, &m);
        doorbell(&c->rg, MVF_GP_DOORBELL(idx, 1));
        st = ent_status(&c->rg, idx);
        if (st || ring_status(c->rg.r)) {
            if (!c->errors++)
                c->first_bad = st ? st : ring_status(c->rg.r);
            continue;
        }
        u = (struct ent){ 0, granule, MVF_GP_OP_UNMAP, 0, ent_iova(&c->rg, idx) };
        put_ent(&c->rg, idx + 1, &u);
        doorbell(&c->rg, MVF_GP_DOORBELL(idx + 1, 1));
        st = ent_status(&c->rg, idx + 1);
        if (st || ring_status(c->rg.r)) {
            if (!c->errors++)
                c->first_bad = st ? st : ring_status(c->rg.r);
            continue;
        }
        c->done++;
    }
    return NULL;
}

static volatile int conc_stop;

static void *conc_hostile(void *arg)
{
    struct conc *c = arg;
    uint64_t x = 0x9e3779b97f4a7c15ull;

    pin(c->cpu);
    while (!conc_stop) {
        uint32_t k;
        struct ent e;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k = (uint32_t)(x % c->rg.size);
        switch (x >> 60) {
        case 0: refused_write(1, MVF_GP_REG_RESET, 1); break;
        case 1: refused_write(2, RREG(0, MVF_GP_RING_CTRL), 0); break;
        case 2: refused_write(8, RREG(0, MVF_GP_RING_DOORBELL), x); break;
        case 3: wr32(MVF_GP_REG_MAGIC, (uint32_t)x); break;
        case 4: wr32(RREG(0, MVF_GP_RING_STATUS), (uint32_t)x); break;
        case 5: wr32(RREG(63, MVF_GP_RING_CTRL), 1); break;
        case 6: wr32(RREG(c->rg.r, MVF_GP_RING_ADDR_LO), (uint32_t)x); break; /* -EBUSY */
        case 7: wr32(RREG(c->rg.r, MVF_GP_RING_CTRL), 1); break;              /* -EBUSY */
        case 8: wr32(RREG(c->rg.r, MVF_GP_RING_DOORBELL), (uint32_t)x); break;
        case 9: wr32(MVF_GP_REG_RESET, 0); break;                             /* -EINVAL */
        default:
            /* garbage entries that cannot succeed: bad op, unaligned, not RAM */
            e = (struct ent){ x | 1, x, (uint16_t)(x >> 8), (uint16_t)(x >> 24), x };
            if (e.op == MVF_GP_OP_MAP)
                e.gpa = 1ull << 60;
            if (e.op == MVF_GP_OP_UNMAP)
                e.iova |= 1;
            put_ent(&c->rg, k, &e);
            doorbell(&c->rg, MVF_GP_DOORBELL(k, 1));
            if (ent_status(&c->rg, k) == 0)
                c->errors++;    /* a garbage entry succeeded */
        }
        c->done++;
    }
    return NULL;
}

static void case_concurrent(void)
{
    struct tcase t;
    struct conc h, b;
    pthread_t th, tb;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (num_rings < 2 || ncpu < 2) {
        skip("two CPUs at once: honest ring 0, hostile ring 1",
             "needs 2 rings and 2 CPUs (--smp 2)");
        return;
    }
    tc_begin(&t, "two CPUs at once: honest MAP/UNMAP on ring 0, garbage on ring 1");
    memset(&h, 0, sizeof(h));
    memset(&b, 0, sizeof(b));
    h.rg = ring_setup(0, 0, 64);
    b.rg = ring_setup(1, 2048, 64);
    h.cpu = 0;
    b.cpu = 1;
    h.iters = 500;
    conc_stop = 0;
    if (pthread_create(&tb, NULL, conc_hostile, &b) ||
        pthread_create(&th, NULL, conc_honest, &h))
        die("pthread_create");
    pthread_join(th, NULL);
    conc_stop = 1;
    pthread_join(tb, NULL);
    tc_true(&t, h.errors == 0, "honest thread: %u of %u MAP/UNMAP pairs done, "
            "%u errors%s%s", h.done, h.iters, h.errors, h.errors ? ", first " : "",
            h.errors ? ename(h.first_bad) : "");
    tc_true(&t, b.errors == 0, "hostile thread: %u garbage writes, %u garbage "
            "entries accepted", b.done, b.errors);
    tc_u(&t, "ring 0 CTRL", ring_ctrl(0), 1);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    tc_u(&t, "MAGIC", rd32(MVF_GP_REG_MAGIC), MVF_GP_MAGIC);
    wr32(RREG(1, MVF_GP_RING_CTRL), 0);
    tc_end(&t);
}

/* ---- random garbage entries ------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t x = rng;   /* xorshift64* */

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static uint64_t rnd_ram_granule(void)
{
    return ram_lo + rnd_below((ram_hi - ram_lo) / granule) * granule;
}

static uint64_t rnd_garbage64(void)
{
    switch (rnd_below(11)) {
    case 0: return 0;
    case 1: return UINT64_MAX;
    case 2: return UINT64_MAX - granule + 1;
    case 3: return 1ull << 60;
    case 4: return bar_phys;
    case 5: return rnd() & ~(uint64_t)(granule - 1);
    case 6: return rnd_ram_granule() + 4096;
    case 7: return 1ull << 63;
    case 8: return ap_base + (rnd_below(1ull << 20) << 14);
    case 9: return rnd_below(1ull << 32) & ~(uint64_t)(granule - 1);
    default: return rnd();
    }
}

static void gen_entry(struct ent *e)
{
    uint64_t G = granule;
    unsigned what = (unsigned)rnd_below(100);

    memset(e, 0, sizeof(*e));
    e->iova = rnd();
    e->gpa = rnd();
    if (what < 45) {
        e->op = MVF_GP_OP_MAP;
        e->flags = rnd_below(10) < 8 ? (uint16_t)(1 + rnd_below(3)) : (uint16_t)rnd();
        switch (rnd_below(10)) {
        case 0: case 1: case 2: case 3: case 4:
            e->gpa = rnd_ram_granule();
            break;
        case 5:
            e->gpa = target.gpa;
            break;
        default:
            e->gpa = rnd_garbage64();
        }
        switch (rnd_below(10)) {
        case 0: case 1: case 2: case 3: case 4:
            e->len = G;
            break;
        case 5: case 6:
            e->len = (1 + rnd_below(64)) * G;
            break;
        default:
            e->len = rnd_below(2) ? rnd_garbage64() : rnd_below(3) * 4096;
        }
    } else if (what < 80) {
        e->op = MVF_GP_OP_UNMAP;
        e->flags = rnd_below(10) < 9 ? 0 : (uint16_t)rnd();
        if (n_model && rnd_below(10) < 6) {
            uint32_t i = (uint32_t)rnd_below(n_model);

            e->iova = model[i].iova;
            e->len = model[i].len;
            if (rnd_below(10) < 2)
                e->len = rnd_below(2) ? e->len + G : rnd_garbage64();
            if (rnd_below(10) < 1)
                e->iova += rnd_below(2) ? G : 4096;
        } else {
            e->iova = rnd_garbage64();
            e->len = rnd_below(2) ? G : rnd_garbage64();
        }
    } else {
        static const uint16_t ops[] = { 0, 3, 4, 0x100, 0xffff };

        e->op = rnd_below(2) ? ops[rnd_below(5)] : (uint16_t)rnd();
        if (e->op == MVF_GP_OP_MAP || e->op == MVF_GP_OP_UNMAP)
            e->op = 0;
        e->flags = (uint16_t)rnd();
        e->len = rnd();
    }
}

static void case_random(const struct ring *rg, uint64_t seed, uint32_t total)
{
    struct tcase t;
    uint32_t maxb = rg->size < 200 ? rg->size : 200;
    struct ent *e = calloc(maxb, sizeof(*e));
    uint32_t done = 0, doorbells = 0, maps = 0, unmaps = 0, errs = 0, max_live = 0;
    uint32_t by_status[100] = { 0 };
    char name[96], hist[256] = "";

    snprintf(name, sizeof(name), "%u random garbage entries (seed %" PRIu64
             ", batches of 1-%u at random starts)", total, seed, maxb);
    tc_begin(&t, name);
    rng = seed ? seed : 1;
    while (done < total && !t.failed) {
        uint32_t n = 1 + (uint32_t)rnd_below(maxb);
        uint32_t start = (uint32_t)rnd_below(rg->size);
        uint32_t m0 = n_model;

        if (n > total - done)
            n = total - done;
        for (uint32_t k = 0; k < n; k++)
            gen_entry(&e[k]);
        /* judged in order against the model (run_batch); every status
         * must be 0 or a listed errno, and as the protocol predicts */
        run_batch(&t, rg, start, e, n, NULL, NULL);
        for (uint32_t k = 0; k < n; k++) {
            int32_t st = ent_status(rg, start + k);

            if (!listed_status(st))
                tc_true(&t, 0, "entry status %d is not a listed errno", st);
            else if (-st < 100)
                by_status[-st]++;
            if (st == 0 && e[k].op == MVF_GP_OP_MAP)
                maps++;
            else if (st == 0 && e[k].op == MVF_GP_OP_UNMAP)
                unmaps++;
            else if (st)
                errs++;
        }
        if (n_model > max_live)
            max_live = n_model;
        (void)m0;
        doorbells++;
        done += n;
    }
    for (int i = 0; i < 100; i++) {
        if (by_status[i]) {
            size_t l = strlen(hist);

            snprintf(hist + l, sizeof(hist) - l, "%s%s x%u", l ? ", " : "",
                     ename(-i), by_status[i]);
        }
    }
    tc_note(&t, "%u doorbells, %u entries: %u MAPs and %u UNMAPs succeeded, %u "
            "refused (%s); LIVE_MAPPINGS = MAPs - UNMAPs = %u after every "
            "doorbell (max %u)", doorbells, done, maps, unmaps, errs, hist,
            n_model, max_live);
    tc_true(&t, maps - unmaps == n_model, "MAPs - UNMAPs = model");
    tc_u(&t, "LIVE_MAPPINGS", live(), maps - unmaps);
    tc_end(&t);
    free(e);

    tc_begin(&t, "unmapping what the random entries left");
    unmap_all(&t, rg);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    tc_end(&t);
}

/* ---- random garbage register writes ---------------------------------------------- */

static void rings_parked(void)
{
    /* rings whose ADDR is above 1 TiB can never be enabled: not RAM */
    for (unsigned r = 0; r < num_rings; r++) {
        wr32(RREG(r, MVF_GP_RING_CTRL), 0);
        wr32(RREG(r, MVF_GP_RING_ADDR_HI), 0x100);
    }
}

static void case_register_garbage(uint64_t seed, uint32_t total)
{
    struct tcase t;
    char name[96];
    uint32_t bad = 0, sizes[4] = { 0 };

    snprintf(name, sizeof(name), "%u random register writes (seed %" PRIu64 ")",
             total, seed);
    tc_begin(&t, name);
    rng = seed ^ 0x5bd1e995u;
    rings_parked();
    for (uint32_t i = 0; i < total && bad < 5; i++) {
        unsigned sz = (unsigned)rnd_below(10);
        uint32_t off = (uint32_t)rnd_below(MVF_GP_BAR0_SIZE);
        uint64_t v = rnd_below(3) ? rnd() : rnd_below(8);
        int32_t ds;

        if (sz < 6) {                    /* aligned 32-bit */
            off &= ~3u;
            if (off >= MVF_GP_RING_BASE) {
                unsigned r = (off - MVF_GP_RING_BASE) / MVF_GP_RING_STRIDE;
                unsigned f = (off - MVF_GP_RING_BASE) % MVF_GP_RING_STRIDE;

                if (r < num_rings && f == MVF_GP_RING_ADDR_HI)
                    v |= 0x100;          /* never a RAM ring */
            }
            wr32(off, (uint32_t)v);
            sizes[2]++;
            if (off == MVF_GP_REG_RESET && (uint32_t)v == 1) {
                model_clear();
                rings_parked();
            }
        } else if (sz < 7) {
            refused_write(1, off, (uint8_t)v);
            sizes[0]++;
        } else if (sz < 8) {
            off &= ~1u;
            refused_write(2, off, (uint16_t)v);
            sizes[1]++;
        } else {
            off &= ~7u;
            refused_write(8, off, v);
            sizes[3]++;
        }
        ds = dev_status();
        if (!listed_status(ds)) {
            bad++;
            tc_true(&t, 0, "write %u (0x%03x): DEV_STATUS %d not a listed errno",
                    i, off, ds);
        }
        if (rd32(MVF_GP_REG_MAGIC) != MVF_GP_MAGIC) {
            bad++;
            tc_true(&t, 0, "write %u (0x%03x): MAGIC reads 0x%x", i, off,
                    rd32(MVF_GP_REG_MAGIC));
        }
    }
    for (unsigned r = 0; r < num_rings; r++) {
        char b[48];

        snprintf(b, sizeof(b), "ring %u CTRL", r);
        tc_u(&t, b, ring_ctrl(r), 0);
        tc_true(&t, listed_status(ring_status(r)), "ring %u STATUS %s listed", r,
                ename(ring_status(r)));
    }
    tc_u(&t, "VERSION", rd32(MVF_GP_REG_VERSION), MVF_GP_VERSION);
    tc_u(&t, "NUM_RINGS", rd32(MVF_GP_REG_NUM_RINGS), num_rings);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    wr32(MVF_GP_REG_RESET, 1);
    model_clear();
    tc_u(&t, "STRATEGY after RESET", rd32(MVF_GP_REG_STRATEGY), strategy0);
    tc_note(&t, "%u 8-bit, %u 16-bit, %u 32-bit, %u 64-bit writes anywhere in "
            "BAR0: every DEV_STATUS listed, MAGIC intact", sizes[0], sizes[1],
            sizes[2], sizes[3]);
    tc_end(&t);
}

/* ---- exhaustion --------------------------------------------------------------------- */

static void case_budget(const struct ring *rg, uint64_t *old_iova, uint64_t *old_len)
{
    struct tcase t;
    uint64_t G = granule, chunk = (ram_hi - ram_lo) & ~(uint64_t)(G - 1);
    uint32_t n = 0, idx = 0;
    int32_t st;

    if (chunk > (32ull << 20))
        chunk = 32ull << 20;
    if (budget / chunk > 2000 || budget / chunk >= max_mappings) {
        skip("BUDGET exhausted (-ENOSPC)", "BUDGET too large to exhaust here");
        return;
    }
    tc_begin(&t, "BUDGET exhausted: MAP until -ENOSPC");
    while (!t.failed && budget - model_bytes >= G) {
        uint64_t len = budget - model_bytes;
        uint64_t iova;
        struct ent e;

        if (len > chunk)
            len = chunk & ~(G - 1);
        len &= ~(G - 1);
        e = (struct ent){ ram_lo, len, MVF_GP_OP_MAP, 3, 0 };
        tc_true(&t, expect_map(&e) == 0, "MAP of 0x%" PRIx64 " predicted 0", len);
        st = map1(rg, idx, ram_lo, len, 3, &iova);
        if (st) {
            tc_st(&t, "MAP", st, 0);
            break;
        }
        if (!n) {
            *old_iova = iova;
            *old_len = len;
        }
        idx = (idx + 1) % rg->size;
        n++;
    }
    {
        uint64_t iova;

        st = map1(rg, idx, ram_lo, G, 3, &iova);
        tc_st(&t, "one more granule", st, MVF_GP_ENOSPC);
        tc_true(&t, iova == UINT64_MAX, "its iova all ones");
        st = map1(rg, (idx + 1) % rg->size, target.gpa, G, MVF_GP_F_READ, &iova);
        tc_st(&t, "and again (error not sticky, still full)", st, MVF_GP_ENOSPC);
    }
    tc_u(&t, "MAPPED", mapped(), model_bytes);
    tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
    tc_note(&t, "%u MAPs of up to 0x%" PRIx64 " filled BUDGET 0x%" PRIx64, n,
            chunk, budget);
    tc_true(&t, mapped() <= budget, "MAPPED <= BUDGET");
    tc_end(&t);

    /* an UNMAP makes room again: errors are not sticky */
    if (n_model) {
        tc_begin(&t, "after -ENOSPC: UNMAP one, MAP fits again");
        uint64_t iova = model[n_model - 1].iova, len = model[n_model - 1].len;

        if (iova == *old_iova)
            *old_iova = 0;
        st = unmap1(rg, 0, iova, len);
        tc_st(&t, "UNMAP", st, 0);
        st = map1(rg, 1, target.gpa, G, 3, &iova);
        tc_st(&t, "MAP", st, 0);
        tc_u(&t, "LIVE_MAPPINGS", live(), n_model);
        tc_end(&t);
    }
}

static void case_max_mappings(const struct ring *rg)
{
    struct tcase t;
    uint64_t G = granule;
    uint32_t left;

    if (max_mappings > 8192 || (uint64_t)max_mappings * G > budget - model_bytes) {
        char why[128];

        snprintf(why, sizeof(why), "MAX_MAPPINGS %u: too many to reach within "
                 "BUDGET here", max_mappings);
        skip("MAX_MAPPINGS exhausted (-EMFILE)", why);
        return;
    }
    tc_begin(&t, "MAX_MAPPINGS exhausted: MAP granules until -EMFILE");
    while (!t.failed && (left = max_mappings - n_model) > 0) {
        uint32_t n = left < rg->size ? left : rg->size;
        struct ent *e;

        if (n > MVF_GP_DOORBELL_MAX)
            n = MVF_GP_DOORBELL_MAX;
        e = calloc(n, sizeof(*e));
        for (uint32_t k = 0; k < n; k++)
            e[k] = (struct ent){ rnd_ram_granule(), G, MVF_GP_OP_MAP, 3, 0 };
        run_batch(&t, rg, 0, e, n, NULL, NULL);
        free(e);
    }
    {
        struct ent e[2] = {
            { target.gpa, G, MVF_GP_OP_MAP, 3, 0 },
            { ram_lo, G, MVF_GP_OP_MAP, MVF_GP_F_READ, 0 },
        };
        int32_t exp[2] = { MVF_GP_EMFILE, MVF_GP_EMFILE };

        run_batch(&t, rg, 0, e, 2, exp, NULL);
    }
    tc_u(&t, "LIVE_MAPPINGS", live(), max_mappings);
    tc_end(&t);
}

/* ---- reset ---------------------------------------------------------------------------- */

static void case_reset(void)
{
    struct tcase t;
    unsigned bad = 0;

    tc_begin(&t, "RESET with mappings live and rings enabled");
    tc_note(&t, "before: %u live, MAPPED 0x%" PRIx64, live(), mapped());
    prime_dev(0);
    wr32(MVF_GP_REG_RESET, 1);
    model_clear();
    tc_st(&t, "DEV_STATUS", dev_status(), 0);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    tc_u(&t, "STRATEGY", rd32(MVF_GP_REG_STRATEGY), strategy0);
    for (unsigned r = 0; r < num_rings; r++)
        for (uint32_t f = 0; f < MVF_GP_RING_STRIDE; f += 4)
            if (rd32(RREG(r, f))) {
                char b[48];

                snprintf(b, sizeof(b), "ring %u +0x%02x", r, f);
                tc_u(&t, b, rd32(RREG(r, f)), 0);
                bad++;
            }
    tc_note(&t, "all %u ring blocks read 0", num_rings);
    tc_end(&t);
}

static void case_after_reset(const struct ring *rg, uint64_t old_iova, uint64_t old_len)
{
    struct tcase t;

    if (!old_iova) {
        skip("UNMAP of an IOVA mapped before RESET", "nothing was mapped");
        return;
    }
    tc_begin(&t, "UNMAP of an IOVA mapped before RESET");
    tc_st(&t, "UNMAP", unmap1(rg, 0, old_iova, old_len), MVF_GP_ENOENT);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_end(&t);
}

/* ---- the honest round ------------------------------------------------------------------- */

static void case_honest(void)
{
    struct tcase t;
    struct ring rg;
    uint64_t iova = 0, G = granule;
    int32_t st;

    tc_begin(&t, "honest round: ring, MAP of a granule-aligned locked buffer, UNMAP");
    rg = ring_setup(0, 0, 8);
    tc_st(&t, "ring STATUS", ring_status(0), 0);
    if (target.va) {
        memset((void *)target.va, 0xa5, G);   /* our own locked memory */
    }
    st = map1(&rg, 0, target.gpa, G, MVF_GP_F_READ | MVF_GP_F_WRITE, &iova);
    tc_st(&t, "MAP", st, 0);
    tc_st(&t, "ring STATUS", ring_status(0), 0);
    tc_u(&t, "PROCESSED", ring_processed(0), 1);
    tc_true(&t, iova != target.gpa, "IOVA 0x%" PRIx64 " != GPA 0x%" PRIx64,
            iova, target.gpa);
    tc_true(&t, !(iova & (G - 1)), "IOVA granule aligned");
    if (ap_size)
        tc_true(&t, iova >= ap_base && iova - ap_base < ap_size &&
                G <= ap_size - (iova - ap_base),
                "IOVA within the aperture 0x%" PRIx64 "+0x%" PRIx64, ap_base, ap_size);
    tc_u(&t, "LIVE_MAPPINGS", live(), 1);
    tc_u(&t, "MAPPED", mapped(), G);
    st = unmap1(&rg, 1, iova, G);
    tc_st(&t, "UNMAP", st, 0);
    tc_u(&t, "LIVE_MAPPINGS", live(), 0);
    tc_u(&t, "MAPPED", mapped(), 0);
    wr32(RREG(0, MVF_GP_RING_CTRL), 0);
    tc_u(&t, "CTRL after disable", ring_ctrl(0), 0);
    tc_end(&t);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    uint64_t seed = 20261125, old_iova = 0, old_len = 0;
    uint32_t nrandom = 1000, nregs = 3000;
    int set_master = 0;
    struct ring rg;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--random") && i + 1 < argc)
            nrandom = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--regs") && i + 1 < argc)
            nregs = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--dev") && i + 1 < argc)
            snprintf(devdir, sizeof(devdir), "%s", argv[++i]);
        else if (!strcmp(argv[i], "--set-master"))
            set_master = 1;
        else
            die("usage: hostile [--seed N] [--random N] [--regs N] [--dev SYSFS_DIR] "
                "| --set-master");
    }
    if (set_master) {   /* diagnostic: bus mastering on, nothing else */
        find_companion();
        command_set(command_get() | 0x6);
        printf("%s: command register 0x%04x\n", devdir, command_get());
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGBUS, on_sigbus);
    find_companion();
    sysfs_write("enable", "1");
    cmd_saved = command_get();
    command_set(cmd_saved | 0x6);   /* memory decoding; bus mastering: rings are DMA */
    map_bar();
    if (rd32(MVF_GP_REG_MAGIC) != MVF_GP_MAGIC)
        die("%s: MAGIC reads 0x%x", devdir, rd32(MVF_GP_REG_MAGIC));
    features = rd32(MVF_GP_REG_FEATURES);
    num_rings = rd32(MVF_GP_REG_NUM_RINGS);
    granule = rd32(MVF_GP_REG_GRANULE);
    gm = granule - 1;
    budget = rd64(MVF_GP_REG_BUDGET_LO);
    max_mappings = rd32(MVF_GP_REG_MAX_MAPPINGS);
    ap_base = rd64(MVF_GP_REG_APERTURE_BASE_LO);
    ap_size = rd64(MVF_GP_REG_APERTURE_SIZE_LO);
    strategy0 = rd32(MVF_GP_REG_STRATEGY);
    printf("companion %s: BAR0 at 0x%" PRIx64 ", FEATURES 0x%x, STRATEGY %u, "
           "NUM_RINGS %u, GRANULE %u, BUDGET 0x%" PRIx64 ", MAX_MAPPINGS %u, "
           "aperture 0x%" PRIx64 "+0x%" PRIx64 "\n", devdir, bar_phys, features,
           strategy0, num_rings, granule, budget, max_mappings, ap_base, ap_size);
    if (!num_rings || !granule || (granule & gm))
        die("no rings (NUM_RINGS %u) or bad GRANULE %u: the hostile cases need "
            "the on-demand strategy (macvfiod --dma-budget below guest RAM)",
            num_rings, granule);
    alloc_memory();
    find_ram();
    wr32(MVF_GP_REG_RESET, 1);

    case_identity();
    case_readonly();
    case_missing_rings();
    case_strategy();
    case_ring_setup();

    rg = ring_setup(0, 0, (uint32_t)(ringmem.len >= 4096 ? 128 : ringmem.len / 32));
    case_ring_busy(&rg);
    case_reset_value(&rg);
    case_access_sizes(&rg);
    case_doorbells(&rg);
    case_wrap(&rg);
    case_map_entries(&rg);
    {
        struct tcase t;

        tc_begin(&t, "unmapping what the MAP entries mapped");
        unmap_all(&t, &rg);
        tc_u(&t, "LIVE_MAPPINGS", live(), 0);
        tc_end(&t);
    }
    case_unmap_entries(&rg);
    case_shared_rings(&rg);
#if defined(__x86_64__)
    case_rom(&rg);
#endif
    case_no_bus_master(&rg);

    if (have_huge) {
        /* a big ring: batches up to 200 entries, anywhere in 4096 */
        struct ring big;

        wr32(RREG(0, MVF_GP_RING_CTRL), 0);
        big = ring_setup(0, 64 << 10, 4096);
        case_random(&big, seed, nrandom);
        wr32(RREG(0, MVF_GP_RING_CTRL), 0);
        rg = ring_setup(0, 0, 128);
    } else {
        case_random(&rg, seed, nrandom);
    }
    case_register_garbage(seed, nregs);
    case_concurrent();

    rg = ring_setup(0, 0, (uint32_t)(ringmem.len >= 4096 ? 128 : ringmem.len / 32));
    case_budget(&rg, &old_iova, &old_len);
    case_reset();
    rg = ring_setup(0, 0, (uint32_t)(ringmem.len >= 4096 ? 128 : ringmem.len / 32));
    case_after_reset(&rg, old_iova, old_len);
    case_max_mappings(&rg);
    case_reset();

    case_honest();
    wr32(MVF_GP_REG_RESET, 1);
    command_set(cmd_saved);
    sysfs_write("enable", "0");

    printf("hostile: %u passed, %u failed, %u skipped\n", n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}
