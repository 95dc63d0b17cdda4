/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio's call timeout against a server that is alive but does not
 * answer: a macvfiod stopped with SIGSTOP (what a stuck daemon looks like
 * to a client), and a socket nobody serves.  A call must fail with
 * -ETIMEDOUT instead of hanging, the handle must be finished afterwards
 * (a late reply would be taken for the next call's), its connection fd
 * must report it, and the daemon must clean the session up once it runs
 * again.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "dmatest.h"

#define G MVF_DART_GRANULE
#define TEST_TIMEOUT_MS 200u

/* Sends sig to the daemon and waits until it has taken effect. */
static void signal_daemon(struct test_daemon *d, int sig)
{
    int status;

    assert_int_equal(kill(d->pid, sig), 0);
    assert_int_equal(waitpid(d->pid, &status,
                             sig == SIGSTOP ? WUNTRACED : WCONTINUED),
                     d->pid);
    if (sig == SIGSTOP)
        assert_true(WIFSTOPPED(status));
    else
        assert_true(WIFCONTINUED(status));
}

/* The default, the API and MACVFIO_TIMEOUT_MS. */
static void test_timeout_settings(void **state)
{
    const char *args[] = { "--device", "sim:dmatest", NULL };
    struct test_daemon d;
    struct mvf_handle *h;

    (void)state;
    assert_int_equal(test_daemon_start(&d, args), 0);
    unsetenv("MACVFIO_TIMEOUT_MS");
    assert_int_equal(mvf_connect(d.sock, &h), 0);
    assert_int_equal(mvf_get_timeout(h), MVF_DEFAULT_TIMEOUT_MS);
    assert_int_equal(MVF_DEFAULT_TIMEOUT_MS, 5000);  /* as vfio-user */
    assert_int_equal(mvf_set_timeout(h, 0), 0);
    assert_int_equal(mvf_get_timeout(h), 0);
    assert_int_equal(mvf_device_count(h), 1);
    mvf_close(h);
    assert_int_equal(mvf_set_timeout(NULL, 10), -EINVAL);
    assert_int_equal(mvf_get_timeout(NULL), 0);

    setenv("MACVFIO_TIMEOUT_MS", "250", 1);
    assert_int_equal(mvf_connect(d.sock, &h), 0);
    assert_int_equal(mvf_get_timeout(h), 250);
    mvf_close(h);
    setenv("MACVFIO_TIMEOUT_MS", "0", 1);
    assert_int_equal(mvf_connect(d.sock, &h), 0);
    assert_int_equal(mvf_get_timeout(h), 0);
    mvf_close(h);

    /* A typo must not silently leave calls unbounded (or bound them at
     * some other value). */
    static const char *const bad[] = { "", "5s", "-1", " 100", "4294967296",
                                       "0x10" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("MACVFIO_TIMEOUT_MS", bad[i], 1);
        h = (struct mvf_handle *)&d;  /* must be reset to NULL */
        assert_int_equal(mvf_connect(d.sock, &h), -EINVAL);
        assert_null(h);
        assert_non_null(strstr(mvf_last_error(), "MACVFIO_TIMEOUT_MS"));
    }
    unsetenv("MACVFIO_TIMEOUT_MS");
    test_assert_daemon_clean(&d, 1);
    assert_int_equal(test_daemon_stop(&d), 0);
}

/* A socket that accepts connections (the kernel does, from the listen
 * backlog) but where nobody ever reads: HELLO must not wait forever. */
static void test_hello_times_out(void **state)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[] = "/tmp/mvf-timeout-XXXXXX";
    struct mvf_handle *h = NULL;
    uint64_t t0, took;
    int lfd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
    lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);

    setenv("MACVFIO_TIMEOUT_MS", "100", 1);
    t0 = test_now_us();
    assert_int_equal(mvf_connect(sa.sun_path, &h), -ETIMEDOUT);
    took = test_now_us() - t0;
    unsetenv("MACVFIO_TIMEOUT_MS");
    assert_null(h);
    assert_non_null(strstr(mvf_last_error(), "HELLO"));
    assert_non_null(strstr(mvf_last_error(), "within 100 ms"));
    /* Not before the timeout; the upper bound only catches a hang. */
    assert_true(took >= 100u * 1000u);
    assert_true(took < 100u * 1000u + TEST_NEIGHBOUR_BOUND_US);

    close(lfd);
    unlink(sa.sun_path);
    rmdir(dir);
}

