/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of sim:dmatest (sim/dmatest*.c) through its provider ops.
 *
 * The first group drives a bare provider (never attached to a core).
 * The second adopts it into a real core (the core sources) with a test host:
 * client memory is a memfd mapped by the test, notifiers are counters,
 * and the test checks DMA, faults, interrupts and reset end to end.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "dmatest.h"
#include "registry.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers on a bare provider -------------------------------------- */

static uint64_t bar_rd(const struct mvf_provider *p, uint32_t bar,
                       uint64_t off, uint32_t w)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(p->ops->bar_read(p->priv, bar, off, w, &v), 0);
    return v;
}

static void bar_wr(const struct mvf_provider *p, uint32_t bar, uint64_t off,
                   uint32_t w, uint64_t v)
{
    assert_int_equal(p->ops->bar_write(p->priv, bar, off, w, v), 0);
}

static uint32_t reg(const struct mvf_provider *p, uint32_t off)
{
    return (uint32_t)bar_rd(p, MVF_DMATEST_REG_BAR, off, 4);
}

static void set_reg(const struct mvf_provider *p, uint32_t off, uint32_t v)
{
    bar_wr(p, MVF_DMATEST_REG_BAR, off, 4, v);
}

static uint32_t cfg(const struct mvf_provider *p, uint32_t off, uint32_t w)
{
    uint32_t v = 0;

    assert_int_equal(p->ops->config_read(p->priv, off, w, &v), 0);
    return v;
}

/* Maps the window through the provider's transport object. */
static uint8_t *map_window(const struct mvf_provider *p)
{
    uint64_t size = p->bars[MVF_DMATEST_WIN_BAR].size;
    int fd = -1;
    void *m;

    assert_int_equal(p->ops->bar_object(p->priv, MVF_DMATEST_WIN_BAR, &fd), 0);
    assert_true(fd >= 0);
    m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    return m;
}

static void program(const struct mvf_provider *p, uint64_t iova, uint32_t off,
                    uint32_t len, uint32_t dir, uint32_t vec)
{
    /* IOVA as one 8-byte access: low register then high. */
    bar_wr(p, MVF_DMATEST_REG_BAR, MVF_DMATEST_REG_DMA_IOVA_LO, 8, iova);
    set_reg(p, MVF_DMATEST_REG_DMA_OFFSET, off);
    set_reg(p, MVF_DMATEST_REG_DMA_LEN, len);
    set_reg(p, MVF_DMATEST_REG_DMA_DIR, dir);
    set_reg(p, MVF_DMATEST_REG_DMA_VECTOR, vec);
}

