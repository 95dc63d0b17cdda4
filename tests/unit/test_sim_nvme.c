/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of sim:nvme (sim/nvme*.c) through its provider ops.
 *
 * The first group drives a bare provider: identity, options, registers,
 * the enable/disable state machine.  The second adopts a file-backed
 * controller into a real core with a test host (client memory is a
 * memfd, notifiers are counters) and plays a small NVMe driver: admin
 * and I/O queues, Identify, features, log pages, reads and writes with
 * every PRP shape, range and DMA errors, completion queue wrap and
 * overflow, doorbell abuse, fatal status and reset, Doorbell Buffer
 * Config (shadow doorbells and EventIdx, as Linux's driver uses them).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "core_internal.h"   /* MVF_LOG_BURST */
#include "nvme.h"
#include "nvme_defs.h"
#include "registry.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PG 4096u
#define DB(qid) (NVME_REG_DBS + 8u * (qid))       /* SQ tail doorbell */
#define CQDB(qid) (NVME_REG_DBS + 8u * (qid) + 4) /* CQ head doorbell */
#define CC_IOES (NVME_CC_IOSQES_6 | NVME_CC_IOCQES_4)

/* Status as the controller reports errors: always Do Not Retry. */
#define ST(sct, sc) ((uint16_t)(NVME_STATUS(sct, sc) | NVME_DNR))
#define ST_FIELD    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD)
#define ST_PRP      ST(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET)
#define ST_XFER     ST(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR)
#define ST_RANGE    ST(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE)
#define ST_NS       ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NS)
#define ST_OPCODE   ST(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE)

/* ---- helpers on a bare provider -------------------------------------- */

static uint64_t bar_rd(const struct mvf_provider *p, uint64_t off, uint32_t w)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(p->ops->bar_read(p->priv, 0, off, w, &v), 0);
    return v;
}

static void bar_wr(const struct mvf_provider *p, uint64_t off, uint32_t w,
                   uint64_t v)
{
    assert_int_equal(p->ops->bar_write(p->priv, 0, off, w, v), 0);
}

static uint32_t rd32(const struct mvf_provider *p, uint32_t off)
{
    return (uint32_t)bar_rd(p, off, 4);
}

static void wr32(const struct mvf_provider *p, uint32_t off, uint32_t v)
{
    bar_wr(p, off, 4, v);
}

/* 64-bit registers the way Linux writes them (lo_hi_writeq). */
static void wr64(const struct mvf_provider *p, uint32_t off, uint64_t v)
{
    wr32(p, off, (uint32_t)v);
    wr32(p, off + 4, (uint32_t)(v >> 32));
}

static uint32_t cfg(const struct mvf_provider *p, uint32_t off, uint32_t w)
{
    uint32_t v = 0;

    assert_int_equal(p->ops->config_read(p->priv, off, w, &v), 0);
    return v;
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

/* A temporary backing file of `size` bytes; path written to `path`. */
static int make_disk(char path[64], uint64_t size)
{
    int fd;

    snprintf(path, 64, "/tmp/mvf-nvme-test-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

/* ---- bare provider tests --------------------------------------------- */

static void test_identity(void **state)
{
    struct mvf_provider p;
    uint32_t ptr, msix = 0;
    unsigned n = 0;
    const uint8_t want[] = { 0x01, 0x11, 0x10 };

    create_ok("sim:nvme", &p);
    assert_string_equal(p.name, "sim:nvme");
    assert_null(p.ops->bar_object);        /* trapped only */
    assert_null(p.ops->revoke_mappings);
    assert_non_null(p.ops->attach);
    assert_non_null(p.ops->irq_configure);
    assert_null(p.extra_write_mask);

    assert_int_equal(cfg(&p, 0x00, 4), 0x00e21b36);
    assert_int_equal(cfg(&p, 0x08, 4), 0x01080201);  /* class, revision 1 */
    assert_int_equal(cfg(&p, 0x2c, 4), 0x00e21b36);
    assert_int_equal(cfg(&p, 0x3d, 1), 0);            /* no INTx */
    assert_int_equal(cfg(&p, 0x10, 4), 0x4);          /* 64-bit memory */
    assert_int_equal(cfg(&p, 0x14, 4), 0);
    assert_int_equal(cfg(&p, 0x18, 4), 0);

    assert_true(cfg(&p, 0x06, 2) & 0x10);
    for (ptr = cfg(&p, 0x34, 1); ptr; ptr = cfg(&p, ptr + 1, 1), n++) {
        assert_true(n < ARRAY_SIZE(want));
        assert_int_equal(cfg(&p, ptr, 1), want[n]);
        if (want[n] == 0x11)
            msix = ptr;
    }
    assert_int_equal(n, 3);
    /* queues=4 by default: 5 vectors, table and PBA in BAR0. */
    assert_int_equal(cfg(&p, msix + 2, 2) & 0x7ff, 4);
    assert_int_equal(cfg(&p, msix + 4, 4), MVF_NVME_MSIX_TABLE | 0);
    assert_int_equal(cfg(&p, msix + 8, 4), MVF_NVME_MSIX_PBA | 0);

    assert_int_equal(p.bars[0].size, MVF_NVME_BAR_SIZE);
    assert_int_equal(p.bars[0].flags,
                     MVF_BAR_64BIT | MVF_BAR_MSIX | MVF_BAR_IMPLEMENTED);
    for (unsigned b = 1; b <= MVF_ROM_INDEX; b++)
        assert_int_equal(p.bars[b].size, 0);
    assert_int_equal(p.irq_count[MVF_IRQ_INTX], 0);
    assert_int_equal(p.irq_count[MVF_IRQ_MSI], 0);
    assert_int_equal(p.irq_count[MVF_IRQ_MSIX], 5);

    /* BAR sizing reads back the 16 KiB mask. */
    assert_int_equal(p.ops->config_write(p.priv, 0x10, 4, 0xffffffff), 0);
    assert_int_equal(p.ops->config_write(p.priv, 0x14, 4, 0xffffffff), 0);
    assert_int_equal(cfg(&p, 0x10, 4), 0xffffc004);
    assert_int_equal(cfg(&p, 0x14, 4), 0xffffffff);
    destroy(&p);

    create_ok("sim:nvme,queues=64", &p);
    assert_int_equal(p.irq_count[MVF_IRQ_MSIX], 65);
    destroy(&p);
}

static void test_options(void **state)
{
    static const struct { const char *spec; uint64_t bytes; uint32_t q; } good[] = {
        { "sim:nvme", 64u << 20, 4 },
        { "sim:nvme,size=4K", 4096, 4 },
        { "sim:nvme,size=0x100000,queues=1", 1u << 20, 1 },
        { "sim:nvme,queues=64,size=1g", 1u << 30, 64 },
        { "sim:nvme,serial=ABC-123_x,size=8K", 8192, 4 },
        { "sim:nvme,size=1T", 1ull << 40, 4 },
    };
    static const struct { const char *spec; int rc; const char *needle; } bad[] = {
        { "sim:nvme,", -EINVAL, "sim:nvme: empty" },
        { "sim:nvme,size=6000", -EINVAL, "multiple of 4K" },
        { "sim:nvme,size=0", -EINVAL, "multiple of 4K" },
        { "sim:nvme,size=2T", -EINVAL, "multiple of 4K" },
        { "sim:nvme,size=1MB", -EINVAL, "size=1MB" },
        { "sim:nvme,queues=0", -EINVAL, "1 to 64" },
        { "sim:nvme,queues=65", -EINVAL, "1 to 64" },
        { "sim:nvme,queues=4K", -EINVAL, "queues=4K" },
        { "sim:nvme,serial=123456789012345678901", -EINVAL, "at most 20" },
        { "sim:nvme,queues=2,queues=2", -EINVAL, "twice" },
        { "sim:nvme,colour=blue", -EINVAL, "unknown option \"colour\"" },
        { "sim:nvme,file=/nonexistent/disk.img", -ENOENT, "No such file" },
        { "sim:nvme,file=/tmp", -EINVAL, "not a regular file" },
        { "sim:nvme,size=1M,file=/tmp/x", -EINVAL, "size= is for RAM" },
        { "sim:nvme,file", -EINVAL, "file" },
        { "sim:nvmex", -ENOENT, "known: sim:dmatest, sim:nvme" },
    };
    char err[MVF_ERRMSG_MAX], path[64], spec[128];
    struct mvf_provider p, p2;
    int fd;

    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        create_ok(good[i].spec, &p);
        assert_int_equal(p.irq_count[MVF_IRQ_MSIX], good[i].q + 1);
        destroy(&p);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int rc;

        memset(err, 0, sizeof(err));
        rc = mvf_sim_create(bad[i].spec, &p, err, sizeof(err));
        if (rc != bad[i].rc || !strstr(err, bad[i].needle))
            fail_msg("spec \"%s\": rc %d, err \"%s\"", bad[i].spec, rc, err);
    }

    /* A file smaller than one 4 KiB block is refused; a larger one is
     * used rounded down, and locked against a second user. */
    fd = make_disk(path, 4095);
    snprintf(spec, sizeof(spec), "sim:nvme,file=%s", path);
    assert_int_equal(mvf_sim_create(spec, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "smaller than 4 KiB"));
    assert_int_equal(ftruncate(fd, 3 * 4096 + 100), 0);
    create_ok(spec, &p);
    assert_int_equal(mvf_sim_create(spec, &p2, err, sizeof(err)), -EBUSY);
    assert_non_null(strstr(err, "in use"));
    destroy(&p);
    create_ok(spec, &p);        /* the lock went with the first device */
    destroy(&p);
    /* The file is never resized. */
    {
        struct stat st;

        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_size, 3 * 4096 + 100);
    }
    close(fd);
    unlink(path);

    assert_int_equal(mvf_sim_nvme_create(NULL, &p, NULL, 0), 0);
    destroy(&p);
    assert_int_equal(mvf_sim_nvme_create("size=1M", &p, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(mvf_sim_nvme_create("", NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(mvf_sim_create("sim:nvme,queues=0", &p, err, 8), -EINVAL);
    assert_int_equal(strlen(err), 7);
}

static void test_registers(void **state)
{
    struct mvf_provider p;
    uint64_t cap;

    create_ok("sim:nvme,size=1M", &p);
    cap = bar_rd(&p, NVME_REG_CAP, 8);
    assert_int_equal(cap & 0xffff, MVF_NVME_MQES);           /* MQES */
    assert_true(cap & NVME_CAP_CQR);
    assert_int_equal((cap >> 17) & 3, 0);                    /* AMS */
    assert_int_equal((cap >> 24) & 0xff, MVF_NVME_CAP_TO);
    assert_int_equal((cap >> 32) & 0xf, 0);                  /* DSTRD */
    assert_int_equal((cap >> 37) & 0xff, 1);                 /* CSS NVM */
    assert_int_equal((cap >> 48) & 0xff, 0);                 /* MPSMIN/MAX */
    assert_int_equal(rd32(&p, NVME_REG_CAP), (uint32_t)cap);
    assert_int_equal(rd32(&p, NVME_REG_CAP + 4), (uint32_t)(cap >> 32));
    assert_int_equal(rd32(&p, NVME_REG_VS), 0x00010400);
    assert_int_equal(bar_rd(&p, NVME_REG_VS + 2, 2), 0x0001);
    assert_int_equal(bar_rd(&p, NVME_REG_VS + 1, 1), 0x04);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);

    /* Read-only registers ignore writes. */
    wr32(&p, NVME_REG_CAP, 0);
    wr32(&p, NVME_REG_VS, 0);
    wr32(&p, NVME_REG_CSTS, ~0u);
    assert_int_equal(bar_rd(&p, NVME_REG_CAP, 8), cap);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);

    /* INTMS sets, INTMC clears; both read the mask. */
    wr32(&p, NVME_REG_INTMS, 0x5);
    wr32(&p, NVME_REG_INTMS, 0x2);
    wr32(&p, NVME_REG_INTMC, 0x1);
    assert_int_equal(rd32(&p, NVME_REG_INTMS), 0x6);
    assert_int_equal(rd32(&p, NVME_REG_INTMC), 0x6);

    /* AQA: 12-bit fields; ASQ/ACQ page aligned, 64-bit. */
    wr32(&p, NVME_REG_AQA, 0xffffffff);
    assert_int_equal(rd32(&p, NVME_REG_AQA), NVME_AQA_MASK);
    wr64(&p, NVME_REG_ASQ, 0x123456789abcdfffull);
    assert_int_equal(bar_rd(&p, NVME_REG_ASQ, 8), 0x123456789abcd000ull);
    bar_wr(&p, NVME_REG_ACQ, 8, 0xfedcba9876543210ull);   /* one 8-byte write */
    assert_int_equal(bar_rd(&p, NVME_REG_ACQ, 8), 0xfedcba9876543000ull);
    assert_int_equal(rd32(&p, NVME_REG_ACQ + 4), 0xfedcba98);

    /* CC holds what is written while disabled (Linux writes it, reads
     * it back, then sets EN). */
    wr32(&p, NVME_REG_CC, 0xffffffff & ~NVME_CC_EN);
    assert_int_equal(rd32(&p, NVME_REG_CC), NVME_CC_WRITABLE & ~NVME_CC_EN);
    assert_int_equal(rd32(&p, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK,
                     NVME_CSTS_SHST_DONE);    /* SHN was set in that write */
    wr32(&p, NVME_REG_CC, 0);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);

    /* Narrow and unaligned writes do nothing; reads of holes are 0. */
    bar_wr(&p, NVME_REG_CC, 2, CC_IOES);
    bar_wr(&p, NVME_REG_CC, 1, 1);
    bar_wr(&p, NVME_REG_AQA + 2, 4, 0x1111);
    assert_int_equal(rd32(&p, NVME_REG_CC), 0);
    assert_int_equal(rd32(&p, NVME_REG_AQA), NVME_AQA_MASK);
    assert_int_equal(bar_rd(&p, NVME_REG_CAP + 2, 4), 0);
    assert_int_equal(bar_rd(&p, NVME_REG_CAP + 4, 8), 0);
    assert_int_equal(rd32(&p, NVME_REG_CMBSZ), 0);
    assert_int_equal(rd32(&p, 0xffc), 0);
    assert_int_equal(rd32(&p, NVME_REG_DBS), 0);         /* doorbells WO */
    assert_int_equal(bar_rd(&p, 0, 3), 0);
    assert_int_equal(bar_rd(&p, MVF_NVME_BAR_SIZE, 4), 0);
    assert_int_equal(bar_rd(&p, UINT64_MAX - 3, 4), 0);
    {
        uint64_t v = 7;

        assert_int_equal(p.ops->bar_read(p.priv, 2, 0, 4, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(p.ops->bar_write(p.priv, 1, 0, 4, 1), 0);
    }

    /* MSI-X table: 5 entries stored with their writable bits, masked at
     * power-on; the PBA reads 0 and ignores writes. */
    for (uint32_t v = 0; v < 5; v++)
        assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 16 * v + 12), 1);
    bar_wr(&p, MVF_NVME_MSIX_TABLE + 16, 8, 0x00000001fee00003ull);
    wr32(&p, MVF_NVME_MSIX_TABLE + 24, 0x4041);
    wr32(&p, MVF_NVME_MSIX_TABLE + 28, 0xfffffffe);
    assert_int_equal(bar_rd(&p, MVF_NVME_MSIX_TABLE + 16, 8),
                     0x00000001fee00000ull);
    assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 24), 0x4041);
    assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 28), 0);
    wr32(&p, MVF_NVME_MSIX_TABLE + 16 * 5, 0x1234);     /* past the table */
    assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 16 * 5), 0);
    bar_wr(&p, MVF_NVME_MSIX_PBA, 8, ~0ull);
    assert_int_equal(bar_rd(&p, MVF_NVME_MSIX_PBA, 8), 0);

    /* Reset: everything back to power-on. */
    assert_int_equal(p.ops->reset(p.priv), 0);
    assert_int_equal(rd32(&p, NVME_REG_AQA), 0);
    assert_int_equal(bar_rd(&p, NVME_REG_ASQ, 8), 0);
    assert_int_equal(rd32(&p, NVME_REG_INTMS), 0);
    assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 24), 0);
    assert_int_equal(rd32(&p, MVF_NVME_MSIX_TABLE + 28), 1);
    destroy(&p);
}

/* Programs the admin queue registers, then writes CC the way Linux
 * does: configuration first, EN in a second write. */
static void bare_enable(const struct mvf_provider *p, uint32_t aqa,
                        uint64_t asq, uint64_t acq, uint32_t cc)
{
    wr32(p, NVME_REG_AQA, aqa);
    wr64(p, NVME_REG_ASQ, asq);
    wr64(p, NVME_REG_ACQ, acq);
    wr32(p, NVME_REG_CC, cc & ~NVME_CC_EN);
    wr32(p, NVME_REG_CC, cc | NVME_CC_EN);
}

