/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the server as a whole.  One core serves sim:dmatest
 * (device 0) and sim:nvme (device 1), created as macvfiod creates them,
 * with the REAL Linux host ops: DMA_REGISTER maps real sealed memfds,
 * notifiers are real eventfds.  Two clients (two sessions) drive it in
 * an interleaved sequence; every call goes through mvf_frame_handle(),
 * as from the socket.  The core lives across inputs, like the daemon.
 *
 * Input: records, each [hdr][len][len payload bytes] (missing payload
 * bytes read 0).  hdr bits 0-3: the kind, bit 4: the client (0 or 1).
 * A record for a disconnected client first connects it (a new session).
 *   0 RAW      u8 fd kind (0 sealed memfd, 1 blocking eventfd, 2 full
 *              blocking eventfd, 3 unsealed memfd), then a frame: its
 *              header's n_fds (at most 4) fds of that kind go with it, so
 *              every parser check runs
 *   1 SETUP    u8 device (0, 1; 2 is out of range), u8 steps (bit 0
 *              HELLO, 1 OPEN, 2 CLAIM, 3 RELEASE; 0 means 0-2), u8 HELLO
 *              version variant
 *   2 REGISTER u8 pages (memfd of 1..256 4K pages), u8 fd offset pages,
 *              u8 length delta, u8 flags (bit 0 unsealed, bit 1 no fd,
 *              bit 2 length+1, bit 3 VA flag)
 *   3 UNREGISTER u8 region
 *   4 MAP      u8 region, u8 offset granules, u8 length granules, u8
 *              flags, u8 variant (tail / 4K-misaligned / raw)
 *   5 UNMAP    u8 mapping, u8 variant (exact, wrong length, off start)
 *   6 MAP_BATCH   u8 n, then per entry region, offset, length, flags
 *   7 UNMAP_BATCH u8 n, then per entry mapping, variant
 *   8 IRQ      u8 type, u8 start, u8 count, u8 fd mask, u8 full mask:
 *              TRIGGER with BLOCKING eventfds, those in the full mask
 *              with their counter one below the maximum
 *   9 STATE    u8 type, u8 flags (bit 0 wake fd, bit 1 full, bit 2 map
 *              the page): state-page delivery
 *  10 IRQCTL   u8 type, u8 action, u8 start, u8 count
 *  11 DMATEST  u8 mapping, u8 mode, u8 flags, u16 len, u16 window offset,
 *              u64 raw IOVA: sim:dmatest programmed through trapped BAR0
 *              writes, the IOVA drawn from what the session got back,
 *              or a near miss (see dmatest_iova())
 *  12 DEVICE   u8 op, u8 bar, u16 offset, u8 width, u64 value: MMIO and
 *              config accesses, RESET, STATS, DEVICE_INFO, MAP_MEMORY
 *              (op bits 0-2; bit 3 posts the MMIO write)
 *  13 NVME_UP  u8 mapping, u8 flags: sim:nvme admin queues in that
 *              mapping, controller enabled
 *  14 NVME_SQE 64 bytes: an admin command at the SQ tail (PRPs below
 *              1 MiB rebased onto the queue's mapping), doorbells rung
 *  15 DISCONNECT  the session is destroyed (full clean-up)
 * After each record the core's deferred work runs (a few slices).
 *
 * At the end both sessions go away, and then every device must have no
 * live mapping, no mapped and no registered byte, and the process must
 * hold exactly the fds it held before the input.
 *
 * The device records live in fuzz_server_devices.c, the client model in
 * fuzz_server.h, frame building and fds in fuzz_server_wire.c.
 *
 * FUZZ_SERVER_REPORT=1 prints, at exit, how often the device DMA
 * succeeded, faulted or was refused, and how many doorbells raised a
 * vector bound to a full blocking eventfd.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host_linux.h"
#include "fuzz_server.h"
#include "fuzz_server_wire.h"
#include "registry.h"

#define NCLIENTS      2
#define NDEVICES      2
#define MAX_RECORDS   128
#define MAX_FDS       8
#define WORK_SLICES   4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mvf_core *core;
static struct client clients[NCLIENTS];
struct fz_report fz_report;

static void print_report(void)
{
    fprintf(stderr, "fuzz_server: %lu inputs, %lu doorbells: %lu DMA done, "
            "%lu DART faults, %lu refused; %lu raises to a full blocking "
            "eventfd\n", fz_report.inputs, fz_report.doorbells,
            fz_report.dma_done, fz_report.dma_fault, fz_report.dma_error,
            fz_report.full_fd_raises);
}

static void setup(void)
{
    static const char *const specs[NDEVICES] = {
        "sim:dmatest,window=64K", "sim:nvme,size=1M,queues=2",
    };
    struct mvf_dart_config dc;

    /* The log sink opens its fd now, not on the first line an input
     * causes: the fd check below would count it as leaked. */
    mvf_log_init();
    mvf_linux_set_log_level(MVF_LOG_ERROR);
    mvf_dart_config_default(&dc);
    dc.budget_bytes = 16ull << 20;      /* small: reach -ENOSPC */
    dc.max_mappings = 32;               /* and -EMFILE */
    core = mvf_core_create(&mvf_linux_host_ops, NULL);
    if (!core)
        abort();
    for (unsigned i = 0; i < NDEVICES; i++) {
        struct mvf_provider prov;
        char err[256] = "";

        memset(&prov, 0, sizeof(prov));
        if (mvf_sim_create(specs[i], &prov, err, sizeof(err))) {
            fprintf(stderr, "fuzz_server: %s: %s\n", specs[i], err);
            abort();
        }
        prov.bus = (uint8_t)(i + 1);
        if (mvf_core_add_device(core, &prov, &dc, NULL))
            abort();
    }
    for (unsigned i = 0; i < NCLIENTS; i++)
        clients[i].dev = -1;
    if (getenv("FUZZ_SERVER_REPORT"))
        atexit(print_report);
}

/* ---- client bookkeeping --------------------------------------------- */

static void forget_device_state(struct client *c)
{
    for (unsigned i = 0; i < c->nregions; i++)
        munmap(c->regions[i].host, c->regions[i].len);
    c->nregions = 0;
    c->nmaps = 0;
    c->full_vectors = 0;
    c->nvme_up = false;
}

static void disconnect(struct client *c)
{
    if (!c->s)
        return;
    mvf_session_destroy(c->s);
    c->s = NULL;
    c->dev = -1;
    forget_device_state(c);
}

static void drop_mapping(struct client *c, unsigned i)
{
    if (c->nvme_up && c->nvme_map == i)
        c->nvme_up = false;
    c->nmaps--;
    if (i != c->nmaps) {
        c->maps[i] = c->maps[c->nmaps];
        if (c->nvme_up && c->nvme_map == c->nmaps)
            c->nvme_map = i;
    }
}

static void remember_mapping(struct client *c, uint64_t iova, uint64_t len,
                             uint32_t flags, unsigned region, uint64_t off)
{
    if (c->nmaps < MAX_MAPS)
        c->maps[c->nmaps++] = (struct mapping){ iova, len, flags, region, off };
}

static int call(struct client *c, uint32_t sel, const uint64_t *sc, unsigned n,
                struct fz_reply *out)
{
    return fz_call(c->s, sel, sc, n, NULL, 0, NULL, 0, out);
}

/* ---- records -------------------------------------------------------- */

static void do_raw(struct client *c, struct rd *r)
{
    unsigned kind = (unsigned)rd_n(r, 1) & 3, nfds = 0;
    struct mvf_wire_req h;
    uint64_t dev;
    int fds[4], status;

    if (r->n >= sizeof(h)) {
        memcpy(&h, r->p, sizeof(h));
        for (; nfds < h.n_fds && nfds < 4; nfds++) {
            fds[nfds] = kind == 0 ? fz_memfd(64 << 10, false) :
                        kind == 1 ? fz_blocking_eventfd(false) :
                        kind == 2 ? fz_blocking_eventfd(true) :
                                    fz_memfd(PAGE, true);
            if (fds[nfds] < 0)
                break;
        }
    }
    status = fz_raw_frame(c->s, r->p, r->n, fds, nfds);
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
    if (status != 0)
        return;
    /* A raw RELEASE cleaned up, a raw DEVICE_OPEN moved the session:
     * keep the bookkeeping right (a well-formed frame, since it worked).
     * Other raw calls may leave stale entries: those only make near
     * misses. */
    memcpy(&h, r->p, sizeof(h));
    if (h.selector == MVF_SEL_RELEASE) {
        forget_device_state(c);
    } else if (h.selector == MVF_SEL_DEVICE_OPEN) {
        memcpy(&dev, r->p + sizeof(h), sizeof(dev));
        if (c->dev != (int)dev)
            forget_device_state(c);
        c->dev = (int)dev;
    }
}

static void do_setup(struct client *c, struct rd *r)
{
    unsigned dev = (unsigned)rd_n(r, 1) % 3, steps = (unsigned)rd_n(r, 1);
    unsigned variant = (unsigned)rd_n(r, 1);
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };

    if (!steps)
        steps = 7;
    if (variant & 1)
        hello[0] = (uint64_t)(variant >> 1) << 16;   /* maybe another major */
    if (steps & 1)
        call(c, MVF_SEL_HELLO, hello, 2, NULL);
    if (steps & 2) {
        const uint64_t sc[1] = { dev };
        if (call(c, MVF_SEL_DEVICE_OPEN, sc, 1, NULL) == 0 && c->dev != (int)dev) {
            forget_device_state(c);
            c->dev = (int)dev;
        }
    }
    if (steps & 4)
        call(c, MVF_SEL_CLAIM, NULL, 0, NULL);
    if ((steps & 8) && call(c, MVF_SEL_RELEASE, NULL, 0, NULL) == 0)
        forget_device_state(c);
}

