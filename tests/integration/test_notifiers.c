/* SPDX-License-Identifier: MIT */
/*
 * Hostile notifier fds: a client binds eventfds it made blocking and
 * whose counters it filled, as per-vector notifiers and as the state
 * page's wake fd, then makes the device raise them.  The daemon's only
 * thread must never block in the write: a neighbour's calls keep
 * completing, the daemon stays up and exits cleanly on SIGTERM, and
 * nothing stays mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "dmatest.h"

#define G MVF_DART_GRANULE
#define FULL_COUNTER 0xfffffffffffffffeull   /* one more write blocks */


static void reg_write(struct mvf_handle *h, uint32_t reg, uint64_t v)
{
    assert_int_equal(mvf_mmio_write(h, 0, reg, 4, v), 0);
}

/* A blocking eventfd whose counter is full. */
static int full_blocking_eventfd(void)
{
    uint64_t v = FULL_COUNTER;
    int fd = eventfd(0, EFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, &v, sizeof(v)), sizeof(v));
    return fd;
}

/* A claimed dmatest with bus mastering on and one DMA mapping; returns
 * its IOVA. */
static uint64_t setup_dma(struct mvf_handle *h, int *memfd)
{
    uint64_t handle, iova;
    uint32_t cmd;

    *memfd = test_sealed_memfd(G);
    assert_int_equal(mvf_config_read(h, 0x04, 2, &cmd), 0);
    assert_int_equal(mvf_config_write(h, 0x04, 2, cmd | 0x6), 0);
    assert_int_equal(mvf_dma_register_fd(h, *memfd, 0, G, &handle), 0);
    assert_int_equal(mvf_dma_map(h, handle, 0, G, MVF_DMA_READ | MVF_DMA_WRITE,
                                 &iova), 0);
    return iova;
}

/* One transfer that raises MSI-X vector `vec` when it completes. */
static void raise_vector(struct mvf_handle *h, uint64_t iova, uint32_t vec)
{
    reg_write(h, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)iova);
    reg_write(h, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(iova >> 32));
    reg_write(h, MVF_DMATEST_REG_DMA_OFFSET, 0);
    reg_write(h, MVF_DMATEST_REG_DMA_LEN, 64);
    reg_write(h, MVF_DMATEST_REG_DMA_DIR, MVF_DMATEST_DIR_TO_DEVICE);
    reg_write(h, MVF_DMATEST_REG_DMA_VECTOR, vec);
    reg_write(h, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
}

static void test_full_blocking_vector_fd(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, 0);
    int efd = full_blocking_eventfd(), memfd;
    int fds[MVF_DMATEST_NVEC] = { -1, efd, -1, -1 };
    uint64_t iova = setup_dma(h, &memfd), v;

    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0,
                                          MVF_DMATEST_NVEC, fds), 0);
    for (int i = 0; i < 20; i++)
        raise_vector(h, iova, 1);
    /* The hostile client's own calls are still served too. */
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_XFER_COUNT, 4, &v), 0);
    assert_int_equal(v, 20);
    test_probe_check(probe, "raises into a full blocking eventfd");
    /* The counter was full, so the client was awake all along. */
    assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
    assert_int_equal(v, FULL_COUNTER);
    mvf_close(h);
    close(efd);
    close(memfd);
    test_assert_daemon_clean(&test_pair_daemon, 2);
}

static void test_full_blocking_wake_fd(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, 0);
    int wake = full_blocking_eventfd(), memfd;
    uint64_t iova = setup_dma(h, &memfd), v;

    assert_int_equal(mvf_irq_set_state_page(h, MVF_IRQ_MSIX, wake), 0);
    for (int i = 0; i < 20; i++)
        raise_vector(h, iova, i % MVF_DMATEST_NVEC);
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_XFER_COUNT, 4, &v), 0);
    assert_int_equal(v, 20);
    test_probe_check(probe, "raises into a full blocking wake fd");
    mvf_close(h);
    close(wake);
    close(memfd);
    test_assert_daemon_clean(&test_pair_daemon, 2);
}

/* The client keeps emptying and refilling the counter while the device
 * raises: a check before the write cannot win this race, the daemon's
 * write must still never block for long. */
struct refiller {
    int fd;
    atomic_bool stop;
};

static void *refill_loop(void *arg)
{
    struct refiller *r = arg;

    while (!atomic_load(&r->stop)) {
        uint64_t v = 0;

        if (read(r->fd, &v, sizeof(v)) < 0)
            break;
        v = FULL_COUNTER;
        if (write(r->fd, &v, sizeof(v)) < 0)
            break;
    }
    return NULL;
}

static void test_refilled_while_raising(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, 0);
    struct refiller r = { .fd = full_blocking_eventfd() };
    int fds[MVF_DMATEST_NVEC] = { r.fd, r.fd, r.fd, r.fd }, memfd;
    uint64_t iova = setup_dma(h, &memfd);
    pthread_t t;

    atomic_init(&r.stop, false);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0,
                                          MVF_DMATEST_NVEC, fds), 0);
    assert_int_equal(pthread_create(&t, NULL, refill_loop, &r), 0);
    for (int i = 0; i < 500; i++)
        raise_vector(h, iova, i % MVF_DMATEST_NVEC);
    test_probe_check(probe, "raises while the client refills its counter");
    mvf_close(h);
    atomic_store(&r.stop, true);
    /* The refiller may sit in read() on an empty counter or in write()
     * on a full one: unstick it whichever it is until it has gone.  Our
     * own accesses must not block (it races us), so the description is
     * made non-blocking now that the daemon has let it go. */
    assert_int_equal(fcntl(r.fd, F_SETFL, O_NONBLOCK), 0);
    while (pthread_tryjoin_np(t, NULL) != 0) {
        uint64_t v = 1;

        if (read(r.fd, &v, sizeof(v)) < 0)
            assert_int_equal(errno, EAGAIN);
        v = 1;
        if (write(r.fd, &v, sizeof(v)) < 0)
            assert_int_equal(errno, EAGAIN);
        usleep(1000);
    }
    close(r.fd);
    close(memfd);
    test_assert_daemon_clean(&test_pair_daemon, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_blocking_vector_fd),
        cmocka_unit_test(test_full_blocking_wake_fd),
        cmocka_unit_test(test_refilled_while_raising),
    };
    return cmocka_run_group_tests(tests, test_pair_start, test_pair_stop);
}
