/* SPDX-License-Identifier: MIT */
/*
 * One device's load must not stall another client (issue #8): a real
 * macvfiod serving a file-backed sim:nvme and a 1 GiB sim:dmatest.  A
 * hostile client keeps every I/O queue of the nvme full of 4 MiB reads
 * and 32 MiB Write Zeroes and rings the doorbells for a while, or fills
 * 64 MiB of the 1 GiB window and reads WIN_SUM over and over, asking
 * for the whole window; meanwhile a neighbour on
 * the other device must see each of its calls answered within the
 * bound, and afterwards the daemon is up with nothing left mapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "nvme_driver.h"
#include "dmatest.h"
#include "nvme.h"

#define PG          4096u
#define DISK_SIZE   (64u << 20)
#define NVME_DEV    0u
#define DMATEST_DEV 1u
#define IOQS        4u                     /* queues=4 */
#define QSIZE       (MVF_NVME_MQES + 1)    /* 1024 entries: 1023 in flight */
#define HOSTILE_SECONDS 1.5

/* The hostile client's memory, all mapped at one IOVA. */
#define ASQ_OFF     0x0000u
#define ACQ_OFF     0x1000u
#define LIST_OFF    0x2000u                /* PRP list: 3 pages */
#define SQ_OFF(q)   (0x10000u + ((q) - 1) * 0x10000u)  /* 64 KiB each */
#define CQ_OFF(q)   (0x50000u + ((q) - 1) * 0x4000u)   /* 16 KiB each */
#define DATA_OFF    0x100000u              /* 4 MiB, every read's target */
#define MEM_SIZE    (DATA_OFF + MVF_NVME_MAX_XFER)

static struct test_daemon daemon_;
static char disk_path[64];

static int start(void **state)
{
    static char spec[128];
    const char *args[] = { "--device", spec,
                           "--device", "sim:dmatest,window=1G", NULL };

    if (test_disk_file(disk_path, sizeof(disk_path), "isolation", DISK_SIZE))
        return -1;
    snprintf(spec, sizeof(spec), "sim:nvme,file=%s,queues=%u", disk_path,
             IOQS);
    return test_daemon_start(&daemon_, args);
}

static int stop(void **state)
{
    int rc = test_daemon_stop(&daemon_);

    unlink(disk_path);
    return rc;
}

static double now_s(void)
{
    return (double)test_now_us() / 1e6;
}

/* The figures to compare with: the same neighbour on an idle daemon. */
static void test_idle_baseline(void **state)
{
    struct test_probe *p = test_probe_start(&daemon_, DMATEST_DEV);

    usleep(500 * 1000);
    test_probe_check(p, "no load (baseline)");
    test_assert_daemon_clean(&daemon_, 2);
}

/* ---- the hostile nvme client -------------------------------------------- */

struct hostile {
    struct nvme_drv n;
    int memfd;
    uint64_t handle, iova;
    struct nvme_hq aq, q[IOQS + 1];
    uint64_t prp1, prp2;            /* the 4 MiB buffer, as a PRP list */
    uint32_t inflight[IOQS + 1];    /* submitted, not yet completed */
    uint64_t doorbells;
};

static void hostile_open(struct hostile *x)
{
    uint64_t list = LIST_OFF;

    memset(x, 0, sizeof(*x));
    nvme_drv_open(&x->n, &daemon_, NVME_DEV, IOQS + 1);
    x->memfd = test_sealed_memfd(MEM_SIZE);
    x->n.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                    x->memfd, 0);
    assert_true(x->n.mem != MAP_FAILED);
    assert_int_equal(mvf_dma_register_fd(x->n.h, x->memfd, 0, MEM_SIZE,
                                         &x->handle), 0);
    assert_int_equal(mvf_dma_map(x->n.h, x->handle, 0, MEM_SIZE,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &x->iova), 0);
    /* PRP1 the first page, then a list of the other 1023, chained after
     * 511 entries per page. */
    x->prp1 = x->iova + DATA_OFF;
    x->prp2 = x->iova + LIST_OFF;
    for (uint32_t i = 1; i < MVF_NVME_MAX_XFER / PG; i++) {
        /* A page's last slot chains when more than one entry is left. */
        if ((list + 8) % PG == 0 && i + 1 < MVF_NVME_MAX_XFER / PG) {
            nvme_put_le64(x->n.mem + list, x->iova + list + 8);
            list += 8;
        }
        nvme_put_le64(x->n.mem + list, x->iova + DATA_OFF + (uint64_t)i * PG);
        list += 8;
    }
    nvme_drv_enable(&x->n, &x->aq, 32, ASQ_OFF, x->iova + ASQ_OFF, ACQ_OFF,
                    x->iova + ACQ_OFF);
    for (uint16_t q = 1; q <= IOQS; q++)
        nvme_drv_create_pair(&x->n, &x->aq, &x->q[q], q, QSIZE, SQ_OFF(q),
                             x->iova + SQ_OFF(q), CQ_OFF(q),
                             x->iova + CQ_OFF(q));
}

/* Takes what completed, then fills the SQ up to the CQ's capacity with
 * 4 MiB reads and, every fourth entry, a 32 MiB Write Zeroes. */