static void do_register(struct client *c, struct rd *r)
{
    uint64_t pages = rd_n(r, 1) + 1, off = rd_n(r, 1) % pages;
    uint64_t delta = rd_n(r, 1), flags = rd_n(r, 1);
    uint64_t size = pages * PAGE, len = size - off * PAGE;
    uint64_t sc[3];
    struct fz_reply rep;
    uint8_t *host;
    int fd;

    if (delta < len / PAGE)
        len -= delta * PAGE;        /* a part of the file */
    if (flags & 4)
        len += (flags & 16) ? PAGE : 1;   /* beyond the file, or unaligned */
    fd = fz_memfd(size, flags & 1);
    if (fd < 0)
        return;
    sc[0] = len;
    sc[1] = off * PAGE;
    sc[2] = (flags & 8) ? MVF_DMA_REG_VA : MVF_DMA_REG_FD;
    if (fz_call(c->s, MVF_SEL_DMA_REGISTER, sc, 3, NULL, 0, &fd,
                (flags & 2) ? 0 : 1, &rep) == 0 && rep.n_scalars == 1 &&
        c->nregions < MAX_REGIONS) {
        host = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                    (off_t)(off * PAGE));
        if (host != MAP_FAILED)
            c->regions[c->nregions++] = (struct region){ rep.scalars[0], len, host };
    }
    close(fd);
}

