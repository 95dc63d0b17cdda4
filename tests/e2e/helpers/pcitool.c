// SPDX-License-Identifier: MIT
/*
 * pcitool: tiny static helper for e2e guests (busybox has no setpci and
 * cannot mmap a BAR).  Built on the host with gcc -static for each guest
 * architecture and shipped as /bin/pcitool.
 *
 *   pcitool r32  RESOURCE OFF          read a 32-bit register (prints 0x...)
 *   pcitool w32  RESOURCE OFF VAL      write a 32-bit register
 *   pcitool fill RESOURCE OFF LEN SEED write a byte pattern, read it back,
 *                                      print its byte sum (mod 2^32)
 *   pcitool sum  RESOURCE OFF LEN      print the byte sum of a range
 *   pcitool caps CONFIG                list capabilities of a config file
 *                                      (/sys/bus/pci/devices/X/config):
 *                                      "cap ID OFFSET [details]" lines
 *   pcitool dmawin DEV COMPANION       sim:dmatest DMA through a window:
 *                                      a locked page of this process, its
 *                                      guest-physical address from
 *                                      /proc/self/pagemap translated with
 *                                      apple-dma-pci's window table (DEV and
 *                                      COMPANION: /sys/bus/pci/devices/X,
 *                                      both enabled); the device writes a
 *                                      pattern from its window into the page
 *                                      (FROM_DEVICE) and reads another one
 *                                      back (TO_DEVICE); both are checked
 *   pcitool dmaring DEV COMPANION      the same through an on-demand
 *                                      mapping: ring 0 of apple-dma-pci in
 *                                      a locked page, MAP of the granule
 *                                      around another page, DMA both ways,
 *                                      UNMAP, then the device must fault
 *
 * RESOURCE is /sys/bus/pci/devices/X/resourceN (mmapped, after
 * "echo 1 > .../enable").  Numbers are decimal or 0x hex.  Exit status 0
 * on success, 1 on any error (with a message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "pcitool: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static uint64_t num(const char *s)
{
    char *end;
    uint64_t v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        die("bad number '%s'", s);
    return v;
}

struct map {
    volatile uint8_t *base;
    size_t len;
};

/* Maps the whole resource file read-write, uncached (sysfs does that). */
static struct map map_resource(const char *path, uint64_t off, uint64_t len)
{
    struct map m;
    struct stat st;
    int fd;
    void *p;

    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0)
        die("cannot open %s", path);
    if (fstat(fd, &st) < 0 || st.st_size <= 0)
        die("cannot size %s", path);
    if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off)
        die("range beyond the end of %s", path);
    p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die("cannot mmap %s", path);
    close(fd);
    m.base = p;
    m.len = st.st_size;
    return m;
}

static uint8_t pattern(uint64_t seed, uint64_t i)
{
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;

    x ^= x >> 31;
    return (uint8_t)(x ^ (x >> 17));
}

