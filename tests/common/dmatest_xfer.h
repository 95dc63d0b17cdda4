/* SPDX-License-Identifier: MIT */
/*
 * One sim:dmatest transfer programmed through its BAR0 registers
 * (include/macvfio/dmatest.h), over whichever path a test reaches the
 * device by: the register accessors are the caller's.
 */
#ifndef MACVFIO_TESTS_DMATEST_XFER_H
#define MACVFIO_TESTS_DMATEST_XFER_H

#include <stdint.h>

#include "macvfio/dmatest.h"

struct dmatest_regs {
    void *ctx;
    void (*wr)(void *ctx, uint32_t reg, uint32_t v);
    uint32_t (*rd)(void *ctx, uint32_t reg);
};

/* Rings the doorbell for one transfer and returns STATUS. */
static inline uint32_t dmatest_xfer(const struct dmatest_regs *r, uint64_t iova,
                                    uint32_t off, uint32_t len, uint32_t dir,
                                    uint32_t vec)
{
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)iova);
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(iova >> 32));
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_OFFSET, off);
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_LEN, len);
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_DIR, dir);
    r->wr(r->ctx, MVF_DMATEST_REG_DMA_VECTOR, vec);
    r->wr(r->ctx, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    return r->rd(r->ctx, MVF_DMATEST_REG_STATUS);
}

#endif