static struct test_daemon stopped_;

/* A failed assertion must not leave a stopped daemon behind. */
static int resume_and_stop(void **state)
{
    (void)state;
    if (stopped_.pid > 0) {
        kill(stopped_.pid, SIGCONT);
        test_daemon_stop(&stopped_);
    }
    return 0;
}

/* The realistic case: the daemon is stopped while a client holds a
 * claimed device with a live DMA mapping. */
static void test_stopped_daemon(void **state)
{
    const char *args[] = { "--device", "sim:dmatest", NULL };
    struct test_daemon *d = &stopped_;
    struct mvf_device_info info;
    struct mvf_handle *h, *h2;
    uint64_t handle, iova, v, t0, took;
    struct pollfd p;
    int mfd, fd;

    (void)state;
    assert_int_equal(test_daemon_start(d, args), 0);
    h = test_open_claimed(d, 0);
    assert_int_equal(mvf_set_timeout(h, TEST_TIMEOUT_MS), 0);
    mfd = test_sealed_memfd(16 * G);
    assert_int_equal(mvf_dma_register_fd(h, mfd, 0, 16 * G, &handle), 0);
    assert_int_equal(mvf_dma_map(h, handle, 0, 4 * G, MVF_DMA_WRITE, &iova),
                     0);
    fd = mvf_connection_fd(h);
    assert_true(fd >= 0);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 0), 0);

    signal_daemon(d, SIGSTOP);
    t0 = test_now_us();
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_ID, 4, &v),
                     -ETIMEDOUT);
    took = test_now_us() - t0;
    printf("mvf_mmio_read on a stopped daemon: -ETIMEDOUT after %llu us "
           "(timeout %u ms): %s\n", (unsigned long long)took,
           TEST_TIMEOUT_MS, mvf_last_error());
    assert_non_null(strstr(mvf_last_error(), "MMIO_READ"));
    assert_non_null(strstr(mvf_last_error(), "within 200 ms"));
    assert_true(took >= TEST_TIMEOUT_MS * 1000u);
    assert_true(took < TEST_TIMEOUT_MS * 1000u + TEST_NEIGHBOUR_BOUND_US);

    /* The fd watcher hears of it, like of a dead server. */
    assert_int_equal(poll(&p, 1, 0), 1);
    assert_true(p.revents & (POLLIN | POLLHUP));

    /* Finished: with no timeout at all, a call that reached the (still
     * stopped) server would hang here; it fails at once instead. */
    assert_int_equal(mvf_set_timeout(h, 0), 0);
    assert_int_equal(mvf_device_get_info(h, &info), -ENOTCONN);
    assert_non_null(strstr(mvf_last_error(), "timed out earlier"));
    assert_int_equal(mvf_dma_unmap(h, iova, 4 * G), -ENOTCONN);

    /* Once the daemon runs again it drops the old session (its mapping
     * with it) and serves a new connection, which can claim the device. */
    signal_daemon(d, SIGCONT);
    h2 = test_open_claimed(d, 0);
    assert_int_equal(mvf_mmio_read(h2, 0, MVF_DMATEST_REG_ID, 4, &v), 0);
    assert_int_equal(v, MVF_DMATEST_ID_VALUE);
    test_assert_daemon_clean(d, 1);
    mvf_close(h2);
    mvf_close(h);
    close(mfd);
    assert_int_equal(test_daemon_stop(d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_settings),
        cmocka_unit_test(test_hello_times_out),
        cmocka_unit_test_teardown(test_stopped_daemon, resume_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
