/* SPDX-License-Identifier: MIT */
/*
 * macvfiod's log under a hostile client: a device made to fault 20,000
 * times while the daemon's stderr is a pipe nobody reads, a connection
 * flood that does fill that pipe, and a daemon started with stderr
 * closed or with its reader gone.  In each, another client's calls stay
 * fast, the daemon stays up, and the log says what it had to leave out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core_internal.h"   /* MVF_LOG_BURST, MVF_LOG_INTERVAL_MS */
#include "daemon_fixture.h"
#include "dmatest.h"

#define FAULTS 20000u
#define PIPE_READ_MAX (1u << 20)

static const char *const two_dmatests[] = { "--device", "sim:dmatest",
                                            "--device", "sim:dmatest", NULL };

static void reg_write(struct mvf_handle *h, uint32_t reg, uint32_t v)
{
    assert_int_equal(mvf_mmio_write(h, MVF_DMATEST_REG_BAR, reg, 4, v), 0);
}

static uint32_t reg_read(struct mvf_handle *h, uint32_t reg)
{
    uint64_t v = 0;

    assert_int_equal(mvf_mmio_read(h, MVF_DMATEST_REG_BAR, reg, 4, &v), 0);
    return (uint32_t)v;
}

/* Claims device 0 and rings its doorbell `n` times for a DMA to an IOVA
 * nothing is mapped at: one DMA fault per doorbell, each logged by the
 * core.  Returns the still claimed handle. */
static struct mvf_handle *fault_flood(struct test_daemon *d, uint32_t n)
{
    struct mvf_handle *h = test_open_claimed(d, 0);
    uint32_t cmd = 0;

    assert_int_equal(mvf_config_read(h, 0x04, 2, &cmd), 0);
    assert_int_equal(mvf_config_write(h, 0x04, 2, cmd | 0x6), 0);
    reg_write(h, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)MVF_DART_DEFAULT_BASE);
    reg_write(h, MVF_DMATEST_REG_DMA_IOVA_HI,
              (uint32_t)(MVF_DART_DEFAULT_BASE >> 32));
    reg_write(h, MVF_DMATEST_REG_DMA_LEN, 4096);
    reg_write(h, MVF_DMATEST_REG_DMA_DIR, MVF_DMATEST_DIR_FROM_DEVICE);
    for (uint32_t i = 0; i < n; i++)
        reg_write(h, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    assert_int_equal(reg_read(h, MVF_DMATEST_REG_FAULT_COUNT), n);
    return h;
}

