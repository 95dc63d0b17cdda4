/* SPDX-License-Identifier: MIT */
/*
 * Host ops for unit tests that run a simulated device inside the real
 * core without a daemon: client memory is a memfd the test maps, and a
 * notifier's "fd" is just an index whose signals are counted.
 */
#ifndef MACVFIO_TESTS_COUNTING_HOST_H
#define MACVFIO_TESTS_COUNTING_HOST_H

#include "core.h"

#define NOBJ 8

struct test_host {
    unsigned irq[NOBJ];        /* signals per notifier object */
    unsigned warnings;
    char last_log[512];
    /* If set, called after each signal is counted: a test's "other CPU",
     * acting at the moment the device raises an interrupt. */
    void (*on_signal)(void *ctx, int idx);
    void *ctx;
};

/* The host pointer passed to mvf_core_create() is a struct test_host. */
extern const struct mvf_host_ops test_hops;

#endif