static void do_unregister(struct client *c, struct rd *r)
{
    unsigned i;
    uint64_t sc[1];

    if (!c->nregions) {
        sc[0] = rd_n(r, 1);         /* a handle nobody registered */
        call(c, MVF_SEL_DMA_UNREGISTER, sc, 1, NULL);
        return;
    }
    i = (unsigned)rd_n(r, 1) % c->nregions;
    sc[0] = c->regions[i].handle;
    if (call(c, MVF_SEL_DMA_UNREGISTER, sc, 1, NULL) == 0) {
        munmap(c->regions[i].host, c->regions[i].len);
        c->regions[i] = c->regions[--c->nregions];
        /* Mappings name regions by index: only an unmapped region can
         * go, and the moved one keeps its mappings' index right. */
        for (unsigned m = 0; m < c->nmaps; m++)
            if (c->maps[m].region == c->nregions)
                c->maps[m].region = i;
    }
}

/* A map request with fuzzed fields, mostly valid for the chosen region. */
static void map_request(struct client *c, struct rd *r, struct mvf_dma_map_req *q,
                        unsigned *region)
{
    unsigned ri = (unsigned)rd_n(r, 1), variant;
    uint64_t off = rd_n(r, 1) * GRANULE, len = (rd_n(r, 1) + 1) * GRANULE;
    uint64_t rlen;

    q->flags = (uint32_t)rd_n(r, 1) & 7;
    if (!q->flags)
        q->flags = MVF_DMA_READ | MVF_DMA_WRITE;
    variant = (unsigned)rd_n(r, 1);
    q->reserved = 0;
    *region = c->nregions ? ri % c->nregions : 0;
    q->handle = c->nregions ? c->regions[*region].handle : ri;
    rlen = c->nregions ? c->regions[*region].len : 0;
    if (rlen && (variant & 3) != 3) {
        off %= (rlen + GRANULE - 1) / GRANULE * GRANULE;
        if (off + len > rlen)
            len = rlen - off;       /* the tail rule */
        if (!len)
            len = PAGE;
    }
    if (variant & 4)
        off += PAGE;                /* not granule aligned */
    if (variant & 8)
        len += PAGE;                /* one page too long */
    q->offset = off;
    q->length = len;
}

