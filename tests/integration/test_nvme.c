/* SPDX-License-Identifier: MIT */
/*
 * A minimal userspace NVMe driver over libmacvfio, against a real
 * macvfiod serving "sim:nvme,file=...": bus mastering, MSI-X through
 * eventfds, a memfd registered for DMA and mapped at IOVAs the daemon
 * picks (the data area one 16 KiB granule at a time, so buffers are
 * scattered), admin and one I/O queue pair, Identify, several hundred
 * KiB written with PRP lists and read back, the backing file checked
 * on disk, a DMA fault turned into an NVMe error, shutdown, and no
 * mapping left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "nvme_driver.h"
#include "nvme.h"
#include "nvme_defs.h"

#define G         MVF_DART_GRANULE
#define PG        4096u
#define DISK_SIZE (32u << 20)
#define SERIAL    "INTEG-NVME-1"

/* Client memory: a control area mapped at once, then the data area
 * mapped one granule per mapping. */
#define MEM_SIZE  (4u << 20)
#define CTL_SIZE  (256u << 10)
#define ASQ_OFF   0x0000
#define ACQ_OFF   0x1000
#define IOSQ_OFF  0x2000
#define IOCQ_OFF  0x3000
#define LIST_OFF  0x4000      /* 8 pages of PRP lists */
#define ID_OFF    0xc000
#define DBB_OFF   0x10000     /* shadow doorbells (Doorbell Buffer Config) */
#define EIB_OFF   0x11000     /* EventIdx */
#define DATA_OFF  CTL_SIZE
#define DATA_SIZE (2u << 20)
#define DATA_MAPS (DATA_SIZE / G)
#define WBUF_OFF  DATA_OFF                    /* 1 MiB to write from */
#define RBUF_OFF  (DATA_OFF + (1u << 20))     /* 1 MiB to read into */
#define XFER      (768u << 10)                /* the pattern */
#define SLBA      2048u                       /* 1 MiB into the disk */

#define AQ_SIZE   32
#define IOQ_SIZE  64

static struct test_daemon daemon_;
static char disk_path[64];

struct drv {
    struct nvme_drv n;
    int memfd;
    uint64_t handle, ctl_iova, data_iova[DATA_MAPS];
    struct nvme_hq aq, ioq;
};

static int start(void **state)
{
    static char spec[128];
    const char *args[] = { "--device", spec, NULL };

    if (test_disk_file(disk_path, sizeof(disk_path), "nvme-disk", DISK_SIZE))
        return -1;
    snprintf(spec, sizeof(spec), "sim:nvme,file=%s,queues=2,serial=" SERIAL,
             disk_path);
    return test_daemon_start(&daemon_, args);
}

static int stop(void **state)
{
    int rc = test_daemon_stop(&daemon_);

    unlink(disk_path);
    return rc;
}

/* ---- memory ------------------------------------------------------------ */

/* IOVA of a client memory offset. */
static uint64_t iova(const struct drv *d, uint32_t off)
{
    if (off < CTL_SIZE)
        return d->ctl_iova + off;
    assert_true(off < DATA_OFF + DATA_SIZE);
    return d->data_iova[(off - DATA_OFF) / G] + (off - DATA_OFF) % G;
}

static void map_memory(struct drv *d)
{
    struct mvf_dma_map_req req[DATA_MAPS];
    struct mvf_dma_map_res res[DATA_MAPS];

    d->memfd = test_sealed_memfd(MEM_SIZE);
    d->n.mem = test_map_memfd(d->memfd, MEM_SIZE);
    assert_int_equal(test_dma_register(d->n.h, d->memfd, d->n.mem, MEM_SIZE,
                                       &d->handle), 0);
    assert_int_equal(mvf_dma_map(d->n.h, d->handle, 0, CTL_SIZE,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &d->ctl_iova), 0);
    /* The data area backwards, one granule each: neighbouring pages of
     * client memory are not neighbours in IOVA space. */
    for (uint32_t i = 0; i < DATA_MAPS; i++) {
        uint32_t g = DATA_MAPS - 1 - i;

        req[i] = (struct mvf_dma_map_req){ .handle = d->handle,
            .offset = DATA_OFF + (uint64_t)g * G, .length = G,
            .flags = MVF_DMA_READ | MVF_DMA_WRITE };
    }
    assert_int_equal(mvf_dma_map_batch(d->n.h, req, res, DATA_MAPS), 0);
    for (uint32_t i = 0; i < DATA_MAPS; i++) {
        assert_int_equal(res[i].status, 0);
        d->data_iova[DATA_MAPS - 1 - i] = res[i].iova;
    }
}

