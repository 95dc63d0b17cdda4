/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: sim:nvme driven like a hostile guest would drive it,
 * through the real core.  Guest memory is a 1 MiB memfd registered with
 * the core: [0, 768K) mapped read-write, [768K, 1M) read-only, both at
 * IOVAs the DART picks.  A fresh core and device (RAM-backed, 2 I/O
 * queue pairs) serve every input, so runs are reproducible.
 *
 * Input: byte 0 holds flags (bit 0: bring the controller up first, with
 * the admin queues at 0x0000/0x1000 and I/O queue pair 1 at
 * 0x2000/0x3000, so deep states are reachable; bit 1: leave bus
 * mastering off; bit 2: leave MSI-X disabled).  Then operations, each
 * an opcode byte and its operands (little endian; missing bytes read 0):
 *   0 REG   u16 offset, u8 width (1 << (w & 3)), u64 value: BAR0 write
 *   1 SQE   u8 queue (& 1), 64 bytes: written at that queue's tail, then
 *           the tail doorbell rung
 *   2 MEM   u16 offset (* 8), u8 count (& 63), count u64: PRP list
 *           entries written into guest memory
 *   3 REAP  u8 queue (& 1): completions taken, the head doorbell rung
 *   4 READ  u16 offset, u8 width: BAR0 read
 *   5 CFG   u8 offset, u8 width, u32 value: config write
 *   6 RESET function reset (the core's RESET call)
 *   7 ADMIN u8 log2 entries: controller re-enabled with fresh admin
 *           queues of that size
 * The device's deferred work (what doorbells queued) runs one slice
 * after every operation, as macvfiod runs one between client calls, so
 * operations also land while commands are still pending; the bring-up's
 * admin commands run to the end.
 * Addresses in SQEs (PRP1, PRP2), in MEM entries and in REG writes of
 * 8 bytes are rebased onto the memory's IOVA when below 1 MiB, so they
 * mostly hit memory the device may use; larger values go through as
 * they are (unmapped IOVAs, wrap-arounds).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "nvme.h"
#include "nvme_defs.h"

#define MEM_SIZE  (1u << 20)
#define RW_SIZE   (768u << 10)
#define ASQ_OFF   0x0000u
#define ACQ_OFF   0x1000u
#define IOSQ_OFF  0x2000u
#define IOCQ_OFF  0x3000u
#define QSIZE     64u
#define MAX_OPS   512u
#define CC_IOES   (NVME_CC_IOSQES_6 | NVME_CC_IOCQES_4)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a minimal host: memfd client memory, counting notifiers ---------- */

struct fz_mem {
    struct mvf_client_mem m;
    uint8_t *base;
};

static void *fz_host_ptr(struct mvf_client_mem *m, uint64_t off, uint64_t len)
{
    return ((struct fz_mem *)m->priv)->base + off;
}

static void fz_mem_release(struct mvf_client_mem *m)
{
    struct fz_mem *t = m->priv;

    munmap(t->base, m->length);
    free(t);
}

static int fz_mem_create(void *host, void *client, int fd, uint64_t arg,
                         uint64_t length, uint32_t flags, struct mvf_client_mem **out,
                         char *err, size_t errlen)
{
    struct fz_mem *t = calloc(1, sizeof(*t));
    void *base;

    if (!t)
        return -12;
    base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)arg);
    if (base == MAP_FAILED) {
        free(t);
        snprintf(err, errlen, "mmap failed");
        return -22;
    }
    t->base = base;
    t->m.length = length;
    t->m.host_ptr = fz_host_ptr;
    t->m.release = fz_mem_release;
    t->m.priv = t;
    *out = &t->m;
    return 0;
}

static unsigned signals;

static void fz_signal(struct mvf_notifier *n)
{
    signals++;
}

static void fz_notifier_release(struct mvf_notifier *n)
{
    free(n);
}

static int fz_notifier_create(void *host, void *client, int obj,
                              struct mvf_notifier **out)
{
    struct mvf_notifier *n = calloc(1, sizeof(*n));

    if (!n)
        return -12;
    n->signal = fz_signal;
    n->release = fz_notifier_release;
    *out = n;
    return 0;
}

