/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme queues: doorbells, fetching submission entries, posting
 * completions with the phase tag, interrupts (NVMe 1.4 sections 4.1,
 * 4.6, 7.2).
 *
 * A doorbell only records the new tail (or head) and tells the core the
 * device has work; the commands run later in slices (nvme_run_work, the
 * provider's run_work op), which the daemon interleaves with every
 * client's calls.  A slice runs at most MVF_NVME_SLICE_CMDS commands and
 * stops once their data reaches MVF_NVME_SLICE_BYTES, taking one command
 * per submission queue in turn (a sync of a file-backed store counts as
 * a whole slice); it always runs at least one, so work progresses.
 * The largest single command is bounded too: a read or write by MDTS
 * (4 MiB), a Write Zeroes (32 MiB at most) by a store that zeroes
 * without writing where it can (nvme_store_zero).
 *
 * A submission queue is only run while its completion queue has room, so
 * a completion can always be posted once a command has been fetched;
 * when the CQ fills up the SQ simply stops, and the CQ's next head
 * doorbell resumes every SQ bound to it that still has entries.  A
 * controller reset or disable, a queue deletion or fatal status drops
 * what is pending with the queue state: a slice finds nothing to run.
 *
 * With Doorbell Buffer Config (nvme_dbbuf.c) a slice first takes the
 * tails and heads the host wrote to its shadow buffer, and a slice that
 * leaves no work behind arms the EventIdx buffer, so the host rings an
 * MMIO doorbell only for work the controller would not otherwise see;
 * when the look at the shadows after arming moves a queue, the slice
 * asks for another one, which runs what it can and arms again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvme_priv.h"

void nvme_fatal(struct nvme *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (n->csts & NVME_CSTS_CFS)
        return;
    n->csts |= NVME_CSTS_CFS;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n->dev)
        mvf_device_log(n->dev, MVF_LOG_ERROR, "controller fatal status "
                       "(CSTS.CFS): %s; processing stops until the host "
                       "resets the controller", msg);
}

void nvme_queues_reset(struct nvme *n)
{
    memset(n->sq, 0, (n->nqueues + 1) * sizeof(*n->sq));
    memset(n->cq, 0, (n->nqueues + 1) * sizeof(*n->cq));
    n->aer_outstanding = 0;
    n->rr_next = 0;
}

void nvme_cq_create(struct nvme *n, uint16_t qid, uint64_t base,
                    uint32_t size, bool ien, uint16_t vector)
{
    struct nvme_cq *cq = &n->cq[qid];

    memset(cq, 0, sizeof(*cq));
    cq->base = base;
    cq->size = size;
    cq->phase = 1;  /* the first pass through the queue writes 1s */
    cq->ien = ien;
    cq->vector = vector;
    nvme_dbbuf_queue_created(n, qid, false);
}

void nvme_sq_create(struct nvme *n, uint16_t qid, uint64_t base,
                    uint32_t size, uint16_t cqid)
{
    struct nvme_sq *sq = &n->sq[qid];

    memset(sq, 0, sizeof(*sq));
    sq->base = base;
    sq->size = size;
    sq->cqid = cqid;
    n->cq[cqid].sq_count++;
    nvme_dbbuf_queue_created(n, qid, true);
}

void nvme_sq_delete(struct nvme *n, uint16_t qid)
{
    struct nvme_sq *sq = &n->sq[qid];

    /* Entries the host submitted but the controller never fetched (the
     * CQ was full) go with the queue: nothing was started for them. */
    if (sq->size)
        n->cq[sq->cqid].sq_count--;
    memset(sq, 0, sizeof(*sq));
}

void nvme_cq_delete(struct nvme *n, uint16_t qid)
{
    memset(&n->cq[qid], 0, sizeof(n->cq[qid]));
}

/* Free slots: a queue of N entries holds at most N - 1 (4.1.2). */
static uint32_t cq_room(const struct nvme_cq *cq)
{
    uint32_t used = (cq->tail + cq->size - cq->head) % cq->size;

    return cq->size - 1 - used;
}

static void cq_raise(struct nvme *n, const struct nvme_cq *cq)
{
    /* MSI-X disabled: the message is never sent, as on hardware. */
    if (cq->ien && n->msix_enabled)
        mvf_device_irq_raise(n->dev, MVF_IRQ_MSIX, cq->vector);
}

static bool cq_post(struct nvme *n, struct nvme_cq *cq,
                    const struct nvme_cmd *c, const struct nvme_result *r,
                    uint32_t sqhd)
{
    uint64_t iova = cq->base + (uint64_t)cq->tail * NVME_CQE_SIZE, bad = iova;
    uint8_t e[NVME_CQE_SIZE] = { 0 };

    nvme_put_le32(e + NVME_CQE_DW0, r->dw0);
    nvme_put_le16(e + NVME_CQE_SQHD, (uint16_t)sqhd);
    nvme_put_le16(e + NVME_CQE_SQID, c->qid);
    nvme_put_le16(e + NVME_CQE_CID, c->cid);
    nvme_put_le16(e + NVME_CQE_STATUS,
                  (uint16_t)(r->status << 1 | cq->phase));
    if (mvf_device_dma_write(n->dev, iova, e, sizeof(e), &bad) != 0) {
        nvme_fatal(n, "posting a completion of queue %u to CQ at IOVA 0x%llx "
                   "faulted (0x%llx)", c->qid, (unsigned long long)iova,
                   (unsigned long long)bad);
        return false;
    }
    if (++cq->tail == cq->size) {
        cq->tail = 0;
        cq->phase ^= 1;
    }
    return true;
}

