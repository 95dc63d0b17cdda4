/* SPDX-License-Identifier: MIT */
/* Starting and stopping a real macvfiod for integration tests. */
#ifndef MACVFIO_TESTS_DAEMON_FIXTURE_H
#define MACVFIO_TESTS_DAEMON_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macvfio/macvfio.h"

struct test_daemon {
    pid_t pid;
    char dir[64];
    char sock[96];
};

/* Starts $MACVFIOD with --socket in a fresh directory plus `args`
 * (NULL-terminated) and waits until it accepts connections. */
int test_daemon_start(struct test_daemon *d, const char *const *args);

/* The same without --quiet, and with the daemon's stderr on `stderr_fd`
 * (a negative value: closed), for tests of what it logs. */
int test_daemon_start_logging(struct test_daemon *d, const char *const *args,
                              int stderr_fd);

/* Group set-up for suites of hostile-client cases: test_pair_daemon
 * serves two sim:dmatest functions (device 0 for the client under test,
 * device 1 for the neighbour probe).  The tear-down fails unless SIGTERM
 * ends the daemon cleanly (status 0) after all the abuse. */
extern struct test_daemon test_pair_daemon;
int test_pair_start(void **state);
int test_pair_stop(void **state);

/* SIGTERM, wait; returns the exit status (0 = clean shutdown). */
int test_daemon_stop(struct test_daemon *d);

/* MVF_TEST_TRANSPORT=iokit: the suites run against the dext instead of
 * macvfiod: the fixture starts $DKHOST (the dext's code on the DriverKit
 * double, tests/dext/iokit) and connects through libmacvfio's IOKit
 * transport (built for Linux with the IOKitLib double). */
bool test_transport_iokit(void);
/* A connection to the fixture's server over the suite's transport. */
int test_connect(struct test_daemon *d, struct mvf_handle **h);
/* DMA_REGISTER of [0, length) of memfd, mapped at mem: by fd where the
 * transport carries fds, else by address (IOKit). */
int test_dma_register(struct mvf_handle *h, int memfd, void *mem, uint64_t length,
                      uint64_t *handle);
/* memfd mapped shared at a granule-aligned address (munmap(p, size)). */
void *test_map_memfd(int memfd, uint64_t size);

/* Connects, opens device `index` and claims it; asserts on failure. */
struct mvf_handle *test_open_claimed(struct test_daemon *d, uint32_t index);

/* A memfd of `size` bytes sealed against shrinking (what QEMU's
 * memory-backend-memfd does by default). */
int test_sealed_memfd(uint64_t size);

/* sim:dmatest through its BAR0 registers (sim/dmatest.h): a 32-bit
 * register, and one transfer (returns STATUS).  Assert on failure. */
uint32_t test_dmatest_reg_read(struct mvf_handle *h, uint32_t reg);
void test_dmatest_reg_write(struct mvf_handle *h, uint32_t reg, uint32_t v);
uint32_t test_dmatest_xfer(struct mvf_handle *h, uint64_t iova, uint32_t off,
                           uint32_t len, uint32_t dir, uint32_t vec);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t test_now_us(void);

/* A fresh file of `size` bytes for a file-backed sim:nvme namespace:
 * its path (/tmp/mvf-<tag>-XXXXXX) goes to path[0..len); 0 or -1.  The
 * caller unlinks it. */
int test_disk_file(char *path, size_t len, const char *tag, uint64_t size);

/* Waits up to `ms` for an eventfd to fire; returns its count or 0. */
uint64_t test_wait_eventfd(int fd, int ms);

/*
 * A well-behaved neighbour: a thread with a connection of its own that
 * reads device `index`'s vendor ID in a loop (no claim needed) while a
 * test lets a hostile client loose on the daemon.  Each call's latency
 * is recorded.
 */
struct test_probe;

struct test_probe_result {
    uint64_t calls, failures;
    uint64_t p50_us, max_us;
};

/* Far above a healthy call (tens of microseconds, a few milliseconds
 * under ASan on a loaded machine) and far below the stalls the tests
 * guard against (seconds, or forever). */
#define TEST_NEIGHBOUR_BOUND_US 1000000u

struct test_probe *test_probe_start(struct test_daemon *d, uint32_t index);
void test_probe_stop(struct test_probe *p, struct test_probe_result *r);

/* Stops the probe and asserts that every call succeeded and none took
 * longer than TEST_NEIGHBOUR_BOUND_US; prints the figures under `what`. */
void test_probe_check(struct test_probe *p, const char *what);

/* Asserts the daemon is still running and every one of its `ndevices`
 * devices has 0 live mappings and 0 mapped bytes. */
void test_assert_daemon_clean(struct test_daemon *d, uint32_t ndevices);

#endif