static void doorbell(const struct mvf_provider *p)
{
    set_reg(p, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
}

static void create_ok(const char *spec, struct mvf_provider *p)
{
    char err[MVF_ERRMSG_MAX] = "";
    int rc = mvf_sim_create(spec, p, err, sizeof(err));

    if (rc)
        fail_msg("%s: %d %s", spec, rc, err);
    assert_string_equal(err, "");
}

static void destroy(struct mvf_provider *p)
{
    p->ops->destroy(p->priv);
}

/* ---- bare provider tests --------------------------------------------- */

static void test_identity(void **state)
{
    struct mvf_provider p;

    create_ok("sim:dmatest", &p);
    assert_string_equal(p.name, "sim:dmatest");
    assert_int_equal(p.domain, 0);
    assert_int_equal(p.bus, 0);
    assert_int_equal(p.devfn, 0);
    assert_null(p.extra_write_mask);
    assert_non_null(p.ops->attach);
    assert_non_null(p.ops->irq_configure);
    assert_non_null(p.ops->bar_object);

    assert_int_equal(cfg(&p, 0x00, 4), 0x00e01b36);
    assert_int_equal(cfg(&p, 0x08, 4), 0xff000001);
    assert_int_equal(cfg(&p, 0x2c, 4), 0x00e01b36);
    assert_int_equal(cfg(&p, 0x3d, 1), 0);            /* no INTx */
    assert_int_equal(cfg(&p, 0x0e, 1), 0);
    assert_int_equal(cfg(&p, 0x10, 4), 0x0);          /* BAR0 32-bit */
    assert_int_equal(cfg(&p, 0x18, 4), 0xc);          /* BAR2 64-bit pf */
    assert_int_equal(cfg(&p, 0x20, 4), 0x0);          /* BAR4 */

    /* Capabilities: PM -> MSI-X -> PCIe, then DSN at 0x100. */
    {
        uint8_t want[] = { 0x01, 0x11, 0x10 };
        uint32_t ptr = cfg(&p, 0x34, 1), msix = 0;
        unsigned n = 0;

        assert_true(cfg(&p, 0x06, 2) & 0x10);
        for (; ptr; ptr = cfg(&p, ptr + 1, 1), n++) {
            assert_true(n < ARRAY_SIZE(want));
            assert_int_equal(cfg(&p, ptr, 1), want[n]);
            if (want[n] == 0x11)
                msix = ptr;
        }
        assert_int_equal(n, 3);
        assert_int_equal(cfg(&p, msix + 2, 2) & 0x7ff, MVF_DMATEST_NVEC - 1);
        assert_int_equal(cfg(&p, msix + 4, 4), MVF_DMATEST_MSIX_TABLE | 4);
        assert_int_equal(cfg(&p, msix + 8, 4), MVF_DMATEST_MSIX_PBA | 4);
        assert_int_equal(cfg(&p, 0x100, 4) & 0xfffff, 0x10003);
        assert_int_equal(cfg(&p, 0x104, 4), (uint32_t)MVF_DMATEST_DEFAULT_SERIAL);
    }

    assert_int_equal(p.bars[0].size, 4096);
    assert_int_equal(p.bars[0].flags, MVF_BAR_IMPLEMENTED);
    assert_int_equal(p.bars[1].size, 0);
    assert_int_equal(p.bars[2].size, MVF_DMATEST_WIN_DEFAULT);
    assert_int_equal(p.bars[2].flags, MVF_BAR_64BIT | MVF_BAR_PREFETCH |
                     MVF_BAR_MAPPABLE | MVF_BAR_IMPLEMENTED);
    assert_int_equal(p.bars[3].size, 0);
    assert_int_equal(p.bars[4].size, 4096);
    assert_int_equal(p.bars[4].flags, MVF_BAR_MSIX | MVF_BAR_IMPLEMENTED);
    assert_int_equal(p.bars[5].size, 0);
    assert_int_equal(p.bars[MVF_ROM_INDEX].size, 0);
    assert_int_equal(p.irq_count[MVF_IRQ_INTX], 0);
    assert_int_equal(p.irq_count[MVF_IRQ_MSI], 0);
    assert_int_equal(p.irq_count[MVF_IRQ_MSIX], MVF_DMATEST_NVEC);

    /* BAR sizing through the device's own config space. */
    assert_int_equal(p.ops->config_write(p.priv, 0x18, 4, 0xffffffff), 0);
    assert_int_equal(p.ops->config_write(p.priv, 0x1c, 4, 0xffffffff), 0);
    assert_int_equal(cfg(&p, 0x18, 4), 0xfff0000c);
    assert_int_equal(cfg(&p, 0x1c, 4), 0xffffffff);
    destroy(&p);
}

static void test_options(void **state)
{
    static const struct { const char *spec; uint64_t win; } good[] = {
        { "sim:dmatest", 1u << 20 },
        { "sim:dmatest,window=4K", 4096 },
        { "sim:dmatest,window=0x10000", 65536 },
        { "sim:dmatest,window=2m", 2u << 20 },
        { "sim:dmatest,window=1G", 1u << 30 },
        { "sim:dmatest,serial=0xabc,window=8192", 8192 },
    };
    static const struct { const char *spec; int rc; const char *needle; } bad[] = {
        { "sim:dmatest,", -EINVAL, "empty" },
        { "sim:dmatest,,window=1M", -EINVAL, "empty" },
        { "sim:dmatest,window=1M,", -EINVAL, "empty" },
        { "sim:dmatest,window", -EINVAL, "window" },
        { "sim:dmatest,window=", -EINVAL, "empty value" },
        { "sim:dmatest,window=3M", -EINVAL, "power of two" },
        { "sim:dmatest,window=2K", -EINVAL, "power of two" },
        { "sim:dmatest,window=2G", -EINVAL, "power of two" },
        { "sim:dmatest,window=1MB", -EINVAL, "window=1MB" },
        { "sim:dmatest,window=-1", -EINVAL, "window" },
        { "sim:dmatest,window=0x", -EINVAL, "window" },
        { "sim:dmatest,window=99999999999999999999", -EINVAL, "window" },
        { "sim:dmatest,window=1M,window=1M", -EINVAL, "twice" },
        { "sim:dmatest,colour=blue", -EINVAL, "unknown option \"colour\"" },
        { "sim:dmatest,Window=1M", -EINVAL, "Window" },
        { "sim:dmatest,serial=12ab", -EINVAL, "serial" },
        { "sim:dmatest,serial=0x10000000000000000", -EINVAL, "serial" },
        { "sim:dmatest,window=1M x", -EINVAL, "bad character" },
        { "sim:dmatest,window=1=2", -EINVAL, "bad character" },
        { "sim:dmatestx", -ENOENT, "unknown simulated device" },
        { "sim:dmatest;window=1M", -ENOENT, "unknown simulated device" },
        { "sim:nvmf", -ENOENT, "known: sim:dmatest" },
        { "sim:", -ENOENT, "unknown simulated device" },
        { "sim:,window=1M", -ENOENT, "unknown simulated device" },
        { "dmatest", -EINVAL, "not a simulated device" },
        { "", -EINVAL, "not a simulated device" },
    };
    char err[MVF_ERRMSG_MAX];
    struct mvf_provider p;

    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        create_ok(good[i].spec, &p);
        assert_int_equal(p.bars[2].size, good[i].win);
        assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SIZE_LO),
                         (uint32_t)good[i].win);
        assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SIZE_HI), 0);
        destroy(&p);
    }
    create_ok("sim:dmatest,serial=0x0123456789abcdef", &p);
    assert_int_equal(cfg(&p, 0x104, 4), 0x89abcdef);
    assert_int_equal(cfg(&p, 0x108, 4), 0x01234567);
    destroy(&p);

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int rc;

        memset(err, 0, sizeof(err));
        memset(&p, 0x5a, sizeof(p));
        rc = mvf_sim_create(bad[i].spec, &p, err, sizeof(err));
        if (rc != bad[i].rc || !strstr(err, bad[i].needle))
            fail_msg("spec \"%s\": rc %d, err \"%s\"", bad[i].spec, rc, err);
    }
    /* NULLs and a tiny error buffer are handled. */
    assert_int_equal(mvf_sim_create(NULL, &p, err, sizeof(err)), -EINVAL);
    assert_int_equal(mvf_sim_create("sim:dmatest", NULL, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(mvf_sim_create("sim:bogus", &p, err, 4), -ENOENT);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(mvf_sim_create("sim:dmatest,x=1", &p, NULL, 0), -EINVAL);
    assert_int_equal(mvf_sim_create("sim:dmatest,,", &p, NULL, 64), -EINVAL);
    assert_int_equal(mvf_sim_create("sim:what", &p, NULL, 64), -ENOENT);
    assert_int_equal(mvf_sim_create(NULL, &p, NULL, 64), -EINVAL);
    err[0] = 'x';
    assert_int_equal(mvf_sim_create("sim:dmatest,,", &p, err, 1), -EINVAL);
    assert_int_equal(err[0], '\0');
    assert_int_equal(mvf_sim_dmatest_create(NULL, &p, err, sizeof(err)), 0);
    destroy(&p);
    assert_int_equal(mvf_sim_dmatest_create("window=1M", &p, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "\",key=value\""));
    assert_true(mvf_sim_is_spec("sim:anything"));
    assert_false(mvf_sim_is_spec("vfio:0000:01:00.0"));
    assert_false(mvf_sim_is_spec(NULL));
}

static void test_bar0_registers(void **state)
{
    struct mvf_provider p;

    create_ok("sim:dmatest,window=16K", &p);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_VERSION), MVF_DMATEST_VERSION_VALUE);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_MAX_LEN), MVF_DMATEST_MAX_XFER);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SIZE_LO), 16384);

    /* Scratch is RW; read-only registers ignore writes. */
    set_reg(&p, MVF_DMATEST_REG_SCRATCH, 0xa5a55a5a);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_SCRATCH), 0xa5a55a5a);
    set_reg(&p, MVF_DMATEST_REG_ID, 0);
    set_reg(&p, MVF_DMATEST_REG_VERSION, 0);
    set_reg(&p, MVF_DMATEST_REG_WIN_SIZE_LO, 0);
    set_reg(&p, MVF_DMATEST_REG_XFER_COUNT, 7);
    set_reg(&p, MVF_DMATEST_REG_FAULT_COUNT, 7);
    set_reg(&p, MVF_DMATEST_REG_FAULT_IOVA_LO, 7);
    set_reg(&p, MVF_DMATEST_REG_ERROR_CODE, 7);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_VERSION), MVF_DMATEST_VERSION_VALUE);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SIZE_LO), 16384);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_XFER_COUNT), 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_FAULT_COUNT), 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_FAULT_IOVA_LO), 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ERROR_CODE), 0);

    /* DMA parameter registers hold what is written; doorbell reads 0. */
    program(&p, 0x123456789abcdef0ull, 0x40, 0x80, 1, 3);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_IOVA_LO), 0x9abcdef0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_IOVA_HI), 0x12345678);
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_DMA_IOVA_LO, 8),
                     0x123456789abcdef0ull);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_OFFSET), 0x40);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_LEN), 0x80);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_DIR), 1);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DMA_VECTOR), 3);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_DOORBELL), 0);
    set_reg(&p, MVF_DMATEST_REG_DMA_IOVA_HI, 0);
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_DMA_IOVA_LO, 8), 0x9abcdef0);

    /* Undecoded: narrow, unaligned, holes, past the end, other BARs. */
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_ID, 1), 0);
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_ID, 2), 0);
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_ID + 1, 4), 0);
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_ID + 4, 8), 0);
    assert_int_equal(bar_rd(&p, 0, 0x064, 4), 0);
    assert_int_equal(bar_rd(&p, 0, 0xffc, 4), 0);
    assert_int_equal(bar_rd(&p, 0, 0xffc, 8), 0);
    assert_int_equal(bar_rd(&p, 0, 0x1000, 4), 0);
    assert_int_equal(bar_rd(&p, 0, UINT64_MAX - 3, 4), 0);
    assert_int_equal(bar_rd(&p, 0, 0, 3), 0);
    assert_int_equal(bar_rd(&p, 0, 0, 0), 0);
    bar_wr(&p, 0, MVF_DMATEST_REG_SCRATCH, 1, 0xff);
    bar_wr(&p, 0, MVF_DMATEST_REG_SCRATCH, 2, 0xffff);
    bar_wr(&p, 0, MVF_DMATEST_REG_SCRATCH + 2, 4, 0);
    bar_wr(&p, 0, UINT64_MAX, 8, 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_SCRATCH), 0xa5a55a5a);
    for (uint32_t bar = 0; bar < 300; bar++) {
        if (bar == 0 || bar == 2 || bar == 4)
            continue;
        assert_int_equal(bar_rd(&p, bar, 0, 4), 0);
        bar_wr(&p, bar, 0, 4, 1);
    }
    {
        int obj = 123;

        assert_int_equal(p.ops->bar_object(p.priv, 0, &obj), -ENOTSUP);
        assert_int_equal(p.ops->bar_object(p.priv, 4, &obj), -ENOTSUP);
        assert_int_equal(p.ops->bar_object(p.priv, 7, &obj), -ENOTSUP);
    }
    destroy(&p);
}

