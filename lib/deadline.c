/* SPDX-License-Identifier: MIT */
#include "deadline.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct mvfl_deadline mvfl_deadline_in(uint32_t timeout_ms)
{
    struct mvfl_deadline d = { .forever = timeout_ms == 0 };

    if (!d.forever)
        d.end_ns = now_ns() + (uint64_t)timeout_ms * 1000000u;
    return d;
}

/* poll()'s timeout for what is left: rounded up, so the wait never ends
 * a little before the deadline and spins on a 0 ms poll. */
static int remaining_ms(const struct mvfl_deadline *d)
{
    uint64_t now, left_ms;

    if (d->forever)
        return -1;
    now = now_ns();
    if (now >= d->end_ns)
        return 0;
    left_ms = (d->end_ns - now + 999999u) / 1000000u;
    return left_ms > INT_MAX ? INT_MAX : (int)left_ms;
}

int mvfl_wait_fd(int fd, short events, const struct mvfl_deadline *d)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        int ms = remaining_ms(d);
        int r;

        if (ms == 0)
            return -ETIMEDOUT;
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        /* timed out (the loop re-checks the clock) or interrupted */
    }
}