static void do_map(struct client *c, struct rd *r)
{
    struct mvf_dma_map_req q;
    struct fz_reply rep;
    unsigned region;
    uint64_t sc[4];

    map_request(c, r, &q, &region);
    sc[0] = q.handle;
    sc[1] = q.offset;
    sc[2] = q.length;
    sc[3] = q.flags;
    if (call(c, MVF_SEL_DMA_MAP, sc, 4, &rep) == 0 && rep.n_scalars == 1)
        remember_mapping(c, rep.scalars[0], q.length, q.flags, region, q.offset);
}

static void map_batch(struct client *c, struct rd *r)
{
    struct mvf_dma_map_req q[8];
    struct mvf_dma_map_res res[8];
    unsigned regions[8], n = (unsigned)rd_n(r, 1) % 9;
    struct fz_reply rep;

    for (unsigned i = 0; i < n; i++)
        map_request(c, r, &q[i], &regions[i]);
    if (fz_call(c->s, MVF_SEL_DMA_MAP_BATCH, NULL, 0, q,
                (uint32_t)(n * sizeof(q[0])), NULL, 0, &rep) != 0 ||
        rep.struct_len != n * sizeof(res[0]))
        return;
    memcpy(res, rep.structure, n * sizeof(res[0]));
    for (unsigned i = 0; i < n; i++)
        if (res[i].status == 0)
            remember_mapping(c, res[i].iova, q[i].length, q[i].flags,
                             regions[i], q[i].offset);
}

/* An unmap request for a known mapping, exact or slightly wrong. */
static void unmap_request(struct client *c, struct rd *r,
                          struct mvf_dma_unmap_req *q, int *index)
{
    unsigned mi = (unsigned)rd_n(r, 1), variant = (unsigned)rd_n(r, 1) & 3;

    *index = -1;
    if (!c->nmaps) {
        q->iova = MVF_DART_DEFAULT_BASE + (uint64_t)mi * GRANULE;
        q->length = GRANULE;
        return;
    }
    *index = (int)(mi % c->nmaps);
    q->iova = c->maps[*index].iova + (variant == 2 ? GRANULE : 0);
    q->length = c->maps[*index].len + (variant == 1 ? GRANULE : 0);
    if (variant)
        *index = -1;                /* expected to fail */
}

static void do_unmap(struct client *c, struct rd *r)
{
    struct mvf_dma_unmap_req q;
    uint64_t sc[2];
    int i;

    unmap_request(c, r, &q, &i);
    sc[0] = q.iova;
    sc[1] = q.length;
    if (call(c, MVF_SEL_DMA_UNMAP, sc, 2, NULL) == 0 && i >= 0)
        drop_mapping(c, (unsigned)i);
}

