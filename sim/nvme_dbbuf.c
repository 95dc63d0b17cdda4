/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme Doorbell Buffer Config (admin opcode 7Ch, NVMe 1.3 on; OACS
 * bit 8): shadow doorbells with EventIdx, for I/O queues.
 *
 * The host gives two 4 KiB pages: PRP1 the shadow doorbell buffer, where
 * it writes every new SQ tail and CQ head, and PRP2 the EventIdx buffer,
 * where the controller says when it wants an MMIO doorbell too.  Entries
 * sit at the doorbell stride, as the registers do: SQ y at 8y, CQ y at
 * 8y + 4 (CAP.DSTRD 0).  The host rings the MMIO doorbell only when the
 * EventIdx lies in [old, new) of the value it just wrote (Linux's
 * nvme_dbbuf_need_event), so:
 *
 * - while the controller has work (the core keeps calling run_work), it
 *   reads the shadow buffer at the start of every slice and takes the
 *   new tails and heads from there: submissions made meanwhile cost no
 *   trapped write;
 * - when it runs out of work it arms the EventIdx buffer: each SQ's
 *   EventIdx is its tail (the host's next submission rings), each CQ's is
 *   one behind its head (the host never rings for it) unless an SQ bound
 *   to it is stalled on the full CQ, then its head (the next head update
 *   rings, and the SQ resumes).  It then reads the shadow buffer once
 *   more, after a full fence: a host that wrote its shadow before seeing
 *   the new EventIdx has its submission found here, one that wrote after
 *   sees the EventIdx and rings.  Nothing is polled while idle.
 *
 * The buffers are reached by DMA through the DART like any other memory.
 * If one faults, the controller stops using them (MMIO doorbells only,
 * until the next Doorbell Buffer Config) and says so once: a host that
 * unmapped them cannot wedge it.  Values beyond a queue are ignored and
 * logged, as bad MMIO doorbells are.  The admin queue is never shadowed
 * (Linux uses the buffers for I/O queues only).  A controller reset
 * (CC.EN 0, function reset) forgets the buffers.
 */
#include <string.h>

#include "nvme_priv.h"

/* Every queue's pair of entries fits in the one page the host gives. */
_Static_assert((MVF_NVME_QUEUES_MAX + 1) * 8 <= MVF_NVME_PAGE_SIZE,
               "shadow doorbells of every queue must fit in one page");

static uint32_t span(const struct nvme *n)
{
    return (n->nqueues + 1) * 8;
}

static void drop(struct nvme *n, const char *what, uint64_t base,
                 uint64_t bad)
{
    n->dbbuf.on = false;
    mvf_device_log(n->dev, MVF_LOG_ERROR, "the %s buffer at IOVA 0x%llx "
                   "faulted (0x%llx): shadow doorbells off, MMIO doorbells "
                   "only until the next Doorbell Buffer Config", what,
                   (unsigned long long)base, (unsigned long long)bad);
}

/* EventIdx of every queue, as the comment at the top explains. */
static void eventidx_fill(const struct nvme *n, uint8_t *ei)
{
    memset(ei, 0, span(n));
    for (uint32_t q = 1; q <= n->nqueues; q++) {
        const struct nvme_cq *cq = &n->cq[q];
        bool stalled = false;

        if (n->sq[q].size)
            nvme_put_le32(ei + 8 * q, n->sq[q].tail);
        if (!cq->size)
            continue;
        for (uint32_t s = 1; s <= n->nqueues; s++)
            if (n->sq[s].size && n->sq[s].cqid == q &&
                n->sq[s].head != n->sq[s].tail)
                stalled = true;
        nvme_put_le32(ei + 8 * q + 4,
                      stalled ? cq->head : (uint16_t)(cq->head - 1));
    }
}

static bool active(const struct nvme *n)
{
    return n->dbbuf.on && n->dev && nvme_ready(n);
}

void nvme_dbbuf_reset(struct nvme *n)
{
    memset(&n->dbbuf, 0, sizeof(n->dbbuf));
}

uint16_t nvme_dbbuf_config(struct nvme *n, const struct nvme_cmd *c)
{
    uint8_t db[(MVF_NVME_QUEUES_MAX + 1) * 8], ei[sizeof(db)];
    uint64_t bad = 0;

    /* One page each, page aligned (PRP entries with an offset are not
     * buffers), and two distinct pages. */
    if ((c->prp1 | c->prp2) & (MVF_NVME_PAGE_SIZE - 1) || c->prp1 == c->prp2)
        return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
    n->dbbuf.on = false;
    /* The shadows start as the doorbells stand (queues the host created
     * before this command keep their state), the EventIdx as armed. */
    memset(db, 0, sizeof(db));
    for (uint32_t q = 1; q <= n->nqueues; q++) {
        nvme_put_le32(db + 8 * q, n->sq[q].size ? n->sq[q].tail : 0);
        nvme_put_le32(db + 8 * q + 4, n->cq[q].size ? n->cq[q].head : 0);
    }
    eventidx_fill(n, ei);
    /* Both pages must be readable and writable by the device now, or
     * the host is told (and keeps using MMIO doorbells). */
    if (mvf_device_dma_write(n->dev, c->prp1, db, span(n), &bad) ||
        mvf_device_dma_read(n->dev, c->prp1, db, span(n), &bad) ||
        mvf_device_dma_write(n->dev, c->prp2, ei, span(n), &bad) ||
        mvf_device_dma_read(n->dev, c->prp2, ei, span(n), &bad)) {
        nvme_warn(n, "Doorbell Buffer Config: buffer at 0x%llx not usable "
                  "by the device: Data Transfer Error",
                  (unsigned long long)bad);
        return nvme_err(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
    }
    n->dbbuf.db = c->prp1;
    n->dbbuf.ei = c->prp2;
    n->dbbuf.on = true;
    return 0;
}

void nvme_dbbuf_queue_created(struct nvme *n, uint16_t qid, bool is_sq)
{
    uint32_t off = 8 * qid + (is_sq ? 0 : 4);
    uint8_t zero[4] = { 0 }, ei[4];
    uint64_t bad = 0;

    if (!active(n) || qid == 0)
        return;
    /* A new queue's doorbell is 0; the host's page may still hold a
     * deleted queue's value.  SQ EventIdx 0: the first submission rings;
     * CQ EventIdx 0xffff: its head updates need not. */
    nvme_put_le32(ei, is_sq ? 0 : 0xffff);
    if (mvf_device_dma_write(n->dev, n->dbbuf.db + off, zero, 4, &bad))
        drop(n, "shadow doorbell", n->dbbuf.db, bad);
    else if (mvf_device_dma_write(n->dev, n->dbbuf.ei + off, ei, 4, &bad))
        drop(n, "EventIdx", n->dbbuf.ei, bad);
}

void nvme_dbbuf_poll(struct nvme *n)
{
    uint8_t db[(MVF_NVME_QUEUES_MAX + 1) * 8];
    uint64_t bad = 0;

    if (!active(n))
        return;
    if (mvf_device_dma_read(n->dev, n->dbbuf.db, db, span(n), &bad)) {
        drop(n, "shadow doorbell", n->dbbuf.db, bad);
        return;
    }
    for (uint32_t q = 1; q <= n->nqueues; q++) {
        uint32_t tail = nvme_get_le32(db + 8 * q);
        uint32_t head = nvme_get_le32(db + 8 * q + 4);

        /* The CQ first: room it frees lets this slice run its SQs. */
        if (n->cq[q].size && head != n->cq[q].head)
            nvme_cq_set_head(n, q, head, "shadow");
        if (n->sq[q].size && tail != n->sq[q].tail)
            nvme_sq_set_tail(n, q, tail, "shadow");
    }
}

bool nvme_dbbuf_arm(struct nvme *n)
{
    uint8_t ei[(MVF_NVME_QUEUES_MAX + 1) * 8];
    uint64_t bad = 0;

    if (!active(n))
        return false;
    eventidx_fill(n, ei);
    if (mvf_device_dma_write(n->dev, n->dbbuf.ei, ei, span(n), &bad)) {
        drop(n, "EventIdx", n->dbbuf.ei, bad);
        return false;
    }
    /* The EventIdx store before the shadow load, as the host orders its
     * shadow store before its EventIdx load (Linux: mb()). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    nvme_dbbuf_poll(n);
    return true;
}
