/* SPDX-License-Identifier: MIT */
/*
 * A userspace NVMe driver over the dext, as a VMM on macOS would run
 * one: sim:nvme behind MacvfioDriver on the DriverKit double, client
 * memory registered by virtual address and mapped at IOVAs the system
 * assigns (the data area one granule per mapping, backwards, so buffers
 * are scattered in IOVA space), MSI-X through the state page and async
 * completions.  Proves the admin queue, Identify, I/O queue creation, a
 * write then a read back of verified data through PRP lists, a DMA
 * fault turned into an NVMe error, and that closing leaves nothing
 * mapped or prepared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dext_client.h"
#include "nvme.h"
#include "nvme_defs.h"

#define G        MVF_DART_GRANULE
#define PG       4096u
#define SERIAL   "DEXT-NVME-1"

#define MEM_SIZE  (2u << 20)
#define CTL_SIZE  (128u << 10)   /* queues, PRP lists, identify: one mapping */
#define ASQ_OFF   0x0000
#define ACQ_OFF   0x1000
#define IOSQ_OFF  0x2000
#define IOCQ_OFF  0x3000
#define LIST_OFF  0x4000         /* two pages of PRP lists */
#define ID_OFF    0x8000
#define DATA_OFF  CTL_SIZE
#define DATA_SIZE (1u << 20)
#define DATA_MAPS (DATA_SIZE / G)
#define WBUF_OFF  DATA_OFF
#define RBUF_OFF  (DATA_OFF + DATA_SIZE / 2)
#define XFER      (256u << 10)
#define SLBA      4096u

#define AQ_SIZE   16
#define IOQ_SIZE  32

struct hq {
    uint16_t qid;
    uint32_t sq_off, cq_off, size, sq_tail, cq_head;
    uint8_t phase;
};

struct drv {
    struct rig *rig;
    struct dxc c;
    struct mvf_irq_state *page;
    uint8_t *mem;
    uint64_t handle, ctl_iova, data_iova[DATA_MAPS];
    uint16_t cid;
    struct hq aq, ioq;
};