static void decode(const uint8_t *e, uint16_t qid, struct nvme_cmd *c)
{
    uint32_t cdw0 = nvme_get_le32(e + NVME_SQE_CDW0);
    const uint8_t *d = e + NVME_SQE_CDW10;

    c->qid = qid;
    c->opc = (uint8_t)cdw0;
    c->fuse = (cdw0 >> 8) & 3;
    c->psdt = (cdw0 >> 14) & 3;
    c->cid = (uint16_t)(cdw0 >> 16);
    c->nsid = nvme_get_le32(e + NVME_SQE_NSID);
    c->prp1 = nvme_get_le64(e + NVME_SQE_PRP1);
    c->prp2 = nvme_get_le64(e + NVME_SQE_PRP2);
    c->cdw10 = nvme_get_le32(d);
    c->cdw11 = nvme_get_le32(d + 4);
    c->cdw12 = nvme_get_le32(d + 8);
    c->cdw13 = nvme_get_le32(d + 12);
    c->cdw14 = nvme_get_le32(d + 16);
    c->cdw15 = nvme_get_le32(d + 20);
}

/* What a command costs one slice: the data it moves (or zeroes); a
 * sync of the backing file (fdatasync) counts as a whole slice, so a
 * slice makes at most one.  Other commands cost 0 bytes (but count as
 * one of the slice's commands). */
static uint64_t cmd_cost(const struct nvme *n, const struct nvme_cmd *c)
{
    uint64_t bytes = 0;

    if (c->qid != 0 && (c->opc == NVME_IO_READ || c->opc == NVME_IO_WRITE ||
                        c->opc == NVME_IO_WRITE_ZEROES))
        bytes = (uint64_t)((c->cdw12 & 0xffff) + 1) << MVF_NVME_LBA_SHIFT;
    if (nvme_io_syncs(n, c) && bytes < MVF_NVME_SLICE_BYTES)
        bytes = MVF_NVME_SLICE_BYTES;
    return bytes;
}

/* SQ qid has an entry to run and its CQ room for the completion. */
static bool sq_runnable(const struct nvme *n, uint32_t qid)
{
    const struct nvme_sq *sq = &n->sq[qid];

    return sq->size && sq->head != sq->tail && n->cq[sq->cqid].size &&
           cq_room(&n->cq[sq->cqid]) > 0;
}

static bool work_left(const struct nvme *n)
{
    if (!n->dev || !nvme_ready(n))
        return false;
    for (uint32_t q = 0; q <= n->nqueues; q++)
        if (sq_runnable(n, q))
            return true;
    return false;
}

/* Fetches and runs the entry at SQ qid's head (runnable); marks its CQ
 * in `posted`.  Returns the command's cost. */
static uint64_t sq_run_one(struct nvme *n, uint16_t qid, bool *posted)
{
    struct nvme_sq *sq = &n->sq[qid];
    uint16_t cqid = sq->cqid;
    uint64_t iova = sq->base + (uint64_t)sq->head * NVME_SQE_SIZE, bad = iova;
    struct nvme_result r = { .status = 0, .dw0 = 0, .post = true };
    uint8_t e[NVME_SQE_SIZE];
    struct nvme_cmd c;

    if (mvf_device_dma_read(n->dev, iova, e, sizeof(e), &bad) != 0) {
        nvme_fatal(n, "fetching from SQ %u at IOVA 0x%llx faulted (0x%llx)",
                   qid, (unsigned long long)iova, (unsigned long long)bad);
        return 0;
    }
    decode(e, qid, &c);
    sq->head = (sq->head + 1) % sq->size;
    if (qid == 0)
        nvme_admin_exec(n, &c, &r);
    else
        nvme_io_exec(n, &c, &r);
    /* An admin command never deletes queue 0, so sq and its CQ stand. */
    if (r.post && cq_post(n, &n->cq[cqid], &c, &r, sq->head))
        posted[cqid] = true;
    return cmd_cost(n, &c);
}