static void unmap_memory(struct drv *d)
{
    struct mvf_dma_unmap_req req[DATA_MAPS + 1];
    int32_t st[DATA_MAPS + 1];

    for (uint32_t i = 0; i < DATA_MAPS; i++)
        req[i] = (struct mvf_dma_unmap_req){ d->data_iova[i], G };
    req[DATA_MAPS] = (struct mvf_dma_unmap_req){ d->ctl_iova, CTL_SIZE };
    assert_int_equal(mvf_dma_unmap_batch(d->n.h, req, st, DATA_MAPS + 1), 0);
    for (uint32_t i = 0; i <= DATA_MAPS; i++)
        assert_int_equal(st[i], 0);
    assert_int_equal(mvf_dma_unregister(d->n.h, d->handle), 0);
    munmap(d->n.mem, MEM_SIZE);
    close(d->memfd);
}

/* ---- bring-up ------------------------------------------------------------ */

static void drv_open(struct drv *d)
{
    memset(d, 0, sizeof(*d));
    nvme_drv_open(&d->n, &daemon_, 0, 2);
    map_memory(d);
}

static void drv_enable(struct drv *d)
{
    uint64_t cap = 0;

    assert_int_equal(mvf_mmio_read(d->n.h, 0, NVME_REG_CAP, 8, &cap), 0);
    assert_int_equal(cap & 0xffff, MVF_NVME_MQES);
    assert_int_equal((cap >> 32) & 0xf, 0);             /* doorbell stride 4 */
    assert_int_equal(nvme_drv_rd32(&d->n, NVME_REG_VS), 0x00010400);
    nvme_drv_enable(&d->n, &d->aq, AQ_SIZE, ASQ_OFF, iova(d, ASQ_OFF),
                    ACQ_OFF, iova(d, ACQ_OFF));
}

static void drv_identify(struct drv *d)
{
    const uint8_t *id = d->n.mem + ID_OFF;
    uint8_t c[NVME_SQE_SIZE];
    uint32_t dw0 = 0;

    nvme_sqe_init(c, NVME_ADM_IDENTIFY, 0);
    nvme_sqe_prp(c, iova(d, ID_OFF), 0);
    nvme_sqe_dw(c, 10, NVME_CNS_CTRL);
    assert_int_equal(nvme_drv_exec(&d->n, &d->aq, c, NULL), 0);
    assert_int_equal(nvme_get_le16(id + NVME_IDC_VID), MVF_NVME_VENDOR_ID);
    assert_memory_equal(id + NVME_IDC_SN, SERIAL "        ", 20);
    assert_int_equal(id[NVME_IDC_MDTS], MVF_NVME_MDTS);
    assert_int_equal(nvme_get_le32(id + NVME_IDC_NN), 1);
    assert_int_equal(id[NVME_IDC_SQES], 0x66);

    nvme_sqe_init(c, NVME_ADM_IDENTIFY, 1);
    nvme_sqe_prp(c, iova(d, ID_OFF), 0);
    nvme_sqe_dw(c, 10, NVME_CNS_NS);
    assert_int_equal(nvme_drv_exec(&d->n, &d->aq, c, NULL), 0);
    assert_int_equal(nvme_get_le64(id + NVME_IDNS_NSZE), DISK_SIZE / 512);
    assert_int_equal((nvme_get_le32(id + NVME_IDNS_LBAF0) >> 16) & 0xff, 9);

    nvme_sqe_init(c, NVME_ADM_SET_FEAT, 0);
    nvme_sqe_dw(c, 10, NVME_FEAT_NUM_QUEUES);
    nvme_sqe_dw(c, 11, 0);                                   /* one pair, 0-based */
    assert_int_equal(nvme_drv_exec(&d->n, &d->aq, c, &dw0), 0);
    assert_int_equal(dw0, 0x00010001);                  /* queues=2 */
}

