/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio's IOKit transport (lib/transport_iokit.c, built for Linux
 * with MVF_WITH_IOKIT) against the dext's own code: the IOKitLib double
 * forwards every call to dkhost, a separate process running the dext on
 * the DriverKit double with a simulated device, as the kernel forwards
 * them to the dext on a Mac.  Client memory is shared by address (a
 * memfd mapping, as QEMU's guest RAM is).
 *
 * Covers what a VMM does through mvf_connect_iokit: finding the service
 * by PCI address, HELLO with the IOKit limits, config and trapped BAR
 * access, a mapped BAR, DMA into memory registered by address at the
 * dext's IOVAs with data checked both ways, MSI-X delivered to per-vector
 * fds from the state page, the dext's error text through LAST_ERROR, a
 * killed client leaving nothing mapped, and the dext host dying.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "macvfio/macvfio.h"
#include "dmatest.h"

#define G MVF_DART_GRANULE

/* dkhost serving sim:dmatest, started by the integration fixture
 * (MVF_TEST_TRANSPORT=iokit); it exits 0 only if no kernel rule was
 * broken and nothing (mappings, client memory, objects) was left. */
static struct test_daemon dkhost_;

static int setup(void **state)
{
    static const char *const args[] = { "--device", "sim:dmatest", NULL };

    (void)state;
    return test_daemon_start(&dkhost_, args);
}

static int teardown(void **state)
{
    (void)state;
    return test_daemon_stop(&dkhost_) == 0 ? 0 : -1;
}

static struct mvf_handle *open_claimed(void)
{
    struct mvf_handle *h = NULL;
    uint32_t cmd;

    assert_int_equal(mvf_connect_iokit("00:00.0", &h), 0);
    assert_int_equal(mvf_device_open(h, 0), 0);
    assert_int_equal(mvf_claim(h), 0);
    assert_int_equal(mvf_config_read(h, 0x04, 2, &cmd), 0);
    assert_int_equal(mvf_config_write(h, 0x04, 2, cmd | 0x6), 0);
    return h;
}

/* Shared memory at a granule-aligned address (a memfd, as QEMU's
 * memory-backend-memfd); unmapped with munmap(p, len). */
static uint8_t *shared_alloc(size_t len)
{
    int fd = test_sealed_memfd(len);
    uint8_t *p = test_map_memfd(fd, len);

    close(fd);
    return p;
}

static void test_find_and_hello(void **state)
{
    struct mvf_handle *h = NULL;
    struct mvf_device_info info;

    (void)state;
    assert_int_equal(mvf_connect_iokit("00:01.0", &h), -ENODEV);
    assert_int_equal(mvf_connect_iokit("zz", &h), -EINVAL);
    assert_int_equal(mvf_connect_iokit(NULL, &h), 0);
    assert_int_equal(mvf_server_max_struct(h), 4096);
    assert_true(mvf_features(h) & MVF_FEAT_IRQ_STATE_PAGE);
    assert_true(mvf_features(h) & MVF_FEAT_DMA_VA);
    assert_false(mvf_features(h) & MVF_FEAT_DMA_FD);
    assert_int_equal(mvf_device_count(h), 1);
    assert_int_equal(mvf_device_open(h, 0), 0);
    assert_int_equal(mvf_device_get_info(h, &info), 0);
    assert_int_equal(info.vendor_id, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(info.device_id, MVF_DMATEST_DEVICE_ID);
    assert_string_equal(info.name, "pci1b36,e0");
    assert_int_equal(info.dma_granule, G);
    mvf_close(h);
}

static void test_config_mmio_and_errors(void **state)
{
    struct mvf_handle *h = open_claimed(), *other = NULL;
    uint32_t v = 0;
    uint64_t r;

    (void)state;
    assert_int_equal(mvf_config_read(h, 0, 2, &v), 0);
    assert_int_equal(v, MVF_DMATEST_VENDOR_ID);
    test_dmatest_reg_write(h, MVF_DMATEST_REG_SCRATCH, 0x5eed1234);
    assert_int_equal(test_dmatest_reg_read(h, MVF_DMATEST_REG_SCRATCH), 0x5eed1234);
    /* An error keeps its errno and its text across IOKit. */
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_SIZE, 4, &r), -ERANGE);
    assert_non_null(strstr(mvf_last_error(), "BAR"));
    /* A second client cannot take the device. */
    assert_int_equal(mvf_connect_iokit(NULL, &other), 0);
    assert_int_equal(mvf_device_open(other, 0), 0);
    assert_int_equal(mvf_claim(other), -EBUSY);
    mvf_close(other);
    mvf_close(h);
}

static void test_mapped_bar(void **state)
{
    struct mvf_handle *h = open_claimed();
    uint8_t *win = NULL;
    uint64_t size = 0, v = 0;

    (void)state;
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    assert_int_equal(size, MVF_DMATEST_WIN_DEFAULT);
    memcpy(win + 0x100, "\x01\x02\x03\x04", 4);
    assert_int_equal(mvf_mmio_read(h, 2, 0x100, 4, &v), 0);
    assert_int_equal(v, 0x04030201);
    assert_int_equal(mvf_mmio_write(h, 2, 0x200, 4, 0xcafef00d), 0);
    assert_int_equal(*(volatile uint32_t *)(win + 0x200), 0xcafef00d);
    assert_int_equal(mvf_unmap_memory(h, win, size), 0);
    mvf_close(h);
}

