/* SPDX-License-Identifier: MIT */
/*
 * sim:dmatest end to end (register layout: sim/dmatest.h): registers,
 * then DMA both ways between a sealed memfd registered with the server
 * and the device's RAM window, at the host-assigned IOVA, each
 * completion signalled by an MSI-X eventfd; then that the DART refuses
 * an unmapped IOVA and an IOVA after unmap.
 *
 * On macOS (the dext, over IOKit) there are no memfds and no eventfds:
 * the memory is anonymous shared memory registered by address, and the
 * interrupt fd is a pipe (libmacvfio writes its write end).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
#include <unistd.h>

#include "selftest.h"
#include "macvfio/dmatest.h"

#define REG_BAR MVF_DMATEST_REG_BAR
#define WIN_BAR MVF_DMATEST_WIN_BAR
#define CMD_MEM_MASTER 0x0006u

struct dma_env {
    struct selftest *t;
    int memfd, efd;          /* memfd: -1 when registered by address */
    int irq_wfd;             /* what the server signals (efd on Linux) */
    uint8_t *mem;            /* the memfd, mapped here */
    uint64_t mem_len;
    uint64_t handle;
    bool registered;
    uint64_t iova, map_len;
    bool mapped;
    uint32_t saved_cmd;
    bool irq_bound;
    uint8_t *win;            /* BAR2 mapping, or NULL: trapped access */
    uint64_t win_len;
};

bool selftest_is_dmatest(const struct mvf_device_info *info)
{
    return info->vendor_id == MVF_DMATEST_VENDOR_ID &&
           info->device_id == MVF_DMATEST_DEVICE_ID;
}

static int reg_read(struct mvf_handle *h, uint32_t reg, uint32_t *v)
{
    uint64_t x = 0;
    int rc = mvf_mmio_read(h, REG_BAR, reg, 4, &x);

    *v = (uint32_t)x;
    return rc;
}

static int reg_write(struct mvf_handle *h, uint32_t reg, uint32_t v)
{
    return mvf_mmio_write(h, REG_BAR, reg, 4, v);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed | 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Window bytes, through the mapping when there is one. */
static int win_read(struct dma_env *e, uint64_t off, uint8_t *dst, size_t n)
{
    if (e->win) {
        memcpy(dst, e->win + off, n);
        return 0;
    }
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        int rc = mvf_mmio_read(e->t->h, WIN_BAR, off + i, 8, &v);
        if (rc < 0)
            return rc;
        memcpy(dst + i, &v, 8);
    }
    return 0;
}

static int win_write(struct dma_env *e, uint64_t off, const uint8_t *src,
                     size_t n)
{
    if (e->win) {
        memcpy(e->win + off, src, n);
        return 0;
    }
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        int rc = mvf_mmio_write(e->t->h, WIN_BAR, off + i, 8, v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Waits for the vector-0 eventfd; returns the count or a negative errno. */
static int64_t wait_irq(struct dma_env *e, int timeout_ms)
{
    struct pollfd pfd = { .fd = e->efd, .events = POLLIN };
    uint64_t n;
    int rc;

    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return -ETIMEDOUT;
    if (read(e->efd, &n, sizeof(n)) != sizeof(n))
        return -errno;
    return (int64_t)n;
}

struct xfer {
    uint64_t iova;
    uint32_t win_off, len, dir;
};

/* Programs one transfer, rings the doorbell, waits for the interrupt.
 * Returns 0 and the STATUS register, or a negative errno. */
static int run_xfer(struct dma_env *e, const struct xfer *x, uint32_t *status,
                    char *why, size_t whylen)
{
    struct mvf_handle *h = e->t->h;
    int64_t n;

    if (reg_write(h, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)x->iova) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(x->iova >> 32)) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DMA_OFFSET, x->win_off) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DMA_LEN, x->len) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DMA_DIR, x->dir) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DMA_VECTOR, 0) < 0 ||
        reg_write(h, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO) < 0 ||
        reg_read(h, MVF_DMATEST_REG_STATUS, status) < 0) {
        snprintf(why, whylen, "%s", mvf_last_error());
        return -EIO;
    }
    n = wait_irq(e, e->t->o->timeout_ms);
    if (n < 0) {
        snprintf(why, whylen, "no MSI-X interrupt within %d ms (%s), STATUS 0x%x",
                 e->t->o->timeout_ms, strerror((int)-n), *status);
        return (int)n;
    }
    return 0;
}