static void drv_io_queues(struct drv *d)
{
    nvme_drv_create_pair(&d->n, &d->aq, &d->ioq, 1, IOQ_SIZE, IOSQ_OFF,
                         iova(d, IOSQ_OFF), IOCQ_OFF, iova(d, IOCQ_OFF));
}

static void drv_shutdown(struct drv *d)
{
    uint8_t c[NVME_SQE_SIZE];

    nvme_sqe_init(c, NVME_ADM_DELETE_SQ, 0);
    nvme_sqe_dw(c, 10, 1);
    assert_int_equal(nvme_drv_exec(&d->n, &d->aq, c, NULL), 0);
    nvme_sqe_init(c, NVME_ADM_DELETE_CQ, 0);
    nvme_sqe_dw(c, 10, 1);
    assert_int_equal(nvme_drv_exec(&d->n, &d->aq, c, NULL), 0);
    nvme_drv_wr32(&d->n, NVME_REG_CC, NVME_DRV_CC_IOES | NVME_CC_EN | NVME_CC_SHN_NORMAL);
    nvme_drv_wait_csts(&d->n, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE);
    nvme_drv_wr32(&d->n, NVME_REG_CC, 0);
    nvme_drv_wait_csts(&d->n, NVME_CSTS_RDY, 0);
}

static void drv_close(struct drv *d)
{
    struct mvf_stats st;

    unmap_memory(d);
    assert_int_equal(mvf_get_stats(d->n.h, &st), 0);
    assert_int_equal(st.live_mappings, 0);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.registered_bytes, 0);
    nvme_drv_close(&d->n);
}

/* ---- data path ----------------------------------------------------------- */

/* Builds PRP1/PRP2 for the pages at client offsets pages[0..n), the
 * list (if any) at list_off, chaining into the next list pages. */
static void prp_build(struct drv *d, const uint32_t *pages, uint32_t n,
                      uint32_t list_off, uint8_t *c)
{
    uint32_t slot = list_off, i = 1;

    nvme_sqe_prp(c, iova(d, pages[0]), n == 2 ? iova(d, pages[1]) : 0);
    if (n <= 2)
        return;
    nvme_sqe_prp(c, iova(d, pages[0]), iova(d, slot));
    while (i < n) {
        uint32_t slots = (PG - slot % PG) / 8, left = n - i;
        uint32_t ndata = left <= slots ? left : slots - 1;

        for (uint32_t k = 0; k < ndata; k++)
            nvme_put_le64(d->n.mem + slot + 8 * k, iova(d, pages[i++]));
        if (i < n) {
            uint32_t next = slot / PG * PG + PG;

            nvme_put_le64(d->n.mem + slot + 8 * (slots - 1), iova(d, next));
            slot = next;
        }
    }
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

/* Three writes (512 + 128 + 128 KiB) in one doorbell, each a PRP list
 * over scattered pages of the write buffer; returns the pattern as it
 * should be on disk. */
static void write_pattern(struct drv *d, uint8_t *want)
{
    static const uint32_t sizes[3] = { 512u << 10, 128u << 10, 128u << 10 };
    uint32_t pages[XFER / PG], done = 0;
    uint16_t cids[3];
    uint8_t c[NVME_SQE_SIZE];

    fill(d->n.mem + WBUF_OFF, XFER, 0xc0ffee);
    for (uint32_t i = 0; i < XFER / PG; i++) {
        pages[i] = WBUF_OFF + (i * 37 % (XFER / PG)) * PG;
        memcpy(want + i * PG, d->n.mem + pages[i], PG);
    }
    for (unsigned k = 0; k < 3; k++) {
        nvme_sqe_rw(c, NVME_IO_WRITE, SLBA + done / 512, sizes[k]);
        prp_build(d, pages + done / PG, sizes[k] / PG, LIST_OFF + k * PG, c);
        cids[k] = nvme_drv_push(&d->n, &d->ioq, c);
        done += sizes[k];
    }
    nvme_drv_ring(&d->n, &d->ioq);
    for (unsigned k = 0; k < 3; k++) {
        struct nvme_cqe r;

        /* The daemon runs them in slices: an interrupt per slice. */
        while (!nvme_drv_cqe_ready(&d->n, &d->ioq))
            assert_true(test_wait_eventfd(d->n.efd[1], 5000) >= 1);
        r = nvme_drv_pop(&d->n, &d->ioq);

        assert_int_equal(r.cid, cids[k]);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.sqhd, (d->ioq.sq_tail + IOQ_SIZE - 2 + k) % IOQ_SIZE);
    }
    nvme_drv_cq_doorbell(&d->n, &d->ioq);
}