static void fz_log(void *host, enum mvf_log_level lvl, const char *msg)
{
}

static const struct mvf_host_ops fz_hops = {
    .mem_create = fz_mem_create,
    .notifier_create = fz_notifier_create,
    .log = fz_log,
    .transport_features = MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_DMA_FD,
};

/* ---- the fuzzed "driver" ------------------------------------------------ */

struct fz {
    struct mvf_core *core;
    struct mvf_session *s;
    struct mvf_device *dev;
    uint8_t *mem;                   /* guest memory as the guest sees it */
    uint64_t iova_rw, iova_ro;
    uint32_t sq_tail[2], cq_head[2];
    uint8_t phase[2];
    const uint8_t *in;
    size_t left;
};

static int memfd = -1;
static uint8_t *guest;

static uint64_t take(struct fz *f, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        if (f->left) {
            v |= (uint64_t)f->in[0] << (8 * i);
            f->in++;
            f->left--;
        }
    }
    return v;
}

static uint64_t rebase(const struct fz *f, uint64_t v)
{
    if (v >= MEM_SIZE)
        return v;
    return v < RW_SIZE ? f->iova_rw + v : f->iova_ro + (v - RW_SIZE);
}

/* A call the fuzzer makes on the guest's behalf: it may fail. */
static void call(struct fz *f, uint32_t sel, const uint64_t *in, uint32_t n)
{
    struct mvf_call c;

    memset(&c, 0, sizeof(c));
    c.selector = sel;
    c.in = in;
    c.n_in = n;
    (void)mvf_dispatch(f->s, &c);
}

/* A call the harness needs: it must succeed. */
static uint64_t call_out(struct fz *f, uint32_t sel, const uint64_t *in,
                         uint32_t n, const int *objs, uint32_t nobjs)
{
    struct mvf_call c;

    memset(&c, 0, sizeof(c));
    c.selector = sel;
    c.in = in;
    c.n_in = n;
    c.objs_in = objs;
    c.n_objs_in = nobjs;
    if (mvf_dispatch(f->s, &c))
        abort();
    return c.out[0];
}

static void mmio_write(struct fz *f, uint64_t off, uint32_t width, uint64_t v)
{
    const uint64_t in[4] = { 0, off, width, v };

    call(f, MVF_SEL_MMIO_WRITE, in, 4);
}

static void ring_sq(struct fz *f, unsigned q)
{
    mmio_write(f, NVME_REG_DBS + 8u * q, 4, f->sq_tail[q]);
}

static void put_sqe(struct fz *f, unsigned q, const uint8_t *e)
{
    uint32_t base = q ? IOSQ_OFF : ASQ_OFF;

    memcpy(f->mem + base + f->sq_tail[q] * NVME_SQE_SIZE, e, NVME_SQE_SIZE);
    f->sq_tail[q] = (f->sq_tail[q] + 1) % QSIZE;
}

/* Takes every completion whose phase matches, then rings the head. */
static void reap(struct fz *f, unsigned q)
{
    uint32_t base = q ? IOCQ_OFF : ACQ_OFF;

    for (unsigned n = 0; n < QSIZE; n++) {
        const uint8_t *e = f->mem + base + f->cq_head[q] * NVME_CQE_SIZE;

        if ((nvme_get_le16(e + NVME_CQE_STATUS) & 1) != f->phase[q])
            break;
        if (++f->cq_head[q] == QSIZE) {
            f->cq_head[q] = 0;
            f->phase[q] ^= 1;
        }
    }
    mmio_write(f, NVME_REG_DBS + 8u * q + 4, 4, f->cq_head[q]);
}

/* Runs the device's work until idle; a slice always makes progress, so
 * an endless run is a bug. */
static void run_idle(struct fz *f)
{
    for (unsigned n = 0; mvf_core_run_work(f->core); n++)
        if (n > 100000)
            abort();
}