static void test_bar2_window(void **state)
{
    struct mvf_provider p;
    uint8_t *win;
    int fd = -1;

    create_ok("sim:dmatest,window=16K", &p);
    win = map_window(&p);
    for (uint32_t w = 1; w <= 8; w <<= 1) {
        uint64_t v = 0x0102030405060708ull & (w == 8 ? ~0ull : (1ull << (8 * w)) - 1);

        bar_wr(&p, 2, 0x100 * w, w, v);
        assert_int_equal(bar_rd(&p, 2, 0x100 * w, w), v);
        assert_memory_equal(win + 0x100 * w, &v, w);   /* little endian */
    }
    /* Writes through the mapping are visible to trapped reads. */
    memcpy(win + 16376, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(bar_rd(&p, 2, 16376, 8), 0x8877665544332211ull);
    assert_int_equal(bar_rd(&p, 2, 16383, 1), 0x88);
    /* Out of range: 0 and ignored (the last bytes keep their value). */
    assert_int_equal(bar_rd(&p, 2, 16380, 8), 0);
    assert_int_equal(bar_rd(&p, 2, 16384, 1), 0);
    assert_int_equal(bar_rd(&p, 2, UINT64_MAX, 1), 0);
    assert_int_equal(bar_rd(&p, 2, 0, 16), 0);
    bar_wr(&p, 2, 16380, 8, ~0ull);
    bar_wr(&p, 2, UINT64_MAX - 1, 2, ~0ull);
    assert_int_equal(bar_rd(&p, 2, 16376, 8), 0x8877665544332211ull);

    /* The memfd is sealed at its size. */
    assert_int_equal(p.ops->bar_object(p.priv, 2, &fd), 0);
    assert_int_equal(fcntl(fd, F_GET_SEALS) &
                     (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                     F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    assert_int_equal(ftruncate(fd, 4096), -1);
    assert_int_equal(ftruncate(fd, 1 << 20), -1);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(lseek(fd, 0, SEEK_END), 16384);
    munmap(win, 16384);
    destroy(&p);
}

static void test_bar4_msix(void **state)
{
    struct mvf_provider p;

    create_ok("sim:dmatest,window=16K", &p);
    /* Power-on: every vector masked, address/data 0. */
    for (uint32_t v = 0; v < MVF_DMATEST_NVEC; v++) {
        assert_int_equal(bar_rd(&p, 4, 16 * v, 8), 0);
        assert_int_equal(bar_rd(&p, 4, 16 * v + 8, 4), 0);
        assert_int_equal(bar_rd(&p, 4, 16 * v + 12, 4), 1);
    }
    bar_wr(&p, 4, 16, 8, 0x00000000fee00003ull);   /* addr bits 1:0 RO */
    bar_wr(&p, 4, 24, 4, 0x4041);
    bar_wr(&p, 4, 28, 4, 0xfffffffe);              /* only bit 0 is RW */
    assert_int_equal(bar_rd(&p, 4, 16, 8), 0xfee00000);
    assert_int_equal(bar_rd(&p, 4, 24, 4), 0x4041);
    assert_int_equal(bar_rd(&p, 4, 28, 4), 0);
    bar_wr(&p, 4, 28, 1, 1);
    assert_int_equal(bar_rd(&p, 4, 28, 4), 1);
    /* PBA and gaps: read 0, writes dropped, no state behind them. */
    bar_wr(&p, 4, MVF_DMATEST_MSIX_PBA, 8, ~0ull);
    assert_int_equal(bar_rd(&p, 4, MVF_DMATEST_MSIX_PBA, 8), 0);
    bar_wr(&p, 4, 0x400, 4, ~0u);
    assert_int_equal(bar_rd(&p, 4, 0x400, 4), 0);
    /* Straddling the end of the table: only table bytes count. */
    bar_wr(&p, 4, 60, 8, ~0ull);
    assert_int_equal(bar_rd(&p, 4, 60, 8), 1);
    assert_int_equal(bar_rd(&p, 4, 0xffc, 8), 0);
    assert_int_equal(bar_rd(&p, 4, 0x1000, 4), 0);
    destroy(&p);
}

static void test_unattached_doorbell(void **state)
{
    struct mvf_provider p;

    create_ok("sim:dmatest,window=16K", &p);
    /* Config says bus master on, but no core is attached: no DMA. */
    assert_int_equal(p.ops->config_write(p.priv, 4, 2, 6), 0);
    program(&p, 0xf000000000ull, 0, 64, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&p);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_STATUS), MVF_DMATEST_STATUS_ERROR);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ERROR_CODE),
                     MVF_DMATEST_ERR_NO_BUS_MASTER);
    /* Doorbell without the GO bit does nothing. */
    set_reg(&p, MVF_DMATEST_REG_DOORBELL, 0xfffffffe);
    doorbell(&p);
    /* EVENTS: read to clear. */
    assert_int_equal(reg(&p, MVF_DMATEST_REG_EVENTS), 2);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_EVENTS), 0);
    /* STATUS: write 1 to clear, BUSY read-only, 0s do nothing. */
    set_reg(&p, MVF_DMATEST_REG_STATUS, 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_STATUS), MVF_DMATEST_STATUS_ERROR);
    set_reg(&p, MVF_DMATEST_REG_STATUS, MVF_DMATEST_STATUS_ERROR);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_STATUS), 0);
    destroy(&p);
}