/* Reads the pattern back into the read buffer, scattered differently:
 * 512 KiB with a page-aligned list, then 256 KiB with a list starting
 * 4 entries before the end of its page (so it chains). */
static void read_pattern(struct drv *d, uint8_t *got)
{
    uint32_t pages[XFER / PG];
    uint8_t c[NVME_SQE_SIZE];

    memset(d->n.mem + RBUF_OFF, 0, XFER);
    for (uint32_t i = 0; i < XFER / PG; i++)
        pages[i] = RBUF_OFF + (i * 53 % (XFER / PG)) * PG;
    nvme_sqe_rw(c, NVME_IO_READ, SLBA, 512u << 10);
    prp_build(d, pages, 128, LIST_OFF, c);
    assert_int_equal(nvme_drv_exec(&d->n, &d->ioq, c, NULL), 0);
    nvme_sqe_rw(c, NVME_IO_READ, SLBA + 1024, 256u << 10);
    prp_build(d, pages + 128, 64, LIST_OFF + 2 * PG + PG - 32, c);
    assert_int_equal(nvme_drv_exec(&d->n, &d->ioq, c, NULL), 0);
    for (uint32_t i = 0; i < XFER / PG; i++)
        memcpy(got + i * PG, d->n.mem + pages[i], PG);
}

/* ---- tests --------------------------------------------------------------- */

static void test_identity(void **state)
{
    struct mvf_device_info info;
    struct mvf_handle *h;
    uint64_t size;
    uint32_t flags, count;

    assert_int_equal(test_connect(&daemon_, &h), 0);
    /* The dext names the function as IOKit does, not by its sim spec. */
    if (test_transport_iokit())
        assert_int_equal(mvf_device_open(h, 0), 0);
    else
        assert_int_equal(mvf_device_open_spec(h, "sim:nvme"), 0);
    assert_int_equal(mvf_device_get_info(h, &info), 0);
    assert_int_equal(info.vendor_id, MVF_NVME_VENDOR_ID);
    assert_int_equal(info.device_id, MVF_NVME_DEVICE_ID);
    assert_int_equal(info.class_code, MVF_NVME_CLASS);
    assert_int_equal(mvf_claim(h), 0);
    assert_int_equal(mvf_bar_info(h, 0, &size, &flags), 0);
    assert_int_equal(size, MVF_NVME_BAR_SIZE);
    assert_true(flags & MVF_BAR_64BIT);
    /* macvfiod traps sim:nvme's registers; the dext lets a 16 KiB BAR be
     * mapped, as VFIO does. */
    if (!test_transport_iokit())
        assert_false(flags & MVF_BAR_MAPPABLE);
    assert_int_equal(mvf_irq_info(h, MVF_IRQ_MSIX, &count, &flags), 0);
    assert_int_equal(count, 3);                         /* queues=2 */
    mvf_close(h);
}

static void test_write_read_back(void **state)
{
    uint8_t *want = malloc(XFER), *got = malloc(XFER), *disk = malloc(XFER + 2 * PG);
    uint8_t c[NVME_SQE_SIZE];
    struct mvf_stats st;
    struct drv d;
    int fd;

    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(disk);
    drv_open(&d);
    drv_enable(&d);
    drv_identify(&d);
    drv_io_queues(&d);
    write_pattern(&d, want);
    read_pattern(&d, got);
    assert_memory_equal(got, want, XFER);
    nvme_sqe_init(c, NVME_IO_FLUSH, 1);
    assert_int_equal(nvme_drv_exec(&d.n, &d.ioq, c, NULL), 0);

    /* The backing file holds exactly the pattern, zeroes around it. */
    fd = open(disk_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, disk, XFER + 2 * PG, SLBA * 512 - PG),
                     XFER + 2 * PG);
    close(fd);
    assert_memory_equal(disk + PG, want, XFER);
    for (uint32_t i = 0; i < PG; i++) {
        assert_int_equal(disk[i], 0);
        assert_int_equal(disk[PG + XFER + i], 0);
    }

    assert_int_equal(mvf_get_stats(d.n.h, &st), 0);
    assert_int_equal(st.dma_faults, 0);
    assert_true(st.irqs_delivered >= 9);    /* 5 admin, 4 I/O slices or more */
    drv_shutdown(&d);
    drv_close(&d);
    free(want);
    free(got);
    free(disk);
}