static void test_enable_states(void **state)
{
    static const struct { uint32_t aqa, cc; uint64_t asq, acq; } bad[] = {
        { 0x001f001f, CC_IOES | (1u << 7), 0x10000, 0x20000 },  /* MPS 8K */
        { 0x001f001f, CC_IOES | (1u << 4), 0x10000, 0x20000 },  /* CSS 1 */
        { 0x001f001f, CC_IOES | (6u << 4), 0x10000, 0x20000 },  /* CSS CSI */
        { 0x001f001f, CC_IOES | (1u << 11), 0x10000, 0x20000 }, /* AMS WRR */
        { 0x001f001f, CC_IOES, 0, 0x20000 },                    /* no ASQ */
        { 0x001f001f, CC_IOES, 0x10000, 0 },                    /* no ACQ */
        { 0x001f0000, CC_IOES, 0x10000, 0x20000 },              /* 1-entry SQ */
        { 0x0000001f, CC_IOES, 0x10000, 0x20000 },              /* 1-entry CQ */
        { 0x0fff0fff, CC_IOES, 0xfffffffffffff000ull, 0x20000 },/* wraps */
    };
    struct mvf_provider p;

    create_ok("sim:nvme,size=1M", &p);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        bare_enable(&p, bad[i].aqa, bad[i].asq, bad[i].acq, bad[i].cc);
        if (rd32(&p, NVME_REG_CSTS) != NVME_CSTS_CFS)
            fail_msg("case %zu: CSTS 0x%x", i, rd32(&p, NVME_REG_CSTS));
        /* Writing CC again with EN still 1 changes nothing. */
        wr32(&p, NVME_REG_CC, bad[i].cc | NVME_CC_EN);
        assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_CFS);
        /* Clearing EN resets the controller, CFS included. */
        wr32(&p, NVME_REG_CC, 0);
        assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);
    }

    /* A good configuration: ready at once (no device attached, so no
     * DMA happens). */
    bare_enable(&p, 0x001f001f, 0x10000, 0x20000, CC_IOES);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_RDY);
    /* CSS, MPS and AMS are frozen while enabled; IOSQES may change. */
    wr32(&p, NVME_REG_CC, NVME_CC_EN | (1u << 7) | (1u << 4) | NVME_CC_IOSQES_6);
    assert_int_equal(rd32(&p, NVME_REG_CC), NVME_CC_EN | NVME_CC_IOSQES_6);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_RDY);
    /* Doorbells of an unattached device are ignored. */
    wr32(&p, DB(0), 1);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_RDY);
    /* Shutdown: SHST complete at once, RDY stays; clearing SHN clears
     * SHST; an abrupt shutdown completes too. */
    wr32(&p, NVME_REG_CC, rd32(&p, NVME_REG_CC) | NVME_CC_SHN_NORMAL);
    assert_int_equal(rd32(&p, NVME_REG_CSTS),
                     NVME_CSTS_RDY | NVME_CSTS_SHST_DONE);
    wr32(&p, NVME_REG_CC, rd32(&p, NVME_REG_CC) & ~NVME_CC_SHN_MASK);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_RDY);
    wr32(&p, NVME_REG_CC, rd32(&p, NVME_REG_CC) | NVME_CC_SHN_ABRUPT);
    assert_int_equal(rd32(&p, NVME_REG_CSTS),
                     NVME_CSTS_RDY | NVME_CSTS_SHST_DONE);
    /* Disable: RDY and SHST clear; the admin registers stay. */
    wr32(&p, NVME_REG_CC, 0);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);
    assert_int_equal(rd32(&p, NVME_REG_AQA), 0x001f001f);
    assert_int_equal(bar_rd(&p, NVME_REG_ASQ, 8), 0x10000);
    /* Maximum admin queues (4096 entries) are fine. */
    bare_enable(&p, 0x0fff0fff, 0x10000, 0x20000, CC_IOES);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), NVME_CSTS_RDY);
    /* Function reset: not ready, CC 0. */
    assert_int_equal(p.ops->reset(p.priv), 0);
    assert_int_equal(rd32(&p, NVME_REG_CSTS), 0);
    assert_int_equal(rd32(&p, NVME_REG_CC), 0);
    destroy(&p);
}

static void test_irq_configure(void **state)
{
    struct mvf_provider p;

    create_ok("sim:nvme,size=64K,queues=2", &p);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 3), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 1), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 4), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_INTX, 1), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSI, 1), -EINVAL);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSIX, 0), 0);
    assert_int_equal(p.ops->irq_configure(p.priv, MVF_IRQ_MSI, 0), 0);
    destroy(&p);
}

/* Random accesses to every op of a bare device: never crash. */
static void test_bare_random(void **state)
{
    struct mvf_provider p;
    unsigned seed = 7;

    create_ok("sim:nvme,size=64K,queues=3", &p);
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t bar, w, cv;
        uint64_t off, v;

        seed = seed * 1103515245u + 12345u;
        bar = (seed >> 24) % 8 == 0 ? 1 : 0;
        w = 1u << ((seed >> 4) % 5);
        seed = seed * 1103515245u + 12345u;
        off = (seed & 1) ? (seed >> 8) % 0x4010 : ((uint64_t)seed << 32 | seed);
        if (seed & 2)
            off &= ~7ull;
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
    assert_int_equal(rd32(&p, NVME_REG_VS), 0x00010400);
    destroy(&p);
}

/* ---- with the core: test host ------------------------------------------ */

#include "counting_host.h"

/* ---- with the core: a small NVMe driver --------------------------------- */

#define DISK_SIZE  (16u << 20)
#define NSZE       (DISK_SIZE / 512)
#define CLIENT_MEM (10u << 20)
#define RW_LEN     (9u << 20)     /* mapped read-write from 0 */
#define RO_OFF     RW_LEN         /* the last 1 MiB is mapped read-only */
#define RO_LEN     (1u << 20)

/* Client memory layout. */
#define ASQ_OFF    0x0000
#define ACQ_OFF    0x1000
#define IOSQ_OFF   0x2000
#define IOCQ_OFF   0x3000
#define LIST_OFF   0x4000         /* 4 pages of PRP lists */
#define ID_OFF     0x8000         /* 2 pages for admin data */
#define SRC_OFF    0x10000        /* write source: 4 MiB + 1 page */
#define DST_OFF    0x420000       /* read destination: 4 MiB + 1 page */
#define XFER_PAGES 1024u          /* MDTS: 4 MiB */

struct hq {                       /* the host's view of a queue pair */
    uint16_t qid;
    uint32_t sq_off, cq_off, sq_size, cq_size;
    uint32_t sq_tail, cq_head;
    uint8_t phase;
};

struct cqe {
    uint32_t dw0;
    uint16_t sqhd, sqid, cid, status;
};

struct fx {
    struct test_host host;
    struct mvf_core *core;
    struct mvf_device *dev;
    struct mvf_session *s;
    struct mvf_provider p;
    int memfd, diskfd;
    char path[64];
    uint8_t *mem;
    uint64_t handle, iova_rw, iova_ro;
    struct hq aq, ioq;
    uint16_t next_cid;
    unsigned rings;               /* MMIO doorbells the dbbuf host rang */
    struct hq *irq_q;             /* the queue an interrupt hook acts on */
    unsigned irq_budget, irq_acts;    /* how often it may act, and did */
    uint32_t late_cq_head;        /* 1 + a head an interrupt must ring, or 0 */
};

struct cmd {
    uint8_t b[NVME_SQE_SIZE];
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

static void call_ok(struct mvf_call *c, int rc)
{
    if (rc)
        fail_msg("selector %u failed: %d %s", c->selector, rc, c->err);
}

static uint64_t iova(const struct fx *f, uint64_t off)
{
    return off >= RO_OFF ? f->iova_ro + (off - RO_OFF) : f->iova_rw + off;
}

static void set_command(struct fx *f, uint32_t cmd)
{
    struct mvf_call c;

    call_ok(&c, CALL(f, &c, MVF_SEL_CONFIG_WRITE, NULL, 0, 4, 2, cmd));
}

static struct mvf_stats stats(struct fx *f)
{
    struct mvf_stats st;
    struct mvf_call c;

    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_STATS;
    c.struct_out = &st;
    c.struct_out_cap = sizeof(st);
    call_ok(&c, mvf_dispatch(f->s, &c));
    return st;
}

static unsigned irq_total(const struct fx *f)
{
    unsigned t = 0;

    for (unsigned i = 0; i < NOBJ; i++)
        t += f->host.irq[i];
    return t;
}

static void enable(struct fx *f, uint32_t sq_size, uint32_t cq_size)
{
    bare_enable(&f->p, (sq_size - 1) | (cq_size - 1) << 16,
                iova(f, ASQ_OFF), iova(f, ACQ_OFF), CC_IOES);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
    memset(&f->aq, 0, sizeof(f->aq));
    f->aq.sq_off = ASQ_OFF;
    f->aq.cq_off = ACQ_OFF;
    f->aq.sq_size = sq_size;
    f->aq.cq_size = cq_size;
    f->aq.phase = 1;
    memset(f->mem + ASQ_OFF, 0, 2 * PG);
}

static void cmd_init(struct cmd *c, uint8_t opc, uint32_t nsid)
{
    memset(c, 0, sizeof(*c));
    c->b[0] = opc;
    nvme_put_le32(c->b + NVME_SQE_NSID, nsid);
}

/* Sets dword n (0..15) of the entry. */
static void cmd_dw(struct cmd *c, unsigned n, uint32_t v)
{
    nvme_put_le32(c->b + 4 * n, v);
}

static void cmd_prp(struct cmd *c, uint64_t prp1, uint64_t prp2)
{
    nvme_put_le64(c->b + NVME_SQE_PRP1, prp1);
    nvme_put_le64(c->b + NVME_SQE_PRP2, prp2);
}

/* Writes the entry at the SQ tail (CID assigned) without ringing. */
static uint16_t push(struct fx *f, struct hq *q, struct cmd *c)
{
    uint16_t cid = f->next_cid++;

    nvme_put_le16(c->b + 2, cid);
    memcpy(f->mem + q->sq_off + q->sq_tail * NVME_SQE_SIZE, c->b,
           NVME_SQE_SIZE);
    q->sq_tail = (q->sq_tail + 1) % q->sq_size;
    return cid;
}

/* Runs the device's deferred work (what doorbells queued) until it is
 * idle, slice by slice through the core, the way macvfiod's loop does
 * between client calls; returns the slices it took. */
static unsigned run_idle(struct fx *f)
{
    unsigned slices = 0;

    while (mvf_core_has_work(f->core)) {
        mvf_core_run_work(f->core);
        if (++slices > (1u << 20))
            fail_msg("the device's work never ends");
    }
    return slices;
}

/* A doorbell write, then the work it queued. */
static void db(struct fx *f, uint32_t off, uint32_t v)
{
    wr32(&f->p, off, v);
    run_idle(f);
}

static void ring(struct fx *f, struct hq *q)
{
    db(f, DB(q->qid), q->sq_tail);
}

static bool cqe_ready(const struct fx *f, const struct hq *q)
{
    const uint8_t *e = f->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;

    return (nvme_get_le16(e + NVME_CQE_STATUS) & 1) == q->phase;
}

/* Takes the completion at the CQ head (which must be there); rings the
 * head doorbell when `doorbell`. */
static struct cqe pop(struct fx *f, struct hq *q, bool doorbell)
{
    const uint8_t *e = f->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;
    struct cqe r;

