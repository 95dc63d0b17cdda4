/* SPDX-License-Identifier: MIT */
/*
 * The apple-dma-pci engine (companion/engine.c) against a running
 * macvfiod, as QEMU drives it under the on-demand strategy: a "guest"
 * fills a ring with N MAP entries and rings the doorbell, then N UNMAPs
 * and another doorbell.  Prints the doorbell latency (p50/p99) and the
 * map+unmap rate for N = 1, 16 and 256, in two shapes side by side:
 *
 *   per entry:    the engine's host calls made one mvf_dma_map /
 *                 mvf_dma_unmap per entry (how the engine worked before
 *                 issue #11, one socket round trip per entry);
 *   per doorbell: what the engine does now, one mvf_dma_map_batch and
 *                 one mvf_dma_unmap_batch per doorbell.
 *
 * and, for scale, one socket round trip (a trapped MMIO read).  Every
 * entry's status and IOVA is checked; prints figures, asserts no timing.
 *
 *   bench_companion --socket PATH [--iterations N]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macvfio/companion.h"
#include "macvfio/dmatest.h"
#include "macvfio/macvfio.h"

#include "bench_common.h"

#define G        MVF_DART_GRANULE
#define RAM_SIZE (16ull << 20)
#define MAX_N    256u
/* Each shape's ring sits at the top of guest RAM, clear of the buffers. */
#define RING_BYTES ((uint64_t)MAX_N * MVF_GP_ENTRY_SIZE)

struct bench {
    struct mvf_handle *h;
    uint8_t *ram;            /* guest RAM, the registered memfd */
    uint64_t handle;
};

/* One engine and its ring, in one of the two shapes. */
struct shape {
    const char *name;
    struct bench *b;
    struct mvf_gp_dev *gp;
    uint64_t ring_gpa;
    uint64_t buf_gpa;        /* its N buffers start here */
    uint64_t host_calls;     /* socket round trips its callbacks made */
    double *map_ns, *unmap_ns, total_ns;
};

static void die(const char *what, int ret)
{
    fprintf(stderr, "bench_companion: %s: %s (%s)\n", what, strerror(-ret),
            mvf_last_error());
    exit(1);
}

/* ---- the callbacks QEMU's companion implements ---------------------------- */

/* Guest RAM is [0, RAM_SIZE); anything else is not RAM. */
static int in_ram(uint64_t gpa, uint64_t len)
{
    return gpa <= RAM_SIZE && len <= RAM_SIZE - gpa ? 0 : -EFAULT;
}

static int read_guest(void *ctx, uint64_t gpa, void *buf, uint64_t len)
{
    struct bench *b = ((struct shape *)ctx)->b;

    if (in_ram(gpa, len))
        return -EFAULT;
    memcpy(buf, b->ram + gpa, len);
    return 0;
}

static int write_guest(void *ctx, uint64_t gpa, const void *buf, uint64_t len)
{
    struct bench *b = ((struct shape *)ctx)->b;

    if (in_ram(gpa, len))
        return -EFAULT;
    memcpy(b->ram + gpa, buf, len);
    return 0;
}

static int map_batch(void *ctx, const struct mvf_dma_map_req *reqs,
                     struct mvf_dma_map_res *res, uint32_t n)
{
    struct shape *sh = ctx;

    sh->host_calls++;
    return mvf_dma_map_batch(sh->b->h, reqs, res, n);
}

static int unmap_batch(void *ctx, const struct mvf_dma_unmap_req *reqs,
                       int32_t *status, uint32_t n)
{
    struct shape *sh = ctx;

    sh->host_calls++;
    return mvf_dma_unmap_batch(sh->b->h, reqs, status, n);
}

/* The shape before issue #11: one host call per entry. */
static int map_each(void *ctx, const struct mvf_dma_map_req *reqs,
                    struct mvf_dma_map_res *res, uint32_t n)
{
    struct shape *sh = ctx;

    for (uint32_t i = 0; i < n; i++) {
        sh->host_calls++;
        res[i].status = mvf_dma_map(sh->b->h, reqs[i].handle, reqs[i].offset,
                                    reqs[i].length, reqs[i].flags,
                                    &res[i].iova);
    }
    return 0;
}