/* An IOVA the client never mapped: the command fails with Data Transfer
 * Error, the daemon counts the fault, and the controller carries on. */
static void test_dma_fault(void **state)
{
    uint8_t c[NVME_SQE_SIZE];
    struct mvf_stats st0, st;
    struct drv d;

    drv_open(&d);
    drv_enable(&d);
    drv_io_queues(&d);
    assert_int_equal(mvf_get_stats(d.n.h, &st0), 0);
    nvme_sqe_rw(c, NVME_IO_READ, 0, PG);
    nvme_sqe_prp(c, d.ctl_iova + (512ull << 20), 0);
    assert_int_equal(nvme_drv_exec(&d.n, &d.ioq, c, NULL),
                     NVME_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR) |
                     NVME_DNR);
    assert_int_equal(mvf_get_stats(d.n.h, &st), 0);
    /* On macOS the DART's fault is the kernel's: the dext never sees it. */
    if (!test_transport_iokit())
        assert_int_equal(st.dma_faults, st0.dma_faults + 1);
    nvme_sqe_rw(c, NVME_IO_READ, SLBA, PG);
    nvme_sqe_prp(c, iova(&d, RBUF_OFF), 0);
    assert_int_equal(nvme_drv_exec(&d.n, &d.ioq, c, NULL), 0);
    drv_shutdown(&d);
    drv_close(&d);
}

/* A client that vanishes with live queues and mappings: the daemon
 * cleans up, and the next client finds a disabled controller with the
 * data still on it. */
static void test_owner_gone(void **state)
{
    uint8_t c[NVME_SQE_SIZE], first[PG];
    struct mvf_stats st;
    struct drv d;

    drv_open(&d);
    drv_enable(&d);
    drv_io_queues(&d);
    fill(d.n.mem + WBUF_OFF, PG, 99);
    memcpy(first, d.n.mem + WBUF_OFF, PG);
    nvme_sqe_rw(c, NVME_IO_WRITE, 8, PG);
    nvme_sqe_prp(c, iova(&d, WBUF_OFF), 0);
    assert_int_equal(nvme_drv_exec(&d.n, &d.ioq, c, NULL), 0);
    munmap(d.n.mem, MEM_SIZE);
    close(d.memfd);
    nvme_drv_close(&d.n);               /* no shutdown, nothing unmapped */

    drv_open(&d);
    assert_int_equal(nvme_drv_rd32(&d.n, NVME_REG_CSTS), 0);
    assert_int_equal(nvme_drv_rd32(&d.n, NVME_REG_CC), 0);
    drv_enable(&d);
    drv_io_queues(&d);
    nvme_sqe_rw(c, NVME_IO_READ, 8, PG);
    nvme_sqe_prp(c, iova(&d, RBUF_OFF), 0);
    assert_int_equal(nvme_drv_exec(&d.n, &d.ioq, c, NULL), 0);
    assert_memory_equal(d.n.mem + RBUF_OFF, first, PG);
    drv_shutdown(&d);
    drv_close(&d);

    /* A fresh session sees nothing left mapped. */
    d.n.h = test_open_claimed(&daemon_, 0);
    assert_int_equal(mvf_get_stats(d.n.h, &st), 0);
    assert_int_equal(st.live_mappings, 0);
    mvf_close(d.n.h);
}