static void unmap_batch(struct client *c, struct rd *r)
{
    struct mvf_dma_unmap_req q[8];
    int32_t status[8];
    bool gone[MAX_MAPS] = { false };
    unsigned n = (unsigned)rd_n(r, 1) % 9;
    struct fz_reply rep;
    int idx[8];

    for (unsigned i = 0; i < n; i++)
        unmap_request(c, r, &q[i], &idx[i]);
    if (fz_call(c->s, MVF_SEL_DMA_UNMAP_BATCH, NULL, 0, q,
                (uint32_t)(n * sizeof(q[0])), NULL, 0, &rep) != 0 ||
        rep.struct_len != n * sizeof(status[0]))
        return;
    memcpy(status, rep.structure, n * sizeof(status[0]));
    for (unsigned i = 0; i < n; i++)
        if (status[i] == 0 && idx[i] >= 0)
            gone[idx[i]] = true;
    /* Highest first, so that the entry moved into a hole is one kept. */
    for (unsigned i = MAX_MAPS; i-- > 0;)
        if (gone[i])
            drop_mapping(c, i);
}

static void do_irq(struct client *c, struct rd *r)
{
    uint64_t type = rd_n(r, 1), start = rd_n(r, 1), count = rd_n(r, 1);
    uint64_t mask = rd_n(r, 1), full = rd_n(r, 1);
    uint64_t sc[5];
    int fds[MAX_FDS];
    unsigned nfds = 0;

    type = type < 4 ? MSIX : type % 4;     /* mostly MSI-X, the devices' type */
    start &= 7;
    count &= 15;
    for (unsigned b = 0; b < 8 && nfds < MAX_FDS; b++) {
        if (!(mask >> b & 1))
            continue;
        fds[nfds] = fz_blocking_eventfd(full >> b & 1);
        if (fds[nfds] < 0)
            break;
        nfds++;
    }
    sc[0] = type;
    sc[1] = MVF_IRQ_ACT_TRIGGER;
    sc[2] = start;
    sc[3] = count;
    sc[4] = mask & 0xff;
    if (fz_call(c->s, MVF_SEL_IRQ_SET, sc, 5, NULL, 0, fds, nfds, NULL) == 0 &&
        type == MSIX) {
        for (unsigned b = 0; b < count; b++) {
            uint32_t bit = 1u << ((start + b) & 31);
            if ((mask >> b & 1) && (full >> b & 1))
                c->full_vectors |= bit;
            else
                c->full_vectors &= ~bit;
        }
    }
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
}

static void do_state(struct client *c, struct rd *r)
{
    uint64_t type = rd_n(r, 1), flags = rd_n(r, 1);
    uint64_t sc[5] = { type < 4 ? MSIX : type % 4, MVF_IRQ_ACT_STATE, 0, 0, 0 };
    int fd = -1;

    if (flags & 1) {
        fd = fz_blocking_eventfd(flags & 2);
        if (fd < 0)
            return;
        sc[4] = 1;
    }
    if (fz_call(c->s, MVF_SEL_IRQ_SET, sc, 5, NULL, 0, &fd, fd >= 0, NULL) == 0 &&
        sc[0] == MSIX)
        c->full_vectors = (flags & 3) == 3 ? ~0u : 0;
    if (fd >= 0)
        close(fd);
    if (flags & 4) {
        const uint64_t mt[1] = { MVF_MEM_IRQ_STATE };
        call(c, MVF_SEL_MAP_MEMORY, mt, 1, NULL);
    }
}

static void do_irqctl(struct client *c, struct rd *r)
{
    uint64_t type = rd_n(r, 1);
    uint64_t sc[5] = { type < 4 ? MSIX : type % 4, rd_n(r, 1) % 6,
                       rd_n(r, 1) & 7, rd_n(r, 1) & 7, 0 };

    if (call(c, MVF_SEL_IRQ_SET, sc, 5, NULL) == 0 && sc[1] == MVF_IRQ_ACT_DISABLE &&
        sc[0] == MSIX)
        c->full_vectors = 0;
}