static void test_irq_configure(void **state)
{
    struct mvf_provider p;

    create_ok("sim:dmatest,window=16K", &p);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 4), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 1), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 5), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_INTX, 1), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSI, 1), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, 99, 1), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 0), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_INTX, 0), 0);
    destroy(&p);
}

static void test_bare_reset(void **state)
{
    struct mvf_provider p;
    uint8_t *win, zero[64] = { 0 };

    create_ok("sim:dmatest,window=64K", &p);
    win = map_window(&p);
    memset(win, 0xab, 65536);
    bar_wr(&p, 2, 100, 8, 1);
    set_reg(&p, MVF_DMATEST_REG_SCRATCH, 5);
    program(&p, 1, 2, 3, 1, 2);
    doorbell(&p);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, 7);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN, 9);
    bar_wr(&p, 4, 0, 8, 0xfee00000);
    bar_wr(&p, 4, 12, 4, 0);
    assert_int_equal(p.ops->config_write(p.priv, 4, 2, 6), 0);
    assert_int_equal(p.ops->config_write(p.priv, 0x10, 4, 0xfe000000), 0);

    assert_int_equal(p.ops->reset(p.priv), 0);
    for (uint32_t off = 0; off <= MVF_DMATEST_REG_WIN_SUM_LEN; off += 4) {
        if (off == MVF_DMATEST_REG_ID || off == MVF_DMATEST_REG_VERSION ||
            off == MVF_DMATEST_REG_WIN_SIZE_LO || off == MVF_DMATEST_REG_MAX_LEN)
            continue;
        assert_int_equal(reg(&p, off), 0);
    }
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    assert_int_equal(bar_rd(&p, 4, 0, 8), 0);
    assert_int_equal(bar_rd(&p, 4, 12, 4), 1);
    assert_int_equal(cfg(&p, 4, 2), 0);
    assert_int_equal(cfg(&p, 0x10, 4), 0);
    /* The window reads zero everywhere, through both paths. */
    for (uint32_t off = 0; off < 65536; off += sizeof(zero))
        assert_memory_equal(win + off, zero, sizeof(zero));
    assert_int_equal(bar_rd(&p, 2, 100, 8), 0);
    /* And is still usable afterwards. */
    bar_wr(&p, 2, 8, 4, 0x12345678);
    assert_int_equal(win[8], 0x78);
    munmap(win, 65536);
    destroy(&p);
}

/* WIN_SUM sums at most MVF_DMATEST_MAX_SUM bytes per read, from the
 * range the client picks, clipped to the window. */