    if (!cqe_ready(f, q))
        fail_msg("no completion on queue %u at %u", q->qid, q->cq_head);
    r.dw0 = nvme_get_le32(e + NVME_CQE_DW0);
    r.sqhd = nvme_get_le16(e + NVME_CQE_SQHD);
    r.sqid = nvme_get_le16(e + NVME_CQE_SQID);
    r.cid = nvme_get_le16(e + NVME_CQE_CID);
    r.status = nvme_get_le16(e + NVME_CQE_STATUS) >> 1;
    if (++q->cq_head == q->cq_size) {
        q->cq_head = 0;
        q->phase ^= 1;
    }
    if (doorbell)
        db(f, CQDB(q->qid), q->cq_head);
    return r;
}

/* Submits one command and returns its status (dw0 if wanted). */
static uint16_t exec(struct fx *f, struct hq *q, struct cmd *c, uint32_t *dw0)
{
    uint16_t cid = push(f, q, c);
    struct cqe r;

    ring(f, q);
    r = pop(f, q, true);
    assert_int_equal(r.cid, cid);
    assert_int_equal(r.sqid, q->qid);
    assert_int_equal(r.sqhd, q->sq_tail);
    if (dw0)
        *dw0 = r.dw0;
    return r.status;
}

static uint16_t admin(struct fx *f, struct cmd *c)
{
    return exec(f, &f->aq, c, NULL);
}

static uint16_t create_cq(struct fx *f, uint16_t qid, uint64_t base,
                          uint32_t size, uint32_t flags, uint16_t vector)
{
    struct cmd c;

    cmd_init(&c, NVME_ADM_CREATE_CQ, 0);
    cmd_prp(&c, base, 0);
    cmd_dw(&c, 10, qid | (size - 1) << 16);
    cmd_dw(&c, 11, flags | (uint32_t)vector << 16);
    return admin(f, &c);
}

static uint16_t create_sq(struct fx *f, uint16_t qid, uint64_t base,
                          uint32_t size, uint32_t flags, uint16_t cqid)
{
    struct cmd c;

    cmd_init(&c, NVME_ADM_CREATE_SQ, 0);
    cmd_prp(&c, base, 0);
    cmd_dw(&c, 10, qid | (size - 1) << 16);
    cmd_dw(&c, 11, flags | (uint32_t)cqid << 16);
    return admin(f, &c);
}

static uint16_t delete_queue(struct fx *f, uint8_t opc, uint16_t qid)
{
    struct cmd c;

    cmd_init(&c, opc, 0);
    cmd_dw(&c, 10, qid);
    return admin(f, &c);
}

/* Brings up the I/O queue pair 1 (vector 1). */
static void io_queues(struct fx *f, uint32_t sq_size, uint32_t cq_size)
{
    assert_int_equal(create_cq(f, 1, iova(f, IOCQ_OFF), cq_size,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 1), 0);
    assert_int_equal(create_sq(f, 1, iova(f, IOSQ_OFF), sq_size,
                               NVME_QUEUE_PC, 1), 0);
    memset(&f->ioq, 0, sizeof(f->ioq));
    f->ioq.qid = 1;
    f->ioq.sq_off = IOSQ_OFF;
    f->ioq.cq_off = IOCQ_OFF;
    f->ioq.sq_size = sq_size;
    f->ioq.cq_size = cq_size;
    f->ioq.phase = 1;
}

static void rw_cmd(struct cmd *c, uint8_t opc, uint64_t slba, uint32_t nlb,
                   uint64_t prp1, uint64_t prp2)
{
    cmd_init(c, opc, 1);
    cmd_prp(c, prp1, prp2);
    cmd_dw(c, 10, (uint32_t)slba);
    cmd_dw(c, 11, (uint32_t)(slba >> 32));
    cmd_dw(c, 12, nlb - 1);
}

static uint16_t io(struct fx *f, uint8_t opc, uint64_t slba, uint32_t nlb,
                   uint64_t prp1, uint64_t prp2)
{
    struct cmd c;

    rw_cmd(&c, opc, slba, nlb, prp1, prp2);
    return exec(f, &f->ioq, &c, NULL);
}

/*
 * Describes a transfer over data pages at client offsets pages[0..n)
 * (PRP1 starting first_off into pages[0]): sets PRP1/PRP2 and, when a
 * list is needed, writes it from LIST_OFF + start, chaining into the
 * following list pages.
 */
static void prp_build(struct fx *f, const uint32_t *pages, uint32_t n,
                      uint32_t first_off, uint32_t start, uint64_t *prp1,
                      uint64_t *prp2)
{
    uint32_t slot = LIST_OFF + start, i = 1;

    *prp1 = iova(f, pages[0] + first_off);
    *prp2 = n == 2 ? iova(f, pages[1]) : 0;
    if (n <= 2)
        return;
    *prp2 = iova(f, slot);
    while (i < n) {
        uint32_t slots = (PG - slot % PG) / 8, left = n - i;

        if (left <= slots) {
            for (uint32_t k = 0; k < left; k++)
                nvme_put_le64(f->mem + slot + 8 * k, iova(f, pages[i++]));
            break;
        }
        for (uint32_t k = 0; k < slots - 1; k++)
            nvme_put_le64(f->mem + slot + 8 * k, iova(f, pages[i++]));
        nvme_put_le64(f->mem + slot + 8 * (slots - 1),
                      iova(f, slot / PG * PG + PG));
        slot = slot / PG * PG + PG;
        assert_true(slot < ID_OFF);
    }
}

/* Concatenates `len` bytes of the pages as the controller sees them. */
static void gather(const struct fx *f, const uint32_t *pages,
                   uint32_t first_off, uint32_t len, uint8_t *out)
{
    uint32_t done = 0;

    for (uint32_t i = 0; done < len; i++) {
        uint32_t off = i ? 0 : first_off, chunk = PG - off;

        if (chunk > len - done)
            chunk = len - done;
        memcpy(out + done, f->mem + pages[i] + off, chunk);
        done += chunk;
    }
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

static void disk_read(const struct fx *f, uint64_t off, void *buf, size_t len)
{
    assert_int_equal(pread(f->diskfd, buf, len, (off_t)off), (ssize_t)len);
}

/* A controller backed by a fresh file (spec NULL), or by `spec`. */
static int fx_setup_spec(void **state, const char *ram_spec)
{
    static const int vec_objs[5] = { 0, 1, 2, 3, 4 };
    struct fx *f = calloc(1, sizeof(*f));
    char err[MVF_ERRMSG_MAX], spec[128];
    struct mvf_call c;

    assert_non_null(f);
    f->diskfd = -1;
    if (ram_spec) {
        snprintf(spec, sizeof(spec), "%s", ram_spec);
    } else {
        f->diskfd = make_disk(f->path, DISK_SIZE);
        snprintf(spec, sizeof(spec), "sim:nvme,file=%s,serial=UNIT-1", f->path);
    }
    f->core = mvf_core_create(&test_hops, &f->host);
    assert_non_null(f->core);
    if (mvf_sim_create(spec, &f->p, err, sizeof(err)))
        fail_msg("%s", err);
    f->p.bus = 5;
    assert_int_equal(mvf_core_add_device(f->core, &f->p, NULL, &f->dev), 0);
    f->s = mvf_session_create(f->core);
    assert_non_null(f->s);
    call_ok(&c, CALL(f, &c, MVF_SEL_HELLO, NULL, 0, MVF_ABI_VERSION, 0));
    call_ok(&c, CALL(f, &c, MVF_SEL_DEVICE_OPEN, NULL, 0, 0));
    call_ok(&c, do_call(f, MVF_SEL_CLAIM, NULL, 0, NULL, 0, &c));
    call_ok(&c, CALL(f, &c, MVF_SEL_IRQ_SET, vec_objs, f->p.irq_count[MVF_IRQ_MSIX],
                     MVF_IRQ_MSIX, MVF_IRQ_ACT_TRIGGER, 0,
                     f->p.irq_count[MVF_IRQ_MSIX],
                     (1u << f->p.irq_count[MVF_IRQ_MSIX]) - 1));

    f->memfd = memfd_create("test-client", MFD_CLOEXEC);
    assert_true(f->memfd >= 0);
    assert_int_equal(ftruncate(f->memfd, CLIENT_MEM), 0);
    f->mem = mmap(NULL, CLIENT_MEM, PROT_READ | PROT_WRITE, MAP_SHARED,
                  f->memfd, 0);
    assert_true(f->mem != MAP_FAILED);
    call_ok(&c, CALL(f, &c, MVF_SEL_DMA_REGISTER, &f->memfd, 1,
                     CLIENT_MEM, 0, MVF_DMA_REG_FD));
    f->handle = c.out[0];
    call_ok(&c, CALL(f, &c, MVF_SEL_DMA_MAP, NULL, 0, f->handle, 0, RW_LEN,
                     MVF_DMA_READ | MVF_DMA_WRITE));
    f->iova_rw = c.out[0];
    call_ok(&c, CALL(f, &c, MVF_SEL_DMA_MAP, NULL, 0, f->handle, RO_OFF,
                     RO_LEN, MVF_DMA_READ));
    f->iova_ro = c.out[0];
    set_command(f, 0x0006);   /* memory + bus master */
    f->next_cid = 0x100;
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_spec(state, NULL);
}

static int fx_setup_ram(void **state)
{
    return fx_setup_spec(state, "sim:nvme,size=1M,queues=1");
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    mvf_session_destroy(f->s);
    mvf_core_destroy(f->core);
    munmap(f->mem, CLIENT_MEM);
    close(f->memfd);
    if (f->diskfd >= 0) {
        close(f->diskfd);
        unlink(f->path);
    }
    free(f);
    return 0;
}

/* ---- tests with the core ------------------------------------------------- */

static void test_core_adopts(void **state)
{
    struct fx *f = *state;
    struct mvf_device_info info;
    struct mvf_call c;

    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_DEVICE_INFO;
    c.struct_out = &info;
    c.struct_out_cap = sizeof(info);
    call_ok(&c, mvf_dispatch(f->s, &c));
    assert_int_equal(info.vendor_id, MVF_NVME_VENDOR_ID);
    assert_int_equal(info.device_id, MVF_NVME_DEVICE_ID);
    assert_int_equal(info.class_code, MVF_NVME_CLASS);
    assert_int_equal(info.bus, 5);
    assert_string_equal(info.name, "sim:nvme");
    /* BAR0 is trapped only. */
    assert_int_equal(CALL(f, &c, MVF_SEL_MAP_MEMORY, NULL, 0, MVF_MEM_BAR(0)),
                     -ENOTSUP);
    /* Registers through the core's MMIO path, 8 bytes at once. */
    call_ok(&c, CALL(f, &c, MVF_SEL_MMIO_READ, NULL, 0, 0, NVME_REG_CAP, 8));
    assert_int_equal(c.out[0] & 0xffff, MVF_NVME_MQES);
    call_ok(&c, CALL(f, &c, MVF_SEL_MMIO_READ, NULL, 0, 0, NVME_REG_VS, 4));
    assert_int_equal(c.out[0], 0x00010400);
}

static void test_identify(void **state)
{
    struct fx *f = *state;
    const uint8_t *d = f->mem + ID_OFF;
    uint8_t nguid[16], zero[16] = { 0 };
    struct cmd c;

    enable(f, 32, 32);
    /* Identify Controller into one page. */
    cmd_init(&c, NVME_ADM_IDENTIFY, 0);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_CNS_CTRL);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_VID), 0x1b36);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_SSVID), 0x1b36);
    assert_memory_equal(d + NVME_IDC_SN, "UNIT-1              ", 20);
    assert_memory_equal(d + NVME_IDC_MN, "macvfio simulated NVMe  ", 24);
    assert_memory_equal(d + NVME_IDC_FR, "1.0     ", 8);
    assert_int_equal(d[NVME_IDC_MDTS], MVF_NVME_MDTS);
    assert_int_equal(nvme_get_le32(d + NVME_IDC_VER), 0x00010400);
    assert_int_equal(d[NVME_IDC_CNTRLTYPE], 1);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_OACS), NVME_OACS_DBBUF);
    assert_int_equal(d[NVME_IDC_AERL], MVF_NVME_AERL);
    assert_int_equal(d[NVME_IDC_SQES], 0x66);
    assert_int_equal(d[NVME_IDC_CQES], 0x44);
    assert_int_equal(nvme_get_le32(d + NVME_IDC_NN), 1);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_ONCS), 0x0c);
    assert_int_equal(d[NVME_IDC_VWC], 1);
    assert_int_equal(nvme_get_le32(d + NVME_IDC_SGLS), 0);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_KAS), 0);
    assert_int_equal(nvme_get_le16(d + NVME_IDC_WCTEMP), 343);
    assert_string_equal((const char *)d + NVME_IDC_SUBNQN,
                        "nqn.2024-01.io.github.macvfio:nvme:UNIT-1");
    assert_int_equal(nvme_get_le16(d + NVME_IDC_PSD0), 2500);

    /* Identify Namespace, with PRP1 at an offset: the second half of
     * the structure lands in the page PRP2 names (non-adjacent). */
    memset(f->mem + ID_OFF, 0xee, 2 * PG);
    cmd_init(&c, NVME_ADM_IDENTIFY, 1);
    cmd_prp(&c, iova(f, ID_OFF + 0x800), iova(f, SRC_OFF));
    cmd_dw(&c, 10, NVME_CNS_NS);
    assert_int_equal(admin(f, &c), 0);
    d = f->mem + ID_OFF + 0x800;
    assert_int_equal(nvme_get_le64(d + NVME_IDNS_NSZE), NSZE);
    assert_int_equal(nvme_get_le64(d + NVME_IDNS_NCAP), NSZE);
    assert_int_equal(nvme_get_le64(d + NVME_IDNS_NUSE), NSZE);
    assert_int_equal(d[NVME_IDNS_NLBAF], 0);
    assert_int_equal(d[NVME_IDNS_FLBAS], 0);
    assert_int_equal(nvme_get_le32(d + NVME_IDNS_LBAF0), 9u << 16);
    memcpy(nguid, d + NVME_IDNS_NGUID, 16);
    assert_memory_not_equal(nguid, zero, 16);
    assert_int_equal(f->mem[ID_OFF + 0x7ff], 0xee);      /* before PRP1 */
    assert_int_equal(f->mem[ID_OFF + 0x1000], 0xee);     /* after page 1 */
    assert_int_equal(f->mem[SRC_OFF + 0x7ff], 0);       /* 2nd half: zeros */
    assert_int_equal(f->mem[SRC_OFF + 0x800], 0);

    /* Active namespace list: 1, then nothing above 1. */
    memset(f->mem + ID_OFF, 0xee, PG);
    cmd_init(&c, NVME_ADM_IDENTIFY, 0);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_CNS_NS_LIST);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le32(f->mem + ID_OFF), 1);
    assert_int_equal(nvme_get_le32(f->mem + ID_OFF + 4), 0);
    nvme_put_le32(c.b + NVME_SQE_NSID, 1);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le32(f->mem + ID_OFF), 0);
    nvme_put_le32(c.b + NVME_SQE_NSID, 0xfffffffe);
    assert_int_equal(admin(f, &c), ST_NS);

    /* Namespace descriptors: NGUID (same as Identify NS) and a UUID. */
    cmd_init(&c, NVME_ADM_IDENTIFY, 1);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_CNS_NS_DESCS);
    assert_int_equal(admin(f, &c), 0);
    d = f->mem + ID_OFF;
    assert_int_equal(d[0], NVME_NIDT_NGUID);
    assert_int_equal(d[1], 16);
    assert_memory_equal(d + 4, nguid, 16);
    assert_int_equal(d[20], NVME_NIDT_UUID);
    assert_int_equal(d[21], 16);
    assert_int_equal(d[24 + 6] >> 4, 4);
    assert_int_equal(d[40], 0);                          /* end of list */

    /* Errors: inactive or broadcast NSIDs, unknown CNS, fused, SGL. */
    for (uint32_t nsid = 0; nsid < 3; nsid += 2) {
        cmd_init(&c, NVME_ADM_IDENTIFY, nsid);
        cmd_prp(&c, iova(f, ID_OFF), 0);
        assert_int_equal(admin(f, &c), ST_NS);
    }
    cmd_init(&c, NVME_ADM_IDENTIFY, NVME_NSID_ALL);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    assert_int_equal(admin(f, &c), ST_NS);
    cmd_dw(&c, 10, 0x10);                                /* unknown CNS */
    assert_int_equal(admin(f, &c), ST_FIELD);
    /* Command set specific structures: zeroes for the NVM set only. */
    memset(f->mem + ID_OFF, 0xee, PG);
    cmd_dw(&c, 10, NVME_CNS_CS_CTRL);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(f->mem[ID_OFF], 0);
    assert_int_equal(f->mem[ID_OFF + PG - 1], 0);
    cmd_dw(&c, 11, 2u << 24);                            /* ZNS */
    assert_int_equal(admin(f, &c), ST_FIELD);
    cmd_dw(&c, 10, NVME_CNS_CS_NS);
    assert_int_equal(admin(f, &c), ST_NS);
    nvme_put_le32(c.b + NVME_SQE_NSID, 1);
    assert_int_equal(admin(f, &c), ST_FIELD);
    cmd_dw(&c, 11, 0);
    assert_int_equal(admin(f, &c), 0);
    memset(f->mem + ID_OFF, 0, PG);
    cmd_init(&c, NVME_ADM_IDENTIFY, 1);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_CNS_NS_DESCS);
    assert_int_equal(admin(f, &c), 0);
    d = f->mem + ID_OFF;
    cmd_init(&c, NVME_ADM_IDENTIFY, 0);
    cmd_dw(&c, 10, NVME_CNS_CTRL);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    c.b[1] = 1;                                          /* FUSE */
    assert_int_equal(admin(f, &c), ST_FIELD);
    c.b[1] = 0x40;                                       /* PSDT: SGL */
    assert_int_equal(admin(f, &c), ST_FIELD);
    c.b[1] = 0;
    cmd_prp(&c, iova(f, ID_OFF) + 2, 0);                 /* not dword aligned */
    assert_int_equal(admin(f, &c), ST_PRP);
    cmd_prp(&c, iova(f, ID_OFF) + 4, iova(f, SRC_OFF) + 8);  /* PRP2 offset */
    assert_int_equal(admin(f, &c), ST_PRP);
    assert_int_equal(d[0], NVME_NIDT_NGUID);             /* untouched */
    assert_int_equal(f->host.warnings, 2);
}

static void test_features_logs(void **state)
{
    struct fx *f = *state;
    uint32_t dw0 = 0;
    struct cmd c;

    enable(f, 32, 32);
#define FEAT(opc, fid, v11) (cmd_init(&c, opc, 0), cmd_dw(&c, 10, fid),     \
                             cmd_dw(&c, 11, v11), exec(f, &f->aq, &c, &dw0))
    /* Number of Queues: the controller's 4 pairs whatever is asked. */
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_NUM_QUEUES, 0x003f003f), 0);
    assert_int_equal(dw0, 0x00030003);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_NUM_QUEUES, 0), 0);
    assert_int_equal(dw0, 0x00030003);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_NUM_QUEUES, 0xffff), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_NUM_QUEUES, 0xffff0000), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_NUM_QUEUES, 0), 0);
    assert_int_equal(dw0, 0x00030003);
    /* Volatile write cache: on by default, switchable. */
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC, 0), 0);
    assert_int_equal(dw0, 1);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_VWC, 0), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC, 0), 0);
    assert_int_equal(dw0, 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC | 1u << 8, 0), 0);
    assert_int_equal(dw0, 1);                            /* SEL default */
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC | 3u << 8, 0), 0);
    assert_int_equal(dw0, 4);                            /* changeable */
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC | 4u << 8, 0), ST_FIELD);
    /* Harmless features are accepted and read back. */
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_IRQ_COALESCE, 0x0a05), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_IRQ_COALESCE, 0), 0);
    assert_int_equal(dw0, 0x0a05);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_ASYNC_EVENT, 0x1ff), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_ASYNC_EVENT, 0), 0);
    assert_int_equal(dw0, 0x1ff);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_ARBITRATION, 3), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_ARBITRATION, 0), 0);
    assert_int_equal(dw0, 3);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_WRITE_ATOMIC, 3), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_WRITE_ATOMIC, 0), 0);
    assert_int_equal(dw0, 1);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_ERR_RECOVERY, 100), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_ERR_RECOVERY, 0), 0);
    assert_int_equal(dw0, 100);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_ERR_RECOVERY | 1u << 8, 0), 0);
    assert_int_equal(dw0, 0);                            /* default */
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_HOST_BEHAVIOR, 0), 0);
    memset(f->mem + ID_OFF, 0xee, PG);
    cmd_init(&c, NVME_ADM_GET_FEAT, 0);
    cmd_dw(&c, 10, NVME_FEAT_HOST_BEHAVIOR);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(f->mem[ID_OFF + 511], 0);           /* 512 zero bytes */
    assert_int_equal(f->mem[ID_OFF + 512], 0xee);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_POWER_MGMT, 0), 0);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_POWER_MGMT, 1), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_POWER_MGMT, 0), 0);
    assert_int_equal(dw0, 0);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_IRQ_CONFIG, 4), 0);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_IRQ_CONFIG, 5), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_IRQ_CONFIG, 2), 0);
    assert_int_equal(dw0, 2);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_IRQ_CONFIG, 5), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_TEMP_THRESH, 1u << 20), 0);
    assert_int_equal(dw0, 0);                            /* under threshold */
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_TEMP_THRESH, 2u << 20), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_TEMP_THRESH, 0), 0);
    assert_int_equal(dw0, 343);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_TEMP_THRESH, 350), 0);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_TEMP_THRESH, 0), 0);
    assert_int_equal(dw0, 350);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_TEMP_THRESH, 1u << 16), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_ERR_RECOVERY, 1u << 16), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, 0x0c, 0), ST_FIELD);    /* APST */
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, 0x0d, 0), ST_FIELD);    /* HMB */
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, 0x80, 0), ST_FIELD);
    assert_int_equal(FEAT(NVME_ADM_SET_FEAT, NVME_FEAT_VWC | 1u << 31, 1),
                     ST(NVME_SCT_CMD, NVME_SC_FEAT_NOT_SAVEABLE));
    /* Features return to defaults on a controller reset. */
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 32, 32);
    assert_int_equal(FEAT(NVME_ADM_GET_FEAT, NVME_FEAT_VWC, 0), 0);
    assert_int_equal(dw0, 1);
#undef FEAT

    /* Log pages: SMART with NUMD covering 512 bytes, firmware slot,
     * error log; reading past the end gives zeroes. */
    memset(f->mem + ID_OFF, 0xee, 2 * PG);
    cmd_init(&c, NVME_ADM_GET_LOG, NVME_NSID_ALL);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_LOG_SMART | (512 / 4 - 1) << 16);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le16(f->mem + ID_OFF + NVME_SMART_TEMP), 313);
    assert_int_equal(f->mem[ID_OFF + NVME_SMART_SPARE], 100);
    assert_int_equal(f->mem[ID_OFF + 512], 0xee);
    cmd_dw(&c, 10, NVME_LOG_SMART | (1024 / 4 - 1) << 16);
    cmd_dw(&c, 12, 4);                                   /* LPOL */
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(f->mem[ID_OFF], 10);                /* log byte 4 */
    assert_int_equal(f->mem[ID_OFF + 1023], 0);
    cmd_dw(&c, 12, 2);                                   /* not dword aligned */
    assert_int_equal(admin(f, &c), ST_FIELD);
    cmd_dw(&c, 12, 516);                                 /* past the end */
    assert_int_equal(admin(f, &c), ST_FIELD);
    cmd_dw(&c, 12, 0);
    nvme_put_le32(c.b + NVME_SQE_NSID, 1);               /* per namespace */
    assert_int_equal(admin(f, &c), ST_FIELD);
    cmd_init(&c, NVME_ADM_GET_LOG, 0);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_LOG_FW_SLOT | (512 / 4 - 1) << 16);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(f->mem[ID_OFF + NVME_FW_AFI], 1);
    assert_memory_equal(f->mem + ID_OFF + NVME_FW_FRS1, "1.0     ", 8);
    cmd_dw(&c, 10, NVME_LOG_ERROR | (64 / 4 - 1) << 16);
    assert_int_equal(admin(f, &c), 0);
    cmd_dw(&c, 10, 0x05 | (64 / 4 - 1) << 16);           /* effects log */
    assert_int_equal(admin(f, &c), ST(NVME_SCT_CMD, NVME_SC_LOG_INVALID));
    cmd_dw(&c, 10, NVME_LOG_ERROR | 0xffffu << 16);
    cmd_dw(&c, 11, 0xffff);                              /* 16 GiB */
    assert_int_equal(admin(f, &c), ST_FIELD);

    /* Abort never finds anything; Keep Alive is harmless. */
    cmd_init(&c, NVME_ADM_ABORT, 0);
    cmd_dw(&c, 10, 1 | 0x1234u << 16);
    assert_int_equal(exec(f, &f->aq, &c, &dw0), 0);
    assert_int_equal(dw0, 1);
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    assert_int_equal(admin(f, &c), 0);
    /* Unsupported optional commands. */
    for (unsigned i = 0; i < 5; i++) {
        static const uint8_t opc[] = { 0x80, 0x10, 0x0d, 0x19, 0xff };

        cmd_init(&c, opc[i], 0);
        assert_int_equal(admin(f, &c), ST_OPCODE);
    }
}

static void test_aer(void **state)
{
    struct fx *f = *state;
    struct cmd c;
    struct cqe r;
    uint16_t cid;

    enable(f, 32, 32);
    /* AERL + 1 requests are held without a completion. */
    for (unsigned i = 0; i <= MVF_NVME_AERL; i++) {
        cmd_init(&c, NVME_ADM_AER, 0);
        push(f, &f->aq, &c);
    }
    ring(f, &f->aq);
    assert_false(cqe_ready(f, &f->aq));
    assert_int_equal(irq_total(f), 0);
    /* One more exceeds the limit; its completion reports the head. */
    cmd_init(&c, NVME_ADM_AER, 0);
    cid = push(f, &f->aq, &c);
    ring(f, &f->aq);
    r = pop(f, &f->aq, true);
    assert_int_equal(r.cid, cid);
    assert_int_equal(r.status, ST(NVME_SCT_CMD, NVME_SC_AER_LIMIT));
    assert_int_equal(r.sqhd, 5);
    assert_int_equal(f->host.irq[0], 1);
    /* A controller reset drops them: four may be outstanding again. */
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 32, 32);
    for (unsigned i = 0; i <= MVF_NVME_AERL; i++) {
        cmd_init(&c, NVME_ADM_AER, 0);
        push(f, &f->aq, &c);
    }
    ring(f, &f->aq);
    assert_false(cqe_ready(f, &f->aq));
}

