/* SPDX-License-Identifier: MIT */
/* fuzz_server's device records: the simulated devices driven to DMA. */
#include <string.h>

#include "fuzz_server.h"
#include "fuzz_server_wire.h"
#include "dmatest.h"
#include "nvme_defs.h"

/*
 * The IOVA a DMATEST record programs: inside a mapping the session got
 * back, or a near miss of one (the DART must refuse those).  Modes: 0
 * its first bytes, 1 its last bytes, 2 one byte before it, 3 across its
 * end, 4 one byte past its end, 5 an IOVA the OTHER client got (which
 * this session must never reach), 6 somewhere in the aperture, 7 raw.
 */
static uint64_t dmatest_iova(const struct client *c, const struct client *other,
                             unsigned mi, unsigned mode, uint64_t len,
                             uint64_t raw, uint32_t *flags)
{
    const struct mapping *m;

    *flags = 0;
    if (mode == 7)
        return raw;
    if (mode == 6)
        return MVF_DART_DEFAULT_BASE + (raw % (64ull << 30));  /* likely unmapped */
    if (mode == 5) {
        if (!other->nmaps)
            return raw;
        m = &other->maps[mi % other->nmaps];
        return m->iova;
    }
    if (!c->nmaps)
        return MVF_DART_DEFAULT_BASE;
    m = &c->maps[mi % c->nmaps];
    *flags = m->flags;
    switch (mode) {
    case 0: return m->iova;                                  /* first bytes */
    case 1: return m->iova + (len < m->len ? m->len - len : 0); /* last bytes */
    case 2: return m->iova - 1;                              /* one before */
    case 3: return m->iova + m->len - len / 2;               /* across the end */
    default: return m->iova + m->len - len + 1;              /* one past the end */
    }
}

void fz_record_dmatest(struct mvf_core *core, struct client *c,
                       const struct client *other, struct rd *r)
{
    unsigned mi = (unsigned)rd_n(r, 1), mode = (unsigned)rd_n(r, 1) % 8;
    unsigned flags = (unsigned)rd_n(r, 1);
    uint64_t len = rd_n(r, 2) + 1, woff = rd_n(r, 2), raw = rd_n(r, 8);
    uint32_t mflags, dir, vec, status, delivered_before;
    struct mvf_stats st;
    uint64_t iova;

    if (c->dev != DEV_DMATEST)
        return;
    if (c->nmaps && mode < 5) {
        const struct mapping *m = &c->maps[mi % c->nmaps];
        if (len > m->len)
            len = m->len;
        if (len < 2 && (mode == 3 || mode == 4))
            len = 2;
    }
    iova = dmatest_iova(c, other, mi, mode, len, raw, &mflags);
    /* flags: bit 0 the wrong direction, bit 1 a raw direction (bits
     * 4-7), bit 2 a vector the device lacks, bit 3 bus mastering off,
     * bit 5 a raw window offset, bits 6-7 the vector. */
    /* The direction the mapping permits, or (flag bit 0) the other one. */
    dir = (mflags & MVF_DMA_WRITE) ? MVF_DMATEST_DIR_FROM_DEVICE : MVF_DMATEST_DIR_TO_DEVICE;
    if (flags & 1)
        dir ^= 1;
    if (flags & 2)
        dir = flags >> 4;           /* anything, including unknown */
    vec = (flags & 4) ? MVF_DMATEST_NVEC : (flags >> 6) & 3;
    fz_bus_master(c->s, !(flags & 8));
    if (!(flags & 0x20))
        woff %= (64u << 10);
    mvf_device_stats(mvf_core_device(core, DEV_DMATEST), &st);
    delivered_before = (uint32_t)st.irqs_delivered;

    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DMA_IOVA_LO, 8, iova);
    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DMA_OFFSET, 4, woff & 0xffffffffu);
    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DMA_LEN, 4, len);
    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DMA_DIR, 4, dir & 0xffffffffu);
    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DMA_VECTOR, 4, vec);
    fz_mmio_write(c->s, 0, MVF_DMATEST_REG_DOORBELL, 4, MVF_DMATEST_DOORBELL_GO);

    status = (uint32_t)fz_mmio_read(c->s, 0, MVF_DMATEST_REG_STATUS, 4);
    fz_report.doorbells++;
    fz_report.dma_done += !!(status & MVF_DMATEST_STATUS_DONE);
    fz_report.dma_fault += !!(status & MVF_DMATEST_STATUS_FAULT);
    fz_report.dma_error += !!(status & MVF_DMATEST_STATUS_ERROR);
    mvf_device_stats(mvf_core_device(core, DEV_DMATEST), &st);
    if ((uint32_t)st.irqs_delivered != delivered_before &&
        (c->full_vectors >> vec & 1))
        fz_report.full_fd_raises++;
}