/* Shared memory of len bytes at an address aligned to align. */
static uint8_t *map_aligned(uint64_t len, uint64_t align)
{
    uint8_t *r = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *a;

    if (r == MAP_FAILED)
        return NULL;
    a = (uint8_t *)(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
    if (a > r)
        munmap(r, (size_t)(a - r));
    munmap(a + len, (size_t)(r + align - a));
    return a;
}

static bool setup_memory(struct dma_env *e)
{
    struct selftest *t = e->t;
    uint64_t gran = t->r->info.dma_granule;

    if (gran < 8192 || gran > (1u << 20) || (gran & (gran - 1)))
        return st_check(t, "dma_setup", false, "unusable DMA granule %" PRIu64,
                        gran);
    e->map_len = gran;
    e->mem_len = 2 * gran;  /* the second granule stays unmapped */
    if (!(mvf_features(t->h) & MVF_FEAT_DMA_FD)) {
        /* The dext: client memory by virtual address, granule aligned (the
         * DART maps whole granules; on a Mac a page is one). */
        e->mem = map_aligned(e->mem_len, gran);
        if (!e->mem)
            return st_check(t, "dma_setup", false, "mmap: %s", strerror(errno));
        if (!st_call(t, "dma_register",
                     mvf_dma_register_va(t->h, e->mem, e->mem_len, &e->handle)))
            return false;
    } else {
#ifdef __linux__
        e->memfd = memfd_create("macvfio-selftest",
                                MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (e->memfd < 0 || ftruncate(e->memfd, (off_t)e->mem_len) < 0 ||
            fcntl(e->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
            return st_check(t, "dma_setup", false, "sealed memfd: %s",
                            strerror(errno));
        e->mem = mmap(NULL, e->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                      e->memfd, 0);
        if (e->mem == MAP_FAILED) {
            e->mem = NULL;
            return st_check(t, "dma_setup", false, "mmap memfd: %s",
                            strerror(errno));
        }
        if (!st_call(t, "dma_register",
                     mvf_dma_register_fd(t->h, e->memfd, 0, e->mem_len,
                                         &e->handle)))
            return false;
#else
        return st_check(t, "dma_setup", false, "the server wants a memfd, "
                        "which only Linux has");
#endif
    }
    e->registered = true;
    if (!st_call(t, "dma_map", mvf_dma_map(t->h, e->handle, 0, e->map_len,
                                           MVF_DMA_READ | MVF_DMA_WRITE,
                                           &e->iova)))
        return false;
    e->mapped = true;
    const struct mvf_device_info *in = &t->r->info;
    bool inside = e->iova >= in->dma_aperture_base &&
                  e->iova - in->dma_aperture_base < in->dma_aperture_size &&
                  e->map_len <= in->dma_aperture_size -
                                (e->iova - in->dma_aperture_base);
    return st_check(t, "dma_map", inside && e->iova % gran == 0,
                    "%" PRIu64 " bytes at IOVA 0x%" PRIx64 " (aperture 0x%"
                    PRIx64 " + 0x%" PRIx64 ", granule-aligned)", e->map_len,
                    e->iova, in->dma_aperture_base, in->dma_aperture_size);
}

/* The fd the server signals and the one we wait on: an eventfd on Linux
 * (both), a non-blocking pipe elsewhere. */
static int make_notifier(struct dma_env *e)
{
#ifdef __linux__
    e->efd = e->irq_wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return e->efd;
#else
    int p[2];

    if (pipe(p) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0 ||
            fcntl(p[i], F_SETFL, O_NONBLOCK) < 0) {
            close(p[0]);
            close(p[1]);
            return -1;
        }
    }
    e->efd = p[0];
    e->irq_wfd = p[1];
    return 0;
#endif
}

static bool setup_device(struct dma_env *e)
{
    struct selftest *t = e->t;
    uint32_t cmd = 0;
    uint64_t size = 0;
    uint32_t flags = 0;
    void *p = NULL;

    if (!st_call(t, "bus_master", mvf_config_read(t->h, 0x04, 2, &cmd)))
        return false;
    e->saved_cmd = cmd;
    if (!st_call(t, "bus_master",
                 mvf_config_write(t->h, 0x04, 2, cmd | CMD_MEM_MASTER)) ||
        !st_call(t, "bus_master", mvf_config_read(t->h, 0x04, 2, &cmd)) ||
        !st_check(t, "bus_master", (cmd & CMD_MEM_MASTER) == CMD_MEM_MASTER,
                  "command register 0x%04x", cmd))
        return false;

    if (make_notifier(e) < 0)
        return st_check(t, "irq_bind", false, "interrupt fd: %s",
                        strerror(errno));
    if (!st_call(t, "irq_bind",
                 mvf_irq_set_eventfds(t->h, MVF_IRQ_MSIX, 0, 1, &e->irq_wfd)))
        return false;
    e->irq_bound = true;
    st_check(t, "irq_bind", true, "MSI-X vector 0 -> %s",
             e->irq_wfd == e->efd ? "eventfd" : "pipe");

    if (t->r->bars[WIN_BAR].flags & MVF_BAR_MAPPABLE &&
        mvf_map_memory(t->h, MVF_MEM_BAR(WIN_BAR), &p, &size, &flags) == 0) {
        e->win = p;
        e->win_len = size;
    } else {
        e->win_len = t->r->bars[WIN_BAR].size;
    }
    return true;
}

static void check_registers(struct selftest *t)
{
    uint32_t id = 0, ver = 0, lo = 0, hi = 0, scratch = 0;
    struct mvf_handle *h = t->h;

    if (!st_call(t, "dmatest_regs", reg_read(h, MVF_DMATEST_REG_ID, &id)) ||
        !st_call(t, "dmatest_regs", reg_read(h, MVF_DMATEST_REG_VERSION, &ver)) ||
        !st_call(t, "dmatest_regs", reg_read(h, MVF_DMATEST_REG_WIN_SIZE_LO, &lo)) ||
        !st_call(t, "dmatest_regs", reg_read(h, MVF_DMATEST_REG_WIN_SIZE_HI, &hi)) ||
        !st_call(t, "dmatest_regs", reg_write(h, MVF_DMATEST_REG_SCRATCH, 0xa5c3f00du)) ||
        !st_call(t, "dmatest_regs", reg_read(h, MVF_DMATEST_REG_SCRATCH, &scratch)))
        return;
    uint64_t win = (uint64_t)hi << 32 | lo;
    st_check(t, "dmatest_regs", id == MVF_DMATEST_ID_VALUE &&
             (ver >> 16) == (MVF_DMATEST_VERSION_VALUE >> 16) &&
             win == t->r->bars[WIN_BAR].size && scratch == 0xa5c3f00du,
             "ID 0x%08x, version 0x%08x, window 0x%" PRIx64 " (BAR%u 0x%"
             PRIx64 "), scratch 0x%08x", id, ver, win, WIN_BAR,
             t->r->bars[WIN_BAR].size, scratch);
}

/* memfd -> window at the IOVA, then window -> memfd.  Transfers are
 * up to 4 KiB, halved until two fit the window and the mapping. */
static void round_trip(struct dma_env *e)
{
    struct selftest *t = e->t;
    uint32_t len = 4096, status = 0;
    uint8_t want[4096], got[4096];
    char why[320] = "";
    int rc;

    while (len > 8 && (2ull * len > e->win_len || 2ull * len > e->map_len))
        len /= 2;
    /* Device reads memory: memfd[0..len) -> window[0..len). */
    fill(want, len, 0x1234);
    memcpy(e->mem, want, len);
    struct xfer to = { e->iova, 0, len, MVF_DMATEST_DIR_TO_DEVICE };
    rc = run_xfer(e, &to, &status, why, sizeof(why));
    if (rc == 0 && (rc = win_read(e, 0, got, len)) < 0)
        snprintf(why, sizeof(why), "%s", mvf_last_error());
    if (rc == 0)
        st_check(t, "dma_to_device", status == MVF_DMATEST_STATUS_DONE &&
                 memcmp(got, want, len) == 0, "%u bytes from IOVA 0x%" PRIx64
                 " into the window: STATUS 0x%x, data %s", len, e->iova, status,
                 memcmp(got, want, len) ? "differs" : "identical");
    else
        st_check(t, "dma_to_device", false, "%s", why);

    /* Device writes memory: window[len..2len) -> memfd[len..2len). */
    fill(want, len, 0xbeef);
    memset(e->mem + len, 0, len);
    if ((rc = win_write(e, len, want, len)) < 0) {
        st_check(t, "dma_from_device", false, "%s", mvf_last_error());
        return;
    }
    struct xfer from = { e->iova + len, len, len, MVF_DMATEST_DIR_FROM_DEVICE };
    rc = run_xfer(e, &from, &status, why, sizeof(why));
    if (rc == 0)
        st_check(t, "dma_from_device", status == MVF_DMATEST_STATUS_DONE &&
                 memcmp(e->mem + len, want, len) == 0, "%u bytes from the "
                 "window to IOVA 0x%" PRIx64 ": STATUS 0x%x, data %s", len,
                 e->iova + len, status,
                 memcmp(e->mem + len, want, len) ? "differs" : "identical");
    else
        st_check(t, "dma_from_device", false, "%s", why);
}

/* A transfer at `iova` must fault: nothing copied, FAULT_IOVA set. */
static void expect_fault(struct dma_env *e, const char *name, uint64_t iova,
                         const char *what)
{
    struct selftest *t = e->t;
    uint32_t status = 0, lo = 0, hi = 0;
    char why[320] = "";
    struct xfer x = { iova, 0, 256, MVF_DMATEST_DIR_TO_DEVICE };

    if (run_xfer(e, &x, &status, why, sizeof(why)) < 0) {
        st_check(t, name, false, "%s", why);
        return;
    }
    if (!st_call(t, name, reg_read(t->h, MVF_DMATEST_REG_FAULT_IOVA_LO, &lo)) ||
        !st_call(t, name, reg_read(t->h, MVF_DMATEST_REG_FAULT_IOVA_HI, &hi)))
        return;
    uint64_t fault = (uint64_t)hi << 32 | lo;
    st_check(t, name, (status & MVF_DMATEST_STATUS_FAULT) && fault == iova,
             "%s IOVA 0x%" PRIx64 ": STATUS 0x%x, FAULT_IOVA 0x%" PRIx64, what,
             iova, status, fault);
}

static void teardown(struct dma_env *e)
{
    struct selftest *t = e->t;

    if (e->win)
        mvf_unmap_memory(t->h, e->win, e->win_len);
    if (e->irq_bound)
        st_call(t, "irq_disable", mvf_irq_disable(t->h, MVF_IRQ_MSIX));
    if (e->saved_cmd != UINT32_MAX)
        st_call(t, "bus_master_off", mvf_config_write(t->h, 0x04, 2, e->saved_cmd));
    if (e->mapped)
        st_call(t, "dma_unmap", mvf_dma_unmap(t->h, e->iova, e->map_len));
    if (e->registered)
        st_call(t, "dma_unregister", mvf_dma_unregister(t->h, e->handle));
    if (e->mem)
        munmap(e->mem, e->mem_len);
    if (e->memfd >= 0)
        close(e->memfd);
    if (e->irq_wfd >= 0 && e->irq_wfd != e->efd)
        close(e->irq_wfd);
    if (e->efd >= 0)
        close(e->efd);
}

void selftest_dmatest(struct selftest *t)
{
    struct dma_env e = { .t = t, .memfd = -1, .efd = -1, .irq_wfd = -1,
                         .saved_cmd = UINT32_MAX };
    struct mvf_stats before, after;
    bool have_stats = mvf_get_stats(t->h, &before) == 0;

    bool ran = false;

    check_registers(t);
    if (setup_memory(&e) && setup_device(&e)) {
        ran = true;
        round_trip(&e);
        expect_fault(&e, "dma_fault_unmapped", e.iova + e.map_len,
                     "the unmapped granule after the mapping at");
        if (st_call(t, "dma_unmap", mvf_dma_unmap(t->h, e.iova, e.map_len))) {
            e.mapped = false;
            expect_fault(&e, "dma_fault_after_unmap", e.iova,
                         "the released mapping at");
        }
    }
    teardown(&e);
    /* Over IOKit the DART's faults are the macOS kernel's: the dext never
     * sees them, so only macvfiod (which carries memfds) counts them. */
    bool faults_seen = mvf_features(t->h) & MVF_FEAT_DMA_FD;
    if (ran && have_stats && mvf_get_stats(t->h, &after) == 0)
        st_check(t, "stats", after.dma_maps > before.dma_maps &&
                 (!faults_seen || after.dma_faults >= before.dma_faults + 2) &&
                 after.irqs_delivered >= before.irqs_delivered + 4 &&
                 after.live_mappings == 0,
                 "maps +%" PRIu64 ", faults +%" PRIu64 ", irqs +%" PRIu64
                 ", live mappings %" PRIu64, after.dma_maps - before.dma_maps,
                 after.dma_faults - before.dma_faults,
                 after.irqs_delivered - before.irqs_delivered,
                 after.live_mappings);
}