/* Reads what the pipe holds now (without waiting), NUL-terminated. */
static char *drain(int fd, size_t *len)
{
    char *buf = malloc(PIPE_READ_MAX + 1);
    size_t n = 0;
    ssize_t r;

    assert_non_null(buf);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    while (n < PIPE_READ_MAX &&
           (r = read(fd, buf + n, PIPE_READ_MAX - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Sum of the "N similar messages suppressed" counts in the log. */
static uint64_t suppressed_total(const char *log, unsigned *notes)
{
    static const char key[] = " similar messages suppressed";
    uint64_t total = 0;

    *notes = 0;
    for (const char *p = strstr(log, key); p; p = strstr(p + 1, key)) {
        const char *q = p;

        while (q > log && q[-1] >= '0' && q[-1] <= '9')
            q--;
        assert_true(q < p);
        total += strtoull(q, NULL, 10);
        (*notes)++;
    }
    return total;
}

static unsigned count(const char *log, const char *what)
{
    unsigned n = 0;

    for (const char *p = strstr(log, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void test_fault_flood_with_stderr_unread(void **state)
{
    struct test_daemon d;
    struct test_probe *probe;
    struct mvf_handle *h;
    uint64_t t0, elapsed, suppressed;
    unsigned lines, notes;
    int pfd[2];
    size_t len;
    char *log;

    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    assert_int_equal(test_daemon_start_logging(&d, two_dmatests, pfd[1]), 0);
    close(pfd[1]);
    probe = test_probe_start(&d, 1);
    t0 = test_now_us() / 1000u;
    h = fault_flood(&d, FAULTS);
    mvf_close(h);        /* the release reports what was suppressed */
    test_probe_check(probe, "20,000 DMA faults with stderr unread");
    elapsed = test_now_us() / 1000u - t0;
    test_assert_daemon_clean(&d, 2);
    assert_int_equal(test_daemon_stop(&d), 0);

    log = drain(pfd[0], &len);
    close(pfd[0]);
    lines = count(log, "DMA fault: write of 4096 bytes");
    suppressed = suppressed_total(log, &notes);
    printf("# %u DMA faults in %llu ms: %u lines, %llu suppressed in %u "
           "notes, %zu bytes of log\n", FAULTS, (unsigned long long)elapsed,
           lines, (unsigned long long)suppressed, notes, len);
    /* A burst per interval begun, and nothing lost from the account. */
    assert_true(lines >= MVF_LOG_BURST);
    assert_true(lines <= MVF_LOG_BURST * (elapsed / MVF_LOG_INTERVAL_MS + 2));
    assert_true(notes >= 1);
    assert_int_equal(lines + suppressed, FAULTS);
    assert_non_null(strstr(log, "similar messages suppressed, like \"DMA fault"));
    assert_int_equal(count(log, "log lines dropped"), 0);
    free(log);
}

static void test_stderr_full_drops_lines(void **state)
{
    struct test_daemon d;
    struct test_probe *probe;
    struct mvf_handle *h;
    int pfd[2];
    size_t len;
    char *log;

    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    assert_int_equal(test_daemon_start_logging(&d, two_dmatests, pfd[1]), 0);
    close(pfd[1]);
    probe = test_probe_start(&d, 1);
    /* Every connection logs a line or two (not rate-limited: one per
     * connection), far more than the pipe holds. */
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(mvf_connect(d.sock, &h), 0);
        mvf_close(h);
    }
    test_probe_check(probe, "a connection flood with stderr full");
    test_assert_daemon_clean(&d, 2);

    log = drain(pfd[0], &len);
    printf("# the pipe held %zu bytes\n", len);
    assert_true(len > 0 && log[len - 1] == '\n');    /* whole lines only */
    assert_int_equal(count(log, "log lines dropped"), 0);
    free(log);
    /* Room again: the next line that gets through says what was lost. */
    assert_int_equal(mvf_connect(d.sock, &h), 0);
    log = drain(pfd[0], &len);
    assert_non_null(strstr(log, "log lines dropped (stderr was full)"));
    assert_non_null(strstr(log, "connected"));
    free(log);
    mvf_close(h);
    close(pfd[0]);
    assert_int_equal(test_daemon_stop(&d), 0);
}

static void test_stderr_closed(void **state)
{
    struct test_daemon d;
    struct test_probe *probe;
    struct mvf_handle *h;

    assert_int_equal(test_daemon_start_logging(&d, two_dmatests, -1), 0);
    probe = test_probe_start(&d, 1);
    h = fault_flood(&d, 2000);
    /* No log line landed in whatever the daemon opened next: the
     * device's window (a memfd) still holds zeroes. */
    assert_int_equal(reg_read(h, MVF_DMATEST_REG_WIN_SUM), 0);
    mvf_close(h);
    test_probe_check(probe, "DMA faults with stderr closed");
    test_assert_daemon_clean(&d, 2);
    assert_int_equal(test_daemon_stop(&d), 0);
}

static void test_stderr_reader_gone(void **state)
{
    struct test_daemon d;
    struct test_probe *probe;
    int pfd[2];

    /* Whoever read the daemon's stderr has exited: each line is an
     * EPIPE, which must neither kill it nor stop it. */
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]);
    assert_int_equal(test_daemon_start_logging(&d, two_dmatests, pfd[1]), 0);
    close(pfd[1]);
    probe = test_probe_start(&d, 1);
    mvf_close(fault_flood(&d, 2000));
    test_probe_check(probe, "DMA faults with stderr's reader gone");
    test_assert_daemon_clean(&d, 2);
    assert_int_equal(test_daemon_stop(&d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_flood_with_stderr_unread),
        cmocka_unit_test(test_stderr_full_drops_lines),
        cmocka_unit_test(test_stderr_closed),
        cmocka_unit_test(test_stderr_reader_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