static void test_queue_management(void **state)
{
    struct fx *f = *state;
    const uint64_t cq = iova(f, IOCQ_OFF), sq = iova(f, IOSQ_OFF);
    const uint32_t pc = NVME_QUEUE_PC, ien = NVME_CQ_IEN;

    enable(f, 64, 64);
    /* Create I/O CQ: each validation error. */
    assert_int_equal(create_cq(f, 0, cq, 16, pc | ien, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_cq(f, 5, cq, 16, pc | ien, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_cq(f, 1, cq, 1, pc | ien, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QSIZE_INVALID));
    assert_int_equal(create_cq(f, 1, cq, 1025, pc | ien, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QSIZE_INVALID));
    assert_int_equal(create_cq(f, 1, cq, 16, ien, 1), ST_FIELD);
    assert_int_equal(create_cq(f, 1, cq, 16, pc | ien, 5),
                     ST(NVME_SCT_CMD, NVME_SC_IV_INVALID));
    assert_int_equal(create_cq(f, 1, cq + 0x800, 16, pc | ien, 1), ST_PRP);
    assert_int_equal(create_cq(f, 1, 0xfffffffffffff000ull, 1024, pc, 0),
                     ST_FIELD);                          /* wraps */
    /* Vector 5 without IEN is fine (polled queue). */
    assert_int_equal(create_cq(f, 4, cq, 16, pc, 5), 0);
    assert_int_equal(create_cq(f, 4, cq, 16, pc, 0),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));  /* exists */
    assert_int_equal(create_cq(f, 1, cq, 1024, pc | ien, 4), 0);

    /* Create I/O SQ. */
    assert_int_equal(create_sq(f, 0, sq, 16, pc, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_sq(f, 65, sq, 16, pc, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_sq(f, 1, sq, 1025, pc, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QSIZE_INVALID));
    assert_int_equal(create_sq(f, 1, sq, 16, 0, 1), ST_FIELD);
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 0),
                     ST(NVME_SCT_CMD, NVME_SC_CQ_INVALID));
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 2),
                     ST(NVME_SCT_CMD, NVME_SC_CQ_INVALID));
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 9),
                     ST(NVME_SCT_CMD, NVME_SC_CQ_INVALID));
    assert_int_equal(create_sq(f, 1, sq + 64, 16, pc, 1), ST_PRP);
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 1), 0);
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_sq(f, 2, sq, 16, pc, 1), 0);  /* shares CQ 1 */

    /* Delete: a CQ with SQs bound cannot go; SQs first. */
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QDELETE_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 0),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 0),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 3),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1000),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QDELETE_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 2), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 4), 0);

    /* Entry sizes other than 64/16 bytes are refused at creation. */
    wr32(&f->p, NVME_REG_CC, NVME_CC_EN | NVME_CC_IOCQES_4 | (7u << 16));
    assert_int_equal(create_cq(f, 1, cq, 16, pc | ien, 1), 0);
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 1), ST_FIELD);
    wr32(&f->p, NVME_REG_CC, NVME_CC_EN | NVME_CC_IOSQES_6 | (5u << 20));
    assert_int_equal(create_cq(f, 2, cq, 16, pc | ien, 1), ST_FIELD);
    wr32(&f->p, NVME_REG_CC, NVME_CC_EN | CC_IOES);
    assert_int_equal(create_sq(f, 1, sq, 16, pc, 1), 0);

    /* The queues work, and a controller reset deletes them all. */
    f->ioq = (struct hq){ .qid = 1, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF,
                          .sq_size = 16, .cq_size = 16, .phase = 1 };
    assert_int_equal(io(f, NVME_IO_FLUSH, 0, 1, 0, 0), 0);
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 64, 64);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    assert_int_equal(create_cq(f, 1, cq, 16, pc | ien, 1), 0);
}

static void test_io_simple(void **state)
{
    struct fx *f = *state;
    uint8_t disk[8192], want[8192];

    enable(f, 32, 32);
    io_queues(f, 32, 32);
    /* One LBA from the middle of a page (PRP1 only, dword offset). */
    fill(f->mem + SRC_OFF, 2 * PG, 1);
    assert_int_equal(io(f, NVME_IO_WRITE, 7, 1, iova(f, SRC_OFF + 0x204), 0), 0);
    disk_read(f, 7 * 512, disk, 512);
    assert_memory_equal(disk, f->mem + SRC_OFF + 0x204, 512);
    assert_int_equal(f->host.irq[1], 1);                 /* CQ 1 -> vector 1 */
    /* 4 KiB page aligned: PRP1 only, PRP2 ignored (garbage). */
    assert_int_equal(io(f, NVME_IO_WRITE, 8, 8, iova(f, SRC_OFF), 0x3), 0);
    disk_read(f, 8 * 512, disk, PG);
    assert_memory_equal(disk, f->mem + SRC_OFF, PG);
    /* Read it back with PRP1 at an offset: the rest goes to PRP2. */
    memset(f->mem + DST_OFF, 0, 4 * PG);
    assert_int_equal(io(f, NVME_IO_READ, 8, 8, iova(f, DST_OFF + 0xc00),
                        iova(f, DST_OFF + 2 * PG)), 0);
    assert_memory_equal(f->mem + DST_OFF + 0xc00, f->mem + SRC_OFF, 0x400);
    assert_memory_equal(f->mem + DST_OFF + 2 * PG, f->mem + SRC_OFF + 0x400,
                        PG - 0x400);
    assert_int_equal(f->mem[DST_OFF + PG], 0);           /* skipped page */
    assert_int_equal(f->mem[DST_OFF + 2 * PG + PG - 0x400], 0);
    /* 8 KiB with PRP1 + PRP2 as two whole pages, out of order. */
    fill(f->mem + SRC_OFF, 3 * PG, 2);
    assert_int_equal(io(f, NVME_IO_WRITE, 100, 16, iova(f, SRC_OFF + 2 * PG),
                        iova(f, SRC_OFF)), 0);
    memcpy(want, f->mem + SRC_OFF + 2 * PG, PG);
    memcpy(want + PG, f->mem + SRC_OFF, PG);
    disk_read(f, 100 * 512, disk, 2 * PG);
    assert_memory_equal(disk, want, 2 * PG);
    memset(f->mem + DST_OFF, 0, 2 * PG);
    assert_int_equal(io(f, NVME_IO_READ, 100, 16, iova(f, DST_OFF),
                        iova(f, DST_OFF + PG)), 0);
    assert_memory_equal(f->mem + DST_OFF, want, 2 * PG);
    /* The last LBA of the namespace. */
    assert_int_equal(io(f, NVME_IO_WRITE, NSZE - 1, 1, iova(f, SRC_OFF), 0), 0);
    disk_read(f, DISK_SIZE - 512, disk, 512);
    assert_memory_equal(disk, f->mem + SRC_OFF, 512);
    assert_int_equal(f->host.warnings, 0);
    assert_int_equal(f->host.irq[1], 6);
    assert_int_equal(f->host.irq[0], 2);                 /* queue creation */
}

/* Writes `npages` scattered pages through a PRP list, checks the file,
 * reads them back through another scattering, checks the memory. */
static void list_round_trip(struct fx *f, uint32_t npages, uint32_t first_off,
                            uint32_t start, uint32_t mult_w, uint32_t mult_r,
                            uint64_t slba)
{
    static uint32_t pw[XFER_PAGES + 1], pr[XFER_PAGES + 1];
    /* With PRP1 at an offset, the last page is partial: the transfer is
     * (PG - off) + (npages - 2) * PG + off bytes over npages pages. */
    uint32_t len = first_off ? (npages - 1) * PG : npages * PG;
    uint8_t *want = malloc(XFER_PAGES * PG), *disk = malloc(XFER_PAGES * PG);
    uint64_t prp1, prp2;

    assert_non_null(want);
    assert_non_null(disk);
    for (uint32_t i = 0; i < npages; i++) {
        pw[i] = SRC_OFF + (i * mult_w % npages) * PG;
        pr[i] = DST_OFF + (i * mult_r % npages) * PG;
    }
    fill(f->mem + SRC_OFF, (size_t)npages * PG, npages + start);
    gather(f, pw, first_off, len, want);
    prp_build(f, pw, npages, first_off, start, &prp1, &prp2);
    assert_int_equal(io(f, NVME_IO_WRITE, slba, len / 512, prp1, prp2), 0);
    disk_read(f, slba * 512, disk, len);
    assert_memory_equal(disk, want, len);

    memset(f->mem + DST_OFF, 0, (size_t)npages * PG);
    prp_build(f, pr, npages, first_off, start, &prp1, &prp2);
    assert_int_equal(io(f, NVME_IO_READ, slba, len / 512, prp1, prp2), 0);
    gather(f, pr, first_off, len, disk);
    assert_memory_equal(disk, want, len);
    free(want);
    free(disk);
}

static void test_io_prp_lists(void **state)
{
    struct fx *f = *state;

    enable(f, 32, 32);
    io_queues(f, 32, 32);
    /* 12 KiB: PRP1 + a 2-entry list. */
    list_round_trip(f, 3, 0, 0, 1, 2, 10);
    /* 64 KiB scattered, list from a 256-byte pool slot (Linux's small
     * pool), another scattering for the read. */
    list_round_trip(f, 16, 0, 0x300, 3, 5, 1000);
    /* PRP1 at an offset: 15 pages touched. */
    list_round_trip(f, 15, 0x200, 0x100, 7, 2, 2001);
    /* A list starting 4 entries before the end of its page: 3 data
     * entries, then a chain to a second list page. */
    list_round_trip(f, 40, 0, PG - 32, 7, 3, 3000);
    /* A list in the last slot of its page: it only chains. */
    list_round_trip(f, 5, 0, PG - 8, 1, 1, 4000);
    /* MDTS, 4 MiB: PRP1 + 511 + 511 + 1 entries over 3 chained pages. */
    list_round_trip(f, XFER_PAGES, 0, 0, 7, 5, 8192);
    /* 4 MiB starting at an offset: 1025 pages touched. */
    list_round_trip(f, XFER_PAGES + 1, 0x600, 0, 1, 1, 16384);
    assert_int_equal(f->host.warnings, 0);
}

static void test_prp_errors(void **state)
{
    struct fx *f = *state;
    uint8_t before[PG], after[PG];
    uint32_t pages[8];
    uint64_t prp1, prp2;
    struct cmd c;

    enable(f, 32, 32);
    io_queues(f, 32, 32);
    for (uint32_t i = 0; i < 8; i++)
        pages[i] = SRC_OFF + i * PG;
    fill(f->mem + SRC_OFF, 8 * PG, 9);
    disk_read(f, 0, before, PG);
    /* PRP1 must be dword aligned. */
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 1, iova(f, SRC_OFF) + 1, 0), ST_PRP);
    assert_int_equal(io(f, NVME_IO_READ, 0, 1, iova(f, DST_OFF) + 2, 0), ST_PRP);
    /* A PRP2 data page with an offset. */
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 16, iova(f, SRC_OFF),
                        iova(f, SRC_OFF + PG) + 0x200), ST_PRP);
    /* A list pointer that is not qword aligned. */
    prp_build(f, pages, 4, 0, 0, &prp1, &prp2);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 32, prp1, prp2 + 4), ST_PRP);
    /* A list entry with an offset. */
    nvme_put_le64(f->mem + LIST_OFF + 8, iova(f, pages[2]) + 0x10);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 32, prp1, prp2), ST_PRP);
    /* A chain pointer with an offset. */
    prp_build(f, pages, 6, 0, PG - 16, &prp1, &prp2);
    nvme_put_le64(f->mem + LIST_OFF + PG - 8, iova(f, LIST_OFF + PG) + 8);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 48, prp1, prp2), ST_PRP);
    /* A list that is not mapped, or whose chain leads nowhere. */
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 32, prp1,
                        f->iova_rw + (64ull << 20)), ST_XFER);
    prp_build(f, pages, 6, 0, PG - 16, &prp1, &prp2);
    nvme_put_le64(f->mem + LIST_OFF + PG - 8, f->iova_rw + (64ull << 20));
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 48, prp1, prp2), ST_XFER);
    /* A data page that is not mapped, in the middle of the list. */
    prp_build(f, pages, 4, 0, 0, &prp1, &prp2);
    nvme_put_le64(f->mem + LIST_OFF + 8, f->iova_rw + (128ull << 20));
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 32, prp1, prp2), ST_XFER);
    /* Over MDTS: 4 MiB + 512 bytes. */
    assert_int_equal(io(f, NVME_IO_WRITE, 0, XFER_PAGES * 8 + 1, prp1, prp2),
                     ST_FIELD);
    assert_int_equal(io(f, NVME_IO_READ, 0, 16384, prp1, prp2), ST_FIELD);
    /* None of these wrote anything. */
    disk_read(f, 0, after, PG);
    assert_memory_equal(before, after, PG);
    /* Every rejection was logged; the controller is still fine. */
    assert_true(f->host.warnings >= 9);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
}

static void test_lba_range(void **state)
{
    struct fx *f = *state;
    const uint64_t src = iova(f, SRC_OFF);
    struct cmd c;

    enable(f, 32, 32);
    io_queues(f, 32, 32);
    assert_int_equal(io(f, NVME_IO_WRITE, NSZE, 1, src, 0), ST_RANGE);
    assert_int_equal(io(f, NVME_IO_READ, NSZE - 1, 2, src, 0), ST_RANGE);
    assert_int_equal(io(f, NVME_IO_READ, UINT64_MAX, 1, src, 0), ST_RANGE);
    assert_int_equal(io(f, NVME_IO_READ, UINT64_MAX - 0xffff, 65536, src, 0),
                     ST_RANGE);
    assert_int_equal(io(f, NVME_IO_READ, 1ull << 55, 1, src, 0), ST_RANGE);
    assert_int_equal(io(f, NVME_IO_WRITE_ZEROES, NSZE - 8, 9, 0, 0), ST_RANGE);
    assert_int_equal(io(f, NVME_IO_READ, NSZE - 8, 8, src, 0), 0);
    /* Namespace IDs: only 1; Flush also takes "all". */
    rw_cmd(&c, NVME_IO_READ, 0, 1, src, 0);
    nvme_put_le32(c.b + NVME_SQE_NSID, 0);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_NS);
    nvme_put_le32(c.b + NVME_SQE_NSID, 2);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_NS);
    nvme_put_le32(c.b + NVME_SQE_NSID, NVME_NSID_ALL);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_NS);
    cmd_init(&c, NVME_IO_FLUSH, NVME_NSID_ALL);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    /* Unsupported I/O opcodes, fused and SGL commands. */
    for (unsigned i = 0; i < 4; i++) {
        static const uint8_t opc[] = { 0x04, 0x05, 0x0c, 0x81 };

        cmd_init(&c, opc[i], 1);
        assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_OPCODE);
    }
    rw_cmd(&c, NVME_IO_READ, 0, 1, src, 0);
    c.b[1] = 0x02;
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_FIELD);
    c.b[1] = 0x80;
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_FIELD);
    /* Admin opcodes mean nothing on an I/O queue (0x06 Identify). */
    cmd_init(&c, NVME_ADM_IDENTIFY, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_OPCODE);
}

static void test_zeroes_dsm_flush(void **state)
{
    struct fx *f = *state;
    uint8_t disk[4 * 4096], zero[4 * 4096] = { 0 };
    uint8_t *r = f->mem + ID_OFF;
    struct cmd c;

    enable(f, 32, 32);
    io_queues(f, 32, 32);
    fill(f->mem + SRC_OFF, 4 * PG, 4);
    {
        uint32_t pages[4] = { SRC_OFF, SRC_OFF + PG, SRC_OFF + 2 * PG,
                              SRC_OFF + 3 * PG };
        uint64_t prp1, prp2;

        prp_build(f, pages, 4, 0, 0, &prp1, &prp2);
        assert_int_equal(io(f, NVME_IO_WRITE, 64, 32, prp1, prp2), 0);
    }
    /* Write Zeroes over the middle two pages (with FUA). */
    rw_cmd(&c, NVME_IO_WRITE_ZEROES, 72, 16, 0, 0);
    cmd_dw(&c, 12, 15 | 1u << 30);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    disk_read(f, 64 * 512, disk, sizeof(disk));
    assert_memory_equal(disk, f->mem + SRC_OFF, PG);
    assert_memory_equal(disk + PG, zero, 2 * PG);
    assert_memory_equal(disk + 3 * PG, f->mem + SRC_OFF + 3 * PG, PG);
    /* Dataset Management: ranges are checked, deallocate accepted. */
    memset(r, 0, PG);
    nvme_put_le32(r + 4, 8);            /* NLB (1-based) */
    nvme_put_le64(r + 8, 64);
    nvme_put_le32(r + 16 + 4, 0);
    nvme_put_le64(r + 16 + 8, NSZE);    /* empty range at the end: fine */
    cmd_init(&c, NVME_IO_DSM, 1);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, 1);                  /* 2 ranges */
    cmd_dw(&c, 11, NVME_DSM_AD);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    nvme_put_le32(r + 16 + 4, 1);       /* one block past the end */
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_RANGE);
    cmd_dw(&c, 10, 255);                /* 256 ranges: 4 KiB, mostly zero */
    nvme_put_le32(r + 16 + 4, 0);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    cmd_prp(&c, f->iova_rw + (64ull << 20), 0);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), ST_XFER);
    /* Flush, FUA writes, and writes with the write cache off. */
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    rw_cmd(&c, NVME_IO_WRITE, 200, 8, iova(f, SRC_OFF), 0);
    cmd_dw(&c, 12, 7 | 1u << 30);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    cmd_init(&c, NVME_ADM_SET_FEAT, 0);
    cmd_dw(&c, 10, NVME_FEAT_VWC);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(io(f, NVME_IO_WRITE, 208, 8, iova(f, SRC_OFF), 0), 0);
    disk_read(f, 200 * 512, disk, 2 * PG);
    assert_memory_equal(disk, f->mem + SRC_OFF, PG);
    assert_memory_equal(disk + PG, f->mem + SRC_OFF, PG);
}