static void do_device(struct client *c, struct rd *r)
{
    unsigned opb = (unsigned)rd_n(r, 1), op = opb % 8;
    uint64_t bar = rd_n(r, 1) % 8, off = rd_n(r, 2), width = 1u << (rd_n(r, 1) & 3);
    uint64_t val = rd_n(r, 8);
    uint64_t sc[4];

    if (width < 8)
        val &= (1ull << (8 * width)) - 1;
    switch (op) {
    case 0:
        fz_mmio_write_as(c->s, (uint32_t)bar, off, (uint32_t)width, val,
                         (opb & 8) != 0);
        break;
    case 1: fz_mmio_read(c->s, (uint32_t)bar, off, (uint32_t)width); break;
    case 2:
        sc[0] = off & 0xfff; sc[1] = width > 4 ? 4 : width; sc[2] = val & 0xffffffffu;
        if (sc[1] < 4)
            sc[2] &= (1ull << (8 * sc[1])) - 1;
        call(c, MVF_SEL_CONFIG_WRITE, sc, 3, NULL);
        break;
    case 3:
        sc[0] = off & 0xfff; sc[1] = width > 4 ? 4 : width;
        call(c, MVF_SEL_CONFIG_READ, sc, 2, NULL);
        break;
    case 4: call(c, MVF_SEL_RESET, NULL, 0, NULL); c->nvme_up = false; break;
    case 5: call(c, MVF_SEL_STATS, NULL, 0, NULL); break;
    case 6: call(c, MVF_SEL_DEVICE_INFO, NULL, 0, NULL); break;
    default:
        sc[0] = bar;
        call(c, MVF_SEL_MAP_MEMORY, sc, 1, NULL);
        break;
    }
}

static void run_record(struct client *c, unsigned kind, struct rd *r)
{
    switch (kind) {
    case 0: do_raw(c, r); break;
    case 1: do_setup(c, r); break;
    case 2: do_register(c, r); break;
    case 3: do_unregister(c, r); break;
    case 4: do_map(c, r); break;
    case 5: do_unmap(c, r); break;
    case 6: map_batch(c, r); break;
    case 7: unmap_batch(c, r); break;
    case 8: do_irq(c, r); break;
    case 9: do_state(c, r); break;
    case 10: do_irqctl(c, r); break;
    case 11: fz_record_dmatest(core, c, &clients[c == &clients[0]], r); break;
    case 12: do_device(c, r); break;
    case 13: fz_record_nvme_up(c, r); break;
    case 14: fz_record_nvme_sqe(c, r); break;
    default: disconnect(c); break;
    }
}

static void check_clean(int fds_before)
{
    for (unsigned i = 0; i < NDEVICES; i++) {
        struct mvf_stats st;

        mvf_device_stats(mvf_core_device(core, i), &st);
        if (st.live_mappings || st.mapped_bytes || st.registered_bytes) {
            fprintf(stderr, "fuzz_server: device %u not clean after both "
                    "clients left: %llu mappings, %llu mapped, %llu registered\n",
                    i, (unsigned long long)st.live_mappings,
                    (unsigned long long)st.mapped_bytes,
                    (unsigned long long)st.registered_bytes);
            abort();
        }
    }
    if (fz_count_fds() != fds_before) {
        fprintf(stderr, "fuzz_server: %d fds open before the input, %d after\n",
                fds_before, fz_count_fds());
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned records = 0;
    int fds_before;

    if (!core)
        setup();
    fds_before = fz_count_fds();
    fz_report.inputs++;
    while (size >= 2 && records++ < MAX_RECORDS) {
        struct client *c = &clients[(data[0] >> 4) & 1];
        unsigned kind = data[0] & 15;
        struct rd r = { data + 2, data[1] };

        if (r.n > size - 2)
            r.n = size - 2;
        data += 2 + r.n;
        size -= 2 + r.n;
        if (!c->s) {
            c->s = mvf_session_create(core);
            if (!c->s)
                abort();
        }
        run_record(c, kind, &r);
        for (unsigned i = 0; i < WORK_SLICES && mvf_core_run_work(core); i++)
            ;
    }
    for (unsigned i = 0; i < NCLIENTS; i++)
        disconnect(&clients[i]);
    for (unsigned i = 0; i < WORK_SLICES && mvf_core_run_work(core); i++)
        ;
    check_clean(fds_before);
    return 0;
}