static void test_win_sum_bounded(void **state)
{
    const uint32_t size = 8u << 20, half = size / 2;
    struct mvf_provider p;
    uint32_t lo = 0, hi = 0;
    uint8_t *win;

    create_ok("sim:dmatest,window=8M", &p);
    win = map_window(&p);
    for (uint32_t i = 0; i < size; i++)
        win[i] = (uint8_t)(i * 7 + (i >> 12));
    for (uint32_t i = 0; i < half; i++) {
        lo += win[i];
        hi += win[half + i];
    }
    /* Reset values: the first MAX_SUM bytes, not the whole window. */
    assert_int_equal(MVF_DMATEST_MAX_SUM, half);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET), 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN), 0);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM), lo);
    /* The second half; a larger length is clipped to MAX_SUM. */
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, half);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET), half);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM), hi);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, 0);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN, UINT32_MAX);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN), UINT32_MAX);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM), lo);
    /* A few bytes; a range running past the end stops there. */
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, 100);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN, 3);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM),
                     win[100] + win[101] + win[102]);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, size - 2);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_LEN, 4096);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM),
                     win[size - 2] + win[size - 1]);
    /* At or past the end: nothing to sum. */
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, size);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM), 0);
    set_reg(&p, MVF_DMATEST_REG_WIN_SUM_OFFSET, UINT32_MAX);
    assert_int_equal(reg(&p, MVF_DMATEST_REG_WIN_SUM), 0);
    /* An 8-byte read: WIN_SUM, then the offset register above it. */
    assert_int_equal(bar_rd(&p, 0, MVF_DMATEST_REG_WIN_SUM, 8),
                     (uint64_t)UINT32_MAX << 32);
    munmap(win, size);
    destroy(&p);
}

/* Random accesses to every op: never crash (ASan/UBSan watch). */
static void test_bare_random(void **state)
{
    struct mvf_provider p;
    unsigned seed = 99;

    create_ok("sim:dmatest,window=4K", &p);
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t bar, w, cv;
        uint64_t off, v;

        seed = seed * 1103515245u + 12345u;
        bar = (seed >> 24) % 8;
        w = 1u << ((seed >> 4) % 5);                     /* 1..16 */
        seed = seed * 1103515245u + 12345u;
        off = (seed & 1) ? (seed >> 8) % 0x1100 : ((uint64_t)seed << 32 | seed);
        v = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
        if (i % 3 == 0) {
            (void)p.ops->bar_write(p.priv, bar, off, w, v);
        } else if (i % 3 == 1) {
            (void)p.ops->bar_read(p.priv, bar, off, w, &v);
        } else {
            (void)p.ops->config_write(p.priv, (uint32_t)off, w, (uint32_t)v);
            (void)p.ops->config_read(p.priv, (uint32_t)off, w, &cv);
        }
        if (i % 50000 == 0)
            assert_int_equal(p.ops->reset(p.priv), 0);
    }
    assert_int_equal(reg(&p, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    destroy(&p);
}

/* ---- with the core ----------------------------------------------------- */

#include "counting_host.h"

#define CLIENT_MEM (128u << 10)
#define RW_LEN     (64u << 10)
#define RO_OFF     (64u << 10)
#define RO_LEN     (16u << 10)
#define WIN        (64u << 10)

struct fx {
    struct test_host host;
    struct mvf_core *core;
    struct mvf_device *dev;
    struct mvf_session *s;
    struct mvf_provider p;      /* ops/priv of the adopted provider */
    int memfd;
    uint8_t *mem;               /* client memory, as the client sees it */
    uint8_t *win;               /* BAR2 through MAP_MEMORY */
    uint64_t handle, iova_rw, iova_ro;
};

static int do_call(struct fx *f, uint32_t sel, const int *objs, uint32_t nobjs,
                   const uint64_t *in, uint32_t n, struct mvf_call *c)
{
    memset(c, 0, sizeof(*c));
    c->selector = sel;
    c->in = in;
    c->n_in = n;
    c->objs_in = objs;
    c->n_objs_in = nobjs;
    return mvf_dispatch(f->s, c);
}

#define CALL(f, c, sel, objs, nobjs, ...)                                    \
    do_call(f, sel, objs, nobjs, (const uint64_t[]){ __VA_ARGS__ },         \
            (uint32_t)(sizeof((const uint64_t[]){ __VA_ARGS__ }) / 8), c)

static void call_ok(struct fx *f, struct mvf_call *c, int rc)
{
    if (rc)
        fail_msg("selector %u failed: %d %s", c->selector, rc, c->err);
}

static void set_command(struct fx *f, uint32_t cmd)
{
    struct mvf_call c;

    call_ok(f, &c, CALL(f, &c, MVF_SEL_CONFIG_WRITE, NULL, 0, 4, 2, cmd));
}

static unsigned irq_total(const struct fx *f)
{
    unsigned t = 0;

    for (unsigned i = 0; i < NOBJ; i++)
        t += f->host.irq[i];
    return t;
}

static int fx_setup(void **state)
{
    static const int vec_objs[4] = { 0, 1, 2, 3 };
    struct fx *f = calloc(1, sizeof(*f));
    char err[MVF_ERRMSG_MAX];
    struct mvf_call c;
    int obj;

    assert_non_null(f);
    f->core = mvf_core_create(&test_hops, &f->host);
    assert_non_null(f->core);
    assert_int_equal(mvf_sim_create("sim:dmatest,window=64K", &f->p, err,
                                    sizeof(err)), 0);
    f->p.bus = 3;
    assert_int_equal(mvf_core_add_device(f->core, &f->p, NULL, &f->dev), 0);
    f->s = mvf_session_create(f->core);
    assert_non_null(f->s);
    call_ok(f, &c, CALL(f, &c, MVF_SEL_HELLO, NULL, 0, MVF_ABI_VERSION, 0));
    call_ok(f, &c, CALL(f, &c, MVF_SEL_DEVICE_OPEN, NULL, 0, 0));
    call_ok(f, &c, do_call(f, MVF_SEL_CLAIM, NULL, 0, NULL, 0, &c));
    call_ok(f, &c, CALL(f, &c, MVF_SEL_IRQ_SET, vec_objs, 4,
                        MVF_IRQ_MSIX, MVF_IRQ_ACT_TRIGGER, 0, 4, 0xf));

    f->memfd = memfd_create("test-client", MFD_CLOEXEC);
    assert_true(f->memfd >= 0);
    assert_int_equal(ftruncate(f->memfd, CLIENT_MEM), 0);
    f->mem = mmap(NULL, CLIENT_MEM, PROT_READ | PROT_WRITE, MAP_SHARED,
                  f->memfd, 0);
    assert_true(f->mem != MAP_FAILED);
    call_ok(f, &c, CALL(f, &c, MVF_SEL_DMA_REGISTER, &f->memfd, 1,
                        CLIENT_MEM, 0, MVF_DMA_REG_FD));
    f->handle = c.out[0];
    call_ok(f, &c, CALL(f, &c, MVF_SEL_DMA_MAP, NULL, 0, f->handle, 0, RW_LEN,
                        MVF_DMA_READ | MVF_DMA_WRITE));
    f->iova_rw = c.out[0];
    call_ok(f, &c, CALL(f, &c, MVF_SEL_DMA_MAP, NULL, 0, f->handle, RO_OFF,
                        RO_LEN, MVF_DMA_READ));
    f->iova_ro = c.out[0];

    call_ok(f, &c, CALL(f, &c, MVF_SEL_MAP_MEMORY, NULL, 0, MVF_MEM_BAR(2)));
    obj = c.obj_out;
    assert_true(obj >= 0);
    assert_int_equal(c.out[0], WIN);
    f->win = mmap(NULL, WIN, PROT_READ | PROT_WRITE, MAP_SHARED, obj, 0);
    assert_true(f->win != MAP_FAILED);
    close(obj);

    set_command(f, 0x0006);   /* memory + bus master */
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    mvf_session_destroy(f->s);
    mvf_core_destroy(f->core);
    munmap(f->win, WIN);
    munmap(f->mem, CLIENT_MEM);
    close(f->memfd);
    free(f);
    return 0;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static void test_core_adopts(void **state)
{
    struct fx *f = *state;
    struct mvf_device_info info;
    struct mvf_call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_DEVICE_INFO;
    c.struct_out = &info;
    c.struct_out_cap = sizeof(info);
    call_ok(f, &c, mvf_dispatch(f->s, &c));
    assert_int_equal(c.struct_out_len, sizeof(info));
    assert_int_equal(info.vendor_id, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(info.device_id, MVF_DMATEST_DEVICE_ID);
    assert_int_equal(info.class_code, MVF_DMATEST_CLASS);
    assert_int_equal(info.revision, 1);
    assert_int_equal(info.subsys_vendor_id, 0x1b36);
    assert_int_equal(info.subsys_id, 0x00e0);
    assert_int_equal(info.irq_pin, 0);
    assert_int_equal(info.bus, 3);
    assert_string_equal(info.name, "sim:dmatest");

    /* Only BAR2 maps; BAR0 and the MSI-X BAR are trapped. */
    rc = CALL(f, &c, MVF_SEL_MAP_MEMORY, NULL, 0, MVF_MEM_BAR(0));
    assert_int_equal(rc, -ENOTSUP);
    rc = CALL(f, &c, MVF_SEL_MAP_MEMORY, NULL, 0, MVF_MEM_BAR(4));
    assert_int_equal(rc, -ENOTSUP);
    /* Identity through the core's policy, and trapped MMIO through it. */
    call_ok(f, &c, CALL(f, &c, MVF_SEL_MMIO_READ, NULL, 0, 0,
                        MVF_DMATEST_REG_ID, 4));
    assert_int_equal(c.out[0], MVF_DMATEST_ID_VALUE);
    call_ok(f, &c, CALL(f, &c, MVF_SEL_CONFIG_READ, NULL, 0, 0x100, 4));
    assert_int_equal(c.out[0] & 0xffff, 0x0003);
    /* Window through the map and through trapped access agree. */
    f->win[0x40] = 0x5c;
    call_ok(f, &c, CALL(f, &c, MVF_SEL_MMIO_READ, NULL, 0, 2, 0x40, 1));
    assert_int_equal(c.out[0], 0x5c);
}

static void test_dma_from_device(void **state)
{
    struct fx *f = *state;

    fill(f->win, WIN, 1);
    program(&f->p, f->iova_rw + 0x1000, 0x200, 0x3000,
            MVF_DMATEST_DIR_FROM_DEVICE, 2);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_ERROR_CODE), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 1);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_FAULT_COUNT), 0);
    assert_memory_equal(f->mem + 0x1000, f->win + 0x200, 0x3000);
    assert_true(all_zero(f->mem, 0x1000));
    assert_true(all_zero(f->mem + 0x4000, CLIENT_MEM - 0x4000));
    assert_int_equal(f->host.irq[2], 1);
    assert_int_equal(irq_total(f), 1);
    assert_int_equal(f->host.warnings, 0);

    /* The whole mapping in one go, ending exactly at its end. */
    program(&f->p, f->iova_rw, 0, RW_LEN, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(f->mem, f->win, RW_LEN);
    assert_int_equal(f->host.irq[0], 1);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 2);
}

