/* SPDX-License-Identifier: MIT */
/* sim:dmatest BAR0: the register file (layout in dmatest.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dmatest_priv.h"

void dmatest_regs_reset(struct dmatest *d)
{
    memset(&d->regs, 0, sizeof(d->regs));
}

/* What the device itself sees in its window: lets a client check that a
 * write through a mapping of BAR2 really reached the device.  Bounded to
 * MVF_DMATEST_MAX_SUM bytes, so a read of a 1 GiB window cannot hold the
 * daemon's event loop for seconds.  Holes in the window's memfd read as
 * zeros and add nothing: they are skipped (SEEK_DATA) rather than read,
 * which would allocate their pages. */
static uint32_t window_sum(const struct dmatest *d)
{
    uint64_t off = d->regs.sum_offset, len = d->regs.sum_len, end;
    uint32_t sum = 0;

    if (off >= d->win_size)
        return 0;
    if (len == 0 || len > MVF_DMATEST_MAX_SUM)
        len = MVF_DMATEST_MAX_SUM;
    end = len < d->win_size - off ? off + len : d->win_size;
    for (uint64_t pos = off; pos < end;) {
        off_t data = lseek(d->win_fd, (off_t)pos, SEEK_DATA);
        uint64_t stop = end;

        if (data < 0 && errno == ENXIO)
            break;                      /* nothing but holes to the end */
        if (data >= 0) {
            off_t hole = lseek(d->win_fd, data, SEEK_HOLE);

            if ((uint64_t)data >= end)
                break;
            pos = (uint64_t)data;
            if (hole >= 0 && (uint64_t)hole < end)
                stop = (uint64_t)hole;
        }                               /* no SEEK_DATA: read it all */
        for (; pos < stop; pos++)
            sum += d->win[pos];
    }
    return sum;
}

/* One 32-bit register read, with its side effects. */
static uint32_t reg_read(struct dmatest *d, uint32_t off)
{
    struct dmatest_regs *r = &d->regs;
    uint32_t v;

    switch (off) {
    case MVF_DMATEST_REG_ID:            return MVF_DMATEST_ID_VALUE;
    case MVF_DMATEST_REG_VERSION:       return MVF_DMATEST_VERSION_VALUE;
    case MVF_DMATEST_REG_SCRATCH:       return r->scratch;
    case MVF_DMATEST_REG_EVENTS:
        v = r->events;
        r->events = 0;                  /* read to clear */
        return v;
    case MVF_DMATEST_REG_WIN_SIZE_LO:   return (uint32_t)d->win_size;
    case MVF_DMATEST_REG_WIN_SIZE_HI:   return (uint32_t)(d->win_size >> 32);
    case MVF_DMATEST_REG_MAX_LEN:       return MVF_DMATEST_MAX_XFER;
    case MVF_DMATEST_REG_DMA_IOVA_LO:   return (uint32_t)r->dma_iova;
    case MVF_DMATEST_REG_DMA_IOVA_HI:   return (uint32_t)(r->dma_iova >> 32);
    case MVF_DMATEST_REG_DMA_OFFSET:    return r->dma_offset;
    case MVF_DMATEST_REG_DMA_LEN:       return r->dma_len;
    case MVF_DMATEST_REG_DMA_DIR:       return r->dma_dir;
    case MVF_DMATEST_REG_DMA_VECTOR:    return r->dma_vector;
    case MVF_DMATEST_REG_STATUS:        return r->status;
    case MVF_DMATEST_REG_ERROR_CODE:    return r->error_code;
    case MVF_DMATEST_REG_FAULT_IOVA_LO: return (uint32_t)r->fault_iova;
    case MVF_DMATEST_REG_FAULT_IOVA_HI: return (uint32_t)(r->fault_iova >> 32);
    case MVF_DMATEST_REG_FAULT_COUNT:   return r->fault_count;
    case MVF_DMATEST_REG_XFER_COUNT:    return r->xfer_count;
    case MVF_DMATEST_REG_WIN_SUM:       return window_sum(d);
    case MVF_DMATEST_REG_WIN_SUM_OFFSET: return r->sum_offset;
    case MVF_DMATEST_REG_WIN_SUM_LEN:   return r->sum_len;
    default:                            return 0; /* incl. DOORBELL (WO) */
    }
}

/* One 32-bit register write; read-only and unknown offsets ignore it. */
static void reg_write(struct dmatest *d, uint32_t off, uint32_t v)
{
    struct dmatest_regs *r = &d->regs;

    switch (off) {
    case MVF_DMATEST_REG_SCRATCH:
        r->scratch = v;
        break;
    case MVF_DMATEST_REG_DMA_IOVA_LO:
        r->dma_iova = (r->dma_iova & ~0xffffffffull) | v;
        break;
    case MVF_DMATEST_REG_DMA_IOVA_HI:
        r->dma_iova = (r->dma_iova & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case MVF_DMATEST_REG_DMA_OFFSET:
        r->dma_offset = v;
        break;
    case MVF_DMATEST_REG_DMA_LEN:
        r->dma_len = v;
        break;
    case MVF_DMATEST_REG_DMA_DIR:
        r->dma_dir = v;
        break;
    case MVF_DMATEST_REG_DMA_VECTOR:
        r->dma_vector = v;
        break;
    case MVF_DMATEST_REG_WIN_SUM_OFFSET:
        r->sum_offset = v;
        break;
    case MVF_DMATEST_REG_WIN_SUM_LEN:
        r->sum_len = v;
        break;
    case MVF_DMATEST_REG_DOORBELL:
        if (v & MVF_DMATEST_DOORBELL_GO)
            dmatest_engine_run(d);
        break;
    case MVF_DMATEST_REG_STATUS:
        /* BUSY is read-only; the rest clear where a 1 is written. */
        r->status &= ~(v & ~MVF_DMATEST_STATUS_BUSY);
        break;
    default:
        break;
    }
}

/* 4-byte accesses at 4-byte alignment, 8-byte ones at 8-byte alignment
 * as two registers (low first); anything else decodes to nothing. */
static bool decodes(uint64_t off, uint32_t width)
{
    if (width != 4 && width != 8)
        return false;
    if (off >= MVF_DMATEST_REG_SIZE || width > MVF_DMATEST_REG_SIZE - off)
        return false;
    return (off & (width - 1)) == 0;
}

int dmatest_regs_read(struct dmatest *d, uint64_t off, uint32_t width,
                      uint64_t *val)
{
    *val = 0;
    if (!decodes(off, width))
        return 0;
    *val = reg_read(d, (uint32_t)off);
    if (width == 8)
        *val |= (uint64_t)reg_read(d, (uint32_t)off + 4) << 32;
    return 0;
}

int dmatest_regs_write(struct dmatest *d, uint64_t off, uint32_t width,
                       uint64_t val)
{
    if (!decodes(off, width))
        return 0;
    reg_write(d, (uint32_t)off, (uint32_t)val);
    if (width == 8)
        reg_write(d, (uint32_t)off + 4, (uint32_t)(val >> 32));
    return 0;
}