/* The controller's DMA goes through the DART: an IOVA that was never
 * mapped, or mapped read-only, fails the command and touches nothing. */
static void test_dma_faults(void **state)
{
    struct fx *f = *state;
    uint8_t *snap = malloc(CLIENT_MEM), disk[PG], before[PG];
    const uint64_t unmapped = f->iova_rw + (256ull << 20);
    uint64_t cqe_off;
    struct mvf_stats st0, st1;

    assert_non_null(snap);
    enable(f, 32, 32);
    io_queues(f, 32, 32);
    fill(f->mem + SRC_OFF, PG, 5);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 8, iova(f, SRC_OFF), 0), 0);
    disk_read(f, 0, before, PG);
    st0 = stats(f);

    /* Read into an unmapped IOVA: Data Transfer Error; the only bytes of
     * client memory that change are the completion entry's. */
    cqe_off = IOCQ_OFF + f->ioq.cq_head * NVME_CQE_SIZE;
    memcpy(snap, f->mem, CLIENT_MEM);
    assert_int_equal(io(f, NVME_IO_READ, 0, 8, unmapped, 0), ST_XFER);
    memcpy(snap + cqe_off, f->mem + cqe_off, NVME_CQE_SIZE);
    memcpy(snap + IOSQ_OFF, f->mem + IOSQ_OFF, PG);     /* the entry we wrote */
    assert_memory_equal(snap, f->mem, CLIENT_MEM);
    /* Read into the read-only mapping: the device may not write there. */
    assert_int_equal(io(f, NVME_IO_READ, 0, 8, iova(f, RO_OFF), 0), ST_XFER);
    assert_memory_equal(snap + RO_OFF, f->mem + RO_OFF, RO_LEN);
    /* Write from an unmapped IOVA: the disk keeps its data.  Writing
     * from read-only memory is fine. */
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 8, unmapped, 0), ST_XFER);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 16, iova(f, SRC_OFF),
                        unmapped), ST_XFER);
    disk_read(f, 0, disk, PG);
    assert_memory_equal(disk, before, PG);
    fill(f->mem + RO_OFF, PG, 6);
    assert_int_equal(io(f, NVME_IO_WRITE, 0, 8, iova(f, RO_OFF), 0), 0);
    disk_read(f, 0, disk, PG);
    assert_memory_equal(disk, f->mem + RO_OFF, PG);
    /* Straddling the end of the read-write mapping. */
    assert_int_equal(io(f, NVME_IO_READ, 0, 16, iova(f, RW_LEN - PG),
                        iova(f, RW_LEN - PG) + PG), ST_XFER);
    st1 = stats(f);
    assert_int_equal(st1.dma_faults, st0.dma_faults + 5);
    /* Each was logged (core + controller), none was fatal. */
    assert_true(f->host.warnings >= 10);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
    assert_int_equal(io(f, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0), 0);
    free(snap);
}

/* mvf_device_dma_spans, the core's zero-copy path the controller's
 * Read and Write use: the same checks as a copy, host pieces merged
 * where they continue each other, and on any error nothing appended. */
static void test_dma_spans(void **state)
{
    struct fx *f = *state;
    struct mvf_dma_span span[2];
    struct mvf_dma_spans v = { span, 0, 2 };
    struct mvf_stats st0 = stats(f), st1;
    uint64_t bad = 0;

    /* Host pointers are the core host's own mapping of the memfd: a
     * piece is checked by what it holds. */
    fill(f->mem, CLIENT_MEM, 9);
    /* 3 pages from an offset: one piece. */
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, PG + 0x10),
                                          3 * PG, false, &v, &bad), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(span[0].len, 3 * PG);
    assert_memory_equal(span[0].host, f->mem + PG + 0x10, 3 * PG);
    /* A range that continues it merges; one that does not is appended. */
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, 4 * PG + 0x10),
                                          PG, false, &v, &bad), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(span[0].len, 4 * PG);
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, 9 * PG), 8, true,
                                          &v, &bad), 0);
    assert_int_equal(v.n, 2);
    assert_memory_equal(span[1].host, f->mem + 9 * PG, 8);
    /* Full: -E2BIG, not a fault; a merge still fits. */
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, 20 * PG), 8, true,
                                          &v, &bad), -E2BIG);
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, 9 * PG + 8), 8,
                                          true, &v, &bad), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(span[1].len, 16);
    st1 = stats(f);
    assert_int_equal(st1.dma_faults, st0.dma_faults);

    /* Faults: the device may read the read-only mapping, not write it;
     * a range running off the mapped memory; bus mastering off. */
    v.n = 0;
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, RO_OFF), PG, true,
                                          &v, &bad), 0);
    assert_int_equal(v.n, 1);
    assert_memory_equal(span[0].host, f->mem + RO_OFF, PG);
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, RO_OFF + PG), PG,
                                          false, &v, &bad), -EFAULT);
    assert_int_equal(bad, iova(f, RO_OFF + PG));
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, RO_OFF + RO_LEN - PG),
                                          2 * PG, true, &v, &bad), -EFAULT);
    assert_int_equal(bad, iova(f, RO_OFF + RO_LEN));
    assert_int_equal(v.n, 1);
    assert_int_equal(span[0].len, PG);
    set_command(f, 0x0002);     /* memory space only */
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, 0), PG, true, &v,
                                          &bad), -EFAULT);
    assert_int_equal(v.n, 1);
    st1 = stats(f);
    assert_int_equal(st1.dma_faults, st0.dma_faults + 3);
    set_command(f, 0x0006);

    /* A faulting range whose first piece continued the last span: the
     * span keeps its length. */
    v.n = 0;
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, RO_OFF),
                                          RO_LEN - PG, true, &v, &bad), 0);
    assert_int_equal(mvf_device_dma_spans(f->dev, iova(f, RO_OFF + RO_LEN - PG),
                                          2 * PG, true, &v, &bad), -EFAULT);
    assert_int_equal(v.n, 1);
    assert_int_equal(span[0].len, RO_LEN - PG);
}

static void test_cq_phase_wrap(void **state)
{
    struct fx *f = *state;
    struct cmd c;
    unsigned raised;

    enable(f, 32, 32);
    io_queues(f, 8, 4);     /* CQ of 4 entries: holds 3 */
    /* 40 commands, one at a time: the CQ wraps 10 times, the phase tag
     * flips each time, SQ head follows the SQ's own wrap. */
    for (unsigned i = 0; i < 40; i++) {
        uint8_t want_phase = f->ioq.phase;
        uint32_t head = f->ioq.cq_head;

        rw_cmd(&c, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0);
        assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
        assert_int_equal(f->mem[IOCQ_OFF + head * 16 + 14] & 1, want_phase);
        assert_int_equal(f->ioq.sq_tail, (i + 1) % 8);
    }
    /* Batches of 3 (the most the CQ holds) in one doorbell each. */
    raised = f->host.irq[1];
    for (unsigned round = 0; round < 5; round++) {
        uint16_t cids[3];

        for (unsigned i = 0; i < 3; i++) {
            rw_cmd(&c, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0);
            cids[i] = push(f, &f->ioq, &c);
        }
        ring(f, &f->ioq);
        for (unsigned i = 0; i < 3; i++) {
            struct cqe r = pop(f, &f->ioq, false);

            assert_int_equal(r.cid, cids[i]);
            assert_int_equal(r.status, 0);
        }
        assert_false(cqe_ready(f, &f->ioq));
        db(f, CQDB(1), f->ioq.cq_head);
    }
    assert_int_equal(f->host.irq[1], raised + 5);   /* one per batch */
}

static void test_cq_full_resume(void **state)
{
    struct fx *f = *state;
    uint16_t cids[7];
    struct cmd c;
    struct cqe r;

    enable(f, 32, 32);
    io_queues(f, 16, 3);    /* CQ holds 2 */
    for (unsigned i = 0; i < 7; i++) {
        rw_cmd(&c, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0);
        cids[i] = push(f, &f->ioq, &c);
    }
    ring(f, &f->ioq);
    /* Two completions, then the SQ waits. */
    r = pop(f, &f->ioq, false);
    assert_int_equal(r.cid, cids[0]);
    assert_int_equal(r.sqhd, 1);
    r = pop(f, &f->ioq, false);
    assert_int_equal(r.cid, cids[1]);
    assert_int_equal(r.sqhd, 2);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->host.irq[1], 1);
    /* Ringing the SQ again changes nothing: the CQ is still full. */
    ring(f, &f->ioq);
    assert_false(cqe_ready(f, &f->ioq));
    /* Freeing one slot runs one more command, and so on. */
    db(f, CQDB(1), 1);
    r = pop(f, &f->ioq, false);
    assert_int_equal(r.cid, cids[2]);
    assert_int_equal(r.sqhd, 3);
    assert_int_equal(f->host.irq[1], 2);
    for (unsigned i = 3; i < 7; i += 2) {
        db(f, CQDB(1), f->ioq.cq_head);
        r = pop(f, &f->ioq, false);
        assert_int_equal(r.cid, cids[i]);
        if (i + 1 < 7) {
            r = pop(f, &f->ioq, false);
            assert_int_equal(r.cid, cids[i + 1]);
        }
    }
    db(f, CQDB(1), f->ioq.cq_head);
    assert_false(cqe_ready(f, &f->ioq));
    /* Deleting an SQ with commands left unfetched drops them. */
    for (unsigned i = 0; i < 5; i++) {
        rw_cmd(&c, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0);
        push(f, &f->ioq, &c);
    }
    ring(f, &f->ioq);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1), 0);
    assert_int_equal(f->host.warnings, 0);
}

static void test_doorbell_abuse(void **state)
{
    struct fx *f = *state;
    struct cmd c;
    unsigned w;

    /* Doorbells before the controller is enabled. */
    db(f, DB(0), 1);
    db(f, CQDB(0), 1);
    assert_int_equal(f->host.warnings, 2);
    enable(f, 8, 8);
    io_queues(f, 8, 8);
    w = f->host.warnings;
    /* SQ tail at or beyond the queue size; a CQ head beyond what was
     * posted; queues that do not exist; qids far beyond the BAR's
     * doorbells for 64 queues. */
    db(f, DB(1), 8);
    db(f, DB(1), 0xffffffff);
    db(f, CQDB(1), 1);
    db(f, CQDB(1), 8);
    db(f, DB(2), 0);
    db(f, CQDB(3), 0);
    db(f, DB(4), 1);
    db(f, DB(5), 1);
    db(f, DB(500), 1);
    wr32(&f->p, 0x1ffc, 1);
    assert_int_equal(f->host.warnings, w + 10);
    assert_false(cqe_ready(f, &f->ioq));
    /* Narrow or unaligned doorbell writes decode to nothing. */
    bar_wr(&f->p, DB(1), 2, 1);
    bar_wr(&f->p, DB(1), 1, 1);
    bar_wr(&f->p, DB(1) + 2, 4, 1);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->host.warnings, w + 10);
    /* One 8-byte write: SQ 1 tail then CQ 1 head. */
    cmd_init(&c, NVME_IO_FLUSH, 1);
    push(f, &f->ioq, &c);
    bar_wr(&f->p, DB(1), 8, 1 | 0ull << 32);
    run_idle(f);
    assert_int_equal(pop(f, &f->ioq, true).status, 0);
    /* The queue still works after all that. */
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);

    /* A flood: the core lets a burst of one cause's lines through per
     * interval (counted in messages here: the test host has no clock)... */
    for (unsigned i = 0; i < 1000; i++)
        db(f, DB(3), i);
    assert_true(f->host.warnings <= w + 2 * MVF_LOG_BURST);  /* 2 intervals */
    assert_non_null(strstr(f->host.last_log, "SQ 3"));
    /* ...and the first line of the next one says what it left out. */
    for (unsigned i = 0; i < MVF_LOG_INTERVAL_EVENTS &&
                         !strstr(f->host.last_log, "suppressed"); i++)
        db(f, DB(3), 0);
    assert_non_null(strstr(f->host.last_log, "SQ 3 doorbell: no such queue: "
                           "ignored ["));
    assert_non_null(strstr(f->host.last_log, "similar messages suppressed]"));
}

static void test_fatal_status(void **state)
{
    struct fx *f = *state;
    const uint64_t unmapped = f->iova_rw + (512ull << 20);
    struct cmd c;

    /* Admin SQ nowhere: fetching faults, CSTS.CFS, doorbells ignored. */
    bare_enable(&f->p, 0x00070007, unmapped, iova(f, ACQ_OFF), CC_IOES);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
    db(f, DB(0), 1);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS),
                     NVME_CSTS_RDY | NVME_CSTS_CFS);
    assert_non_null(strstr(f->host.last_log, "fatal"));
    db(f, DB(0), 2);
    assert_int_equal(irq_total(f), 0);
    /* Clearing EN recovers; the controller works again. */
    wr32(&f->p, NVME_REG_CC, 0);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), 0);
    enable(f, 8, 8);
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    assert_int_equal(admin(f, &c), 0);

    /* Admin CQ in read-only memory: the completion cannot be posted. */
    wr32(&f->p, NVME_REG_CC, 0);
    bare_enable(&f->p, 0x00070007, iova(f, ASQ_OFF), iova(f, RO_OFF), CC_IOES);
    f->aq.sq_tail = 0;
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    push(f, &f->aq, &c);
    ring(f, &f->aq);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS) & NVME_CSTS_CFS, NVME_CSTS_CFS);

    /* Bus mastering off: no DMA at all, so the fetch fails too. */
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 8, 8);
    set_command(f, 0x0002);
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    push(f, &f->aq, &c);
    ring(f, &f->aq);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS) & NVME_CSTS_CFS, NVME_CSTS_CFS);
    assert_false(cqe_ready(f, &f->aq));
    set_command(f, 0x0006);
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 8, 8);
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    assert_int_equal(admin(f, &c), 0);
}

static void test_interrupts(void **state)
{
    struct fx *f = *state;
    struct mvf_call mc;
    struct cmd c;

    enable(f, 8, 8);
    /* CQ 2 on vector 3, CQ 3 polled (no interrupts). */
    assert_int_equal(create_cq(f, 2, iova(f, IOCQ_OFF), 8,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 3), 0);
    assert_int_equal(create_sq(f, 2, iova(f, IOSQ_OFF), 8, NVME_QUEUE_PC, 2), 0);
    assert_int_equal(create_cq(f, 3, iova(f, LIST_OFF), 8, NVME_QUEUE_PC, 0), 0);
    assert_int_equal(create_sq(f, 3, iova(f, LIST_OFF + PG), 8,
                               NVME_QUEUE_PC, 3), 0);
    assert_int_equal(f->host.irq[0], 4);
    f->ioq = (struct hq){ .qid = 2, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF,
                          .sq_size = 8, .cq_size = 8, .phase = 1 };
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    assert_int_equal(f->host.irq[3], 1);
    f->ioq = (struct hq){ .qid = 3, .sq_off = LIST_OFF + PG,
                          .cq_off = LIST_OFF, .sq_size = 8,
                          .cq_size = 8, .phase = 1 };
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    assert_int_equal(irq_total(f), 5);
    /* MSI-X disabled by the client: completions still post, no signal. */
    call_ok(&mc, CALL(f, &mc, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                      MVF_IRQ_ACT_DISABLE, 0, 0, 0));
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(irq_total(f), 5);
    /* Masked: the core keeps it pending. */
    {
        static const int objs[5] = { 0, 1, 2, 3, 4 };

        call_ok(&mc, CALL(f, &mc, MVF_SEL_IRQ_SET, objs, 5, MVF_IRQ_MSIX,
                          MVF_IRQ_ACT_TRIGGER, 0, 5, 0x1f));
        call_ok(&mc, CALL(f, &mc, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                          MVF_IRQ_ACT_MASK, 0, 1, 0));
        assert_int_equal(admin(f, &c), 0);
        assert_int_equal(f->host.irq[0], 4);
        call_ok(&mc, CALL(f, &mc, MVF_SEL_IRQ_SET, NULL, 0, MVF_IRQ_MSIX,
                          MVF_IRQ_ACT_UNMASK, 0, 1, 0));
        assert_int_equal(f->host.irq[0], 5);
    }
}

static void test_reset_shutdown(void **state)
{
    struct fx *f = *state;
    uint8_t disk[PG];
    struct mvf_call mc;
    struct cmd c;

    enable(f, 8, 8);
    io_queues(f, 8, 8);
    fill(f->mem + SRC_OFF, PG, 77);
    assert_int_equal(io(f, NVME_IO_WRITE, 1000, 8, iova(f, SRC_OFF), 0), 0);
    /* Shutdown notification: complete at once, data on disk. */
    wr32(&f->p, NVME_REG_CC, rd32(&f->p, NVME_REG_CC) | NVME_CC_SHN_NORMAL);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK,
                     NVME_CSTS_SHST_DONE);
    disk_read(f, 1000 * 512, disk, PG);
    assert_memory_equal(disk, f->mem + SRC_OFF, PG);

    /* Function reset through the core: power-on state, queues gone,
     * the namespace's data kept. */
    call_ok(&mc, do_call(f, MVF_SEL_RESET, NULL, 0, NULL, 0, &mc));
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), 0);
    assert_int_equal(rd32(&f->p, NVME_REG_CC), 0);
    assert_int_equal(rd32(&f->p, NVME_REG_AQA), 0);
    set_command(f, 0x0006);       /* the reset cleared the command register */
    enable(f, 8, 8);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));
    io_queues(f, 8, 8);
    memset(f->mem + DST_OFF, 0, PG);
    assert_int_equal(io(f, NVME_IO_READ, 1000, 8, iova(f, DST_OFF), 0), 0);
    assert_memory_equal(f->mem + DST_OFF, f->mem + SRC_OFF, PG);
    /* SMART counts what was done. */
    cmd_init(&c, NVME_ADM_GET_LOG, NVME_NSID_ALL);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    cmd_dw(&c, 10, NVME_LOG_SMART | (512 / 4 - 1) << 16);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le64(f->mem + ID_OFF + NVME_SMART_READS), 1);
    assert_int_equal(nvme_get_le64(f->mem + ID_OFF + NVME_SMART_WRITES), 1);
    assert_int_equal(nvme_get_le64(f->mem + ID_OFF + NVME_SMART_UNITS_RD), 1);
    /* The owner going away with live queues: cleanup resets the device,
     * a new session finds it disabled. */
    mvf_session_destroy(f->s);
    f->s = mvf_session_create(f->core);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), 0);
    call_ok(&mc, CALL(f, &mc, MVF_SEL_HELLO, NULL, 0, MVF_ABI_VERSION, 0));
    call_ok(&mc, CALL(f, &mc, MVF_SEL_DEVICE_OPEN, NULL, 0, 0));
    assert_int_equal(stats(f).live_mappings, 0);
}