static void test_dma_by_address(void **state)
{
    struct mvf_handle *h = open_claimed();
    uint8_t *mem = shared_alloc(4 * G), *win = NULL;
    uint64_t handle, iova, size = 0;

    (void)state;
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    assert_int_equal(mvf_dma_register_va(h, mem, 4 * G, &handle), 0);
    assert_int_equal(mvf_dma_map(h, handle, G, 2 * G, MVF_DMA_READ | MVF_DMA_WRITE, &iova), 0);
    assert_int_equal(iova % G, 0);
    assert_true(iova != (uint64_t)(uintptr_t)(mem + G));
    for (int i = 0; i < 8192; i++)
        win[i] = (uint8_t)(i * 13 + 5);
    /* Device writes land in this process's memory... */
    assert_int_equal(test_dmatest_xfer(h, iova + 64, 0, 8192, MVF_DMATEST_DIR_FROM_DEVICE, 0) &
                         MVF_DMATEST_STATUS_DONE,
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(mem + G + 64, win, 8192);
    assert_int_equal(mem[G + 63], 0);
    /* ...and device reads see it. */
    memset(mem + G, 0xa5, 4096);
    assert_int_equal(test_dmatest_xfer(h, iova, 0x4000, 4096, MVF_DMATEST_DIR_TO_DEVICE, 0) &
                         MVF_DMATEST_STATUS_DONE,
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(win[0x4000], 0xa5);
    assert_int_equal(win[0x4000 + 4095], 0xa5);
    /* Unmapped, the IOVA faults. */
    assert_int_equal(mvf_dma_unmap(h, iova, 2 * G), 0);
    assert_int_equal(test_dmatest_xfer(h, iova, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 0) &
                         MVF_DMATEST_STATUS_FAULT,
                     MVF_DMATEST_STATUS_FAULT);
    /* Memory that is not a shared mapping of this process is refused. */
    {
        void *anon = mmap(NULL, G, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint64_t h2;
        assert_true(anon != MAP_FAILED);
        assert_true(mvf_dma_register_va(h, anon, G, &h2) < 0);
        munmap(anon, G);
    }
    assert_int_equal(mvf_dma_unregister(h, handle), 0);
    mvf_close(h);
    munmap(mem, 4 * G);
}

static void test_msix_to_vector_fds(void **state)
{
    struct mvf_handle *h = open_claimed();
    int fds[2] = {eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};

    (void)state;
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 2, fds), 0);
    /* A transfer that faults still raises its vector. */
    test_dmatest_xfer(h, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 1);
    assert_true(test_wait_eventfd(fds[1], 5000) >= 1);
    assert_int_equal(test_wait_eventfd(fds[0], 0), 0);
    test_dmatest_xfer(h, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 0);
    assert_true(test_wait_eventfd(fds[0], 5000) >= 1);
    /* Masked: held, then delivered on unmask. */
    assert_int_equal(mvf_irq_mask(h, MVF_IRQ_MSIX, 1, 1), 0);
    test_dmatest_xfer(h, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 1);
    assert_int_equal(test_wait_eventfd(fds[1], 200), 0);
    assert_int_equal(mvf_irq_unmask(h, MVF_IRQ_MSIX, 1, 1), 0);
    assert_true(test_wait_eventfd(fds[1], 5000) >= 1);
    mvf_close(h);
    close(fds[0]);
    close(fds[1]);
}

/* A client that dies holding mappings: the dext cleans up its session,
 * and the next client claims a device with nothing mapped. */
static void test_killed_client_leaves_nothing(void **state)
{
    struct mvf_stats st;
    int go[2], status;

    (void)state;
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct mvf_handle *h = NULL;
        uint8_t *mem = shared_alloc(8 * G);
        uint64_t handle, iova;
        if (mvf_connect_iokit(NULL, &h) || mvf_device_open(h, 0) || mvf_claim(h) ||
            mvf_dma_register_va(h, mem, 8 * G, &handle) ||
            mvf_dma_map(h, handle, 0, 4 * G, MVF_DMA_READ, &iova) ||
            mvf_dma_map(h, handle, 4 * G, 4 * G, MVF_DMA_WRITE, &iova))
            _exit(1);
        if (write(go[1], "m", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    close(go[1]);
    assert_int_equal(read(go[0], &c, 1), 1);
    close(go[0]);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);

    struct mvf_handle *h = NULL;
    assert_int_equal(mvf_connect_iokit(NULL, &h), 0);
    assert_int_equal(mvf_device_open(h, 0), 0);
    /* The kernel ends the dead task's connection; the claim comes free. */
    for (int i = 0; i < 500 && mvf_claim(h) == -EBUSY; i++)
        usleep(20000);
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 0);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.registered_bytes, 0);
    mvf_close(h);
}

/* The dext host dies: the connection's fd says so, calls fail. */
static void test_host_dies(void **state)
{
    struct mvf_handle *h = open_claimed();
    struct pollfd p = {.fd = mvf_connection_fd(h), .events = POLLIN};
    uint32_t v;

    (void)state;
    assert_true(p.fd >= 0);
    assert_int_equal(poll(&p, 1, 0), 0);
    kill(dkhost_.pid, SIGKILL);
    waitpid(dkhost_.pid, NULL, 0);
    dkhost_.pid = -1;
    test_daemon_stop(&dkhost_);   /* its directory; the status is the kill's */
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(mvf_config_read(h, 0, 2, &v) < 0);
    mvf_close(h);
    /* Up again for the suite's teardown. */
    assert_int_equal(setup(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_hello),
        cmocka_unit_test(test_config_mmio_and_errors),
        cmocka_unit_test(test_mapped_bar),
        cmocka_unit_test(test_dma_by_address),
        cmocka_unit_test(test_msix_to_vector_fds),
        cmocka_unit_test(test_killed_client_leaves_nothing),
        cmocka_unit_test(test_host_dies),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
