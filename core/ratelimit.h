/* SPDX-License-Identifier: MIT */
/*
 * A log rate limiter in the manner of the kernel's printk_ratelimit:
 * at most `burst` events per `interval`, the rest counted as suppressed
 * so the next event let through (or a flush) can say how many were
 * dropped.  Time is whatever unit the caller counts in: milliseconds
 * from a clock, or the number of events when there is no clock.
 */
#ifndef MACVFIO_CORE_RATELIMIT_H
#define MACVFIO_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct mvf_ratelimit_cfg {
    uint32_t burst;      /* events let through per interval, >= 1 */
    uint64_t interval;   /* length of an interval, in the caller's unit */
};

/* Zero-initialised state is a limiter that has seen nothing yet. */
struct mvf_ratelimit {
    uint64_t begin;       /* start of the current interval */
    uint32_t passed;      /* events let through in it */
    bool started;
    uint64_t suppressed;  /* not yet reported */
};

/*
 * One event at time `now`: returns true if it may be logged.  Then
 * *suppressed gets the number of events suppressed since the last one
 * that was let through (the caller reports it with this one) and the
 * count restarts.  A clock that goes backwards starts a new interval.
 */
bool mvf_ratelimit_allow(struct mvf_ratelimit *rl,
                         const struct mvf_ratelimit_cfg *cfg, uint64_t now,
                         uint64_t *suppressed);

/* Takes the suppressed count not yet reported, for a summary line; the
 * interval goes on (a flush must not become a way round the limit). */
uint64_t mvf_ratelimit_flush(struct mvf_ratelimit *rl);

#endif
