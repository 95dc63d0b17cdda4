/* SPDX-License-Identifier: MIT */
/*
 * macvfiod's connection handling against hostile or unlucky clients:
 * connections that never say HELLO, a daemon out of file descriptors
 * (accept failing, BAR revocation failing), zero-length frames and
 * config values wider than the access.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "raw_wire.h"
#include "dmatest.h"

/* More than macvfiod's 256 connection slots. */
#define SILENT_CONNECTIONS 300


/* The daemon's lowest free fd number: the next fd it opens gets it. */
static unsigned daemon_lowest_free_fd(void)
{
    static bool used[4096];
    struct dirent *e;
    char path[64];
    unsigned n = 0;
    DIR *dir;

    memset(used, 0, sizeof(used));
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)test_pair_daemon.pid);
    dir = opendir(path);
    assert_non_null(dir);
    while ((e = readdir(dir))) {
        long fd = strtol(e->d_name, NULL, 10);

        if (e->d_name[0] != '.' && fd >= 0 && fd < 4096)
            used[fd] = true;
    }
    closedir(dir);
    while (n < 4096 && used[n])
        n++;
    return n;
}

/* Caps the daemon's fds so that its next open() fails with EMFILE.  A
 * call on `sync` first: a reply's fd is closed only after it was sent,
 * so the daemon may still hold the last one when the reply arrives. */
static void limit_daemon_fds(struct mvf_handle *sync)
{
    struct rlimit rl;
    uint32_t v;

    if (sync)
        assert_int_equal(mvf_config_read(sync, 0, 2, &v), 0);

    assert_int_equal(prlimit(test_pair_daemon.pid, RLIMIT_NOFILE, NULL, &rl),
                     0);
    rl.rlim_cur = daemon_lowest_free_fd();
    assert_int_equal(prlimit(test_pair_daemon.pid, RLIMIT_NOFILE, &rl, NULL),
                     0);
}

static void unlimit_daemon_fds(void)
{
    struct rlimit rl;

    assert_int_equal(prlimit(test_pair_daemon.pid, RLIMIT_NOFILE, NULL, &rl),
                     0);
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(prlimit(test_pair_daemon.pid, RLIMIT_NOFILE, &rl, NULL),
                     0);
}

/* CPU time (user + system) the daemon has used, in clock ticks. */
static unsigned long long daemon_cpu_ticks(void)
{
    unsigned long long ut = 0, st = 0;
    char path[64], buf[1024], *p;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)test_pair_daemon.pid);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    p = strrchr(buf, ')');   /* the name may hold spaces */
    assert_non_null(p);
    /* After ") ": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %llu %llu", &ut, &st), 2);
    return ut + st;
}

static void test_zero_length_frame(void **state)
{
    uint8_t buf[64];
    int fd = raw_connect(&test_pair_daemon);

    raw_hello(fd);
    /* Answered like any frame shorter than a header, not taken for a
     * hang-up. */
    assert_int_equal(raw_call(fd, buf, 0, -1), -EPROTO);
    assert_int_equal(raw_call(fd, buf, 0, -1), -EPROTO);
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL,
                                                 0, 0), -1), 0);
    close(fd);
}

static void test_config_write_wider_than_access(void **state)
{
    uint64_t open_dev[1] = { 0 }, wr[3] = { 0x3c, 4, 1ull << 32 };
    uint8_t buf[128];
    int fd = raw_connect(&test_pair_daemon);

    raw_hello(fd);
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_DEVICE_OPEN,
                                                 open_dev, 1, 0), -1), 0);
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_CLAIM, NULL, 0, 0),
                              -1), 0);
    /* A 4-byte write of a value of 2^32 or more is refused, not cut. */
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_CONFIG_WRITE, wr,
                                                 3, 0), -1), -EINVAL);
    wr[2] = ~0ull;
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_CONFIG_WRITE, wr,
                                                 3, 0), -1), -EINVAL);
    wr[2] = 0xffffffffull;
    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_CONFIG_WRITE, wr,
                                                 3, 0), -1), 0);
    close(fd);
}

static void test_silent_connections_lock_nobody_out(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    static int silent[SILENT_CONNECTIONS];
    struct mvf_handle *h;
    unsigned closed = 0;
    uint64_t t0, dt;
    uint32_t v;

    for (int i = 0; i < SILENT_CONNECTIONS; i++)
        silent[i] = raw_connect(&test_pair_daemon);
    /* A real client still gets in, and promptly. */
    t0 = test_now_us();
    assert_int_equal(mvf_connect(test_pair_daemon.sock, &h), 0);
    assert_int_equal(mvf_device_open(h, 0), 0);
    assert_int_equal(mvf_config_read(h, 0, 2, &v), 0);
    dt = test_now_us() - t0;
    printf("# a client behind %d silent connections: served in %llu us\n",
           SILENT_CONNECTIONS, (unsigned long long)dt);
    assert_true(dt < TEST_NEIGHBOUR_BOUND_US);
    assert_int_equal(v, MVF_DMATEST_VENDOR_ID);
    test_probe_check(probe, "300 silent connections");
    /* Connections that never said HELLO are closed within the 2 s
     * deadline (or evicted earlier to make room). */
    for (int i = 0; i < SILENT_CONNECTIONS; i++) {
        struct pollfd p = { .fd = silent[i], .events = POLLIN };
        char c;

        if (poll(&p, 1, 4000) == 1 && recv(silent[i], &c, 1, 0) == 0)
            closed++;
        close(silent[i]);
    }
    assert_int_equal(closed, SILENT_CONNECTIONS);
    /* The HELLO'd client is kept. */
    assert_int_equal(mvf_config_read(h, 0, 2, &v), 0);
    mvf_close(h);
}