bool nvme_run_work(struct nvme *n)
{
    bool posted[MVF_NVME_QUEUES_MAX + 1] = { false };
    uint32_t nq = n->nqueues + 1, cmds = 0, idle = 0;
    uint64_t bytes = 0;

    if (!n->dev)
        return false;
    /* Submissions the host made through the shadow doorbells since the
     * last slice (nothing without Doorbell Buffer Config). */
    nvme_dbbuf_poll(n);
    /* Round robin, one command per queue per turn, from where the last
     * slice stopped: a full queue cannot starve its neighbours. */
    while (nvme_ready(n) && idle < nq && cmds < MVF_NVME_SLICE_CMDS &&
           bytes < MVF_NVME_SLICE_BYTES) {
        uint16_t qid = (uint16_t)n->rr_next;

        n->rr_next = (n->rr_next + 1) % nq;
        if (!sq_runnable(n, qid)) {
            idle++;
            continue;
        }
        idle = 0;
        bytes += sq_run_one(n, qid, posted);
        cmds++;
    }
    /* One interrupt per completion queue per slice (coalesced). */
    for (uint32_t q = 0; q < nq; q++)
        if (posted[q] && n->cq[q].size)
            cq_raise(n, &n->cq[q]);
    if (work_left(n))
        return true;
    /* Out of work: from now on the host must ring MMIO doorbells; what
     * it submitted just before that is found by arm's last look, and if
     * that look moved a queue, another slice runs and arms again (the
     * EventIdx written describes the state before it). */
    return nvme_dbbuf_arm(n);
}

/* Doorbell writes that cannot be honoured are ignored and logged, the
 * way Linux's own drivers expect a controller to shrug them off. */
static bool doorbell_ok(struct nvme *n, const char *kind, uint32_t qid,
                        bool exists)
{
    if (!n->dev)
        return false;   /* not attached to a core: no DMA possible */
    if (!nvme_ready(n)) {
        nvme_warn(n, "%s %u doorbell while the controller is %s: ignored",
                  kind, qid, (n->csts & NVME_CSTS_CFS) ? "failed" : "disabled");
        return false;
    }
    if (!exists) {
        nvme_warn(n, "%s %u doorbell: no such queue: ignored", kind, qid);
        return false;
    }
    return true;
}

bool nvme_sq_set_tail(struct nvme *n, uint32_t qid, uint32_t value,
                      const char *via)
{
    struct nvme_sq *sq = &n->sq[qid];

    uint32_t pending, next;

    if (value >= sq->size) {
        nvme_warn(n, "SQ %u tail doorbell (%s) %u beyond its %u entries: "
                  "ignored", qid, via, value, sq->size);
        return false;
    }
    /* A tail only moves forward: one that leaves fewer entries between
     * head and tail than there are would withdraw submitted commands
     * (a stale or hostile value; the host cannot take them back). */
    pending = (sq->tail + sq->size - sq->head) % sq->size;
    next = (value + sq->size - sq->head) % sq->size;
    if (next < pending) {
        nvme_warn(n, "SQ %u tail doorbell (%s) %u would withdraw %u of the "
                  "%u entries submitted from %u: ignored", qid, via, value,
                  pending - next, pending, sq->head);
        return false;
    }
    sq->tail = value;
    return true;
}

bool nvme_cq_set_head(struct nvme *n, uint32_t qid, uint32_t value,
                      const char *via)
{
    struct nvme_cq *cq = &n->cq[qid];
    uint32_t used = (cq->tail + cq->size - cq->head) % cq->size;
    uint32_t advance = value < cq->size
                       ? (value + cq->size - cq->head) % cq->size : UINT32_MAX;

    if (advance > used) {
        nvme_warn(n, "CQ %u head doorbell (%s) %u outside the %u entries "
                  "posted from %u: ignored", qid, via, value, used, cq->head);
        return false;
    }
    cq->head = value;
    return true;
}

void nvme_sq_doorbell(struct nvme *n, uint32_t qid, uint32_t value)
{
    struct nvme_sq *sq = qid <= n->nqueues ? &n->sq[qid] : NULL;

    if (!doorbell_ok(n, "SQ", qid, sq && sq->size))
        return;
    /* The host writes this queue's shadow: the ring only says "look"
     * (its value may be older than the shadow's; nvme_dbbuf.c). */
    if (nvme_dbbuf_shadowed(n, qid, true)) {
        mvf_device_work_pending(n->dev);
        return;
    }
    /* With shadow doorbells the CQ may have room the controller has not
     * read yet: the slice looks (and arms the EventIdx again). */
    if (nvme_sq_set_tail(n, qid, value, "MMIO") &&
        (sq_runnable(n, qid) || n->dbbuf.on))
        mvf_device_work_pending(n->dev);
}

void nvme_cq_doorbell(struct nvme *n, uint32_t qid, uint32_t value)
{
    struct nvme_cq *cq = qid <= n->nqueues ? &n->cq[qid] : NULL;

    if (!doorbell_ok(n, "CQ", qid, cq && cq->size))
        return;
    if (nvme_dbbuf_shadowed(n, qid, false)) {
        mvf_device_work_pending(n->dev);
        return;
    }
    if (!nvme_cq_set_head(n, qid, value, "MMIO"))
        return;
    /* Room again: SQs that stopped on a full CQ resume. */
    for (uint32_t q = 0; q <= n->nqueues; q++) {
        if (n->sq[q].cqid == qid && sq_runnable(n, q)) {
            mvf_device_work_pending(n->dev);
            break;
        }
    }
}