static int unmap_each(void *ctx, const struct mvf_dma_unmap_req *reqs,
                      int32_t *status, uint32_t n)
{
    struct shape *sh = ctx;

    for (uint32_t i = 0; i < n; i++) {
        sh->host_calls++;
        status[i] = mvf_dma_unmap(sh->b->h, reqs[i].iova, reqs[i].length);
    }
    return 0;
}

/* ---- the guest's side ------------------------------------------------------ */

/* Ring entries are little-endian, as every host macvfio runs on is, so
 * the bench writes them as structures. */
static struct mvf_gp_entry *entry(struct shape *sh, unsigned i)
{
    return (struct mvf_gp_entry *)(sh->b->ram + sh->ring_gpa) + i;
}

static void put_entry(struct shape *sh, unsigned i, uint16_t op, uint64_t gpa,
                      uint64_t iova)
{
    *entry(sh, i) = (struct mvf_gp_entry){
        .gpa = gpa, .len = G, .op = op,
        .flags = op == MVF_GP_OP_MAP ? MVF_GP_F_READ | MVF_GP_F_WRITE : 0,
        .status = MVF_GP_STATUS_PENDING, .iova = iova,
    };
}

static void wr(struct shape *sh, uint32_t off, uint32_t v)
{
    int st = mvf_gp_mmio_write(sh->gp, off, 4, v);

    if (st)
        die("companion register write", st);
}

/* Rings the doorbell for entries 0..n-1 and checks every one succeeded. */
static double doorbell(struct shape *sh, unsigned n)
{
    double t0 = bench_now_ns(), t;
    int st = mvf_gp_mmio_write(sh->gp, MVF_GP_RING_REG(0, MVF_GP_RING_DOORBELL),
                               4, MVF_GP_DOORBELL(0, n));

    t = bench_now_ns() - t0;
    if (st)
        die("doorbell", st);
    for (unsigned i = 0; i < n; i++)
        if (entry(sh, i)->status)
            die("ring entry", entry(sh, i)->status);
    return t;
}

static void shape_init(struct shape *sh, struct bench *b, const char *name,
                       const struct mvf_gp_ops *ops, unsigned idx, int rounds)
{
    const struct mvf_gp_config cfg = {
        .num_rings = 1, .granule = G, .budget = RAM_SIZE,
        .max_mappings = 4096,
    };
    const struct mvf_gp_range ram = { 0, RAM_SIZE, b->handle, 0 };
    int ret;

    *sh = (struct shape){ .name = name, .b = b,
                          .ring_gpa = RAM_SIZE - (idx + 1) * RING_BYTES,
                          .buf_gpa = (uint64_t)idx * MAX_N * G };
    sh->map_ns = calloc((size_t)rounds, sizeof(double));
    sh->unmap_ns = calloc((size_t)rounds, sizeof(double));
    if (!sh->map_ns || !sh->unmap_ns)
        die("calloc", -ENOMEM);
    if ((ret = mvf_gp_create(&cfg, ops, sh, &sh->gp)) ||
        (ret = mvf_gp_set_ram(sh->gp, &ram, 1)) ||
        (ret = mvf_gp_set_strategy(sh->gp, MVF_GP_STRATEGY_ONDEMAND)))
        die("engine set-up", ret);
    wr(sh, MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_LO), (uint32_t)sh->ring_gpa);
    wr(sh, MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_HI), (uint32_t)(sh->ring_gpa >> 32));
    wr(sh, MVF_GP_RING_REG(0, MVF_GP_RING_SIZE), MAX_N);
    wr(sh, MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), MVF_GP_RING_CTRL_ENABLE);
}

/* One round: n MAPs in one doorbell, then their n UNMAPs in another. */
static void shape_round(struct shape *sh, unsigned n, int r)
{
    for (unsigned i = 0; i < n; i++)
        put_entry(sh, i, MVF_GP_OP_MAP,
                  sh->buf_gpa + (uint64_t)((r + i) % MAX_N) * G, 0);
    sh->map_ns[r] = doorbell(sh, n);
    for (unsigned i = 0; i < n; i++)
        put_entry(sh, i, MVF_GP_OP_UNMAP, 0, entry(sh, i)->iova);
    sh->unmap_ns[r] = doorbell(sh, n);
    sh->total_ns += sh->map_ns[r] + sh->unmap_ns[r];
}