/* ---- deferred work: bounded slices ------------------------------------ */

/* Pushes `n` reads of 4 MiB (MDTS) from LBA 0 into DST_OFF onto q,
 * without ringing; they share one PRP list. */
static void queue_big_reads(struct fx *f, struct hq *q, unsigned n)
{
    static uint32_t pages[XFER_PAGES];
    uint64_t prp1, prp2;
    struct cmd c;

    for (uint32_t i = 0; i < XFER_PAGES; i++)
        pages[i] = DST_OFF + i * PG;
    prp_build(f, pages, XFER_PAGES, 0, 0, &prp1, &prp2);
    for (unsigned i = 0; i < n; i++) {
        rw_cmd(&c, NVME_IO_READ, 0, XFER_PAGES * (PG / 512), prp1, prp2);
        push(f, q, &c);
    }
}

/* Takes every completion posted so far on q (no head doorbell), each a
 * success; returns how many. */
static unsigned take_all(struct fx *f, struct hq *q)
{
    unsigned n = 0;

    while (cqe_ready(f, q)) {
        assert_int_equal(pop(f, q, false).status, 0);
        n++;
    }
    return n;
}

/* I/O queue pair 2 (vector 2) in the admin data pages. */
static void second_pair(struct fx *f, struct hq *q, uint32_t size)
{
    memset(f->mem + ID_OFF, 0, 2 * PG);
    assert_int_equal(create_cq(f, 2, iova(f, ID_OFF + PG), size,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 2), 0);
    assert_int_equal(create_sq(f, 2, iova(f, ID_OFF), size, NVME_QUEUE_PC,
                               2), 0);
    *q = (struct hq){ .qid = 2, .sq_off = ID_OFF, .cq_off = ID_OFF + PG,
                      .sq_size = size, .cq_size = size, .phase = 1 };
}

/* A full queue of 4 MiB reads runs one read per slice, and a second
 * queue's 4 KiB reads are served between them, not after them. */
static void test_slices_bounded(void **state)
{
    struct fx *f = *state;
    unsigned slices = 0, reads = 0, small = 0, small_done_at = 0;
    unsigned read_slices = 0;
    struct hq q2;
    struct cmd c;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    second_pair(f, &q2, 32);
    queue_big_reads(f, &f->ioq, 31);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    /* The doorbell only queued the work. */
    assert_false(cqe_ready(f, &f->ioq));
    assert_true(mvf_core_has_work(f->core));
    for (unsigned i = 0; i < 8; i++) {
        rw_cmd(&c, NVME_IO_READ, 8 * i, 8, iova(f, SRC_OFF), 0);
        push(f, &q2, &c);
    }
    wr32(&f->p, DB(2), q2.sq_tail);
    assert_false(cqe_ready(f, &q2));
    while (mvf_core_has_work(f->core)) {
        unsigned r, sm;

        mvf_core_run_work(f->core);
        slices++;
        r = take_all(f, &f->ioq);
        sm = take_all(f, &q2);
        assert_true(r <= 1);            /* 4 MiB is over a slice's bytes */
        assert_true(r + sm >= 1);       /* every slice makes progress */
        assert_true(r + sm <= MVF_NVME_SLICE_CMDS);
        reads += r;
        small += sm;
        read_slices += r != 0;
        if (small == 8 && !small_done_at)
            small_done_at = slices;
        assert_true(slices < 1000);
    }
    assert_int_equal(reads, 31);
    assert_int_equal(small, 8);
    assert_true(slices >= 31);
    /* Round robin: SQ 2 did not wait behind SQ 1's 31 reads. */
    assert_true(small_done_at <= 10);
    /* One interrupt per slice that completed something on CQ 1. */
    assert_int_equal(f->host.irq[1], read_slices);
    assert_int_equal(f->host.irq[2] > 0, 1);
    assert_int_equal(f->host.warnings, 0);
}

/* Work queued but not yet run goes when the controller is disabled, the
 * SQ deleted or the function reset: nothing more is fetched or posted. */
static void test_pending_work_dropped(void **state)
{
    struct fx *f = *state;
    struct mvf_call mc;
    struct cmd c;
    unsigned done;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    queue_big_reads(f, &f->ioq, 31);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    mvf_core_run_work(f->core);
    assert_int_equal(take_all(f, &f->ioq), 1);
    /* CC.EN = 0 with 30 reads pending. */
    wr32(&f->p, NVME_REG_CC, 0);
    assert_true(run_idle(f) <= 1);
    assert_false(cqe_ready(f, &f->ioq));
    assert_false(mvf_core_has_work(f->core));

    /* SQ deletion: what was fetched completes, the rest goes. */
    enable(f, 8, 8);
    memset(f->mem + IOCQ_OFF, 0, PG);
    io_queues(f, 32, 32);
    queue_big_reads(f, &f->ioq, 31);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    mvf_core_run_work(f->core);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1), 0);
    assert_false(mvf_core_has_work(f->core));
    done = take_all(f, &f->ioq);
    assert_true(done >= 1 && done < 31);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1), 0);

    /* Function reset through the core with the queue full. */
    memset(f->mem + IOCQ_OFF, 0, PG);
    io_queues(f, 32, 32);
    queue_big_reads(f, &f->ioq, 31);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    assert_true(mvf_core_has_work(f->core));
    call_ok(&mc, do_call(f, MVF_SEL_RESET, NULL, 0, NULL, 0, &mc));
    assert_true(run_idle(f) <= 1);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), 0);
    /* Still a working controller. */
    set_command(f, 0x0006);
    enable(f, 8, 8);
    cmd_init(&c, NVME_ADM_KEEP_ALIVE, 0);
    assert_int_equal(admin(f, &c), 0);
}

/* A sync of the backing file is a slice of its own: Flush, FUA, and
 * writes with the write cache off; a RAM namespace has nothing to sync. */
static void test_sync_per_slice(void **state)
{
    struct fx *f = *state;
    struct cmd c;

    enable(f, 8, 8);
    io_queues(f, 16, 16);
    for (unsigned i = 0; i < 3; i++) {
        cmd_init(&c, NVME_IO_FLUSH, 1);
        push(f, &f->ioq, &c);
        rw_cmd(&c, NVME_IO_WRITE, 0, 8, iova(f, SRC_OFF), 0);
        cmd_dw(&c, 12, 7 | 1u << 30);           /* FUA */
        push(f, &f->ioq, &c);
    }
    rw_cmd(&c, NVME_IO_WRITE, 0, 8, iova(f, SRC_OFF), 0);
    push(f, &f->ioq, &c);                       /* no sync: cached */
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    for (unsigned i = 0; i < 6; i++) {
        assert_true(mvf_core_run_work(f->core));
        assert_int_equal(take_all(f, &f->ioq), 1);
    }
    assert_false(mvf_core_run_work(f->core));
    assert_int_equal(take_all(f, &f->ioq), 1);
}

/* A full CQ stops its SQ without spinning: no work is pending until the
 * host frees a slot with the head doorbell. */
static void test_cq_full_no_work(void **state)
{
    struct fx *f = *state;
    struct cmd c;

    enable(f, 8, 8);
    io_queues(f, 16, 4);    /* CQ holds 3 */
    for (unsigned i = 0; i < 10; i++) {
        rw_cmd(&c, NVME_IO_READ, 0, 8, iova(f, SRC_OFF), 0);
        push(f, &f->ioq, &c);
    }
    ring(f, &f->ioq);
    assert_int_equal(take_all(f, &f->ioq), 3);
    assert_false(mvf_core_has_work(f->core));
    wr32(&f->p, CQDB(1), f->ioq.cq_head);
    assert_true(mvf_core_has_work(f->core));
    assert_int_equal(run_idle(f), 1);       /* 3 small reads share a slice */
    assert_int_equal(take_all(f, &f->ioq), 3);
}

/* Random submission entries on a live controller: whatever they say,
 * the controller completes them or fails cleanly, and never writes
 * outside the buffers they name (checked by ASan and the read-only
 * mapping). */
static void test_random_commands(void **state)
{
    static const uint8_t adm_ops[] = { 0x01, 0x02, 0x05, 0x06, 0x08, 0x09,
                                       0x0a, 0x18 };
    static const uint8_t io_ops[] = { 0x00, 0x01, 0x02, 0x08, 0x09 };
    struct fx *f = *state;
    unsigned seed = 12345;

    enable(f, 64, 64);
    io_queues(f, 64, 64);
    fill(f->mem + RO_OFF, RO_LEN, 3);
    for (unsigned i = 0; i < 3000; i++) {
        struct hq *q = (i & 1) ? &f->ioq : &f->aq;
        struct cmd c;

        for (unsigned k = 0; k < 16; k++) {
            seed = seed * 1103515245u + 12345u;
            cmd_dw(&c, k, seed);
        }
        /* Mostly opcodes the queue knows, sometimes anything. */
        if (seed & 0x100)
            c.b[0] = q == &f->aq ? adm_ops[(seed >> 9) % sizeof(adm_ops)]
                                 : io_ops[(seed >> 9) % sizeof(io_ops)];
        if ((seed & 0x6000) != 0)
            c.b[1] = 0;                                  /* no FUSE/PSDT */
        if (seed & 0x200)
            nvme_put_le32(c.b + NVME_SQE_NSID, 1);
        /* Buffers anywhere from SRC_OFF on (read-only megabyte
         * included), never over the queues the test is using. */
        nvme_put_le64(c.b + NVME_SQE_PRP1,
                      (seed & 0x400) ? iova(f, (SRC_OFF + (seed >> 3) %
                                                (CLIENT_MEM - SRC_OFF)) & ~3u)
                                     : (uint64_t)seed << 20);
        nvme_put_le64(c.b + NVME_SQE_PRP2,
                      (seed & 0x800) ? iova(f, LIST_OFF + (seed >> 5) % PG)
                                     : iova(f, SRC_OFF + (seed >> 7) %
                                                (CLIENT_MEM - SRC_OFF)));
        if (seed & 0x1000) {                             /* small lengths */
            cmd_dw(&c, 12, (seed >> 13) & 0x3ff);
            cmd_dw(&c, 11, 0);
            cmd_dw(&c, 10, (seed >> 3) % NSZE);
        }
        /* Keep the admin queue alive: no queue deletion of 0 matters,
         * but creating over our own I/O queues would confuse the test. */
        if (q == &f->aq && (c.b[0] == NVME_ADM_DELETE_SQ ||
                            c.b[0] == NVME_ADM_DELETE_CQ ||
                            c.b[0] == NVME_ADM_AER))
            c.b[0] = NVME_ADM_GET_LOG;
        push(f, q, &c);
        ring(f, q);
        (void)pop(f, q, true);
        assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
    }
    /* The read-only megabyte never changed. */
    {
        uint8_t *want = malloc(RO_LEN);

        assert_non_null(want);
        fill(want, RO_LEN, 3);
        assert_memory_equal(want, f->mem + RO_OFF, RO_LEN);
        free(want);
    }
}

/* The same data path over a RAM-backed namespace (1 MiB, 1 queue). */
static void test_ram_backed(void **state)
{
    struct fx *f = *state;
    uint32_t pages[4] = { SRC_OFF + 3 * PG, SRC_OFF, SRC_OFF + 2 * PG,
                          SRC_OFF + PG };
    uint8_t want[4 * 4096], zero[4096] = { 0 };
    uint64_t prp1, prp2;
    struct cmd c;

    enable(f, 8, 8);
    assert_int_equal(create_cq(f, 2, iova(f, IOCQ_OFF), 8, NVME_QUEUE_PC, 0),
                     ST(NVME_SCT_CMD, NVME_SC_QID_INVALID));   /* queues=1 */
    io_queues(f, 8, 8);
    /* A fresh RAM namespace reads zeroes. */
    memset(f->mem + DST_OFF, 0xee, PG);
    assert_int_equal(io(f, NVME_IO_READ, 2040, 8, iova(f, DST_OFF), 0), 0);
    assert_memory_equal(f->mem + DST_OFF, zero, PG);
    fill(f->mem + SRC_OFF, 4 * PG, 11);
    gather(f, pages, 0, 4 * PG, want);
    prp_build(f, pages, 4, 0, 0, &prp1, &prp2);
    assert_int_equal(io(f, NVME_IO_WRITE, 2016, 32, prp1, prp2), 0);
    assert_int_equal(io(f, NVME_IO_WRITE, 2016, 33, prp1, prp2), ST_RANGE);
    memset(f->mem + DST_OFF, 0, 4 * PG);
    {
        uint32_t rp[4] = { DST_OFF, DST_OFF + PG, DST_OFF + 2 * PG,
                           DST_OFF + 3 * PG };

        prp_build(f, rp, 4, 0, 0x800, &prp1, &prp2);
        assert_int_equal(io(f, NVME_IO_READ, 2016, 32, prp1, prp2), 0);
        assert_memory_equal(f->mem + DST_OFF, want, 4 * PG);
    }
    /* Write Zeroes, Flush (nothing to sync) and the rest work as well. */
    assert_int_equal(io(f, NVME_IO_WRITE_ZEROES, 2024, 8, 0, 0), 0);
    assert_int_equal(io(f, NVME_IO_READ, 2024, 8, iova(f, DST_OFF), 0), 0);
    assert_memory_equal(f->mem + DST_OFF, zero, PG);
    /* Unaligned at both ends, a whole page inside: the page is dropped,
     * the edges cleared, the rest kept. */
    prp_build(f, pages, 4, 0, 0, &prp1, &prp2);
    assert_int_equal(io(f, NVME_IO_WRITE, 2016, 32, prp1, prp2), 0);
    assert_int_equal(io(f, NVME_IO_WRITE_ZEROES, 2017, 20, 0, 0), 0);
    memset(want + 512, 0, 20 * 512);
    {
        uint32_t rp[4] = { DST_OFF, DST_OFF + PG, DST_OFF + 2 * PG,
                           DST_OFF + 3 * PG };

        prp_build(f, rp, 4, 0, 0x800, &prp1, &prp2);
        assert_int_equal(io(f, NVME_IO_READ, 2016, 32, prp1, prp2), 0);
        assert_memory_equal(f->mem + DST_OFF, want, 4 * PG);
    }
    cmd_init(&c, NVME_IO_FLUSH, 1);
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    rw_cmd(&c, NVME_IO_WRITE, 0, 8, iova(f, SRC_OFF), 0);
    cmd_dw(&c, 12, 7 | 1u << 30);                        /* FUA */
    assert_int_equal(exec(f, &f->ioq, &c, NULL), 0);
    /* Identify reports 2048 LBAs. */
    cmd_init(&c, NVME_ADM_IDENTIFY, 1);
    cmd_prp(&c, iova(f, ID_OFF), 0);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(nvme_get_le64(f->mem + ID_OFF + NVME_IDNS_NSZE), 2048);
    /* The serial is a default one. */
    cmd_dw(&c, 10, NVME_CNS_CTRL);
    assert_int_equal(admin(f, &c), 0);
    assert_memory_equal(f->mem + ID_OFF + NVME_IDC_SN, "MVFNVME", 7);
}

/* The backing file shrinking under the daemon (someone truncated it):
 * reads past its end are media errors, not crashes. */
static void test_media_error(void **state)
{
    struct fx *f = *state;

    enable(f, 8, 8);
    io_queues(f, 8, 8);
    assert_int_equal(ftruncate(f->diskfd, DISK_SIZE - PG), 0);
    assert_int_equal(io(f, NVME_IO_READ, NSZE - 8, 8, iova(f, DST_OFF), 0),
                     ST(NVME_SCT_MEDIA, NVME_SC_READ_ERROR));
    assert_int_equal(io(f, NVME_IO_READ, NSZE - 16, 8, iova(f, DST_OFF), 0), 0);
    assert_non_null(strstr(f->host.last_log, "read of the backing store"));
    /* Writing there grows the file back; then it reads again. */
    assert_int_equal(io(f, NVME_IO_WRITE, NSZE - 8, 8, iova(f, SRC_OFF), 0), 0);
    assert_int_equal(io(f, NVME_IO_READ, NSZE - 8, 8, iova(f, DST_OFF), 0), 0);
}

/* ---- Doorbell Buffer Config ------------------------------------------------ */

#define DBB_OFF 0x880000          /* shadow doorbell page (16 KiB aligned) */
#define EIB_OFF 0x881000          /* EventIdx page */
#define DBB_MAP 0x4000            /* the granule: both pages mapped alone */
#define SLOT_SQ(qid) (8u * (qid))
#define SLOT_CQ(qid) (8u * (qid) + 4)

static uint16_t dbbuf_config(struct fx *f, uint64_t db, uint64_t ei)
{
    struct cmd c;

    cmd_init(&c, NVME_ADM_DBBUF_CONFIG, 0);
    cmd_prp(&c, db, ei);
    return admin(f, &c);
}

static uint32_t shadow(const struct fx *f, uint32_t slot)
{
    return nvme_get_le32(f->mem + DBB_OFF + slot);
}

static uint32_t eventidx(const struct fx *f, uint32_t slot)
{
    return nvme_get_le32(f->mem + EIB_OFF + slot);
}

/* The memory half of what Linux's driver does with a new doorbell value
 * while the buffers are in use (nvme_dbbuf_update_and_check_event):
 * store it in the shadow, then read the EventIdx; true if it lies in
 * [old, new), i.e. an MMIO doorbell is due. */
static bool host_store(struct fx *f, uint32_t slot, uint32_t value)
{
    uint16_t old = (uint16_t)shadow(f, slot), ei;

    nvme_put_le32(f->mem + DBB_OFF + slot, value);
    ei = (uint16_t)eventidx(f, slot);
    return (uint16_t)(value - ei - 1) < (uint16_t)(value - old);
}

/* The whole of it: the MMIO doorbell written when due.  Returns whether
 * it rang; runs nothing. */
