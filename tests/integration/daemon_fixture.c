/* SPDX-License-Identifier: MIT */
#include "daemon_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
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

#include "dmatest.h"
#include "tests/common/dmatest_xfer.h"

#define STDERR_INHERIT (-2)

bool test_transport_iokit(void)
{
    const char *t = getenv("MVF_TEST_TRANSPORT");

    return t && !strcmp(t, "iokit");
}

int test_connect(struct test_daemon *d, struct mvf_handle **h)
{
    if (!test_transport_iokit())
        return mvf_connect(d->sock, h);
    /* The IOKitLib double's services: the dkhost sockets there. */
    setenv("MVF_DKHOST_DIR", d->dir, 1);
    return mvf_connect_iokit(NULL, h);
}

/* The server's command line: macvfiod, or for the IOKit transport
 * dkhost (the dext on the DriverKit double), which serves one device. */
static int server_argv(struct test_daemon *d, const char *const *args, bool quiet,
                       const char **argv, int max)
{
    const char *bin = getenv(test_transport_iokit() ? "DKHOST" : "MACVFIOD");
    int n = 0;

    if (!bin) {
        fprintf(stderr, "%s is not set\n", test_transport_iokit() ? "DKHOST" : "MACVFIOD");
        return -1;
    }
    argv[n++] = bin;
    argv[n++] = "--socket";
    argv[n++] = d->sock;
    if (test_transport_iokit()) {
        if (!args || !args[0] || strcmp(args[0], "--device") || !args[1] || args[2]) {
            fprintf(stderr, "dkhost serves one --device and takes no other option\n");
            return -1;
        }
    } else if (quiet) {
        argv[n++] = "--quiet";
    }
    for (int i = 0; args && args[i] && n < max - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return 0;
}

static int start_daemon(struct test_daemon *d, const char *const *args,
                        bool quiet, int stderr_fd)
{
    const char *argv[40];

    snprintf(d->dir, sizeof(d->dir), "/tmp/mvf-test-XXXXXX");
    if (!mkdtemp(d->dir))
        return -1;
    snprintf(d->sock, sizeof(d->sock), "%s/macvfio.sock", d->dir);
    if (server_argv(d, args, quiet, argv, 40))
        return -1;
    const char *bin = argv[0];
    d->pid = fork();
    if (d->pid < 0)
        return -1;
    if (d->pid == 0) {
        /* If the test dies (an assertion abort), the daemon follows
         * instead of holding the test runner's pipes open. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0)
            _exit(126);
        if (stderr_fd == -1)
            close(2);
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
        if (access(d->sock, F_OK) == 0 && test_connect(d, &h) == 0) {
            mvf_close(h);
            return 0;
        }
        usleep(10000);
    }
    return -1;
}

int test_daemon_start(struct test_daemon *d, const char *const *args)
{
    return start_daemon(d, args, true, STDERR_INHERIT);
}

int test_daemon_start_logging(struct test_daemon *d, const char *const *args,
                              int stderr_fd)
{
    return start_daemon(d, args, false, stderr_fd < 0 ? -1 : stderr_fd);
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

struct test_daemon test_pair_daemon;

int test_pair_start(void **state)
{
    static const char *const args[] = { "--device", "sim:dmatest",
                                        "--device", "sim:dmatest", NULL };
    return test_daemon_start(&test_pair_daemon, args);
}

int test_pair_stop(void **state)
{
    return test_daemon_stop(&test_pair_daemon) == 0 ? 0 : -1;
}

struct mvf_handle *test_open_claimed(struct test_daemon *d, uint32_t index)
{
    struct mvf_handle *h = NULL;

    assert_int_equal(test_connect(d, &h), 0);
    assert_int_equal(mvf_device_open(h, index), 0);
    assert_int_equal(mvf_claim(h), 0);
    return h;
}

int test_dma_register(struct mvf_handle *h, int memfd, void *mem, uint64_t length,
                      uint64_t *handle)
{
    if (mvf_features(h) & MVF_FEAT_DMA_FD)
        return mvf_dma_register_fd(h, memfd, 0, length, handle);
    return mvf_dma_register_va(h, mem, length, handle);
}

void *test_map_memfd(int memfd, uint64_t size)
{
    const uint64_t align = MVF_DART_GRANULE;
    uint8_t *r = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(r != MAP_FAILED);
    uint8_t *a = (uint8_t *)(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
    void *p = mmap(a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, memfd, 0);
    assert_true(p == a);
    if (a > r)
        munmap(r, (size_t)(a - r));
    if (r + align > a)
        munmap(a + size, (size_t)(r + align - a));
    return p;
}

int test_sealed_memfd(uint64_t size)
{
    int fd = memfd_create("mvf-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    return fd;
}

uint64_t test_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int test_disk_file(char *path, size_t len, const char *tag, uint64_t size)
{
    int fd, rc;

    snprintf(path, len, "/tmp/mvf-%s-XXXXXX", tag);
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    rc = ftruncate(fd, (off_t)size);
    close(fd);
    return rc == 0 ? 0 : -1;
}

uint64_t test_wait_eventfd(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint64_t v = 0;

    if (poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) == sizeof(v))
        return v;
    return 0;
}

/* ---- the neighbour probe -------------------------------------------- */

#define PROBE_MAX_SAMPLES 200000u
#define PROBE_MIN_CALLS 3u

struct test_probe {
    pthread_t thread;
    struct mvf_handle *h;
    atomic_bool stop;
    _Atomic uint64_t calls;
    uint64_t failures;
    uint32_t *lat_us;          /* one sample per call, up to the max */
    uint32_t nsamples;
    uint64_t max_us;
};


static void *probe_loop(void *arg)
{
    struct test_probe *p = arg;

    while (!atomic_load(&p->stop)) {
        uint64_t t0 = test_now_us(), dt;
        uint32_t v = 0;

        if (mvf_config_read(p->h, 0, 2, &v) != 0)
            p->failures++;
        dt = test_now_us() - t0;
        p->calls++;
        if (dt > p->max_us)
            p->max_us = dt;
        if (p->nsamples < PROBE_MAX_SAMPLES)
            p->lat_us[p->nsamples++] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
        usleep(200);   /* a guest-like trickle, not a second flood */
    }
    return NULL;
}

struct test_probe *test_probe_start(struct test_daemon *d, uint32_t index)
{
    struct test_probe *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    p->lat_us = calloc(PROBE_MAX_SAMPLES, sizeof(*p->lat_us));
    assert_non_null(p->lat_us);
    assert_int_equal(mvf_connect(d->sock, &p->h), 0);
    assert_int_equal(mvf_device_open(p->h, index), 0);
    atomic_init(&p->stop, false);
    assert_int_equal(pthread_create(&p->thread, NULL, probe_loop, p), 0);
    return p;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

void test_probe_stop(struct test_probe *p, struct test_probe_result *r)
{
    /* A few calls must have overlapped the hostile action's end: wait
     * for them, up to the bound (then the check fails). */
    uint64_t until = test_now_us() + TEST_NEIGHBOUR_BOUND_US, first = p->calls;

    while (p->calls < first + PROBE_MIN_CALLS && test_now_us() < until)
        usleep(1000);
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    mvf_close(p->h);
    qsort(p->lat_us, p->nsamples, sizeof(*p->lat_us), cmp_u32);
    r->calls = p->calls;
    r->failures = p->failures;
    r->max_us = p->max_us;
    r->p50_us = p->nsamples ? p->lat_us[p->nsamples / 2] : 0;
    free(p->lat_us);
    free(p);
}

void test_probe_check(struct test_probe *p, const char *what)
{
    struct test_probe_result r;

    test_probe_stop(p, &r);
    printf("# neighbour during %s: %llu calls, %llu failed, p50 %llu us, "
           "max %llu us (bound %u us)\n", what, (unsigned long long)r.calls,
           (unsigned long long)r.failures, (unsigned long long)r.p50_us,
           (unsigned long long)r.max_us, TEST_NEIGHBOUR_BOUND_US);
    assert_true(r.calls > 0);
    assert_int_equal(r.failures, 0);
    assert_true(r.max_us < TEST_NEIGHBOUR_BOUND_US);
}

void test_assert_daemon_clean(struct test_daemon *d, uint32_t ndevices)
{
    struct mvf_handle *h = NULL;
    int status;

    assert_int_equal(waitpid(d->pid, &status, WNOHANG), 0);  /* still up */
    assert_int_equal(mvf_connect(d->sock, &h), 0);
    for (uint32_t i = 0; i < ndevices; i++) {
        struct mvf_stats st;

        assert_int_equal(mvf_device_open(h, i), 0);
        assert_int_equal(mvf_get_stats(h, &st), 0);
        assert_int_equal(st.live_mappings, 0);
        assert_int_equal(st.mapped_bytes, 0);
    }
    mvf_close(h);
}

uint32_t test_dmatest_reg_read(struct mvf_handle *h, uint32_t reg)
{
    uint64_t v = 0;

    assert_int_equal(mvf_mmio_read(h, MVF_DMATEST_REG_BAR, reg, 4, &v), 0);
    return (uint32_t)v;
}

void test_dmatest_reg_write(struct mvf_handle *h, uint32_t reg, uint32_t v)
{
    assert_int_equal(mvf_mmio_write(h, MVF_DMATEST_REG_BAR, reg, 4, v), 0);
}

static void dmatest_wr(void *h, uint32_t reg, uint32_t v)
{
    test_dmatest_reg_write(h, reg, v);
}

static uint32_t dmatest_rd(void *h, uint32_t reg)
{
    return test_dmatest_reg_read(h, reg);
}

uint32_t test_dmatest_xfer(struct mvf_handle *h, uint64_t iova, uint32_t off,
                           uint32_t len, uint32_t dir, uint32_t vec)
{
    const struct dmatest_regs r = { h, dmatest_wr, dmatest_rd };

    return dmatest_xfer(&r, iova, off, len, dir, vec);
}