/* The harness's view of the queue memory in mapping m, or NULL when the
 * bookkeeping is stale (raw frames can leave it so). */
static uint8_t *queue_memory(const struct client *c, const struct mapping *m)
{
    const struct region *rg = &c->regions[m->region];

    if (m->region >= c->nregions || m->len < 2 * PAGE || m->off > rg->len ||
        rg->len - m->off < 2 * PAGE)
        return NULL;
    return rg->host + m->off;
}

void fz_record_nvme_up(struct client *c, struct rd *r)
{
    unsigned mi = (unsigned)rd_n(r, 1), flags = (unsigned)rd_n(r, 1);
    const struct mapping *m;
    uint8_t *host;

    if (c->dev != DEV_NVME || !c->nmaps)
        return;
    c->nvme_map = mi % c->nmaps;
    m = &c->maps[c->nvme_map];
    host = queue_memory(c, m);
    if (!host)
        return;
    memset(host, 0, 2 * PAGE);
    fz_bus_master(c->s, !(flags & 1));
    fz_mmio_write(c->s, 0, NVME_REG_CC, 4, 0);
    fz_mmio_write(c->s, 0, NVME_REG_AQA, 4, (NVME_QSIZE - 1) | (NVME_QSIZE - 1) << 16);
    fz_mmio_write(c->s, 0, NVME_REG_ASQ, 8, m->iova);
    fz_mmio_write(c->s, 0, NVME_REG_ACQ, 8, m->iova + ((flags & 2) ? 0 : PAGE));
    fz_mmio_write(c->s, 0, NVME_REG_CC, 4,
               NVME_CC_IOSQES_6 | NVME_CC_IOCQES_4 | NVME_CC_EN);
    c->nvme_up = true;
    c->sq_tail = 0;
}

void fz_record_nvme_sqe(struct client *c, struct rd *r)
{
    uint8_t sqe[NVME_SQE_SIZE];
    const struct mapping *m;
    uint8_t *host;
    uint64_t prp;

    if (c->dev != DEV_NVME || !c->nvme_up)
        return;
    m = &c->maps[c->nvme_map];
    host = queue_memory(c, m);
    if (!host)
        return;
    for (unsigned i = 0; i < sizeof(sqe); i++)
        sqe[i] = (uint8_t)rd_n(r, 1);
    for (unsigned f = NVME_SQE_PRP1; f <= NVME_SQE_PRP2; f += 8) {
        memcpy(&prp, sqe + f, 8);
        if (prp < (1u << 20))
            prp += m->iova;
        memcpy(sqe + f, &prp, 8);
    }
    /* Take back what the earlier commands completed (the device ran
     * them on this or an earlier doorbell, or as deferred work), so the
     * completion queue never stays full. */
    fz_mmio_write(c->s, 0, NVME_REG_DBS + 4, 4, c->sq_tail);
    memcpy(host + (uint64_t)c->sq_tail * NVME_SQE_SIZE, sqe, sizeof(sqe));
    c->sq_tail = (uint16_t)((c->sq_tail + 1) % NVME_QSIZE);
    fz_mmio_write(c->s, 0, NVME_REG_DBS, 4, c->sq_tail);
}
