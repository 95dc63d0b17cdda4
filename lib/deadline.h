/* SPDX-License-Identifier: MIT */
/*
 * A call's time limit: a point on the monotonic clock (so a wall-clock
 * change neither shortens nor stretches it) and waiting for a socket
 * until then.
 */
#ifndef MACVFIO_LIB_DEADLINE_H
#define MACVFIO_LIB_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

struct mvfl_deadline {
    bool forever;           /* timeout 0: no limit */
    uint64_t end_ns;        /* CLOCK_MONOTONIC */
};

/* A deadline timeout_ms from now (0: none). */
struct mvfl_deadline mvfl_deadline_in(uint32_t timeout_ms);

/* Waits until fd reports one of events (or POLLHUP/POLLERR, which the
 * following sendmsg/recvmsg then reports), restarting after signals with
 * the time that is left.  0 when ready, -ETIMEDOUT once the deadline has
 * passed, or another negative errno from poll. */
int mvfl_wait_fd(int fd, short events, const struct mvfl_deadline *d);

#endif