static bool host_update(struct fx *f, uint32_t slot, uint32_t value,
                        uint32_t mmio)
{
    if (!host_store(f, slot, value))
        return false;
    wr32(&f->p, mmio, value);
    f->rings++;
    return true;
}

static bool sq_update(struct fx *f, struct hq *q)
{
    return host_update(f, SLOT_SQ(q->qid), q->sq_tail, DB(q->qid));
}

static bool cq_update(struct fx *f, struct hq *q)
{
    return host_update(f, SLOT_CQ(q->qid), q->cq_head, CQDB(q->qid));
}

static void push_read(struct fx *f, struct hq *q, uint64_t slba)
{
    struct cmd c;

    rw_cmd(&c, NVME_IO_READ, slba, 8, iova(f, DST_OFF), 0);
    push(f, q, &c);
}

/* The admin command's checks; queues made before it keep their state. */
static void test_dbbuf_config(void **state)
{
    struct fx *f = *state;
    const uint64_t unmapped = f->iova_rw + (256ull << 20);
    const uint64_t db = iova(f, DBB_OFF), ei = iova(f, EIB_OFF);

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(io(f, NVME_IO_READ, 0, 8, iova(f, DST_OFF), 0), 0);
    assert_int_equal(io(f, NVME_IO_READ, 8, 8, iova(f, DST_OFF), 0), 0);
    memset(f->mem + DBB_OFF, 0xee, 2 * PG);

    assert_int_equal(dbbuf_config(f, db + 8, ei), ST_FIELD);
    assert_int_equal(dbbuf_config(f, db, ei + 0x200), ST_FIELD);
    assert_int_equal(dbbuf_config(f, db, db), ST_FIELD);
    assert_int_equal(dbbuf_config(f, unmapped, ei), ST_XFER);
    /* The device must be able to write the EventIdx page. */
    assert_int_equal(dbbuf_config(f, db, iova(f, RO_OFF)), ST_XFER);

    /* Not in use: a tail written only to the shadow is not seen. */
    push_read(f, &f->ioq, 0);
    nvme_put_le32(f->mem + DBB_OFF + SLOT_SQ(1), f->ioq.sq_tail);
    run_idle(f);
    assert_false(cqe_ready(f, &f->ioq));
    ring(f, &f->ioq);
    assert_int_equal(pop(f, &f->ioq, true).status, 0);

    assert_int_equal(dbbuf_config(f, db, ei), 0);
    /* The shadows start as the doorbells stand, SQ EventIdx at the tail
     * (the next submission rings), CQ EventIdx one behind the head. */
    assert_int_equal(shadow(f, SLOT_SQ(1)), 3);
    assert_int_equal(shadow(f, SLOT_CQ(1)), 3);
    assert_int_equal(eventidx(f, SLOT_SQ(1)), 3);
    assert_int_equal(eventidx(f, SLOT_CQ(1)), 2);
    for (uint32_t q = 2; q <= MVF_NVME_QUEUES_DEFAULT; q++) {
        assert_int_equal(shadow(f, SLOT_SQ(q)), 0);
        assert_int_equal(eventidx(f, SLOT_CQ(q)), 0);
    }
    /* Beyond the queues the page is the host's. */
    assert_int_equal(shadow(f, SLOT_SQ(MVF_NVME_QUEUES_DEFAULT + 1)),
                     0xeeeeeeee);
    assert_int_equal(nvme_get_le32(f->mem + DBB_OFF + PG - 4), 0xeeeeeeee);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
}

/* Submissions made while the controller works cost no MMIO doorbell;
 * out of work it arms the EventIdx so the next one rings; CQ head
 * updates ring only for a stalled SQ. */
static void test_dbbuf_shadow(void **state)
{
    struct fx *f = *state;
    struct hq q2;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);

    /* Idle controller: the first submission rings. */
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    /* The doorbell only queued the work: the next two ride along. */
    push_read(f, &f->ioq, 8);
    assert_false(sq_update(f, &f->ioq));
    push_read(f, &f->ioq, 16);
    assert_false(sq_update(f, &f->ioq));
    run_idle(f);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(pop(f, &f->ioq, false).status, 0);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->rings, 1);
    /* Armed: SQ EventIdx at the tail; no CQ doorbell wanted. */
    assert_int_equal(eventidx(f, SLOT_SQ(1)), 3);
    assert_false(cq_update(f, &f->ioq));
    push_read(f, &f->ioq, 24);
    assert_true(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(pop(f, &f->ioq, false).status, 0);
    assert_false(cq_update(f, &f->ioq));
    assert_int_equal(f->rings, 2);

    /* A pair created after the command, its CQ holding 3 entries. */
    memset(f->mem + ID_OFF, 0, 2 * PG);
    assert_int_equal(create_cq(f, 2, iova(f, ID_OFF + PG), 4,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 2), 0);
    assert_int_equal(create_sq(f, 2, iova(f, ID_OFF), 8, NVME_QUEUE_PC, 2), 0);
    q2 = (struct hq){ .qid = 2, .sq_off = ID_OFF, .cq_off = ID_OFF + PG,
                      .sq_size = 8, .cq_size = 4, .phase = 1 };
    f->rings = 0;
    for (unsigned i = 0; i < 6; i++) {
        push_read(f, &q2, 8 * i);
        assert_int_equal(sq_update(f, &q2), i == 0);
    }
    run_idle(f);
    /* Three posted, the SQ stalled on the full CQ: its head update rings. */
    assert_int_equal(take_all(f, &q2), 3);
    assert_int_equal(eventidx(f, SLOT_CQ(2)), 0);
    assert_true(cq_update(f, &q2));
    run_idle(f);
    assert_int_equal(take_all(f, &q2), 3);
    /* Nothing stalled: the head goes to the shadow only, and the
     * controller finds the room there.  Had it not read it, CQ 2 would
     * still look full (head 3, tail 2). */
    assert_false(cq_update(f, &q2));
    for (unsigned i = 0; i < 3; i++) {
        push_read(f, &q2, 8 * i);
        assert_int_equal(sq_update(f, &q2), i == 0);
    }
    run_idle(f);
    assert_int_equal(take_all(f, &q2), 3);
    assert_int_equal(f->rings, 3);
    assert_int_equal(f->host.warnings, 0);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
}

/* A queue created after the command starts from doorbell 0, whatever
 * the host's page held for that slot; its neighbours' slots stay. */
static void test_dbbuf_new_queue(void **state)
{
    struct fx *f = *state;

    enable(f, 8, 8);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    /* Junk in every slot but the admin queue's (which test_dbbuf_admin
     * covers; junk there is logged as a bad doorbell). */
    memset(f->mem + DBB_OFF + 8, 0x5a, PG - 8);
    memset(f->mem + EIB_OFF + 8, 0x5a, PG - 8);
    assert_int_equal(create_cq(f, 1, iova(f, IOCQ_OFF), 32,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 1), 0);
    assert_int_equal(shadow(f, SLOT_CQ(1)), 0);
    assert_int_equal(eventidx(f, SLOT_CQ(1)), 0xffff);
    assert_int_equal(shadow(f, SLOT_SQ(1)), 0x5a5a5a5a);   /* no SQ 1 yet */
    assert_int_equal(create_sq(f, 1, iova(f, IOSQ_OFF), 32, NVME_QUEUE_PC, 1), 0);
    assert_int_equal(shadow(f, SLOT_SQ(1)), 0);
    assert_int_equal(eventidx(f, SLOT_SQ(1)), 0);
    assert_int_equal(shadow(f, SLOT_SQ(2)), 0x5a5a5a5a);
    f->ioq = (struct hq){ .qid = 1, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF,
                          .sq_size = 32, .cq_size = 32, .phase = 1 };
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    push_read(f, &f->ioq, 8);
    assert_false(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 2);
    assert_false(cq_update(f, &f->ioq));

    /* Deleted and created again: back to 0, not the old tail. */
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1), 0);
    assert_int_equal(shadow(f, SLOT_SQ(1)), 2);
    assert_int_equal(create_sq(f, 1, iova(f, IOSQ_OFF), 32, NVME_QUEUE_PC, 1), 0);
    assert_int_equal(shadow(f, SLOT_SQ(1)), 0);
    f->ioq.sq_tail = 0;
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 1);
    assert_int_equal(f->host.warnings, 0);
}

/* A controller reset forgets the buffers: MMIO doorbells only, and the
 * pages are never touched again until the next command. */
static void test_dbbuf_reset(void **state)
{
    struct fx *f = *state;
    uint8_t *snap = malloc(2 * PG);

    assert_non_null(snap);
    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 1);

    wr32(&f->p, NVME_REG_CC, 0);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), 0);
    enable(f, 8, 8);
    memset(f->mem + DBB_OFF, 0x77, 2 * PG);
    io_queues(f, 32, 32);
    memcpy(snap, f->mem + DBB_OFF, 2 * PG);
    /* One command rung by MMIO, a second only in the shadow. */
    push_read(f, &f->ioq, 0);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    push_read(f, &f->ioq, 8);
    nvme_put_le32(f->mem + DBB_OFF + SLOT_SQ(1), f->ioq.sq_tail);
    nvme_put_le32(snap + SLOT_SQ(1), f->ioq.sq_tail);
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 1);
    assert_memory_equal(snap, f->mem + DBB_OFF, 2 * PG);
    ring(f, &f->ioq);
    assert_int_equal(take_all(f, &f->ioq), 1);
    free(snap);
}

/* Buffers that stop being mapped: the host (which keeps to the EventIdx
 * it last saw) would never ring again for what the controller cannot
 * see, so the controller reports Controller Fatal Status instead of
 * going quiet; after the host's reset the buffers are forgotten, a
 * command naming unmapped pages fails, MMIO doorbells work, and good
 * pages bring shadow doorbells back. */
static void test_dbbuf_fault(void **state)
{
    struct fx *f = *state;
    uint64_t db;
    struct mvf_call c;

    /* The two pages mapped a second time, on their own. */
    call_ok(&c, CALL(f, &c, MVF_SEL_DMA_MAP, NULL, 0, f->handle, DBB_OFF,
                     DBB_MAP, MVF_DMA_READ | MVF_DMA_WRITE));
    db = c.out[0];
    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, db, db + PG), 0);
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    push_read(f, &f->ioq, 8);
    assert_false(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 2);
    assert_int_equal(f->host.warnings, 0);

    call_ok(&c, CALL(f, &c, MVF_SEL_DMA_UNMAP, NULL, 0, db, DBB_MAP));
    /* The next slice's look at the shadows faults: fatal, logged. */
    push_read(f, &f->ioq, 0);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    run_idle(f);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS) & NVME_CSTS_CFS, NVME_CSTS_CFS);
    assert_non_null(strstr(f->host.last_log, "shadow doorbell buffer"));
    assert_non_null(strstr(f->host.last_log, "fatal"));

    /* The host resets the controller; the same pages are refused. */
    wr32(&f->p, NVME_REG_CC, 0);
    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, db, db + PG), ST_XFER);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(io(f, NVME_IO_READ, 8 * i, 8, iova(f, DST_OFF), 0), 0);
    /* A new command with mapped pages brings the buffers back. */
    memset(f->mem + DBB_OFF, 0, 2 * PG);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    f->rings = 0;
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    push_read(f, &f->ioq, 8);
    assert_false(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 2);
    assert_int_equal(f->rings, 1);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
}

/* Shadow values the queues cannot take are ignored and logged, like bad
 * MMIO doorbells; the queue goes on with good ones. */
static void test_dbbuf_bad_values(void **state)
{
    struct fx *f = *state;
    unsigned w;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    push_read(f, &f->ioq, 0);
    assert_true(sq_update(f, &f->ioq));
    /* Before the slice runs: a tail beyond the queue, a CQ head beyond
     * what was posted. */
    nvme_put_le32(f->mem + DBB_OFF + SLOT_SQ(1), 32);
    nvme_put_le32(f->mem + DBB_OFF + SLOT_CQ(1), 5);
    run_idle(f);
    w = f->host.warnings;
    assert_true(w >= 2);
    assert_non_null(strstr(f->host.last_log, "(shadow)"));
    /* The MMIO doorbell's tail stood: one command ran. */
    assert_int_equal(take_all(f, &f->ioq), 1);
    nvme_put_le32(f->mem + DBB_OFF + SLOT_SQ(1), f->ioq.sq_tail);
    nvme_put_le32(f->mem + DBB_OFF + SLOT_CQ(1), f->ioq.cq_head);
    push_read(f, &f->ioq, 8);
    assert_true(sq_update(f, &f->ioq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 1);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
}

/* I/O pair 2 in the admin data pages: SQ of sq_size, CQ of cq_size
 * entries (vector 2), created after Doorbell Buffer Config. */
static void pair2(struct fx *f, struct hq *q, uint32_t sq_size,
                  uint32_t cq_size)
{
    memset(f->mem + ID_OFF, 0, 2 * PG);
    assert_int_equal(create_cq(f, 2, iova(f, ID_OFF + PG), cq_size,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 2), 0);
    assert_int_equal(create_sq(f, 2, iova(f, ID_OFF), sq_size,
                               NVME_QUEUE_PC, 2), 0);
    *q = (struct hq){ .qid = 2, .sq_off = ID_OFF, .cq_off = ID_OFF + PG,
                      .sq_size = sq_size, .cq_size = cq_size, .phase = 1 };
}

/* A shadow value is taken only when it changed since the controller saw
 * it: MMIO doorbells that move a queue past a stale shadow are not
 * undone (before, the stale 0 was taken back as the tail: the commands
 * rung by MMIO never ran), and no tail moves back over submitted
 * commands, whichever doorbell says so.  Once the host writes a queue's
 * shadow, a ring that arrives late (a posted MMIO write) with a tail or
 * head older than the shadow's is not taken: before, it moved the tail
 * back a lap and the controller ran 31 stale entries. */
static void test_dbbuf_stale_shadow(void **state)
{
    struct fx *f = *state;
    uint32_t cid, late;
    struct cmd c;
    struct cqe r;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    /* A host that rings by MMIO only: the shadow stays 0. */
    push_read(f, &f->ioq, 0);
    push_read(f, &f->ioq, 8);
    db(f, DB(1), f->ioq.sq_tail);
    assert_int_equal(take_all(f, &f->ioq), 2);
    db(f, CQDB(1), f->ioq.cq_head);
    for (unsigned i = 0; i < 3; i++) {
        push_read(f, &f->ioq, 8 * i);
        db(f, DB(1), f->ioq.sq_tail);
        run_idle(f);
        assert_int_equal(take_all(f, &f->ioq), 1);
        db(f, CQDB(1), f->ioq.cq_head);
    }
    assert_int_equal(shadow(f, SLOT_SQ(1)), 0);
    assert_int_equal(shadow(f, SLOT_CQ(1)), 0);
    run_idle(f);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->host.warnings, 0);

    /* Three submitted, then a tail that would withdraw two of them, by
     * MMIO: ignored and logged. */
    for (unsigned i = 0; i < 3; i++)
        push_read(f, &f->ioq, 8 * i);
    wr32(&f->p, DB(1), f->ioq.sq_tail);
    wr32(&f->p, DB(1), (f->ioq.sq_tail + 30) % 32);
    assert_non_null(strstr(f->host.last_log, "would withdraw 2"));
    /* The host turns to the shadow, writing first a place the MMIO
     * doorbell passed: nothing new there, nothing taken (and nothing to
     * log). */
    nvme_put_le32(f->mem + DBB_OFF + SLOT_SQ(1), (f->ioq.sq_tail + 31) % 32);
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 3);
    db(f, CQDB(1), f->ioq.cq_head);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->host.warnings, 1);

    /* Its next value rings (the EventIdx is the tail) and is taken;
     * nothing runs twice. */
    push_read(f, &f->ioq, 0);
    cid = (uint16_t)(f->next_cid - 1);
    assert_true(sq_update(f, &f->ioq));
    run_idle(f);
    r = pop(f, &f->ioq, false);
    assert_int_equal(r.cid, cid);
    assert_false(cqe_ready(f, &f->ioq));

    /* The late ring.  A submission is due a ring, which is on its way;
     * the next one goes to the shadow only, and a slice (here one that an
     * admin command's doorbell started) takes both from the shadow.
     * Then the ring arrives, one behind the tail, with nothing pending:
     * only a wake-up, nothing runs again. */
    push_read(f, &f->ioq, 8);
    assert_true(host_store(f, SLOT_SQ(1), f->ioq.sq_tail));
    late = f->ioq.sq_tail;
    push_read(f, &f->ioq, 16);
    assert_false(host_store(f, SLOT_SQ(1), f->ioq.sq_tail));
    cmd_init(&c, NVME_ADM_GET_FEAT, 0);
    cmd_dw(&c, 10, NVME_FEAT_NUM_QUEUES);
    assert_int_equal(admin(f, &c), 0);
    assert_int_equal(take_all(f, &f->ioq), 2);
    db(f, DB(1), late);
    assert_false(cqe_ready(f, &f->ioq));
    /* The same for a head: the host's new head goes to the shadow and a
     * slice takes it, then an older one arrives by MMIO (it would have
     * given the controller room over entries the host has not read). */
    cq_update(f, &f->ioq);
    assert_int_equal(admin(f, &c), 0);
    db(f, CQDB(1), (f->ioq.cq_head + 31) % 32);
    for (unsigned i = 0; i < 3; i++) {
        push_read(f, &f->ioq, 8 * i);
        sq_update(f, &f->ioq);
    }
    run_idle(f);
    assert_int_equal(take_all(f, &f->ioq), 3);
    assert_false(cqe_ready(f, &f->ioq));
    assert_int_equal(f->host.warnings, 1);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
}

/* The admin queue has shadow slots too (as in the specification and
 * QEMU's controller).  Linux never writes them and rings the admin
 * queue by MMIO: its commands run once each.  A host that follows the
 * EventIdx there too rings only when it asks, and must keep to the
 * shadow from then on. */