static void hostile_refill(struct hostile *x, struct nvme_hq *q)
{
    uint8_t c[NVME_SQE_SIZE];
    uint32_t reaped = 0;

    while (nvme_drv_cqe_ready(&x->n, q)) {
        nvme_drv_pop(&x->n, q);
        reaped++;
    }
    if (reaped)
        nvme_drv_cq_doorbell(&x->n, q);
    x->inflight[q->qid] -= reaped;
    /* At most what the CQ holds: then the SQ cannot overflow either. */
    while (x->inflight[q->qid] < QSIZE - 1) {
        if (q->sq_tail % 4 == 3) {
            nvme_sqe_rw(c, NVME_IO_WRITE_ZEROES, 0, 32u << 20);
        } else {
            nvme_sqe_rw(c, NVME_IO_READ, 0, MVF_NVME_MAX_XFER);
            nvme_sqe_prp(c, x->prp1, x->prp2);
        }
        nvme_drv_push(&x->n, q, c);
        x->inflight[q->qid]++;
    }
    nvme_drv_ring(&x->n, q);
    x->doorbells++;
}

static void test_nvme_flood(void **state)
{
    struct test_probe *p = test_probe_start(&daemon_, DMATEST_DEV);
    struct hostile x;
    double t0;

    hostile_open(&x);
    t0 = now_s();
    while (now_s() - t0 < HOSTILE_SECONDS)
        for (uint16_t q = 1; q <= IOQS; q++)
            hostile_refill(&x, &x.q[q]);
    printf("# hostile nvme client: %llu doorbells in %.1f s\n",
           (unsigned long long)x.doorbells, now_s() - t0);
    /* It leaves with its queues full: the daemon drops the rest. */
    munmap(x.n.mem, MEM_SIZE);
    close(x.memfd);
    nvme_drv_close(&x.n);
    test_probe_check(p, "a hostile sim:nvme flood (4 MiB reads, Write Zeroes)");
    test_assert_daemon_clean(&daemon_, 2);
}

/* ---- the hostile WIN_SUM reader ----------------------------------------- */

static uint32_t reg_rd(struct mvf_handle *h, uint32_t off)
{
    uint64_t v = 0;

    assert_int_equal(mvf_mmio_read(h, 0, off, 4, &v), 0);
    return (uint32_t)v;
}

static void reg_wr(struct mvf_handle *h, uint32_t off, uint32_t v)
{
    assert_int_equal(mvf_mmio_write(h, 0, off, 4, v), 0);
}

#define FILLED (64u << 20)   /* window bytes the hostile client fills */

static void test_win_sum_flood(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, DMATEST_DEV);
    struct test_probe *p;
    uint64_t reads = 0, size = 0;
    uint8_t *win;
    double t0;

    assert_int_equal(reg_rd(h, MVF_DMATEST_REG_WIN_SIZE_LO), 1u << 30);
    /* Data to sum (holes cost the device nothing to skip). */
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(MVF_DMATEST_WIN_BAR),
                                    (void **)&win, &size, NULL), 0);
    assert_int_equal(size, 1u << 30);
    memset(win, 1, FILLED);
    p = test_probe_start(&daemon_, NVME_DEV);
    t0 = now_s();
    /* The whole window asked for, from all over the filled part. */
    while (now_s() - t0 < HOSTILE_SECONDS) {
        reg_wr(h, MVF_DMATEST_REG_WIN_SUM_OFFSET,
               (uint32_t)(reads * 0x123457u) % (FILLED - MVF_DMATEST_MAX_SUM));
        reg_wr(h, MVF_DMATEST_REG_WIN_SUM_LEN, UINT32_MAX);
        reg_rd(h, MVF_DMATEST_REG_WIN_SUM);
        reg_wr(h, MVF_DMATEST_REG_WIN_SUM_OFFSET, 0);
        reg_wr(h, MVF_DMATEST_REG_WIN_SUM_LEN, 0);
        reg_rd(h, MVF_DMATEST_REG_WIN_SUM);
        reads += 2;
    }
    printf("# hostile WIN_SUM reader: %llu reads in %.1f s\n",
           (unsigned long long)reads, now_s() - t0);
    assert_int_equal(mvf_unmap_memory(h, win, size), 0);
    mvf_close(h);
    test_probe_check(p, "WIN_SUM reads of a 1 GiB sim:dmatest window");
    test_assert_daemon_clean(&daemon_, 2);
}

/* The bounded WIN_SUM still tells what the device sees: a sum range
 * picks out bytes written through the window's mapping. */
static void test_win_sum_range(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, DMATEST_DEV);
    const uint32_t at = (1u << 30) - 2 * PG;

    assert_int_equal(mvf_mmio_write(h, 2, at, 4, 0x01020304), 0);
    assert_int_equal(mvf_mmio_write(h, 2, 16, 1, 0x20), 0);
    reg_wr(h, MVF_DMATEST_REG_WIN_SUM_OFFSET, at);
    reg_wr(h, MVF_DMATEST_REG_WIN_SUM_LEN, 2 * PG);
    assert_int_equal(reg_rd(h, MVF_DMATEST_REG_WIN_SUM), 10);
    /* Past the end sums nothing; the reset range is the first 4 MiB. */
    reg_wr(h, MVF_DMATEST_REG_WIN_SUM_OFFSET, 1u << 30);
    assert_int_equal(reg_rd(h, MVF_DMATEST_REG_WIN_SUM), 0);
    reg_wr(h, MVF_DMATEST_REG_WIN_SUM_OFFSET, 0);
    reg_wr(h, MVF_DMATEST_REG_WIN_SUM_LEN, 0);
    assert_int_equal(reg_rd(h, MVF_DMATEST_REG_WIN_SUM), 0x20);
    mvf_close(h);
    test_assert_daemon_clean(&daemon_, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_baseline),
        cmocka_unit_test(test_nvme_flood),
        cmocka_unit_test(test_win_sum_flood),
        cmocka_unit_test(test_win_sum_range),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