static int cmd_caps(const char *path)
{
    uint8_t cfg[4096];
    ssize_t n;
    int fd, pos, guard = 0;

    memset(cfg, 0, sizeof(cfg));
    fd = open(path, O_RDONLY);
    if (fd < 0)
        die("cannot open %s", path);
    n = read(fd, cfg, sizeof(cfg));
    close(fd);
    if (n < 64)
        die("short read of %s (need root?)", path);
    printf("header vendor 0x%04x device 0x%04x class 0x%06x\n",
           cfg[0] | cfg[1] << 8, cfg[2] | cfg[3] << 8,
           cfg[9] | cfg[10] << 8 | cfg[11] << 16);
    if (!(cfg[6] & 0x10))
        return 0;
    for (pos = cfg[0x34] & 0xfc; pos && pos + 2 <= n && guard < 48;
         pos = cfg[pos + 1] & 0xfc, guard++) {
        uint8_t id = cfg[pos];

        printf("cap 0x%02x 0x%02x", id, pos);
        if (id == 0x11 && pos + 12 <= n) {
            uint16_t ctl = cfg[pos + 2] | cfg[pos + 3] << 8;
            uint32_t tbl = cfg[pos + 4] | cfg[pos + 5] << 8 |
                           cfg[pos + 6] << 16 | (uint32_t)cfg[pos + 7] << 24;

            printf(" msix vectors %u enabled %u table_bir %u table_offset 0x%x",
                   (ctl & 0x7ff) + 1, ctl >> 15, tbl & 7, tbl & ~7u);
        } else if (id == 0x10 && pos + 8 <= n) {
            uint32_t devcap = cfg[pos + 4] | cfg[pos + 5] << 8 |
                              cfg[pos + 6] << 16 | (uint32_t)cfg[pos + 7] << 24;

            printf(" pcie type %u flr %u", (cfg[pos + 2] >> 4) & 0xf,
                   (devcap >> 28) & 1);
        } else if (id == 0x01 && pos + 6 <= n) {
            printf(" pm version %u", cfg[pos + 2] & 7);
        }
        printf("\n");
    }
    for (pos = 0x100, guard = 0; pos && pos + 4 <= n && guard < 48; guard++) {
        uint32_t h = cfg[pos] | cfg[pos + 1] << 8 | cfg[pos + 2] << 16 |
                     (uint32_t)cfg[pos + 3] << 24;

        if (!h || h == 0xffffffffu)
            break;
        printf("ecap 0x%04x 0x%03x\n", h & 0xffff, pos);
        pos = (h >> 20) & 0xffc;
    }
    return 0;
}

static uint32_t rd32(struct map m, uint64_t off)
{
    return *(volatile uint32_t *)(m.base + off);
}

static void wr32(struct map m, uint64_t off, uint32_t v)
{
    *(volatile uint32_t *)(m.base + off) = v;
}

static uint64_t rd64(struct map m, uint64_t off)
{
    return rd32(m, off) | (uint64_t)rd32(m, off + 4) << 32;
}

static char *path2(const char *dir, const char *name)
{
    static char buf[2][512];
    static int n;
    char *b = buf[n++ & 1];

    snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
    return b;
}

/* Guest-physical address of the page at @va (locked, present). */
static uint64_t virt_to_phys(void *va)
{
    long psz = sysconf(_SC_PAGESIZE);
    uint64_t ent;
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if (fd < 0)
        die("cannot open %s", "/proc/self/pagemap");
    if (pread(fd, &ent, 8, (uintptr_t)va / psz * 8) != 8)
        die("cannot read %s", "/proc/self/pagemap");
    close(fd);
    if (!(ent & (1ull << 63)) || !(ent & ((1ull << 55) - 1)))
        die("page not present or no PFN in %s (need root?)",
            "/proc/self/pagemap");
    return (ent & ((1ull << 55) - 1)) * psz;
}

/* One sim:dmatest transfer; returns the STATUS register. */
static uint32_t dmatest_xfer(struct map r0, uint64_t iova, uint32_t off,
                             uint32_t len, uint32_t dir)
{
    int i;

    wr32(r0, 0x040, 0xe);                      /* STATUS: clear DONE etc. */
    wr32(r0, 0x020, (uint32_t)iova);
    wr32(r0, 0x024, (uint32_t)(iova >> 32));
    wr32(r0, 0x028, off);
    wr32(r0, 0x02c, len);
    wr32(r0, 0x030, dir);
    wr32(r0, 0x034, 0);
    wr32(r0, 0x038, 1);                        /* DOORBELL: GO */
    for (i = 0; i < 1000 && (rd32(r0, 0x040) & 1); i++)
        usleep(1000);
    return rd32(r0, 0x040);
}

/* Sets memory decoding and bus mastering of @dev; returns the old value */
static uint16_t bus_master_on(const char *dev)
{
    uint16_t cmd, on;
    int fd = open(path2(dev, "config"), O_RDWR);

    if (fd < 0 || pread(fd, &cmd, 2, 4) != 2)
        die("cannot read the command register of %s", dev);
    on = cmd | 0x6;
    if (pwrite(fd, &on, 2, 4) != 2)
        die("cannot set bus mastering on %s", dev);
    close(fd);
    return cmd;
}

