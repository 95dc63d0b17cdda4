/* SPDX-License-Identifier: MIT */
/* The integration tests' userspace NVMe driver (see nvme_driver.h). */
#include "nvme_driver.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

void nvme_drv_open(struct nvme_drv *d, struct test_daemon *daemon,
                   uint32_t index, uint32_t nvec)
{
    uint32_t cmd;

    assert_true(nvec >= 1 && nvec <= NVME_DRV_NVEC_MAX);
    memset(d, 0, sizeof(*d));
    d->h = test_open_claimed(daemon, index);
    assert_int_equal(mvf_config_read(d->h, 0x04, 2, &cmd), 0);
    assert_int_equal(mvf_config_write(d->h, 0x04, 2, cmd | 0x6), 0);
    for (uint32_t i = 0; i < nvec; i++) {
        d->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(d->efd[i] >= 0);
    }
    d->nvec = nvec;
    assert_int_equal(mvf_irq_set_eventfds(d->h, MVF_IRQ_MSIX, 0, nvec,
                                          d->efd), 0);
    d->cid = 0x40;
}

void nvme_drv_close(struct nvme_drv *d)
{
    mvf_close(d->h);
    d->h = NULL;
    for (uint32_t i = 0; i < d->nvec; i++)
        close(d->efd[i]);
    d->nvec = 0;
}

uint32_t nvme_drv_rd32(struct nvme_drv *d, uint32_t off)
{
    uint64_t v = 0;

    assert_int_equal(mvf_mmio_read(d->h, 0, off, 4, &v), 0);
    return (uint32_t)v;
}

void nvme_drv_wr32(struct nvme_drv *d, uint32_t off, uint32_t v)
{
    assert_int_equal(mvf_mmio_write(d->h, 0, off, 4, v), 0);
}

void nvme_drv_wr64(struct nvme_drv *d, uint32_t off, uint64_t v)
{
    nvme_drv_wr32(d, off, (uint32_t)v);
    nvme_drv_wr32(d, off + 4, (uint32_t)(v >> 32));
}

/* CC writes take effect at once in sim:nvme, so this is immediate
 * unless something is wrong. */
void nvme_drv_wait_csts(struct nvme_drv *d, uint32_t mask, uint32_t want)
{
    for (int i = 0; i < 100; i++) {
        uint32_t csts = nvme_drv_rd32(d, NVME_REG_CSTS);

        assert_int_equal(csts & NVME_CSTS_CFS, 0);
        if ((csts & mask) == want)
            return;
        usleep(1000);
    }
    fail_msg("CSTS never reached 0x%x under mask 0x%x", want, mask);
}

void nvme_sqe_init(uint8_t *c, uint8_t opc, uint32_t nsid)
{
    memset(c, 0, NVME_SQE_SIZE);
    c[0] = opc;
    nvme_put_le32(c + NVME_SQE_NSID, nsid);
}

void nvme_sqe_dw(uint8_t *c, unsigned n, uint32_t v)
{
    nvme_put_le32(c + 4 * n, v);
}

void nvme_sqe_prp(uint8_t *c, uint64_t prp1, uint64_t prp2)
{
    nvme_put_le64(c + NVME_SQE_PRP1, prp1);
    nvme_put_le64(c + NVME_SQE_PRP2, prp2);
}

void nvme_sqe_rw(uint8_t *c, uint8_t opc, uint64_t slba, uint32_t bytes)
{
    nvme_sqe_init(c, opc, 1);
    nvme_sqe_dw(c, 10, (uint32_t)slba);
    nvme_sqe_dw(c, 11, (uint32_t)(slba >> 32));
    nvme_sqe_dw(c, 12, bytes / 512 - 1);
}

void nvme_drv_enable(struct nvme_drv *d, struct nvme_hq *aq, uint32_t size,
                     uint32_t asq_off, uint64_t asq_iova, uint32_t acq_off,
                     uint64_t acq_iova)
{
    nvme_drv_wr32(d, NVME_REG_CC, 0);
    nvme_drv_wait_csts(d, NVME_CSTS_RDY, 0);
    memset(d->mem + acq_off, 0, (size_t)size * NVME_CQE_SIZE);
    nvme_drv_wr32(d, NVME_REG_AQA, (size - 1) | (size - 1) << 16);
    nvme_drv_wr64(d, NVME_REG_ASQ, asq_iova);
    nvme_drv_wr64(d, NVME_REG_ACQ, acq_iova);
    nvme_drv_wr32(d, NVME_REG_CC, NVME_DRV_CC_IOES);
    assert_int_equal(nvme_drv_rd32(d, NVME_REG_CC), NVME_DRV_CC_IOES);
    nvme_drv_wr32(d, NVME_REG_CC, NVME_DRV_CC_IOES | NVME_CC_EN);
    nvme_drv_wait_csts(d, NVME_CSTS_RDY, NVME_CSTS_RDY);
    *aq = (struct nvme_hq){ .qid = 0, .sq_off = asq_off, .cq_off = acq_off,
                            .size = size, .phase = 1 };
}

