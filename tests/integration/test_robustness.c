/* SPDX-License-Identifier: MIT */
/*
 * macvfiod against misbehaving clients: garbage, truncated and oversized
 * frames, wrong fds, a disconnect mid-call, a client SIGKILLed with live
 * mappings, budget limits, version mismatch, and bad command lines.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "raw_wire.h"
#include "dmatest.h"

#define G MVF_DART_GRANULE

static struct test_daemon daemon_;

static int start(void **state)
{
    static const char *const args[] = { "--device", "sim:dmatest",
                                        "--dma-budget", "256K",
                                        "--dma-max-mappings", "8", NULL };
    return test_daemon_start(&daemon_, args);
}

static int stop(void **state)
{
    /* A clean SIGTERM shutdown after all the abuse: exit status 0. */
    return test_daemon_stop(&daemon_);
}

/* After abuse, an honest client still gets full service. */
static void assert_daemon_serves(void)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    uint64_t v;

    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_ID, 4, &v), 0);
    assert_int_equal(v, MVF_DMATEST_ID_VALUE);
    mvf_close(h);
}

static void test_garbage_frames(void **state)
{
    static uint8_t big[MVF_WIRE_MAX_FRAME + 4096];
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    uint8_t buf[256];
    int fd = raw_connect(&daemon_);
    size_t len;

    srand(1);
    for (int i = 0; i < 200; i++) {
        for (size_t j = 0; j < sizeof(buf); j++)
            buf[j] = (uint8_t)rand();
        assert_true(raw_call(fd, buf, 1 + (size_t)rand() % sizeof(buf), -1) < 0);
    }
    /* Shorter than a header; wrong magic. */
    assert_int_equal(raw_call(fd, "\x51\x46", 2, -1), -EPROTO);
    len = raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0);
    buf[0] ^= 0xff;
    assert_int_equal(raw_call(fd, buf, len, -1), -EPROTO);
    /* Truncated: the header promises scalars that are not there. */
    len = raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0);
    assert_int_equal(raw_call(fd, buf, len - 4, -1), -EPROTO);
    /* Too many scalars claimed. */
    ((struct mvf_wire_req *)buf)->n_scalars = 1000;
    assert_int_equal(raw_call(fd, buf, len, -1), -E2BIG);
    /* Oversized message: cut by the socket, refused, connection kept. */
    memcpy(big, buf, len);
    ((struct mvf_wire_req *)big)->n_scalars = 2;
    assert_int_equal(raw_call(fd, big, sizeof(big), -1), -EMSGSIZE);
    /* Now a proper HELLO on the same connection works. */
    len = raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0);
    assert_int_equal(raw_call(fd, buf, len, -1), 0);
    /* An fd on a call that takes none: refused (and closed by the daemon). */
    len = raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL, 0, 1);
    assert_int_equal(raw_call(fd, buf, len, 0), -EBADF);
    /* An fd the header does not announce. */
    len = raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL, 0, 0);
    assert_int_equal(raw_call(fd, buf, len, 0), -EBADF);
    /* Unknown selector. */
    len = raw_frame(buf, 4242, NULL, 0, 0);
    assert_int_equal(raw_call(fd, buf, len, -1), -ENOSYS);
    close(fd);
    assert_daemon_serves();
}

static void test_version_mismatch(void **state)
{
    uint64_t hello[2] = { (uint64_t)(MVF_ABI_VERSION_MAJOR + 1) << 16, 0 };
    uint8_t buf[64];
    int fd = raw_connect(&daemon_);

    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0), -1),
                     -EPROTO);
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL, 0, 0), -1),
                     -EPROTO);
    close(fd);
}

static void test_disconnect_mid_call(void **state)
{
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    uint8_t buf[64];

    for (int i = 0; i < 20; i++) {
        int fd = raw_connect(&daemon_);
        size_t len = raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0);
        assert_true(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
        close(fd);   /* gone before the reply */
    }
    assert_daemon_serves();
}

static void test_budget_limits(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    int mfd = test_sealed_memfd(64 * G);
    uint64_t handle, iova[16];
    struct mvf_device_info info;

    assert_int_equal(mvf_device_get_info(h, &info), 0);
    assert_int_equal(info.dma_budget, 256 << 10);
    assert_int_equal(mvf_dma_register_fd(h, mfd, 0, 64 * G, &handle), 0);
    /* 256 KiB = 16 granules: one more byte-granule is over budget. */
    assert_int_equal(mvf_dma_map(h, handle, 0, 16 * G, MVF_DMA_READ, &iova[0]), 0);
    assert_int_equal(mvf_dma_map(h, handle, 16 * G, G, MVF_DMA_READ, &iova[1]),
                     -ENOSPC);
    assert_non_null(strstr(mvf_last_error(), "budget"));
    assert_int_equal(mvf_dma_unmap(h, iova[0], 16 * G), 0);
    /* 8 live mappings at most. */
    for (int i = 0; i < 8; i++)
        assert_int_equal(mvf_dma_map(h, handle, (uint64_t)i * G, G,
                                     MVF_DMA_READ, &iova[i]), 0);
    assert_int_equal(mvf_dma_map(h, handle, 8 * G, G, MVF_DMA_READ, &iova[8]),
                     -EMFILE);
    close(mfd);
    mvf_close(h);
}

