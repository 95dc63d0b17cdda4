/* SPDX-License-Identifier: MIT */
#include "daemon_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

int test_daemon_start(struct test_daemon *d, const char *const *args)
{
    const char *bin = getenv("MACVFIOD");
    const char *argv[40];
    int n = 0;

    if (!bin) {
        fprintf(stderr, "MACVFIOD is not set\n");
        return -1;
    }
    snprintf(d->dir, sizeof(d->dir), "/tmp/mvf-test-XXXXXX");
    if (!mkdtemp(d->dir))
        return -1;
    snprintf(d->sock, sizeof(d->sock), "%s/macvfio.sock", d->dir);
    argv[n++] = bin;
    argv[n++] = "--socket";
    argv[n++] = d->sock;
    argv[n++] = "--quiet";
    for (int i = 0; args && args[i] && n < 38; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    d->pid = fork();
    if (d->pid < 0)
        return -1;
    if (d->pid == 0) {
        /* If the test dies (an assertion abort), the daemon follows
         * instead of holding the test runner's pipes open. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* Wait until it accepts (up to 10 s: sanitizer builds start slowly). */
    for (int i = 0; i < 1000; i++) {
        struct mvf_handle *h;
        int status;

        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = -1;
            return -1;
        }
        if (mvf_connect(d->sock, &h) == 0) {
            mvf_close(h);
            return 0;
        }
        usleep(10000);
    }
    return -1;
}

int test_daemon_stop(struct test_daemon *d)
{
    int status = -1;

    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        waitpid(d->pid, &status, 0);
        d->pid = -1;
    }
    unlink(d->sock);
    rmdir(d->dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct mvf_handle *test_open_claimed(struct test_daemon *d, uint32_t index)
{
    struct mvf_handle *h = NULL;

    assert_int_equal(mvf_connect(d->sock, &h), 0);
    assert_int_equal(mvf_device_open(h, index), 0);
    assert_int_equal(mvf_claim(h), 0);
    return h;
}

int test_sealed_memfd(uint64_t size)
{
    int fd = memfd_create("mvf-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    return fd;
}

uint64_t test_wait_eventfd(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint64_t v = 0;

    if (poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) == sizeof(v))
        return v;
    return 0;
}
