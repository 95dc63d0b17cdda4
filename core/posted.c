/* SPDX-License-Identifier: MIT */
/*
 * Posted requests (abi.h, "Posted requests"): run in order like any
 * call, but nobody waits for them, so a failure cannot be answered.  The
 * first one is latched on the session, later ones are counted, and the
 * session's next synchronous request carries the report instead of
 * running.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core_internal.h"

_Static_assert(offsetof(struct mvf_stats, posted_writes) == MVF_STATS_SIZE_1_1,
               "STATS only grows at its end");

/* Which selectors may be posted: writes only, as on PCIe. */
static bool postable(uint32_t selector)
{
    return selector == MVF_SEL_MMIO_WRITE;
}

static void count(struct mvf_session *s, bool failed)
{
    if (!s->dev)
        return;               /* no device open: nothing to count on */
    s->dev->stats.posted_writes++;
    s->dev->stats.posted_errors += failed;
}

/* Records a failure; `in` holds the request's scalars when the frame was
 * well formed enough to have them (bar, offset), else NULL. */
static void latch(struct mvf_session *s, uint32_t seq, uint32_t selector,
                  const uint64_t *in, uint32_t n_in, int status,
                  const char *why)
{
    const char *name = mvf_core_selector_name(selector);
    char sel[24], where[64] = "";

    count(s, true);
    if (s->posted_failed++)
        return;               /* the first failure's text is the one kept */
    if (!name) {
        snprintf(sel, sizeof(sel), "selector %u", selector);
        name = sel;
    }
    if (in && n_in >= 2 && selector == MVF_SEL_MMIO_WRITE)
        snprintf(where, sizeof(where), " of BAR %llu at 0x%llx",
                 (unsigned long long)in[0], (unsigned long long)in[1]);
    snprintf(s->posted_err, sizeof(s->posted_err),
             "posted %.20s (seq %u)%s failed (%d): %.100s", name, seq, where,
             status, why);
}

int mvf_dispatch_posted(struct mvf_session *s, uint32_t seq,
                        struct mvf_call *call)
{
    int ret;

    mvf_call_init(call);          /* no object out when it is not run */
    if (!(mvf_core_features(s->core) & MVF_FEAT_POSTED_WRITE))
        ret = mvf_fail(call, -ENOTSUP, "this transport has no posted requests");
    else if (!postable(call->selector))
        ret = mvf_fail(call, -EINVAL, "only MMIO_WRITE may be posted; "
                       "nothing was done");
    else
        ret = mvf_dispatch(s, call);
    if (ret < 0)
        latch(s, seq, call->selector, call->in, call->n_in, ret, call->err);
    else
        count(s, false);
    return ret;
}

void mvf_posted_refuse(struct mvf_session *s, uint32_t seq, uint32_t selector,
                       int status, const char *why)
{
    latch(s, seq, selector, NULL, 0, status, why);
}

int mvf_session_take_posted(struct mvf_session *s, char *msg, size_t len)
{
    uint64_t more = s->posted_failed - 1;

    if (!s->posted_failed)
        return 0;
    if (more)
        snprintf(msg, len, "%.200s (and %llu more)", s->posted_err,
                 (unsigned long long)more);
    else
        snprintf(msg, len, "%s", s->posted_err);
    s->posted_failed = 0;
    s->posted_err[0] = '\0';
    return -EIO;
}