void nvme_drv_create_pair(struct nvme_drv *d, struct nvme_hq *aq,
                          struct nvme_hq *q, uint16_t qid, uint32_t size,
                          uint32_t sq_off, uint64_t sq_iova, uint32_t cq_off,
                          uint64_t cq_iova)
{
    uint8_t c[NVME_SQE_SIZE];

    assert_true(qid < d->nvec);
    memset(d->mem + cq_off, 0, (size_t)size * NVME_CQE_SIZE);
    nvme_sqe_init(c, NVME_ADM_CREATE_CQ, 0);
    nvme_sqe_prp(c, cq_iova, 0);
    nvme_sqe_dw(c, 10, qid | (size - 1) << 16);
    nvme_sqe_dw(c, 11, NVME_QUEUE_PC | NVME_CQ_IEN | (uint32_t)qid << 16);
    assert_int_equal(nvme_drv_exec(d, aq, c, NULL), 0);
    nvme_sqe_init(c, NVME_ADM_CREATE_SQ, 0);
    nvme_sqe_prp(c, sq_iova, 0);
    nvme_sqe_dw(c, 10, qid | (size - 1) << 16);
    nvme_sqe_dw(c, 11, NVME_QUEUE_PC | (uint32_t)qid << 16);
    assert_int_equal(nvme_drv_exec(d, aq, c, NULL), 0);
    *q = (struct nvme_hq){ .qid = qid, .sq_off = sq_off, .cq_off = cq_off,
                           .size = size, .phase = 1 };
}

uint16_t nvme_drv_push(struct nvme_drv *d, struct nvme_hq *q, uint8_t *c)
{
    uint16_t cid = d->cid++;

    nvme_put_le16(c + 2, cid);
    memcpy(d->mem + q->sq_off + q->sq_tail * NVME_SQE_SIZE, c, NVME_SQE_SIZE);
    q->sq_tail = (q->sq_tail + 1) % q->size;
    return cid;
}

void nvme_drv_ring(struct nvme_drv *d, struct nvme_hq *q)
{
    nvme_drv_wr32(d, NVME_REG_DBS + 8u * q->qid, q->sq_tail);
}

bool nvme_drv_cqe_ready(const struct nvme_drv *d, const struct nvme_hq *q)
{
    const volatile uint8_t *e = d->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;

    /* The daemon writes the entry concurrently: read the phase once. */
    return (e[NVME_CQE_STATUS] & 1) == q->phase;
}

struct nvme_cqe nvme_drv_pop(struct nvme_drv *d, struct nvme_hq *q)
{
    const uint8_t *e = d->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;
    struct nvme_cqe r;

    if (!nvme_drv_cqe_ready(d, q))
        fail_msg("queue %u: no completion at %u", q->qid, q->cq_head);
    r.dw0 = nvme_get_le32(e + NVME_CQE_DW0);
    r.sqhd = nvme_get_le16(e + NVME_CQE_SQHD);
    r.cid = nvme_get_le16(e + NVME_CQE_CID);
    r.status = nvme_get_le16(e + NVME_CQE_STATUS) >> 1;
    assert_int_equal(nvme_get_le16(e + NVME_CQE_SQID), q->qid);
    if (++q->cq_head == q->size) {
        q->cq_head = 0;
        q->phase ^= 1;
    }
    return r;
}

void nvme_drv_cq_doorbell(struct nvme_drv *d, struct nvme_hq *q)
{
    nvme_drv_wr32(d, NVME_REG_DBS + 8u * q->qid + 4, q->cq_head);
}

uint16_t nvme_drv_exec(struct nvme_drv *d, struct nvme_hq *q, uint8_t *c,
                       uint32_t *dw0)
{
    uint16_t cid = nvme_drv_push(d, q, c);
    struct nvme_cqe r;

    nvme_drv_ring(d, q);
    assert_true(q->qid < d->nvec);
    /* The daemon runs commands after the doorbell call returns; an
     * interrupt may still be counted from earlier slices. */
    while (!nvme_drv_cqe_ready(d, q))
        assert_true(test_wait_eventfd(d->efd[q->qid], 5000) >= 1);
    r = nvme_drv_pop(d, q);
    nvme_drv_cq_doorbell(d, q);
    assert_int_equal(r.cid, cid);
    if (dw0)
        *dw0 = r.dw0;
    return r.status;
}