static void admin_enable(struct fz *f, uint32_t entries)
{
    mmio_write(f, NVME_REG_CC, 4, 0);
    memset(f->mem, 0, 4 * 4096);
    mmio_write(f, NVME_REG_AQA, 4, (entries - 1) | (entries - 1) << 16);
    mmio_write(f, NVME_REG_ASQ, 8, f->iova_rw + ASQ_OFF);
    mmio_write(f, NVME_REG_ACQ, 8, f->iova_rw + ACQ_OFF);
    mmio_write(f, NVME_REG_CC, 4, CC_IOES | NVME_CC_EN);
    memset(f->sq_tail, 0, sizeof(f->sq_tail));
    memset(f->cq_head, 0, sizeof(f->cq_head));
    f->phase[0] = f->phase[1] = 1;
}

static void admin_cmd(struct fz *f, uint8_t opc, uint32_t cdw10,
                      uint32_t cdw11, uint64_t prp1)
{
    uint8_t e[NVME_SQE_SIZE] = { 0 };

    e[0] = opc;
    nvme_put_le64(e + NVME_SQE_PRP1, prp1);
    nvme_put_le32(e + NVME_SQE_CDW10, cdw10);
    nvme_put_le32(e + NVME_SQE_CDW10 + 4, cdw11);
    put_sqe(f, 0, e);
    ring_sq(f, 0);
    run_idle(f);
    reap(f, 0);
}

static void bring_up(struct fz *f)
{
    admin_enable(f, QSIZE);
    admin_cmd(f, NVME_ADM_CREATE_CQ, 1 | (QSIZE - 1) << 16,
              NVME_QUEUE_PC | NVME_CQ_IEN | 1u << 16, f->iova_rw + IOCQ_OFF);
    admin_cmd(f, NVME_ADM_CREATE_SQ, 1 | (QSIZE - 1) << 16,
              NVME_QUEUE_PC | 1u << 16, f->iova_rw + IOSQ_OFF);
}

static void op_sqe(struct fz *f)
{
    unsigned q = take(f, 1) & 1;
    uint8_t e[NVME_SQE_SIZE];

    for (unsigned i = 0; i < NVME_SQE_SIZE; i++)
        e[i] = (uint8_t)take(f, 1);
    nvme_put_le64(e + NVME_SQE_PRP1, rebase(f, nvme_get_le64(e + NVME_SQE_PRP1)));
    nvme_put_le64(e + NVME_SQE_PRP2, rebase(f, nvme_get_le64(e + NVME_SQE_PRP2)));
    put_sqe(f, q, e);
    ring_sq(f, q);
}

static void op_mem(struct fz *f)
{
    uint32_t off = (uint32_t)take(f, 2) * 8 % MEM_SIZE;
    unsigned n = take(f, 1) & 63;

    for (unsigned i = 0; i < n && off + 8 <= MEM_SIZE; i++, off += 8)
        nvme_put_le64(f->mem + off, rebase(f, take(f, 8)));
}

static void run_op(struct fz *f, uint8_t op)
{
    uint64_t off, v;
    uint32_t w;

    switch (op % 8) {
    case 0:
        off = take(f, 2);
        w = 1u << (take(f, 1) & 3);
        v = take(f, 8);
        mmio_write(f, off & ~(uint64_t)(w - 1), w, w == 8 ? rebase(f, v) : v);
        break;
    case 1:
        op_sqe(f);
        break;
    case 2:
        op_mem(f);
        break;
    case 3:
        reap(f, take(f, 1) & 1);
        break;
    case 4: {
        uint64_t in[3] = { 0, 0, 0 };

        w = 1u << (take(f, 1) & 3);
        in[1] = take(f, 2) & ~(uint64_t)(w - 1);
        in[2] = w;
        call(f, MVF_SEL_MMIO_READ, in, 3);
        break;
    }
    case 5: {
        uint64_t in[3];

        in[0] = take(f, 1);
        in[1] = 1u << (take(f, 1) % 3);
        in[0] &= ~(in[1] - 1);
        in[2] = take(f, 4);
        call(f, MVF_SEL_CONFIG_WRITE, in, 3);
        break;
    }
    case 6:
        call(f, MVF_SEL_RESET, NULL, 0);
        break;
    default:
        admin_enable(f, 2u << (take(f, 1) % 6));    /* 2..64 entries */
        break;
    }
}

