/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"

bool mvf_ratelimit_allow(struct mvf_ratelimit *rl,
                         const struct mvf_ratelimit_cfg *cfg, uint64_t now,
                         uint64_t *suppressed)
{
    if (!rl->started || now < rl->begin || now - rl->begin >= cfg->interval) {
        rl->started = true;
        rl->begin = now;
        rl->passed = 0;
    }
    if (rl->passed >= cfg->burst) {
        rl->suppressed++;
        return false;
    }
    rl->passed++;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return true;
}

uint64_t mvf_ratelimit_flush(struct mvf_ratelimit *rl)
{
    uint64_t n = rl->suppressed;

    rl->suppressed = 0;
    return n;
}