static void test_accept_out_of_fds(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    unsigned long long cpu0, cpu1;
    long hz = sysconf(_SC_CLK_TCK);
    struct pollfd p;
    uint8_t buf[64];
    int fd;

    limit_daemon_fds(NULL);
    /* Pending in the backlog: accept() fails with EMFILE for it. */
    fd = raw_connect(&test_pair_daemon);
    assert_int_equal(send(fd, buf, raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0),
                          MSG_NOSIGNAL), (ssize_t)sizeof(struct mvf_wire_req) + 16);
    cpu0 = daemon_cpu_ticks();
    sleep(1);
    cpu1 = daemon_cpu_ticks();
    printf("# daemon CPU with an unacceptable connection pending: %llu of %ld "
           "ticks in 1 s\n", cpu1 - cpu0, hz);
    /* It rests instead of spinning on the listener (a spin is ~all of
     * the second). */
    assert_true((cpu1 - cpu0) * 2 < (unsigned long long)hz);
    test_probe_check(probe, "accept() out of fds");
    /* Room again: the pending client is served. */
    unlimit_daemon_fds();
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(recv(fd, buf, sizeof(buf), 0) >= (ssize_t)sizeof(struct mvf_wire_rep));
    assert_int_equal(((struct mvf_wire_rep *)buf)->status, 0);
    close(fd);
}

/* A client that sends calls but never reads the replies is dropped
 * once its socket is full, instead of holding up the loop. */
static void test_client_not_reading_replies(void **state)
{
    struct test_probe *probe = test_probe_start(&test_pair_daemon, 1);
    uint8_t buf[64], c;
    size_t len;
    int fd = raw_connect(&test_pair_daemon), sent = 0;
    bool dropped = false;

    raw_hello(fd);
    len = raw_frame(buf, MVF_SEL_DEVICE_LIST, NULL, 0, 0);
    /* Each reply (~24 + 96 bytes per device) is larger than the request:
     * the daemon's sends fill this socket long before ours fill its. */
    for (int i = 0; i < 200000 && !dropped; i++) {
        ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n == (ssize_t)len) {
            sent++;
        } else if (errno == EPIPE || errno == ECONNRESET) {
            dropped = true;
        } else {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            assert_int_equal(errno, EAGAIN);
            if (poll(&p, 1, 100) == 1 && (p.revents & (POLLHUP | POLLERR)))
                dropped = true;
        }
    }
    printf("# a client that never reads: dropped after %d calls\n", sent);
    assert_true(dropped);
    test_probe_check(probe, "a client that never reads its replies");
    /* What the daemon sent before dropping it, then the end. */
    while (recv(fd, &c, 1, MSG_TRUNC) > 0)
        ;
    close(fd);
}

/* If the old owner's BAR mapping cannot be revoked (no fd for the new
 * backing), nobody gets the device until it can. */
static void test_revocation_fails_closed(void **state)
{
    struct mvf_handle *a = test_open_claimed(&test_pair_daemon, 0), *b;
    uint64_t size, v = 1;
    uint8_t *win;

    assert_int_equal(mvf_connect(test_pair_daemon.sock, &b), 0);
    assert_int_equal(mvf_device_open(b, 0), 0);
    assert_int_equal(mvf_map_memory(a, MVF_MEM_BAR(MVF_DMATEST_WIN_BAR),
                                    (void **)&win, &size, NULL), 0);
    limit_daemon_fds(b);
    assert_int_equal(mvf_release(a), 0);
    assert_int_equal(mvf_claim(b), -EAGAIN);
    assert_non_null(strstr(mvf_last_error(), "cannot be revoked"));
    assert_int_equal(mvf_claim(b), -EAGAIN);    /* still held back */
    unlimit_daemon_fds();
    assert_int_equal(mvf_claim(b), 0);          /* revoked now */
    /* The old owner's mapping no longer reaches the device. */
    memset(win, 0x5a, 4096);
    assert_int_equal(mvf_mmio_read(b, MVF_DMATEST_WIN_BAR, 0, 8, &v), 0);
    assert_int_equal(v, 0);
    mvf_unmap_memory(a, win, size);
    mvf_close(b);
    mvf_close(a);
    test_assert_daemon_clean(&test_pair_daemon, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_length_frame),
        cmocka_unit_test(test_config_write_wider_than_access),
        cmocka_unit_test(test_silent_connections_lock_nobody_out),
        cmocka_unit_test(test_accept_out_of_fds),
        cmocka_unit_test(test_client_not_reading_replies),
        cmocka_unit_test(test_revocation_fails_closed),
    };
    return cmocka_run_group_tests(tests, test_pair_start, test_pair_stop);
}