/* Posted doorbells and shadow doorbells, as Linux's nvme uses them: a
 * ring is sent (posted), then the next submissions go to the shadow
 * page.  The device reads the shadow from client memory at once, while
 * a posted ring waits for its turn on the socket: taken when it comes,
 * it would move the tail a lap back, and the controller would run the
 * stale entries of the whole queue again.  The daemon is
 * stopped while the client posts, so all the rings wait in its socket
 * when it resumes: its first slice takes the shadow after one ring, and
 * the rings after it are late.  Before sim:nvme took a shadowed queue's
 * rings for wake-ups only (nvme_dbbuf.c), it ran them as new laps. */
static void test_posted_rings_and_shadow(void **state)
{
    enum { N = 40 };
    bool done[N] = { false };
    uint8_t c[NVME_SQE_SIZE];
    uint16_t first_cid, cid;
    struct nvme_cqe r;
    unsigned got = 0;
    struct mvf_stats st;
    struct drv d;

    if (test_transport_iokit())
        skip();                 /* the IOKit transport posts nothing */
    drv_open(&d);
    assert_true(mvf_features(d.n.h) & MVF_FEAT_POSTED_WRITE);
    drv_enable(&d);
    drv_io_queues(&d);
    memset(d.n.mem + DBB_OFF, 0, 2 * PG);
    nvme_sqe_init(c, NVME_ADM_DBBUF_CONFIG, 0);
    nvme_sqe_prp(c, iova(&d, DBB_OFF), iova(&d, EIB_OFF));
    assert_int_equal(nvme_drv_exec(&d.n, &d.aq, c, NULL), 0);

    first_cid = d.n.cid;
    assert_int_equal(kill(daemon_.pid, SIGSTOP), 0);
    for (unsigned i = 0; i < N; i++) {
        nvme_sqe_rw(c, NVME_IO_READ, SLBA + i, 512);
        nvme_sqe_prp(c, iova(&d, RBUF_OFF + i * PG), 0);
        nvme_drv_push(&d.n, &d.ioq, c);
        /* Shadow first, then the ring (nvme_dbbuf_update_and_check_event;
         * a host may ring every time, the EventIdx only spares rings). */
        nvme_put_le32(d.n.mem + DBB_OFF + 8, d.ioq.sq_tail);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        assert_int_equal(mvf_mmio_write_posted(d.n.h, 0, NVME_REG_DBS + 8,
                                               4, d.ioq.sq_tail), 0);
    }
    assert_int_equal(kill(daemon_.pid, SIGCONT), 0);

    /* Each command completes once, and nothing else does. */
    while (got < N) {
        uint16_t k;

        while (!nvme_drv_cqe_ready(&d.n, &d.ioq))
            assert_true(test_wait_eventfd(d.n.efd[1], 5000) >= 1);
        r = nvme_drv_pop(&d.n, &d.ioq);
        k = (uint16_t)(r.cid - first_cid);
        if (k >= N || done[k])
            fail_msg("completion of CID %u (status 0x%x) after %u of the %u "
                     "commands: a stale ring ran entries again", r.cid,
                     r.status, got, N);
        assert_int_equal(r.status, 0);
        done[k] = true;
        got++;
    }
    nvme_drv_cq_doorbell(&d.n, &d.ioq);
    /* One more command, its ring waited for: the next completion is its
     * own. */
    nvme_sqe_rw(c, NVME_IO_READ, SLBA, 512);
    nvme_sqe_prp(c, iova(&d, RBUF_OFF), 0);
    cid = nvme_drv_push(&d.n, &d.ioq, c);
    nvme_put_le32(d.n.mem + DBB_OFF + 8, d.ioq.sq_tail);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    nvme_drv_ring(&d.n, &d.ioq);
    while (!nvme_drv_cqe_ready(&d.n, &d.ioq))
        assert_true(test_wait_eventfd(d.n.efd[1], 5000) >= 1);
    r = nvme_drv_pop(&d.n, &d.ioq);
    assert_int_equal(r.cid, cid);
    assert_int_equal(r.status, 0);
    assert_int_equal(mvf_get_stats(d.n.h, &st), 0);
    assert_int_equal(st.posted_writes, N);
    assert_int_equal(st.posted_errors, 0);
    drv_shutdown(&d);
    drv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_write_read_back),
        cmocka_unit_test(test_dma_fault),
        cmocka_unit_test(test_owner_gone),
        cmocka_unit_test(test_posted_rings_and_shadow),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
