/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme Doorbell Buffer Config (admin opcode 7Ch, NVMe 1.3 on; OACS
 * bit 8): shadow doorbells with EventIdx, for every queue, the admin
 * queue included.
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
 *   sees the EventIdx and rings.  If that last look moved anything, the
 *   EventIdx just written describes a state that no longer holds (say a
 *   submission found there that cannot run, its CQ being full, while the
 *   CQ's EventIdx says "never ring"), so another slice runs and arms
 *   again from the new state.  Nothing is polled while idle.
 *
 * A shadow value is taken only when it changed since the controller last
 * read it (or wrote it, at the command and at queue creation), and only
 * if it lies past the queue's tail or head on the way from that last
 * value: an MMIO doorbell that moved the queue further (Linux rings the
 * admin queue by MMIO only and never writes its shadow) is never undone
 * by a stale shadow, which would re-run commands or withdraw room.  Like
 * bad MMIO doorbells, values beyond a queue are ignored and logged, once
 * per value written.
 *
 * Once the host has written a queue's shadow, that queue's MMIO doorbell
 * only wakes the controller, and the value is the shadow's (as in QEMU's
 * emulated controller).  The host writes the shadow before it rings, so
 * the shadow is never older than the ring; but a ring can reach the
 * controller after newer values in the shadow did, and taken then it
 * would move the tail back a lap (re-running a whole queue of stale
 * entries) or a head back (posting over entries the host has not read).
 * That happens with posted MMIO writes: macvfiod runs a posted doorbell
 * when its turn on the socket comes, while the guest went on and wrote
 * the next tails to the shadow, which a slice reads straight from guest
 * memory.  On real PCIe a read completion does not pass a posted write,
 * but a controller's doorbell logic may still act on it late.
 *
 * The buffers are reached by DMA through the DART like any other memory.
 * A host that gave them keeps consulting the EventIdx before every MMIO
 * doorbell, so a controller that silently stopped using them would never
 * hear of its next submissions.  If either page faults, the controller
 * therefore forgets the buffers and reports Controller Fatal Status, as
 * for a fault on a queue: the host resets it, and a Doorbell Buffer
 * Config whose pages fault fails with Data Transfer Error (Linux then
 * keeps to MMIO doorbells).  A controller reset (CC.EN 0, function reset)
 * or a shutdown notification forgets the buffers (Linux frees them after
 * shutting the controller down, without disabling it).
 */
#include <string.h>

#include "nvme_priv.h"

/* Every queue's pair of entries fits in the one page the host gives. */
_Static_assert((MVF_NVME_QUEUES_MAX + 1) * 8 <= MVF_NVME_PAGE_SIZE,
               "shadow doorbells of every queue must fit in one page");

#define SQ_SLOT(q) (2 * (q))
#define CQ_SLOT(q) (2 * (q) + 1)

static uint32_t span(const struct nvme *n)
{
    return (n->nqueues + 1) * 8;
}

/* A buffer faulted: see the comment at the top. */
static void fail(struct nvme *n, const char *what, uint64_t base,
                 uint64_t bad)
{
    n->dbbuf.on = false;
    nvme_fatal(n, "the %s buffer at IOVA 0x%llx faulted (0x%llx); the host "
               "may be waiting on an EventIdx the controller can no longer "
               "keep", what, (unsigned long long)base,
               (unsigned long long)bad);
}

/* An SQ bound to CQ cqid holds entries it cannot run (its CQ is full). */
static bool cq_stalls_sq(const struct nvme *n, uint32_t cqid)
{
    for (uint32_t s = 0; s <= n->nqueues; s++)
        if (n->sq[s].size && n->sq[s].cqid == cqid &&
            n->sq[s].head != n->sq[s].tail)
            return true;
    return false;
}