static void test_dbbuf_admin(void **state)
{
    struct fx *f = *state;
    struct cmd c;

    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    /* The command was the admin queue's third: both stand at 3. */
    assert_int_equal(shadow(f, SLOT_SQ(0)), 3);
    assert_int_equal(shadow(f, SLOT_CQ(0)), 2);   /* its own not popped yet */
    assert_int_equal(eventidx(f, SLOT_SQ(0)), 3);
    /* Linux: MMIO only, a full lap and more of the admin queue. */
    for (unsigned i = 0; i < 20; i++) {
        cmd_init(&c, NVME_ADM_GET_FEAT, 0);
        cmd_dw(&c, 10, NVME_FEAT_NUM_QUEUES);
        assert_int_equal(admin(f, &c), 0);
        assert_false(cqe_ready(f, &f->aq));
    }
    assert_int_equal(shadow(f, SLOT_SQ(0)), 3);
    assert_int_equal(f->host.warnings, 0);

    /* A host that uses slot 0: the first submission rings, the next
     * ones while the controller works need not. */
    f->rings = 0;
    for (unsigned i = 0; i < 3; i++) {
        cmd_init(&c, NVME_ADM_GET_FEAT, 0);
        cmd_dw(&c, 10, NVME_FEAT_NUM_QUEUES);
        push(f, &f->aq, &c);
        assert_int_equal(sq_update(f, &f->aq), i == 0);
    }
    run_idle(f);
    assert_int_equal(take_all(f, &f->aq), 3);
    assert_false(cq_update(f, &f->aq));
    cmd_init(&c, NVME_ADM_GET_FEAT, 0);
    cmd_dw(&c, 10, NVME_FEAT_NUM_QUEUES);
    push(f, &f->aq, &c);
    assert_true(sq_update(f, &f->aq));
    run_idle(f);
    assert_int_equal(take_all(f, &f->aq), 1);
    assert_false(cq_update(f, &f->aq));
    assert_int_equal(f->rings, 2);
    /* From now on its MMIO doorbell only wakes the controller: a ring
     * without the shadow runs nothing, and the shadow's tail is taken
     * when it comes. */
    push(f, &f->aq, &c);
    db(f, DB(0), f->aq.sq_tail);
    assert_false(cqe_ready(f, &f->aq));
    host_store(f, SLOT_SQ(0), f->aq.sq_tail);
    db(f, DB(0), f->aq.sq_tail);
    assert_int_equal(take_all(f, &f->aq), 1);
    assert_false(cqe_ready(f, &f->aq));
    assert_int_equal(f->host.warnings, 0);
}

/* Interrupt hook: one more read on irq_q, stored in the shadow as Linux
 * does it, while the controller is still in the slice that raised the
 * interrupt (after its first look at the shadows, before it arms).  The
 * EventIdx is the previous arm's, so no MMIO doorbell is due. */
static void submit_in_irq(void *ctx, int idx)
{
    struct fx *f = ctx;
    struct hq *q = f->irq_q;

    if ((unsigned)idx != q->qid || f->irq_acts == f->irq_budget)
        return;
    f->irq_acts++;
    push_read(f, q, 8 * f->irq_acts);
    assert_false(host_store(f, SLOT_SQ(q->qid), q->sq_tail));
}

/* Interrupt hook: the host takes every completion posted and stores the
 * new CQ head in the shadow (no MMIO doorbell due: the EventIdx says
 * "never" while no SQ was stalled). */
static void consume_in_irq(void *ctx, int idx)
{
    struct fx *f = ctx;
    struct hq *q = f->irq_q;

    if ((unsigned)idx != q->qid || f->irq_acts == f->irq_budget)
        return;
    f->irq_acts += take_all(f, q);
    /* Due only when the head wraps (Linux compares 16-bit values): the
     * MMIO write then reaches the controller after this slice. */
    if (host_store(f, SLOT_CQ(q->qid), q->cq_head))
        f->late_cq_head = q->cq_head + 1;
}

static void hook(struct fx *f, void (*fn)(void *, int), struct hq *q,
                 unsigned budget)
{
    f->host.on_signal = fn;
    f->host.ctx = f;
    f->irq_q = q;
    f->irq_budget = budget;
    f->irq_acts = 0;
    f->late_cq_head = 0;
}

/* The lost wake-up: a submission stored in the shadow while the slice
 * ran is found by the look after arming, but cannot run (its CQ is
 * full); the EventIdx written before that look said the SQ was not
 * stalled, so the CQ head update would not ring and the controller
 * would wait for a doorbell that never comes.  The controller must arm
 * again from the state the look left. */
static void test_dbbuf_race_stalled_late(void **state)
{
    struct fx *f = *state;
    struct hq q2;
    unsigned irqs;

    enable(f, 8, 8);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    pair2(f, &q2, 8, 4);                  /* the CQ holds 3 */
    for (unsigned i = 0; i < 3; i++)
        push_read(f, &q2, 8 * i);
    assert_true(sq_update(f, &q2));
    hook(f, submit_in_irq, &q2, 1);
    run_idle(f);
    assert_int_equal(f->irq_acts, 1);
    irqs = f->host.irq[2];
    assert_int_equal(take_all(f, &q2), 3);
    /* The SQ holds a command its full CQ stopped: freeing the room must
     * ring (before the fix it did not, and that command never ran), as
     * the EventIdx armed from the state after the last look says. */
    assert_true(cq_update(f, &q2));
    assert_int_equal(eventidx(f, SLOT_SQ(2)), 4);
    assert_int_equal(eventidx(f, SLOT_CQ(2)), 0);
    run_idle(f);
    assert_int_equal(take_all(f, &q2), 1);
    assert_int_equal(f->host.irq[2], irqs + 1);
    assert_false(cq_update(f, &q2));
    assert_int_equal(f->host.warnings, 0);
}

/* The CQ side: the host frees the whole (full) CQ while the slice that
 * filled it runs, with no MMIO doorbell; the SQ stalled on it must be
 * resumed by the look after arming, not wait for a head doorbell. */
static void test_dbbuf_race_cq_room(void **state)
{
    struct fx *f = *state;
    struct hq q2;

    enable(f, 8, 8);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    pair2(f, &q2, 8, 4);
    for (unsigned i = 0; i < 6; i++)
        push_read(f, &q2, 8 * i);
    assert_true(sq_update(f, &q2));
    hook(f, consume_in_irq, &q2, 6);
    run_idle(f);
    /* All six done before any CQ head doorbell reached the controller. */
    assert_int_equal(f->irq_acts, 6);
    assert_int_equal(f->rings, 1);
    assert_false(cqe_ready(f, &q2));
    if (f->late_cq_head)
        db(f, CQDB(2), f->late_cq_head - 1);
    assert_false(cqe_ready(f, &q2));
    assert_int_equal(f->host.warnings, 0);
}

/* Submissions stored in the shadow during each of many slices (more
 * than one slice's worth, one at each interrupt) all run, with the one
 * MMIO doorbell of the first: work found at a slice's end is run by
 * the next slice. */
static void test_dbbuf_slice_boundaries(void **state)
{
    struct fx *f = *state;

    enable(f, 8, 8);
    io_queues(f, 64, 64);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    for (unsigned i = 0; i < MVF_NVME_SLICE_CMDS + 2; i++)
        push_read(f, &f->ioq, 8 * i);
    assert_true(sq_update(f, &f->ioq));
    hook(f, submit_in_irq, &f->ioq, 3 * MVF_NVME_SLICE_CMDS);
    run_idle(f);
    assert_int_equal(f->irq_acts, 3 * MVF_NVME_SLICE_CMDS);
    assert_int_equal(take_all(f, &f->ioq), 4 * MVF_NVME_SLICE_CMDS + 2);
    assert_int_equal(f->rings, 1);
    assert_int_equal(eventidx(f, SLOT_SQ(1)), f->ioq.sq_tail);
    assert_int_equal(f->host.warnings, 0);
}

/* A shutdown notification forgets the buffers (Linux frees them next,
 * CC.EN still 1): whatever the pages hold afterwards is never read as
 * doorbells, and they are never written. */
static void test_dbbuf_shutdown(void **state)
{
    struct fx *f = *state;
    uint8_t *snap = malloc(2 * PG);
    struct cmd c;

    assert_non_null(snap);
    enable(f, 8, 8);
    io_queues(f, 32, 32);
    assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_SQ, 1), 0);
    assert_int_equal(delete_queue(f, NVME_ADM_DELETE_CQ, 1), 0);
    wr32(&f->p, NVME_REG_CC, rd32(&f->p, NVME_REG_CC) | NVME_CC_SHN_NORMAL);
    assert_int_equal(rd32(&f->p, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK,
                     NVME_CSTS_SHST_DONE);
    /* The pages reused for something else. */
    fill(f->mem + DBB_OFF, 2 * PG, 77);
    memcpy(snap, f->mem + DBB_OFF, 2 * PG);
    cmd_init(&c, NVME_ADM_GET_FEAT, 0);
    cmd_dw(&c, 10, NVME_FEAT_NUM_QUEUES);
    assert_int_equal(admin(f, &c), 0);
    run_idle(f);
    assert_false(cqe_ready(f, &f->aq));
    assert_memory_equal(snap, f->mem + DBB_OFF, 2 * PG);
    assert_int_equal(f->host.warnings, 0);
    free(snap);
}

/* ---- Doorbell Buffer Config against a host on another thread ----------- */

/*
 * The controller runs on a thread of its own, the way macvfiod runs it:
 * MMIO writes arrive through a mailbox between slices, each waited for
 * by the host (a trapped write is a synchronous round trip), and the
 * thread sleeps when it has no work and nothing in the mailbox.  The
 * test's thread is the host: Linux's rule for every new tail and head
 * (shadow store, full fence, EventIdx load, MMIO only when due), with
 * the queues polled instead of interrupts.  A lost wake-up is seen
 * exactly, without timing: the host has commands outstanding and no
 * completion to take while the controller sleeps with an empty mailbox.
 */
struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t off, val;
    bool full, idle, stop;
    int bad_write;              /* a bar_write that failed, for the host */
};

struct ctl {
    struct fx *f;
    struct mailbox mb;
};

static void *ctl_main(void *arg)
{
    struct ctl *c = arg;
    struct mailbox *mb = &c->mb;

    pthread_mutex_lock(&mb->mu);
    for (;;) {
        while (!mb->full && !mvf_core_has_work(c->f->core) && !mb->stop) {
            mb->idle = true;
            pthread_cond_wait(&mb->cv, &mb->mu);
            mb->idle = false;
        }
        if (mb->stop)
            break;
        if (mb->full) {
            uint32_t off = mb->off, val = mb->val;
            int rc;

            pthread_mutex_unlock(&mb->mu);
            rc = c->f->p.ops->bar_write(c->f->p.priv, 0, off, 4, val);
            pthread_mutex_lock(&mb->mu);
            if (rc)
                mb->bad_write = rc;
            mb->full = false;
            pthread_cond_broadcast(&mb->cv);
            continue;
        }
        pthread_mutex_unlock(&mb->mu);
        mvf_core_run_work(c->f->core);
        pthread_mutex_lock(&mb->mu);
    }
    pthread_mutex_unlock(&mb->mu);
    return NULL;
}

/* A trapped MMIO write: handed over, and waited for. */
static void ctl_mmio(struct ctl *c, uint32_t off, uint32_t val)
{
    struct mailbox *mb = &c->mb;

    pthread_mutex_lock(&mb->mu);
    mb->off = off;
    mb->val = val;
    mb->full = true;
    pthread_cond_broadcast(&mb->cv);
    while (mb->full)
        pthread_cond_wait(&mb->cv, &mb->mu);
    pthread_mutex_unlock(&mb->mu);
    c->f->rings++;
}

/* nvme_dbbuf_update_and_check_event, with the host's real ordering. */
static void host_db(struct ctl *c, uint32_t slot, uint32_t value,
                    uint32_t mmio)
{
    uint32_t *db = (uint32_t *)(void *)(c->f->mem + DBB_OFF + slot);
    uint32_t *ei = (uint32_t *)(void *)(c->f->mem + EIB_OFF + slot);
    uint16_t old = (uint16_t)__atomic_load_n(db, __ATOMIC_RELAXED), e;

    __atomic_store_n(db, value, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    e = (uint16_t)__atomic_load_n(ei, __ATOMIC_ACQUIRE);
    if ((uint16_t)(value - e - 1) < (uint16_t)(value - old))
        ctl_mmio(c, mmio, value);
}

static bool host_cqe_ready(const struct fx *f, const struct hq *q)
{
    const uint16_t *st = (const uint16_t *)(const void *)
        (f->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE + NVME_CQE_STATUS);

    return (__atomic_load_n(st, __ATOMIC_ACQUIRE) & 1) == q->phase;
}

/* Takes what completed; updates the CQ head as Linux does. */
static unsigned host_reap(struct ctl *c, struct hq *q)
{
    unsigned n = 0;

    while (host_cqe_ready(c->f, q)) {
        struct cqe r = pop(c->f, q, false);

        if (r.status != 0)
            fail_msg("command %u failed: 0x%x", r.cid, r.status);
        n++;
    }
    if (n)
        host_db(c, SLOT_CQ(q->qid), q->cq_head, CQDB(q->qid));
    return n;
}

/* Nothing to take: fails if the controller sleeps meanwhile (a lost
 * wake-up: nothing will ever wake it). */
static void host_check_stall(struct ctl *c, struct hq *q, unsigned outstanding)
{
    struct mailbox *mb = &c->mb;
    bool lost;

    pthread_mutex_lock(&mb->mu);
    lost = mb->idle && !mb->full && !host_cqe_ready(c->f, q);
    pthread_mutex_unlock(&mb->mu);
    if (lost)
        fail_msg("lost wake-up: %u command(s) outstanding on queue %u, the "
                 "controller asleep; host tail %u head %u, EventIdx SQ %u "
                 "CQ %u", outstanding, q->qid, q->sq_tail, q->cq_head,
                 eventidx(c->f, SLOT_SQ(q->qid)),
                 eventidx(c->f, SLOT_CQ(q->qid)));
    sched_yield();
}

/* `total` reads through SQ/CQ 1 of the given sizes, in bursts of 1 to
 * `depth` (a pseudo-random walk), each burst waited for in full. */
static void host_run(struct ctl *c, pthread_t *t, uint32_t sq_size,
                     uint32_t cq_size, unsigned depth, unsigned total)
{
    struct fx *f = c->f;
    struct hq *q = &f->ioq;
    uint32_t seed = 12;
    unsigned done = 0;

    assert_int_equal(create_cq(f, 1, iova(f, IOCQ_OFF), cq_size,
                               NVME_QUEUE_PC | NVME_CQ_IEN, 1), 0);
    assert_int_equal(create_sq(f, 1, iova(f, IOSQ_OFF), sq_size,
                               NVME_QUEUE_PC, 1), 0);
    *q = (struct hq){ .qid = 1, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF,
                      .sq_size = sq_size, .cq_size = cq_size, .phase = 1 };
    /* From here on only the controller's thread touches it. */
    assert_int_equal(pthread_create(t, NULL, ctl_main, c), 0);
    while (done < total) {
        unsigned burst, in = 0, out = 0;

        seed = seed * 1664525u + 1013904223u;
        burst = 1 + (seed >> 16) % depth;
        /* Submissions interleaved with taking completions, one update
         * of the tail per submission (or per pair, as blk-mq batches). */
        while (out < burst) {
            if (in < burst) {
                struct cmd cmd;

                rw_cmd(&cmd, NVME_IO_READ, in % 8, 1, iova(f, DST_OFF), 0);
                push(f, q, &cmd);
                in++;
                if (in == burst || (seed >> (in % 16)) & 1)
                    host_db(c, SLOT_SQ(1), q->sq_tail, DB(1));
            }
            unsigned n = host_reap(c, q);

            out += n;
            if (!n && in == burst)
                host_check_stall(c, q, burst - out);
        }
        done += burst;
    }
}

static void ctl_stop(struct ctl *c, pthread_t t)
{
    pthread_mutex_lock(&c->mb.mu);
    c->mb.stop = true;
    pthread_cond_broadcast(&c->mb.cv);
    pthread_mutex_unlock(&c->mb.mu);
    pthread_join(t, NULL);
}

/* Thousands of commands against the controller on its own thread, with
 * a CQ as deep as the SQ (as Linux makes them) and one that fills long
 * before the SQ does: every command completes, no wake-up is lost. */
static void test_dbbuf_concurrent(void **state)
{
    static const struct { uint32_t sq, cq; unsigned depth; } runs[] = {
        { 16, 16, 15 }, { 16, 4, 15 }, { 8, 2, 7 },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
        struct ctl c = { .f = f, .mb = { .mu = PTHREAD_MUTEX_INITIALIZER,
                                         .cv = PTHREAD_COND_INITIALIZER } };
        pthread_t t;

        enable(f, 8, 8);
        memset(f->mem + DBB_OFF, 0, 2 * PG);
        assert_int_equal(dbbuf_config(f, iova(f, DBB_OFF), iova(f, EIB_OFF)), 0);
        memset(f->mem + IOSQ_OFF, 0, 2 * PG);
        f->rings = 0;
        host_run(&c, &t, runs[i].sq, runs[i].cq, runs[i].depth, 20000);
        ctl_stop(&c, t);
        print_message("dbbuf concurrent: SQ %u CQ %u: 20000 reads, %u MMIO "
                      "doorbells\n", runs[i].sq, runs[i].cq, f->rings);
        assert_int_equal(c.mb.bad_write, 0);
        assert_int_equal(f->host.warnings, 0);
        assert_int_equal(rd32(&f->p, NVME_REG_CSTS), NVME_CSTS_RDY);
        wr32(&f->p, NVME_REG_CC, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_enable_states),
        cmocka_unit_test(test_irq_configure),
        cmocka_unit_test(test_bare_random),
        cmocka_unit_test_setup_teardown(test_core_adopts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_identify, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_features_logs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_aer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_management, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_io_simple, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_io_prp_lists, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prp_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lba_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_zeroes_dsm_flush, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_faults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dma_spans, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cq_phase_wrap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cq_full_resume, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_doorbell_abuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fatal_status, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_interrupts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_shutdown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slices_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pending_work_dropped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cq_full_no_work, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_per_slice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_random_commands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ram_backed, fx_setup_ram, fx_teardown),
        cmocka_unit_test_setup_teardown(test_media_error, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_config, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_shadow, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_new_queue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_reset, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_fault, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_bad_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_stale_shadow, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_admin, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_race_stalled_late, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_race_cq_room, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_slice_boundaries, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_shutdown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dbbuf_concurrent, fx_setup_ram, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