static void shape_print(struct shape *sh, unsigned n, int rounds)
{
    struct mvf_gp_stats st;
    double m50, m99, u50, u99;

    mvf_gp_get_stats(sh->gp, &st);
    if (st.maps != (uint64_t)rounds * n || st.unmaps != st.maps ||
        st.live_mappings)
        die("engine counters disagree with the run", -EIO);
    m50 = bench_percentile(sh->map_ns, rounds, 0.5);
    m99 = sh->map_ns[(int)(rounds * 0.99)];
    u50 = bench_percentile(sh->unmap_ns, rounds, 0.5);
    u99 = sh->unmap_ns[(int)(rounds * 0.99)];
    printf("%4u  %-13s %8.1f / %8.1f   %8.1f / %8.1f   %9.0f   %6.1f\n", n,
           sh->name, m50 / 1e3, m99 / 1e3, u50 / 1e3, u99 / 1e3,
           (double)rounds * n / (sh->total_ns / 1e9),
           (double)sh->host_calls / (2.0 * rounds));
    mvf_gp_destroy(sh->gp);
    free(sh->map_ns);
    free(sh->unmap_ns);
}

/* Both shapes, round by round in turn, so load from elsewhere on the
 * machine falls on both alike. */
static void run_size(struct bench *b, const struct mvf_gp_ops *before,
                     const struct mvf_gp_ops *now, unsigned n, int iters)
{
    int rounds = iters / (int)n > 50 ? iters / (int)n : 50;
    struct shape sh[2];

    shape_init(&sh[0], b, "per entry", before, 0, rounds);
    shape_init(&sh[1], b, "per doorbell", now, 1, rounds);
    for (int r = 0; r < rounds; r++) {
        shape_round(&sh[0], n, r);
        shape_round(&sh[1], n, r);
    }
    shape_print(&sh[0], n, rounds);
    shape_print(&sh[1], n, rounds);
}

int main(int argc, char **argv)
{
    static const struct mvf_gp_ops per_doorbell = {
        .read_guest = read_guest, .write_guest = write_guest,
        .map_batch = map_batch, .unmap_batch = unmap_batch,
    };
    static const struct mvf_gp_ops per_entry = {
        .read_guest = read_guest, .write_guest = write_guest,
        .map_batch = map_each, .unmap_batch = unmap_each,
    };
    static const unsigned sizes[] = { 1, 16, 256 };
    const char *sock;
    struct bench b = { 0 };
    int iters, ret, mfd, rt_n;
    double *rt;
    uint64_t v;

    if (bench_args(argc, argv, "bench_companion", &sock, &iters))
        return 2;
    if ((ret = mvf_connect(sock, &b.h)) || (ret = mvf_device_open(b.h, 0)) ||
        (ret = mvf_claim(b.h)))
        die("connect/open/claim", ret);
    mfd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0 || ftruncate(mfd, (off_t)RAM_SIZE) < 0 ||
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        die("memfd", -errno);
    b.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (b.ram == MAP_FAILED)
        die("mmap", -errno);
    if ((ret = mvf_dma_register_fd(b.h, mfd, 0, RAM_SIZE, &b.handle)))
        die("register", ret);

    rt_n = iters / 4;
    rt = calloc((size_t)rt_n, sizeof(*rt));
    if (!rt)
        die("calloc", -ENOMEM);
    for (int i = 0; i < rt_n; i++) {
        double t0 = bench_now_ns();

        if ((ret = mvf_mmio_read(b.h, 0, MVF_DMATEST_REG_SCRATCH, 4, &v)))
            die("mmio read", ret);
        rt[i] = bench_now_ns() - t0;
    }
    bench_report("one socket round trip (trapped MMIO read)", rt, rt_n);
    free(rt);

    printf("\nentries shape         map doorbell us      unmap doorbell us    "
           "map+unmap   host calls\n"
           "/bell                 p50 / p99            p50 / p99            "
           "pairs/s     /doorbell\n");
    for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        run_size(&b, &per_entry, &per_doorbell, sizes[s], iters);

    mvf_dma_unregister(b.h, b.handle);
    munmap(b.ram, RAM_SIZE);
    close(mfd);
    mvf_close(b.h);
    return 0;
}