/* EventIdx of every queue, as the comment at the top explains. */
static void eventidx_fill(const struct nvme *n, uint8_t *ei)
{
    memset(ei, 0, span(n));
    for (uint32_t q = 0; q <= n->nqueues; q++) {
        const struct nvme_cq *cq = &n->cq[q];

        if (n->sq[q].size)
            nvme_put_le32(ei + 8 * q, n->sq[q].tail);
        if (cq->size)
            nvme_put_le32(ei + 8 * q + 4, cq_stalls_sq(n, q) ?
                          cq->head : (uint16_t)(cq->head - 1));
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
    memset(n->dbbuf.host_writes, 0, sizeof(n->dbbuf.host_writes));
    /* The shadows start as the doorbells stand (queues the host created
     * before this command keep their state), the EventIdx as armed. */
    memset(db, 0, sizeof(db));
    for (uint32_t q = 0; q <= n->nqueues; q++) {
        n->dbbuf.seen[SQ_SLOT(q)] = n->sq[q].size ? n->sq[q].tail : 0;
        n->dbbuf.seen[CQ_SLOT(q)] = n->cq[q].size ? n->cq[q].head : 0;
        nvme_put_le32(db + 8 * q, n->dbbuf.seen[SQ_SLOT(q)]);
        nvme_put_le32(db + 8 * q + 4, n->dbbuf.seen[CQ_SLOT(q)]);
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
    n->dbbuf.seen[is_sq ? SQ_SLOT(qid) : CQ_SLOT(qid)] = 0;
    n->dbbuf.host_writes[is_sq ? SQ_SLOT(qid) : CQ_SLOT(qid)] = false;
    nvme_put_le32(ei, is_sq ? 0 : 0xffff);
    if (mvf_device_dma_write(n->dev, n->dbbuf.db + off, zero, 4, &bad))
        fail(n, "shadow doorbell", n->dbbuf.db, bad);
    else if (mvf_device_dma_write(n->dev, n->dbbuf.ei + off, ei, 4, &bad))
        fail(n, "EventIdx", n->dbbuf.ei, bad);
}

/* `now` lies past `cur` on the way from `last` round a queue of `size`
 * entries (all three below size): the host moved its shadow beyond the
 * state the controller has, not to a place it passed already. */
static bool moved_past(uint32_t last, uint32_t now, uint32_t cur,
                       uint32_t size)
{
    return (now + size - last) % size > (cur + size - last) % size;
}

/* Whether the shadow value `now` of slot `slot`, a queue of `size`
 * entries at `cur`, is to be taken: new since the last look, and past
 * cur (values beyond the queue go to the setter, which logs and ignores
 * them). */
static bool shadow_new(struct nvme_dbbuf *b, uint32_t slot, uint32_t now,
                       uint32_t cur, uint32_t size)
{
    uint32_t last = b->seen[slot];

    if (now == last)
        return false;
    b->seen[slot] = now;
    b->host_writes[slot] = true;
    if (now >= size)
        return true;
    /* A last value the queue could not take says nothing of where the
     * host was: measure from the queue's own state then. */
    return moved_past(last < size ? last : cur, now, cur, size);
}

bool nvme_dbbuf_poll(struct nvme *n)
{
    uint8_t db[(MVF_NVME_QUEUES_MAX + 1) * 8];
    uint64_t bad = 0;
    bool moved = false;

    if (!active(n))
        return false;
    if (mvf_device_dma_read(n->dev, n->dbbuf.db, db, span(n), &bad)) {
        fail(n, "shadow doorbell", n->dbbuf.db, bad);
        return false;
    }
    for (uint32_t q = 0; q <= n->nqueues; q++) {
        struct nvme_sq *sq = &n->sq[q];
        struct nvme_cq *cq = &n->cq[q];
        uint32_t tail = nvme_get_le32(db + 8 * q);
        uint32_t head = nvme_get_le32(db + 8 * q + 4);

        /* The CQ first: room it frees lets this slice run its SQs. */
        if (cq->size && shadow_new(&n->dbbuf, CQ_SLOT(q), head, cq->head,
                                   cq->size))
            moved |= nvme_cq_set_head(n, q, head, "shadow");
        if (sq->size && shadow_new(&n->dbbuf, SQ_SLOT(q), tail, sq->tail,
                                   sq->size))
            moved |= nvme_sq_set_tail(n, q, tail, "shadow");
    }
    return moved;
}

bool nvme_dbbuf_shadowed(const struct nvme *n, uint32_t qid, bool is_sq)
{
    return active(n) &&
           n->dbbuf.host_writes[is_sq ? SQ_SLOT(qid) : CQ_SLOT(qid)];
}

bool nvme_dbbuf_arm(struct nvme *n)
{
    uint8_t ei[(MVF_NVME_QUEUES_MAX + 1) * 8];
    uint64_t bad = 0;

    if (!active(n))
        return false;
    eventidx_fill(n, ei);
    if (mvf_device_dma_write(n->dev, n->dbbuf.ei, ei, span(n), &bad)) {
        fail(n, "EventIdx", n->dbbuf.ei, bad);
        return false;
    }
    /* The EventIdx store before the shadow load, as the host orders its
     * shadow store before its EventIdx load (Linux: mb()). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return nvme_dbbuf_poll(n);
}
