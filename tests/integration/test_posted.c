/* SPDX-License-Identifier: MIT */
/*
 * Posted MMIO writes against a real macvfiod (abi.h, "Posted requests"):
 * they run in order with everything else on the connection, a failure
 * is reported once, by the next call, and counted in STATS; a client
 * that does not post (ABI 1.1, raw frames) sees what it always saw; a
 * client flooding posted writes does not stall its neighbour, and the
 * daemon's memory does not grow with the backlog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "dmatest.h"
#include "raw_wire.h"

#define DEV 0          /* the device under test; 1 is the neighbour's */
#define FLOOD 100000u  /* posted writes in the flood */

static struct mvf_stats stats(struct mvf_handle *h)
{
    struct mvf_stats st;

    assert_int_equal(mvf_get_stats(h, &st), 0);
    return st;
}

static uint64_t scratch(struct mvf_handle *h)
{
    uint64_t v = 0;

    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_SCRATCH, 4, &v), 0);
    return v;
}

/* Posted writes are seen by the reads and calls sent after them. */
static void test_posted_in_order(void **state)
{
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, DEV);
    struct mvf_stats st0 = stats(h), st;

    (void)state;
    assert_true(mvf_features(h) & MVF_FEAT_POSTED_WRITE);
    assert_int_equal(mvf_server_version(h), MVF_ABI_VERSION);
    for (uint32_t i = 1; i <= 1000; i++) {
        assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4, i), 0);
        if (i % 100 == 0)
            assert_int_equal(scratch(h), i);
    }
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4,
                                        0x5000 + i), 0);
    /* STATS is a call like any other: it comes after all of them. */
    st = stats(h);
    assert_int_equal(st.posted_writes - st0.posted_writes, 1010);
    assert_int_equal(st.trapped_writes - st0.trapped_writes, 1010);
    assert_int_equal(st.posted_errors, st0.posted_errors);
    assert_int_equal(scratch(h), 0x5009);
    /* Nothing posted since that reply: flush sends nothing and succeeds. */
    assert_int_equal(mvf_flush(h), 0);
    mvf_close(h);
}

/* A failed posted write: the next call reports it instead of running,
 * exactly once; STATS counts it. */
static void test_posted_error_reported_once(void **state)
{
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, DEV);
    struct mvf_stats st0 = stats(h), st;
    uint64_t v = 0;

    (void)state;
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4, 0x11), 0);
    /* Outside BAR0: the server refuses it, but nobody waits for that. */
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SIZE, 4, 0x22), 0);
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4, 0x33), 0);
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_SCRATCH, 4, &v), -EIO);
    assert_non_null(strstr(mvf_last_error(), "MMIO_READ was not carried out: "
                           "posted MMIO_WRITE (seq "));
    assert_non_null(strstr(mvf_last_error(), "of BAR 0 at 0x1000 failed (-34)"));
    assert_null(strstr(mvf_last_error(), "more)"));
    /* The writes around it ran; the report is not repeated. */
    assert_int_equal(scratch(h), 0x33);
    st = stats(h);
    assert_int_equal(st.posted_writes - st0.posted_writes, 3);
    assert_int_equal(st.posted_errors - st0.posted_errors, 1);

    /* mvf_flush is the barrier that collects it; the ROM is read-only. */
    assert_int_equal(mvf_mmio_write_posted(h, MVF_ROM_INDEX, 0, 4, 0), 0);
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SIZE, 4, 0), 0);
    assert_int_equal(mvf_flush(h), -EIO);
    assert_non_null(strstr(mvf_last_error(), "LAST_ERROR was not carried out"));
    assert_non_null(strstr(mvf_last_error(), "(and 1 more)"));
    assert_int_equal(mvf_flush(h), 0);
    st = stats(h);
    assert_int_equal(st.posted_errors - st0.posted_errors, 3);
    /* Local checks still fail the write itself, and nothing is sent. */
    assert_int_equal(mvf_mmio_write_posted(h, 0, 2, 4, 0), -EINVAL);
    assert_int_equal(mvf_flush(h), 0);
    mvf_close(h);
}

/* Sends a raw frame and returns the reply's header and struct bytes. */
static void raw_exchange(int fd, const uint8_t *buf, size_t len,
                         struct mvf_wire_rep *rep, uint8_t *body, size_t cap)
{
    uint8_t in[1024];
    ssize_t n;