static void test_dma_to_device(void **state)
{
    struct fx *f = *state;
    struct mvf_call c;

    fill(f->mem + 0x8000, 0x1000, 9);
    fill(f->mem + RO_OFF, RO_LEN, 33);
    program(&f->p, f->iova_rw + 0x8000, 0x10, 0x1000,
            MVF_DMATEST_DIR_TO_DEVICE, 1);
    /* The doorbell through the core's MMIO path this time. */
    call_ok(f, &c, CALL(f, &c, MVF_SEL_MMIO_WRITE, NULL, 0, 0,
                        MVF_DMATEST_REG_DOORBELL, 4, MVF_DMATEST_DOORBELL_GO));
    call_ok(f, &c, CALL(f, &c, MVF_SEL_MMIO_READ, NULL, 0, 0,
                        MVF_DMATEST_REG_STATUS, 4));
    assert_int_equal(c.out[0], MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(f->win + 0x10, f->mem + 0x8000, 0x1000);
    assert_true(all_zero(f->win, 0x10));
    assert_true(all_zero(f->win + 0x1010, WIN - 0x1010));
    assert_int_equal(f->host.irq[1], 1);

    /* A read-only mapping is fine for device reads. */
    program(&f->p, f->iova_ro, WIN - RO_LEN, RO_LEN,
            MVF_DMATEST_DIR_TO_DEVICE, 3);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(f->win + WIN - RO_LEN, f->mem + RO_OFF, RO_LEN);
    assert_int_equal(f->host.irq[3], 1);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_EVENTS), 2);
}