static void setup_once(void)
{
    memfd = memfd_create("fuzz-nvme-guest", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, MEM_SIZE) != 0)
        abort();
    guest = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (guest == MAP_FAILED)
        abort();
}

static void start(struct fz *f, unsigned flags, const uint64_t *hello,
                  const uint64_t *open0)
{
    static const int vec_objs[3] = { 0, 1, 2 };
    struct mvf_provider p;
    char err[256];

    f->core = mvf_core_create(&fz_hops, NULL);
    if (!f->core || mvf_sim_nvme_create(",size=1M,queues=2,serial=FUZZ", &p,
                                        err, sizeof(err)) ||
        mvf_core_add_device(f->core, &p, NULL, &f->dev))
        abort();
    f->s = mvf_session_create(f->core);
    if (!f->s)
        abort();
    call_out(f, MVF_SEL_HELLO, hello, 2, NULL, 0);
    call_out(f, MVF_SEL_DEVICE_OPEN, open0, 1, NULL, 0);
    call_out(f, MVF_SEL_CLAIM, NULL, 0, NULL, 0);
    {
        const uint64_t reg[3] = { MEM_SIZE, 0, MVF_DMA_REG_FD };
        uint64_t h = call_out(f, MVF_SEL_DMA_REGISTER, reg, 3, &memfd, 1);
        const uint64_t rw[4] = { h, 0, RW_SIZE, MVF_DMA_READ | MVF_DMA_WRITE };
        const uint64_t ro[4] = { h, RW_SIZE, MEM_SIZE - RW_SIZE, MVF_DMA_READ };

        f->iova_rw = call_out(f, MVF_SEL_DMA_MAP, rw, 4, NULL, 0);
        f->iova_ro = call_out(f, MVF_SEL_DMA_MAP, ro, 4, NULL, 0);
    }
    if (!(flags & 4)) {
        const uint64_t irq[5] = { MVF_IRQ_MSIX, MVF_IRQ_ACT_TRIGGER, 0, 3, 7 };

        call_out(f, MVF_SEL_IRQ_SET, irq, 5, vec_objs, 3);
    }
    if (!(flags & 2)) {
        const uint64_t cmd[3] = { 4, 2, 6 };   /* memory + bus master */

        call_out(f, MVF_SEL_CONFIG_WRITE, cmd, 3, NULL, 0);
    }
    memset(guest, 0, MEM_SIZE);
    f->mem = guest;
    f->phase[0] = f->phase[1] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    static const uint64_t open0[1] = { 0 };
    static const uint64_t csts_rd[3] = { 0, NVME_REG_CSTS, 4 };
    struct fz f;
    struct mvf_stats st;
    unsigned flags, ops = 0;

    if (!guest)
        setup_once();
    if (!size)
        return 0;
    memset(&f, 0, sizeof(f));
    flags = data[0];
    f.in = data + 1;
    f.left = size - 1;
    start(&f, flags, hello, open0);
    if (flags & 1)
        bring_up(&f);
    while (f.left && ops++ < MAX_OPS) {
        run_op(&f, (uint8_t)take(&f, 1));
        mvf_core_run_work(f.core);
    }

    /* The owner leaving resets the controller and leaves nothing mapped. */
    mvf_session_destroy(f.s);
    mvf_device_stats(f.dev, &st);
    if (st.live_mappings || st.mapped_bytes || st.registered_bytes)
        abort();
    /* ... and the next owner finds the controller disabled. */
    f.s = mvf_session_create(f.core);
    if (!f.s)
        abort();
    call_out(&f, MVF_SEL_HELLO, hello, 2, NULL, 0);
    call_out(&f, MVF_SEL_DEVICE_OPEN, open0, 1, NULL, 0);
    call_out(&f, MVF_SEL_CLAIM, NULL, 0, NULL, 0);
    if (call_out(&f, MVF_SEL_MMIO_READ, csts_rd, 3, NULL, 0) != 0)
        abort();
    mvf_session_destroy(f.s);
    mvf_core_destroy(f.core);
    return 0;
}