static void command_restore(const char *dev, uint16_t cmd)
{
    int fd = open(path2(dev, "config"), O_RDWR);

    if (fd < 0 || pwrite(fd, &cmd, 2, 4) != 2)
        die("cannot restore the command register of %s", dev);
    close(fd);
}

/* sim:dmatest DMA both ways between its window and @page at @iova */
static int dma_both_ways(struct map r0, struct map r2, volatile uint8_t *page,
                         uint64_t iova, long psz)
{
    uint32_t i, st, bad = 0;

    /* FROM_DEVICE: the device writes its window (pattern 11) to the page */
    for (i = 0; i < psz; i++)
        r2.base[i] = pattern(11, i);
    st = dmatest_xfer(r0, iova, 0, psz, 1);
    if (!(st & 2)) {
        fprintf(stderr, "pcitool: FROM_DEVICE at iova 0x%llx: STATUS 0x%x "
                "ERROR_CODE %u FAULT_IOVA 0x%llx\n", (unsigned long long)iova,
                st, rd32(r0, 0x044), (unsigned long long)rd64(r0, 0x048));
        return 1;
    }
    for (i = 0; i < psz; i++)
        bad += page[i] != pattern(11, i);
    if (bad) {
        fprintf(stderr, "pcitool: FROM_DEVICE: %u of %ld bytes differ\n",
                bad, psz);
        return 1;
    }

    /* TO_DEVICE: the device reads the page (pattern 12) into its window */
    for (i = 0; i < psz; i++)
        page[i] = pattern(12, i);
    st = dmatest_xfer(r0, iova, psz, psz, 0);
    if (!(st & 2)) {
        fprintf(stderr, "pcitool: TO_DEVICE at iova 0x%llx: STATUS 0x%x "
                "ERROR_CODE %u\n", (unsigned long long)iova, st,
                rd32(r0, 0x044));
        return 1;
    }
    for (i = 0; i < psz; i++)
        bad += r2.base[psz + i] != pattern(12, i);
    if (bad) {
        fprintf(stderr, "pcitool: TO_DEVICE: %u of %ld bytes differ\n",
                bad, psz);
        return 1;
    }

    return 0;
}