static void test_dma_fault_unmapped(void **state)
{
    struct fx *f = *state;
    uint64_t bad = f->iova_rw + (64ull << 20);
    struct mvf_call c;
    struct mvf_stats st;

    fill(f->win, WIN, 5);
    program(&f->p, bad, 0, 0x100, MVF_DMATEST_DIR_FROM_DEVICE, 1);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_FAULT_IOVA_LO, 8), bad);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_FAULT_COUNT), 1);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 0);
    assert_int_equal(f->host.irq[1], 1);        /* the client still hears */
    assert_int_equal(f->host.warnings, 1);      /* the core logged it */
    assert_non_null(strstr(f->host.last_log, "DMA fault"));
    assert_true(all_zero(f->mem, CLIENT_MEM));

    /* Straddling the end of the RW mapping: the next IOVA is the
     * read-only mapping (or nothing), so a device write faults there and
     * nothing at all is written, not even the valid first part. */
    program(&f->p, f->iova_rw + RW_LEN - 0x80, 0, 0x100,
            MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_FAULT_IOVA_LO, 8),
                     f->iova_rw + RW_LEN);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_FAULT_COUNT), 2);
    assert_true(all_zero(f->mem, CLIENT_MEM));
    assert_int_equal(f->host.irq[0], 1);

    /* Device reads of unmapped memory leave the window alone. */
    {
        uint8_t *before = malloc(WIN);

        assert_non_null(before);
        memcpy(before, f->win, WIN);
        program(&f->p, 0x1000, 0, 0x100, MVF_DMATEST_DIR_TO_DEVICE, 3);
        doorbell(&f->p);
        assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                         MVF_DMATEST_STATUS_FAULT);
        assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_FAULT_IOVA_LO, 8),
                         0x1000);
        assert_memory_equal(f->win, before, WIN);
        free(before);
    }
    assert_int_equal(f->host.irq[3], 1);

    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_STATS;
    c.struct_out = &st;
    c.struct_out_cap = sizeof(st);
    call_ok(f, &c, mvf_dispatch(f->s, &c));
    assert_int_equal(st.dma_faults, 3);
    assert_int_equal(st.irqs_delivered, 3);

    /* A good transfer afterwards clears FAULT and keeps FAULT_IOVA. */
    program(&f->p, f->iova_rw, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_FAULT_IOVA_LO, 8),
                     0x1000);
}

static void test_dma_direction(void **state)
{
    struct fx *f = *state;

    fill(f->win, WIN, 77);
    program(&f->p, f->iova_ro, 0, 64, MVF_DMATEST_DIR_FROM_DEVICE, 2);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_FAULT_IOVA_LO, 8),
                     f->iova_ro);
    assert_true(all_zero(f->mem, CLIENT_MEM));
    assert_int_equal(f->host.irq[2], 1);
}

static void test_bus_master_off(void **state)
{
    struct fx *f = *state;

    fill(f->win, WIN, 3);
    set_command(f, 0x0002);            /* memory on, bus master off */
    program(&f->p, f->iova_rw, 0, 0x1000, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_ERROR);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_ERROR_CODE),
                     MVF_DMATEST_ERR_NO_BUS_MASTER);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 0);
    assert_true(all_zero(f->mem, CLIENT_MEM));
    assert_int_equal(irq_total(f), 0);  /* MSI-X needs bus mastering too */
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_EVENTS), 1);

    /* Back on: the same request works. */
    set_command(f, 0x0006);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(f->mem, f->win, 0x1000);
    assert_int_equal(f->host.irq[0], 1);
}

static void test_param_errors(void **state)
{
    static const struct {
        uint64_t iova_off;     /* added to iova_rw, or absolute if ~0 base */
        bool absolute;
        uint32_t off, len, dir, vec, code;
        bool irq;
    } cases[] = {
        { 0, false, 0, 0, 1, 0, MVF_DMATEST_ERR_LEN, true },
        { 0, false, 0, MVF_DMATEST_MAX_XFER + 1, 1, 0, MVF_DMATEST_ERR_LEN, true },
        { 0, false, 0, UINT32_MAX, 1, 0, MVF_DMATEST_ERR_LEN, true },
        { 0, false, 1, WIN, 1, 1, MVF_DMATEST_ERR_RANGE, true },
        { 0, false, WIN, 1, 0, 1, MVF_DMATEST_ERR_RANGE, true },
        { 0, false, UINT32_MAX, 16, 0, 2, MVF_DMATEST_ERR_RANGE, true },
        { 0, false, 0, 16, 2, 3, MVF_DMATEST_ERR_DIR, true },
        { 0, false, 0, 16, UINT32_MAX, 3, MVF_DMATEST_ERR_DIR, true },
        { 0, false, 0, 16, 1, 4, MVF_DMATEST_ERR_VECTOR, false },
        { 0, false, 0, 16, 1, UINT32_MAX, MVF_DMATEST_ERR_VECTOR, false },
        { UINT64_MAX - 0xff, true, 0, 0x200, 1, 0, MVF_DMATEST_ERR_IOVA, true },
    };

    struct fx *f = *state;
    unsigned expect_irq = 0;

    fill(f->win, WIN, 8);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t iova = cases[i].absolute ? cases[i].iova_off
                                          : f->iova_rw + cases[i].iova_off;

        program(&f->p, iova, cases[i].off, cases[i].len, cases[i].dir,
                cases[i].vec);
        doorbell(&f->p);
        if (reg(&f->p, MVF_DMATEST_REG_STATUS) != MVF_DMATEST_STATUS_ERROR ||
            reg(&f->p, MVF_DMATEST_REG_ERROR_CODE) != cases[i].code)
            fail_msg("case %zu: status 0x%x code %u", i,
                     reg(&f->p, MVF_DMATEST_REG_STATUS),
                     reg(&f->p, MVF_DMATEST_REG_ERROR_CODE));
        expect_irq += cases[i].irq;
        assert_int_equal(irq_total(f), expect_irq);
    }
    assert_true(all_zero(f->mem, CLIENT_MEM));
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_FAULT_COUNT), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_EVENTS), ARRAY_SIZE(cases));
    assert_int_equal(f->host.warnings, 0);
}

