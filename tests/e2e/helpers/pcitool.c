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

int main(int argc, char **argv)
{
    struct map m;
    uint64_t off, len, i, sum = 0;

    if (argc == 3 && !strcmp(argv[1], "caps"))
        return cmd_caps(argv[2]);
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
    fprintf(stderr, "usage: pcitool r32|w32|fill|sum RESOURCE ... | caps CONFIG\n");
    return 1;
}