static int setup(void **state)
{
    *state = rig_start("sim:nvme,size=16M,queues=2,serial=" SERIAL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return rig_stop(*state);
}

static uint32_t rd32(struct drv *d, uint32_t off)
{
    uint64_t v = 0;

    assert_int_equal(dxc_mmio_read(&d->c, 0, off, 4, &v), 0);
    return (uint32_t)v;
}

static void wr32(struct drv *d, uint32_t off, uint32_t v)
{
    assert_int_equal(dxc_mmio_write(&d->c, 0, off, 4, v), 0);
}

static void wr64(struct drv *d, uint32_t off, uint64_t v)
{
    wr32(d, off, (uint32_t)v);
    wr32(d, off + 4, (uint32_t)(v >> 32));
}

static uint64_t iova(const struct drv *d, uint32_t off)
{
    if (off < CTL_SIZE)
        return d->ctl_iova + off;
    assert_true(off < DATA_OFF + DATA_SIZE);
    return d->data_iova[(off - DATA_OFF) / G] + (off - DATA_OFF) % G;
}

static void sqe_init(uint8_t *c, uint8_t opc, uint32_t nsid)
{
    memset(c, 0, NVME_SQE_SIZE);
    c[0] = opc;
    nvme_put_le32(c + NVME_SQE_NSID, nsid);
}

static void sqe_dw(uint8_t *c, unsigned n, uint32_t v)
{
    nvme_put_le32(c + 4 * n, v);
}

static void sqe_prp(uint8_t *c, uint64_t prp1, uint64_t prp2)
{
    nvme_put_le64(c + NVME_SQE_PRP1, prp1);
    nvme_put_le64(c + NVME_SQE_PRP2, prp2);
}

static bool cqe_ready(const struct drv *d, const struct hq *q)
{
    const volatile uint8_t *e = d->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;
    return (e[NVME_CQE_STATUS] & 1) == q->phase;
}

/* Waits for the queue's vector the way a VMM does: a message, then the
 * state page.  The dext's queue runs the device's deferred work. */
static void wait_vector(struct drv *d, uint32_t vec)
{
    for (int round = 0; round < 1000; round++) {
        int32_t status;
        uint64_t args[16];
        uint32_t n;

        rig_run_queue(d->rig);
        while (rig_port_take(d->c.conn, &status, args, &n))
            assert_int_equal(status, 0);
        if (__atomic_fetch_and(&d->page->pending[0], ~(1ull << vec),
                               __ATOMIC_ACQ_REL) & (1ull << vec))
            return;
    }
    fail_msg("vector %u never raised", vec);
}

/* Push, ring, wait for the completion by interrupt, pop; the status. */
static uint16_t exec(struct drv *d, struct hq *q, uint8_t *c, uint32_t *dw0)
{
    uint16_t cid = d->cid++;
    const uint8_t *e;
    uint16_t status;

    nvme_put_le16(c + 2, cid);
    memcpy(d->mem + q->sq_off + q->sq_tail * NVME_SQE_SIZE, c, NVME_SQE_SIZE);
    q->sq_tail = (q->sq_tail + 1) % q->size;
    wr32(d, NVME_REG_DBS + 8u * q->qid, q->sq_tail);
    while (!cqe_ready(d, q))
        wait_vector(d, q->qid);
    e = d->mem + q->cq_off + q->cq_head * NVME_CQE_SIZE;
    assert_int_equal(nvme_get_le16(e + NVME_CQE_CID), cid);
    assert_int_equal(nvme_get_le16(e + NVME_CQE_SQID), q->qid);
    status = nvme_get_le16(e + NVME_CQE_STATUS) >> 1;
    if (dw0)
        *dw0 = nvme_get_le32(e + NVME_CQE_DW0);
    if (++q->cq_head == q->size) {
        q->cq_head = 0;
        q->phase ^= 1;
    }
    wr32(d, NVME_REG_DBS + 8u * q->qid + 4, q->cq_head);
    return status;
}

static void drv_open(struct drv *d, struct rig *r)
{
    struct mvf_dma_map_req req[DATA_MAPS];
    struct mvf_dma_map_res res[DATA_MAPS];
    uint32_t len = sizeof(res);
    uint64_t size, ok = 0;

    memset(d, 0, sizeof(*d));
    d->rig = r;
    d->cid = 0x40;
    dxc_connect_claimed(&d->c, r);
    dxc_bus_master_on(&d->c);
    assert_int_equal(dxc_irq_state(&d->c, MVF_IRQ_MSIX), 0);
    assert_int_equal(dxc_map(&d->c, MVF_MEM_IRQ_STATE, (void **)&d->page,
                             &size, NULL), 0);
    d->mem = dxc_alloc(MEM_SIZE);
    assert_int_equal(dxc_dma_register_va(&d->c, d->mem, MEM_SIZE, &d->handle), 0);
    assert_int_equal(dxc_dma_map(&d->c, d->handle, 0, CTL_SIZE,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &d->ctl_iova), 0);
    for (uint32_t i = 0; i < DATA_MAPS; i++)
        req[i] = (struct mvf_dma_map_req){ d->handle,
            DATA_OFF + (uint64_t)(DATA_MAPS - 1 - i) * G, G,
            MVF_DMA_READ | MVF_DMA_WRITE, 0 };
    assert_int_equal(dxc_call(&d->c, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req,
                              sizeof(req), &ok, 1, res, &len), 0);
    assert_int_equal(ok, DATA_MAPS);
    for (uint32_t i = 0; i < DATA_MAPS; i++) {
        assert_int_equal(res[i].status, 0);
        d->data_iova[DATA_MAPS - 1 - i] = res[i].iova;
    }
}

static void drv_enable(struct drv *d)
{
    const uint32_t cc = NVME_CC_IOSQES_6 | NVME_CC_IOCQES_4;
    uint64_t cap = 0;

    assert_int_equal(dxc_mmio_read(&d->c, 0, NVME_REG_CAP, 8, &cap), 0);
    assert_int_equal(cap & 0xffff, MVF_NVME_MQES);
    assert_int_equal(rd32(d, NVME_REG_VS), 0x00010400);
    wr32(d, NVME_REG_CC, 0);
    assert_int_equal(rd32(d, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
    wr32(d, NVME_REG_AQA, (AQ_SIZE - 1) | (AQ_SIZE - 1) << 16);
    wr64(d, NVME_REG_ASQ, iova(d, ASQ_OFF));
    wr64(d, NVME_REG_ACQ, iova(d, ACQ_OFF));
    wr32(d, NVME_REG_CC, cc);
    wr32(d, NVME_REG_CC, cc | NVME_CC_EN);
    /* sim:nvme applies CC at once. */
    assert_int_equal(rd32(d, NVME_REG_CSTS) & (NVME_CSTS_RDY | NVME_CSTS_CFS),
                     NVME_CSTS_RDY);
    d->aq = (struct hq){ .qid = 0, .sq_off = ASQ_OFF, .cq_off = ACQ_OFF,
                         .size = AQ_SIZE, .phase = 1 };
}

static void drv_identify(struct drv *d)
{
    const uint8_t *id = d->mem + ID_OFF;
    uint8_t c[NVME_SQE_SIZE];
    uint32_t dw0 = 0;

    sqe_init(c, NVME_ADM_IDENTIFY, 0);
    sqe_prp(c, iova(d, ID_OFF), 0);
    sqe_dw(c, 10, NVME_CNS_CTRL);
    assert_int_equal(exec(d, &d->aq, c, NULL), 0);
    assert_int_equal(nvme_get_le16(id + NVME_IDC_VID), MVF_NVME_VENDOR_ID);
    assert_memory_equal(id + NVME_IDC_SN, SERIAL "         ", 20);
    assert_int_equal(nvme_get_le32(id + NVME_IDC_NN), 1);

    sqe_init(c, NVME_ADM_IDENTIFY, 1);
    sqe_prp(c, iova(d, ID_OFF), 0);
    sqe_dw(c, 10, NVME_CNS_NS);
    assert_int_equal(exec(d, &d->aq, c, NULL), 0);
    assert_int_equal(nvme_get_le64(id + NVME_IDNS_NSZE), (16u << 20) / 512);

    sqe_init(c, NVME_ADM_SET_FEAT, 0);
    sqe_dw(c, 10, NVME_FEAT_NUM_QUEUES);
    sqe_dw(c, 11, 0);
    assert_int_equal(exec(d, &d->aq, c, &dw0), 0);
    assert_int_equal(dw0, 0x00010001);
}

static void drv_io_queues(struct drv *d)
{
    uint8_t c[NVME_SQE_SIZE];

    sqe_init(c, NVME_ADM_CREATE_CQ, 0);
    sqe_prp(c, iova(d, IOCQ_OFF), 0);
    sqe_dw(c, 10, 1u | (IOQ_SIZE - 1) << 16);
    sqe_dw(c, 11, NVME_QUEUE_PC | NVME_CQ_IEN | 1u << 16);
    assert_int_equal(exec(d, &d->aq, c, NULL), 0);
    sqe_init(c, NVME_ADM_CREATE_SQ, 0);
    sqe_prp(c, iova(d, IOSQ_OFF), 0);
    sqe_dw(c, 10, 1u | (IOQ_SIZE - 1) << 16);
    sqe_dw(c, 11, NVME_QUEUE_PC | 1u << 16);
    assert_int_equal(exec(d, &d->aq, c, NULL), 0);
    d->ioq = (struct hq){ .qid = 1, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF,
                          .size = IOQ_SIZE, .phase = 1 };
}

/* Read or Write of XFER bytes at buffer `off`: PRP1 the first page,
 * PRP2 a list of the rest (their IOVAs are scattered granule by granule). */
static uint16_t rw(struct drv *d, uint8_t opc, uint32_t off, uint32_t list)
{
    uint8_t c[NVME_SQE_SIZE];
    uint8_t *l = d->mem + list;

    for (uint32_t p = 1; p < XFER / PG; p++)
        nvme_put_le64(l + 8 * (p - 1), iova(d, off + p * PG));
    sqe_init(c, opc, 1);
    sqe_dw(c, 10, SLBA);
    sqe_dw(c, 11, 0);
    sqe_dw(c, 12, XFER / 512 - 1);
    sqe_prp(c, iova(d, off), iova(d, list));
    return exec(d, &d->ioq, c, NULL);
}

static void test_nvme_over_the_dext(void **state)
{
    struct rig_counters k;
    struct drv d;

    drv_open(&d, *state);
    drv_enable(&d);
    drv_identify(&d);
    drv_io_queues(&d);

    for (uint32_t i = 0; i < XFER; i++)
        d.mem[WBUF_OFF + i] = (uint8_t)(i * 13 + (i >> 9));
    assert_int_equal(rw(&d, NVME_IO_WRITE, WBUF_OFF, LIST_OFF), 0);
    memset(d.mem + RBUF_OFF, 0xee, XFER);
    assert_int_equal(rw(&d, NVME_IO_READ, RBUF_OFF, LIST_OFF + PG), 0);
    assert_memory_equal(d.mem + RBUF_OFF, d.mem + WBUF_OFF, XFER);

    /* A PRP entry nobody mapped: the controller reports a transfer
     * error; nothing lands in client memory. */
    {
        uint8_t c[NVME_SQE_SIZE];
        uint64_t hole = d.data_iova[0] + 64 * G;
        int mapped = 0;

        for (uint32_t i = 0; i < DATA_MAPS; i++)
            mapped |= hole >= d.data_iova[i] && hole < d.data_iova[i] + G;
        mapped |= hole >= d.ctl_iova && hole < d.ctl_iova + CTL_SIZE;
        if (!mapped) {
            sqe_init(c, NVME_IO_READ, 1);
            sqe_dw(c, 10, SLBA);
            sqe_dw(c, 12, 7);
            sqe_prp(c, hole, 0);
            assert_int_equal(NVME_STATUS_SC(exec(&d, &d.ioq, c, NULL)),
                             NVME_SC_DATA_XFER_ERROR);
        }
    }

    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, DATA_MAPS + 1);
    dxc_close(&d.c);
    rig_run_queue(*state);
    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, 0);
    assert_int_equal(k.prepare_ok, k.complete_calls);
    assert_false(k.bus_master);
    assert_int_equal(k.rule_violations, 0);
    free(d.mem);
}

/* The namespace keeps its data across sessions (a new client reads back
 * what the first wrote), and the controller comes back disabled. */
static void test_nvme_data_survives_a_session(void **state)
{
    struct drv d;

    drv_open(&d, *state);
    drv_enable(&d);
    drv_io_queues(&d);
    for (uint32_t i = 0; i < XFER; i++)
        d.mem[WBUF_OFF + i] = (uint8_t)(i ^ 0x5a);
    assert_int_equal(rw(&d, NVME_IO_WRITE, WBUF_OFF, LIST_OFF), 0);
    dxc_close(&d.c);
    free(d.mem);

    drv_open(&d, *state);
    assert_int_equal(rd32(&d, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
    drv_enable(&d);
    drv_io_queues(&d);
    assert_int_equal(rw(&d, NVME_IO_READ, RBUF_OFF, LIST_OFF), 0);
    for (uint32_t i = 0; i < XFER; i++)
        if (d.mem[RBUF_OFF + i] != (uint8_t)(i ^ 0x5a))
            fail_msg("byte %u: 0x%02x", i, d.mem[RBUF_OFF + i]);
    dxc_close(&d.c);
    free(d.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nvme_over_the_dext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nvme_data_survives_a_session,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