/* The core promise: nothing a client mapped outlives the client. */
static void test_sigkill_with_live_mappings(void **state)
{
    int ready[2];
    struct mvf_handle *h;
    struct mvf_stats st;
    uint64_t v;
    pid_t child;
    char c;

    assert_int_equal(pipe(ready), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct mvf_handle *ch;
        int mfd = test_sealed_memfd(8 * G), efd = eventfd(0, 0);
        uint64_t hd, iova;

        if (mvf_connect(daemon_.sock, &ch) || mvf_device_open(ch, 0) ||
            mvf_claim(ch) || mvf_dma_register_fd(ch, mfd, 0, 8 * G, &hd))
            _exit(1);
        for (int i = 0; i < 5; i++)
            if (mvf_dma_map(ch, hd, (uint64_t)i * G, G, MVF_DMA_WRITE, &iova))
                _exit(2);
        if (mvf_config_write(ch, 0x04, 2, 0x6) ||
            mvf_irq_set_eventfds(ch, MVF_IRQ_MSIX, 0, 1, &efd) ||
            mvf_mmio_write(ch, 0, MVF_DMATEST_REG_SCRATCH, 4, 0x77))
            _exit(3);
        if (write(ready[1], "r", 1) != 1)
            _exit(4);
        pause();
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);

    assert_int_equal(mvf_connect(daemon_.sock, &h), 0);
    assert_int_equal(mvf_device_open(h, 0), 0);
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 5);
    assert_int_equal(mvf_claim(h), -EBUSY);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* The daemon notices the hang-up on its next loop iteration. */
    for (int i = 0; i < 500; i++) {
        assert_int_equal(mvf_get_stats(h, &st), 0);
        if (!st.live_mappings)
            break;
        usleep(10000);
    }
    assert_int_equal(st.live_mappings, 0);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.registered_bytes, 0);
    /* Claimable again, reset (scratch cleared, bus mastering off). */
    assert_int_equal(mvf_claim(h), 0);
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_SCRATCH, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mvf_config_read(h, 0x04, 2, (uint32_t *)&v), 0);
    assert_int_equal(v & 0x4, 0);
    mvf_close(h);
}

/* mvf_connection_fd: quiet while the server lives, readable once it dies,
 * and the next call then fails with a connection error. */
static void test_connection_fd_reports_server_death(void **state)
{
    const char *args[] = { "--device", "sim:dmatest", NULL };
    struct mvf_device_info info;
    struct test_daemon d;
    struct mvf_handle *h;
    struct pollfd p;
    int fd, ret;

    (void)state;
    assert_int_equal(mvf_connection_fd(NULL), -EINVAL);
    assert_int_equal(test_daemon_start(&d, args), 0);
    h = test_open_claimed(&d, 0);
    fd = mvf_connection_fd(h);
    assert_true(fd >= 0);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 200), 0);
    assert_int_equal(mvf_device_get_info(h, &info), 0);
    assert_int_equal(poll(&p, 1, 200), 0);   /* replies leave nothing behind */

    kill(d.pid, SIGKILL);
    waitpid(d.pid, NULL, 0);
    d.pid = -1;
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(p.revents & (POLLIN | POLLHUP));
    ret = mvf_device_get_info(h, &info);
    assert_true(ret == -EPIPE || ret == -ECONNRESET);
    mvf_close(h);
    test_daemon_stop(&d);
}

static void test_bad_command_lines(void **state)
{
    static const char *const cases[][6] = {
        { "--device", "sim:nosuch", NULL },
        { "--device", "sim:dmatest,window=3K", NULL },
        { "--device", "sim:dmatest", "--dma-budget", "lots", NULL },
        { "--device", "sim:dmatest", "--dma-aperture-base", "0x1001", NULL },
        { NULL },
    };
    struct test_daemon d;

    for (int i = 0; cases[i][0]; i++) {
        assert_int_equal(test_daemon_start(&d, cases[i]), -1);
        test_daemon_stop(&d);
    }
    /* A second daemon on a live socket refuses instead of stealing it. */
    {
        const char *bin = getenv("MACVFIOD");
        pid_t p = fork();
        int status;

        assert_true(p >= 0);
        if (p == 0) {
            execl(bin, bin, "--quiet", "--socket", daemon_.sock, "--device",
                  "sim:dmatest", (char *)NULL);
            _exit(127);
        }
        assert_int_equal(waitpid(p, &status, 0), p);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    }
    assert_daemon_serves();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_frames),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_disconnect_mid_call),
        cmocka_unit_test(test_budget_limits),
        cmocka_unit_test(test_sigkill_with_live_mappings),
        cmocka_unit_test(test_connection_fd_reports_server_death),
        cmocka_unit_test(test_bad_command_lines),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
