/* SPDX-License-Identifier: MIT */
/*
 * Host-layer benchmark against a running macvfiod serving sim:dmatest:
 * prints round trips (p50/p99) of trapped MMIO and config reads, DMA
 * map+unmap rates (single and batched), and doorbell-to-interrupt
 * latency through an eventfd.  Prints figures only; asserts nothing.
 * Trapped writes are posted where the server offers it (abi.h, "Posted
 * requests"): then the time to post one, and to post one and flush.
 *
 *   bench_host --socket PATH [--iterations N] [--writes-only]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macvfio/macvfio.h"
#include "macvfio/dmatest.h"

#include "bench_common.h"

#define G MVF_DART_GRANULE

static int die(const char *what, int ret)
{
    fprintf(stderr, "bench_host: %s: %s (%s)\n", what, strerror(-ret),
            mvf_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    const char *sock;
    int iters, ret, mfd, efd;
    bool writes_only = false, posted;
    struct mvf_handle *h;
    uint64_t v, handle, iova;
    double *ns, t0;
    uint32_t cmd;

    /* --writes-only (make bench's run against --no-posted-writes) is ours;
     * the rest are every bench's. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--writes-only")) {
            writes_only = true;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
            argc--;
            i--;
        }
    }
    if (bench_args(argc, argv, "bench_host [--writes-only]", &sock, &iters))
        return 2;
    ns = calloc((size_t)iters, sizeof(*ns));
    if (!ns)
        return 1;
    if ((ret = mvf_connect(sock, &h)) || (ret = mvf_device_open(h, 0)) ||
        (ret = mvf_claim(h)))
        die("connect/open/claim", ret);

    posted = (mvf_features(h) & MVF_FEAT_POSTED_WRITE) != 0;
    for (int i = 0; i < iters && !writes_only; i++) {
        t0 = bench_now_ns();
        if ((ret = mvf_mmio_read(h, 0, MVF_DMATEST_REG_SCRATCH, 4, &v)))
            die("mmio read", ret);
        ns[i] = bench_now_ns() - t0;
    }
    if (!writes_only)
        bench_report("trapped MMIO read round trip", ns, iters);
    for (int i = 0; i < iters; i++) {
        t0 = bench_now_ns();
        if ((ret = mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4,
                                         (uint64_t)i)))
            die("mmio write", ret);
        ns[i] = bench_now_ns() - t0;
    }
    if ((ret = mvf_flush(h)))
        die("flush", ret);
    bench_report(posted ? "trapped MMIO write, posted (send only)" :
                    "trapped MMIO write round trip", ns, iters);
    for (int i = 0; i < iters && posted; i++) {
        t0 = bench_now_ns();
        if ((ret = mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4,
                                         (uint64_t)i)) ||
            (ret = mvf_flush(h)))
            die("mmio write + flush", ret);
        ns[i] = bench_now_ns() - t0;
    }
    if (posted)
        bench_report("trapped MMIO write, posted + mvf_flush", ns, iters);
    if (writes_only) {
        mvf_close(h);
        free(ns);
        return 0;
    }
    for (int i = 0; i < iters; i++) {
        uint32_t c;
        t0 = bench_now_ns();
        if ((ret = mvf_config_read(h, 0x04, 2, &c)))
            die("config read", ret);
        ns[i] = bench_now_ns() - t0;
    }
    bench_report("config read round trip", ns, iters);

    /* DMA map+unmap of one 16 KiB granule, one call each. */
    mfd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0 || ftruncate(mfd, 64 << 20) < 0 ||
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        return 1;
    if ((ret = mvf_dma_register_fd(h, mfd, 0, 64 << 20, &handle)))
        die("register", ret);
    t0 = bench_now_ns();
    for (int i = 0; i < iters; i++) {
        if ((ret = mvf_dma_map(h, handle, (uint64_t)(i % 4096) * G, G,
                               MVF_DMA_READ | MVF_DMA_WRITE, &iova)) ||
            (ret = mvf_dma_unmap(h, iova, G)))
            die("map/unmap", ret);
    }
    printf("%-44s %9.0f pairs/s\n", "DMA map+unmap, one call each",
           iters / ((bench_now_ns() - t0) / 1e9));

    /* Batched: 256 maps in one call, 256 unmaps in another. */
    {
        enum { B = 256 };
        struct mvf_dma_map_req req[B];
        struct mvf_dma_map_res res[B];
        struct mvf_dma_unmap_req ureq[B];
        int32_t st[B];
        int rounds = iters / B > 10 ? iters / B : 10;

        t0 = bench_now_ns();
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < B; i++)
                req[i] = (struct mvf_dma_map_req){ handle, (uint64_t)i * G, G,
                                                   MVF_DMA_READ | MVF_DMA_WRITE, 0 };
            if ((ret = mvf_dma_map_batch(h, req, res, B)))
                die("map batch", ret);
            for (int i = 0; i < B; i++) {
                if (res[i].status)
                    die("map batch entry", res[i].status);
                ureq[i] = (struct mvf_dma_unmap_req){ res[i].iova, G };
            }
            if ((ret = mvf_dma_unmap_batch(h, ureq, st, B)))
                die("unmap batch", ret);
            for (int i = 0; i < B; i++)
                if (st[i])
                    die("unmap batch entry", st[i]);
        }
        printf("%-44s %9.0f pairs/s\n", "DMA map+unmap, batches of 256",
               rounds * B / ((bench_now_ns() - t0) / 1e9));
    }

    /* Doorbell write -> device DMA -> MSI-X -> eventfd readable. */
    efd = eventfd(0, EFD_CLOEXEC);
    if ((ret = mvf_config_read(h, 0x04, 2, &cmd)) ||
        (ret = mvf_config_write(h, 0x04, 2, cmd | 0x6)) ||
        (ret = mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 1, &efd)) ||
        (ret = mvf_dma_map(h, handle, 0, G, MVF_DMA_READ | MVF_DMA_WRITE, &iova)))
        die("irq setup", ret);
    mvf_mmio_write(h, 0, MVF_DMATEST_REG_DMA_IOVA_LO, 4, (uint32_t)iova);
    mvf_mmio_write(h, 0, MVF_DMATEST_REG_DMA_IOVA_HI, 4, iova >> 32);
    mvf_mmio_write(h, 0, MVF_DMATEST_REG_DMA_LEN, 4, 64);
    mvf_mmio_write(h, 0, MVF_DMATEST_REG_DMA_DIR, 4, MVF_DMATEST_DIR_FROM_DEVICE);
    mvf_mmio_write(h, 0, MVF_DMATEST_REG_DMA_VECTOR, 4, 0);
    for (int i = 0; i < iters / 4; i++) {
        struct pollfd p = { .fd = efd, .events = POLLIN };
        uint64_t cnt;

        t0 = bench_now_ns();
        if ((ret = mvf_mmio_write(h, 0, MVF_DMATEST_REG_DOORBELL, 4,
                                  MVF_DMATEST_DOORBELL_GO)))
            die("doorbell", ret);
        if (poll(&p, 1, 1000) != 1 || read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
            die("interrupt", -ETIMEDOUT);
        ns[i] = bench_now_ns() - t0;
    }
    bench_report("doorbell -> 64 B DMA -> MSI-X eventfd", ns, iters / 4);

    close(efd);
    close(mfd);
    mvf_close(h);
    free(ns);
    return 0;
}
