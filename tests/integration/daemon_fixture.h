/* SPDX-License-Identifier: MIT */
/* Starting and stopping a real macvfiod for integration tests. */
#ifndef MACVFIO_TESTS_DAEMON_FIXTURE_H
#define MACVFIO_TESTS_DAEMON_FIXTURE_H

#include <stdbool.h>
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

/* SIGTERM, wait; returns the exit status (0 = clean shutdown). */
int test_daemon_stop(struct test_daemon *d);

/* Connects, opens device `index` and claims it; asserts on failure. */
struct mvf_handle *test_open_claimed(struct test_daemon *d, uint32_t index);

/* A memfd of `size` bytes sealed against shrinking (what QEMU's
 * memory-backend-memfd does by default). */
int test_sealed_memfd(uint64_t size);

/* Waits up to `ms` for an eventfd to fire; returns its count or 0. */
uint64_t test_wait_eventfd(int fd, int ms);

#endif