    assert_true(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
    n = recv(fd, in, sizeof(in), 0);
    assert_true(n >= (ssize_t)sizeof(*rep));
    memcpy(rep, in, sizeof(*rep));
    assert_int_equal(rep->magic, MVF_WIRE_MAGIC_REP);
    assert_true((size_t)n - sizeof(*rep) <= cap);
    memcpy(body, in + sizeof(*rep), (size_t)n - sizeof(*rep));
}

/* A 1.1 client, which never sets the posted bit: its failing write is
 * answered at once, nothing is latched, and its smaller STATS buffer
 * gets the 1.1 part. */
static void test_client_without_posting(void **state)
{
    uint64_t open[1] = { DEV }, wr[4] = { 0, MVF_DMATEST_REG_SIZE, 4, 1 };
    uint64_t rd[3] = { 0, MVF_DMATEST_REG_SCRATCH, 4 };
    uint64_t hello[2] = { (1u << 16) | 1u, 0 };
    uint8_t buf[256], body[1024];
    struct mvf_wire_rep rep;
    int fd = raw_connect(&test_pair_daemon);
    size_t len;

    (void)state;
    len = raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0);
    raw_exchange(fd, buf, len, &rep, body, sizeof(body));
    assert_int_equal(rep.status, 0);
    len = raw_frame(buf, MVF_SEL_DEVICE_OPEN, open, 1, 0);
    assert_int_equal(raw_call(fd, buf, len, -1), 0);
    len = raw_frame(buf, MVF_SEL_CLAIM, NULL, 0, 0);
    assert_int_equal(raw_call(fd, buf, len, -1), 0);
    len = raw_frame(buf, MVF_SEL_MMIO_WRITE, wr, 4, 0);
    raw_exchange(fd, buf, len, &rep, body, sizeof(body));
    assert_int_equal(rep.status, -ERANGE);
    assert_int_equal(rep.flags, 0);
    len = raw_frame(buf, MVF_SEL_MMIO_READ, rd, 3, 0);
    raw_exchange(fd, buf, len, &rep, body, sizeof(body));
    assert_int_equal(rep.status, 0);
    assert_int_equal(rep.flags, 0);
    len = raw_frame(buf, MVF_SEL_STATS, NULL, 0, 0);
    ((struct mvf_wire_req *)(void *)buf)->max_struct_out = MVF_STATS_SIZE_1_1;
    raw_exchange(fd, buf, len, &rep, body, sizeof(body));
    assert_int_equal(rep.status, 0);
    assert_int_equal(rep.struct_len, MVF_STATS_SIZE_1_1);
    close(fd);
}

/* macvfiod --no-posted-writes: the library sees no bit and waits for
 * every write, whose failure is then its own. */
static void test_daemon_without_posting(void **state)
{
    static const char *const args[] = { "--device", "sim:dmatest",
                                        "--no-posted-writes", NULL };
    struct test_daemon d;
    struct mvf_handle *h;
    struct mvf_stats st;

    (void)state;
    assert_int_equal(test_daemon_start(&d, args), 0);
    h = test_open_claimed(&d, 0);
    assert_false(mvf_features(h) & MVF_FEAT_POSTED_WRITE);
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SIZE, 4, 1), -ERANGE);
    assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4, 9), 0);
    assert_int_equal(scratch(h), 9);
    st = stats(h);
    assert_int_equal(st.posted_writes, 0);
    assert_int_equal(st.trapped_writes, 1);   /* the refused one never ran */
    mvf_close(h);

    /* A client that posts anyway: refused (not run), reported next. */
    {
        uint64_t wr[4] = { 0, MVF_DMATEST_REG_SCRATCH, 4, 1 };
        uint8_t buf[256], body[1024];
        struct mvf_wire_rep rep;
        int fd = raw_connect(&d);
        size_t len;

        raw_hello(fd);
        len = raw_frame(buf, MVF_SEL_MMIO_WRITE | MVF_WIRE_SEL_POSTED, wr, 4, 0);
        assert_true(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
        len = raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL, 0, 0);
        raw_exchange(fd, buf, len, &rep, body, sizeof(body));
        assert_int_equal(rep.status, -EIO);
        assert_int_equal(rep.flags, MVF_WIRE_REP_POSTED_ERROR);
        assert_non_null(strstr((const char *)body, "no posted requests"));
        raw_exchange(fd, buf, len, &rep, body, sizeof(body));
        assert_int_equal(rep.status, 0);
        close(fd);
    }
    assert_int_equal(test_daemon_stop(&d), 0);
}

/* Resident memory of a process in KiB (VmRSS), or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[128];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* A client posting as fast as its socket takes writes, while the
 * neighbour's calls on the other device keep being answered.  The
 * backlog waits in the flooding client's socket buffer (its sends
 * block), not in the daemon. */
static void test_posted_flood_is_fair(void **state)
{
    struct mvf_handle *h = test_open_claimed(&test_pair_daemon, DEV);
    struct mvf_stats st0 = stats(h), st;
    long rss0 = rss_kib(test_pair_daemon.pid), rss1;
    struct test_probe *p = test_probe_start(&test_pair_daemon, 1);

    (void)state;
    assert_true(rss0 > 0);
    for (uint32_t i = 1; i <= FLOOD; i++)
        assert_int_equal(mvf_mmio_write_posted(h, 0, MVF_DMATEST_REG_SCRATCH, 4, i), 0);
    assert_int_equal(scratch(h), FLOOD);
    test_probe_check(p, "a client posting 100000 MMIO writes");
    st = stats(h);
    assert_int_equal(st.posted_writes - st0.posted_writes, FLOOD);
    assert_int_equal(st.posted_errors, st0.posted_errors);
    rss1 = rss_kib(test_pair_daemon.pid);
    printf("# daemon VmRSS %ld KiB before the flood, %ld after\n", rss0, rss1);
    /* Queued in the daemon, 100000 requests would take far more. */
    assert_true(rss1 - rss0 < 16 * 1024);
    mvf_close(h);
    test_assert_daemon_clean(&test_pair_daemon, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posted_in_order),
        cmocka_unit_test(test_posted_error_reported_once),
        cmocka_unit_test(test_client_without_posting),
        cmocka_unit_test(test_daemon_without_posting),
        cmocka_unit_test(test_posted_flood_is_fair),
    };
    return cmocka_run_group_tests(tests, test_pair_start, test_pair_stop);
}