static int cmd_dmawin(const char *dev, const char *gp)
{
    long psz = sysconf(_SC_PAGESIZE);
    struct map r0 = map_resource(path2(dev, "resource0"), 0, 0x1000);
    struct map r2 = map_resource(path2(dev, "resource2"), 0, psz);
    struct map g0 = map_resource(path2(gp, "resource0"), 0, 0x1000);
    uint64_t gpa, iova = 0, wgpa = 0, wsize = 0, wiova = 0;
    uint32_t count, i;
    uint16_t cmd;
    uint8_t *page;

    page = mmap(NULL, psz, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (page == MAP_FAILED)
        die("cannot allocate a locked page%s", "");
    memset(page, 0, psz);
    gpa = virt_to_phys(page);

    count = rd32(g0, 0x044);
    for (i = 0; i < count && i < 32; i++) {
        uint64_t e = 0x400 + i * 32;

        wgpa = rd64(g0, e);
        wsize = rd64(g0, e + 8);
        wiova = rd64(g0, e + 16);
        if (gpa >= wgpa && gpa + psz <= wgpa + wsize && (rd32(g0, e + 24) & 2)) {
            iova = gpa - wgpa + wiova;
            break;
        }
    }
    if (i == count || i == 32) {
        fprintf(stderr, "pcitool: gpa 0x%llx is in no writable window\n",
                (unsigned long long)gpa);
        return 1;
    }
    printf("page gpa 0x%llx in window %u (gpa 0x%llx size 0x%llx iova "
           "0x%llx): iova 0x%llx\n", (unsigned long long)gpa, i,
           (unsigned long long)wgpa, (unsigned long long)wsize,
           (unsigned long long)wiova, (unsigned long long)iova);

    /* Bus mastering on (memory decoding too), restored at the end */
    cmd = bus_master_on(dev);

    if (dma_both_ways(r0, r2, page, iova, psz))
        return 1;

    command_restore(dev, cmd);
    printf("dma ok: %ld bytes from the device and back through iova 0x%llx\n",
           psz, (unsigned long long)iova);
    return 0;
}

/* One ring entry (struct mvf_gp_entry), processed by doorbell start|1<<16 */
static int ring_one(struct map g0, volatile uint8_t *ent, uint32_t start,
                    uint64_t gpa, uint64_t len, uint16_t op, uint16_t flags,
                    uint64_t *iova)
{
    int32_t status;

    *(volatile uint64_t *)(ent + 0) = gpa;
    *(volatile uint64_t *)(ent + 8) = len;
    *(volatile uint16_t *)(ent + 16) = op;
    *(volatile uint16_t *)(ent + 18) = flags;
    *(volatile int32_t *)(ent + 20) = 1;       /* MVF_GP_STATUS_PENDING */
    *(volatile uint64_t *)(ent + 24) = *iova;
    __sync_synchronize();
    wr32(g0, 0x800 + 0x10, start | 1u << 16);  /* ring 0 DOORBELL */
    status = *(volatile int32_t *)(ent + 20);
    *iova = *(volatile uint64_t *)(ent + 24);
    if (status) {
        fprintf(stderr, "pcitool: ring op %u gpa 0x%llx len 0x%llx: entry "
                "status %d, ring STATUS %d, PROCESSED %u\n", op,
                (unsigned long long)gpa, (unsigned long long)len, status,
                (int32_t)rd32(g0, 0x800 + 0x14), rd32(g0, 0x800 + 0x18));
        return 1;
    }
    return 0;
}

static int cmd_dmaring(const char *dev, const char *gp)
{
    long psz = sysconf(_SC_PAGESIZE);
    struct map r0 = map_resource(path2(dev, "resource0"), 0, 0x1000);
    struct map r2 = map_resource(path2(dev, "resource2"), 0, 2 * psz);
    struct map g0 = map_resource(path2(gp, "resource0"), 0, 0x1000);
    uint64_t ring_gpa, gpa, span, granule, iova = 0, iova_p;
    uint16_t cmd_dev, cmd_gp;
    uint8_t *ring, *page;
    uint32_t st;

    ring = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (ring == MAP_FAILED)
        die("cannot allocate locked pages%s", "");
    memset(ring, 0, 2 * psz);
    page = ring + psz;
    ring_gpa = virt_to_phys(ring);
    gpa = virt_to_phys(page);
    granule = rd32(g0, 0x014);
    if (!granule || (granule & (granule - 1)))
        die("bad GRANULE%s", "");
    span = gpa & ~(granule - 1);

    /* The companion reads its ring by DMA, the device DMAs to the page */
    cmd_gp = bus_master_on(gp);
    cmd_dev = bus_master_on(dev);

    wr32(g0, 0x800 + 0x0c, 0);                 /* ring 0: CTRL off */
    wr32(g0, 0x800 + 0x00, (uint32_t)ring_gpa);
    wr32(g0, 0x800 + 0x04, (uint32_t)(ring_gpa >> 32));
    wr32(g0, 0x800 + 0x08, 4);                 /* SIZE */
    wr32(g0, 0x800 + 0x0c, 1);                 /* CTRL: enable */
    if (rd32(g0, 0x800 + 0x0c) != 1) {
        fprintf(stderr, "pcitool: ring at gpa 0x%llx refused: STATUS %d\n",
                (unsigned long long)ring_gpa, (int32_t)rd32(g0, 0x800 + 0x14));
        return 1;
    }

    /* MAP the granule around the page, READ | WRITE */
    if (ring_one(g0, ring, 0, span, granule, 1, 3, &iova))
        return 1;
    iova_p = iova + (gpa - span);
    printf("ring at gpa 0x%llx: MAP gpa 0x%llx len 0x%llx -> iova 0x%llx; "
           "LIVE_MAPPINGS %u\n", (unsigned long long)ring_gpa,
           (unsigned long long)span, (unsigned long long)granule,
           (unsigned long long)iova, rd32(g0, 0x04c));
    if (rd32(g0, 0x04c) != 1) {
        fprintf(stderr, "pcitool: LIVE_MAPPINGS %u after one MAP\n",
                rd32(g0, 0x04c));
        return 1;
    }
    if (iova == span) {
        fprintf(stderr, "pcitool: MAP returned the gpa as iova\n");
        return 1;
    }
    if (dma_both_ways(r0, r2, page, iova_p, psz))
        return 1;

    /* UNMAP: the device must fault at that IOVA afterwards */
    if (ring_one(g0, ring + 32, 1, 0, granule, 2, 0, &iova))
        return 1;
    if (rd32(g0, 0x04c) != 0) {
        fprintf(stderr, "pcitool: LIVE_MAPPINGS %u after UNMAP\n",
                rd32(g0, 0x04c));
        return 1;
    }
    st = dmatest_xfer(r0, iova_p, 0, psz, 1);
    if (!(st & 4)) {
        fprintf(stderr, "pcitool: DMA at iova 0x%llx after UNMAP: STATUS "
                "0x%x, expected a fault\n", (unsigned long long)iova_p, st);
        return 1;
    }
    wr32(g0, 0x800 + 0x0c, 0);
    command_restore(dev, cmd_dev);
    command_restore(gp, cmd_gp);
    printf("dma ok: %ld bytes both ways through on-demand iova 0x%llx; "
           "after UNMAP the device faults there\n", psz,
           (unsigned long long)iova_p);
    return 0;
}

int main(int argc, char **argv)
{
    struct map m;
    uint64_t off, len, i, sum = 0;

    if (argc == 3 && !strcmp(argv[1], "caps"))
        return cmd_caps(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "dmawin"))
        return cmd_dmawin(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "dmaring"))
        return cmd_dmaring(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "r32")) {
        off = num(argv[3]);
        if (off & 3)
            die("unaligned offset %s", argv[3]);
        m = map_resource(argv[2], off, 4);
        printf("0x%08x\n", *(volatile uint32_t *)(m.base + off));
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "w32")) {
        off = num(argv[3]);
        if (off & 3)
            die("unaligned offset %s", argv[3]);
        m = map_resource(argv[2], off, 4);
        *(volatile uint32_t *)(m.base + off) = (uint32_t)num(argv[4]);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "fill")) {
        uint64_t seed = num(argv[5]);

        off = num(argv[3]);
        len = num(argv[4]);
        m = map_resource(argv[2], off, len);
        for (i = 0; i < len; i++)
            m.base[off + i] = pattern(seed, i);
        for (i = 0; i < len; i++) {
            uint8_t b = m.base[off + i];

            if (b != pattern(seed, i)) {
                fprintf(stderr, "pcitool: read back 0x%02x at 0x%llx, wrote 0x%02x\n",
                        b, (unsigned long long)(off + i), pattern(seed, i));
                return 1;
            }
            sum += b;
        }
        printf("0x%08x\n", (uint32_t)sum);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "sum")) {
        off = num(argv[3]);
        len = num(argv[4]);
        m = map_resource(argv[2], off, len);
        for (i = 0; i < len; i++)
            sum += m.base[off + i];
        printf("0x%08x\n", (uint32_t)sum);
        return 0;
    }
    fprintf(stderr, "usage: pcitool r32|w32|fill|sum RESOURCE ... | caps CONFIG | "
            "dmawin|dmaring DEV COMPANION\n");
    return 1;
}