static void test_irq_disabled_and_masked(void **state)
{
    static const int vec_objs[4] = { 4, 5, 6, 7 };
    struct fx *f = *state;
    struct mvf_call c;

    call_ok(f, &c, CALL(f, &c, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                        MVF_IRQ_ACT_DISABLE, 0, 0, 0));
    program(&f->p, f->iova_rw, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 1);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(irq_total(f), 0);

    /* Re-enabled, vector 1 masked: pending, delivered on unmask. */
    call_ok(f, &c, CALL(f, &c, MVF_SEL_IRQ_SET, vec_objs, 4, MVF_IRQ_MSIX,
                        MVF_IRQ_ACT_TRIGGER, 0, 4, 0xf));
    call_ok(f, &c, CALL(f, &c, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                        MVF_IRQ_ACT_MASK, 1, 1, 0));
    doorbell(&f->p);
    assert_int_equal(irq_total(f), 0);
    call_ok(f, &c, CALL(f, &c, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                        MVF_IRQ_ACT_UNMASK, 1, 1, 0));
    assert_int_equal(f->host.irq[5], 1);
    assert_int_equal(irq_total(f), 1);
}

static void test_reset_call(void **state)
{
    struct fx *f = *state;
    struct mvf_call c;

    fill(f->win, WIN, 4);
    set_reg(&f->p, MVF_DMATEST_REG_SCRATCH, 0x1234);
    program(&f->p, f->iova_rw, 0, 0x100, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    doorbell(&f->p);
    bar_wr(&f->p, 4, 0, 8, 0xfee00000);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);

    call_ok(f, &c, do_call(f, MVF_SEL_RESET, NULL, 0, NULL, 0, &c));
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_SCRATCH), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_XFER_COUNT), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_EVENTS), 0);
    assert_int_equal(bar_rd(&f->p, 0, MVF_DMATEST_REG_DMA_IOVA_LO, 8), 0);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_DMA_LEN), 0);
    assert_int_equal(bar_rd(&f->p, 4, 0, 8), 0);
    assert_int_equal(bar_rd(&f->p, 4, 12, 4), 1);
    assert_true(all_zero(f->win, WIN));        /* the client's map too */
    assert_int_equal(cfg(&f->p, 4, 2), 0);     /* bus master off */
    call_ok(f, &c, CALL(f, &c, MVF_SEL_CONFIG_READ, NULL, 0, 4, 2));
    assert_int_equal(c.out[0] & 0x4, 0);

    /* Bus mastering is off after reset: DMA refused until re-enabled.
     * The mappings and the interrupt setup survive a function reset. */
    program(&f->p, f->iova_rw, 0, 0x100, MVF_DMATEST_DIR_TO_DEVICE, 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_ERROR_CODE),
                     MVF_DMATEST_ERR_NO_BUS_MASTER);
    set_command(f, 0x0006);
    fill(f->mem, 0x100, 42);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_STATUS),
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(f->win, f->mem, 0x100);
    assert_int_equal(f->host.irq[0], 2);
}

static void test_owner_gone(void **state)
{
    struct fx *f = *state;

    fill(f->win, WIN, 6);
    set_reg(&f->p, MVF_DMATEST_REG_SCRATCH, 9);
    mvf_session_destroy(f->s);
    f->s = mvf_session_create(f->core);
    assert_non_null(f->s);
    /* Cleanup reset the device: nothing of the old client remains. */
    assert_true(all_zero(f->win, WIN));
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_SCRATCH), 0);
    assert_int_equal(cfg(&f->p, 4, 2), 0);
    /* Unowned: the device cannot DMA even with old register values. */
    program(&f->p, f->iova_rw, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    assert_int_equal(f->p.ops->config_write(f->p.priv, 4, 2, 6), 0);
    doorbell(&f->p);
    assert_int_equal(reg(&f->p, MVF_DMATEST_REG_ERROR_CODE),
                     MVF_DMATEST_ERR_NO_BUS_MASTER);
    assert_true(all_zero(f->mem, CLIENT_MEM));
}

/* Random register programming with bus mastering on: every outcome is
 * one of the documented ones, and nothing outside the RW mapping's
 * client memory is ever written. */
static void test_random_doorbells(void **state)
{
    struct fx *f = *state;
    unsigned seed = 7;

    fill(f->win, WIN, 11);
    for (unsigned i = 0; i < 3000; i++) {
        uint64_t iova;
        uint32_t st;

        seed = seed * 1103515245u + 12345u;
        switch (seed >> 29) {
        case 0: iova = f->iova_rw + (seed % (RW_LEN + 0x100)); break;
        case 1: iova = f->iova_ro + (seed % RO_LEN); break;
        case 2: iova = (uint64_t)seed << 24; break;
        default: iova = f->iova_rw + (seed & 0xfff); break;
        }
        program(&f->p, iova, (seed >> 3) % (WIN + 64), (seed >> 7) % 0x3000,
                (seed >> 11) & 1 ? MVF_DMATEST_DIR_FROM_DEVICE :
                                   MVF_DMATEST_DIR_TO_DEVICE,
                (seed >> 13) % 5);
        doorbell(&f->p);
        st = reg(&f->p, MVF_DMATEST_REG_STATUS);
        assert_true(st == MVF_DMATEST_STATUS_DONE ||
                    st == MVF_DMATEST_STATUS_FAULT ||
                    st == MVF_DMATEST_STATUS_ERROR);
    }
    assert_true(all_zero(f->mem + RW_LEN, CLIENT_MEM - RW_LEN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_bar0_registers),
        cmocka_unit_test(test_bar2_window),
        cmocka_unit_test(test_bar4_msix),
        cmocka_unit_test(test_unattached_doorbell),
        cmocka_unit_test(test_irq_configure),
        cmocka_unit_test(test_bare_reset),
        cmocka_unit_test(test_win_sum_bounded),
        cmocka_unit_test(test_bare_random),
        cmocka_unit_test_setup_teardown(test_core_adopts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_from_device, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_to_device, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_fault_unmapped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_direction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bus_master_off, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_param_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_irq_disabled_and_masked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_call, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_owner_gone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_random_doorbells, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
