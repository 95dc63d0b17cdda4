/* SPDX-License-Identifier: MIT */
/* sim:dmatest DMA engine: one synchronous transfer per doorbell. */
#include <errno.h>

#include "dmatest_priv.h"

/* Parameter checks, in the order the error code reports them. */
static uint32_t check_params(const struct dmatest *d)
{
    const struct dmatest_regs *r = &d->regs;

    if (r->dma_dir != MVF_DMATEST_DIR_TO_DEVICE &&
        r->dma_dir != MVF_DMATEST_DIR_FROM_DEVICE)
        return MVF_DMATEST_ERR_DIR;
    if (r->dma_len == 0 || r->dma_len > MVF_DMATEST_MAX_XFER)
        return MVF_DMATEST_ERR_LEN;
    /* A 64-bit sum of two 32-bit values cannot wrap. */
    if ((uint64_t)r->dma_offset + r->dma_len > d->win_size)
        return MVF_DMATEST_ERR_RANGE;
    /* The end (exclusive) must not wrap past 2^64. */
    if (r->dma_iova + r->dma_len < r->dma_iova)
        return MVF_DMATEST_ERR_IOVA;
    return MVF_DMATEST_ERR_NONE;
}

static void raise_vector(struct dmatest *d)
{
    /* MSI-X disabled: the message is never sent, as on hardware. */
    if (d->dev && d->msix_enabled)
        mvf_device_irq_raise(d->dev, MVF_IRQ_MSIX, d->regs.dma_vector);
}

static void finish_error(struct dmatest *d, uint32_t code)
{
    d->regs.status |= MVF_DMATEST_STATUS_ERROR;
    d->regs.error_code = code;
}

void dmatest_engine_run(struct dmatest *d)
{
    struct dmatest_regs *r = &d->regs;
    uint64_t fault = r->dma_iova;
    uint8_t *buf;
    uint32_t code;
    int rc;

    r->status &= ~(MVF_DMATEST_STATUS_DONE | MVF_DMATEST_STATUS_FAULT |
                   MVF_DMATEST_STATUS_ERROR);
    r->error_code = MVF_DMATEST_ERR_NONE;
    r->events++;

    /* Without bus mastering the function can issue no request at all,
     * not even its MSI-X message. */
    if (!d->dev || !mvf_device_bus_master(d->dev)) {
        finish_error(d, MVF_DMATEST_ERR_NO_BUS_MASTER);
        return;
    }
    if (r->dma_vector >= MVF_DMATEST_NVEC) {
        finish_error(d, MVF_DMATEST_ERR_VECTOR);
        return;
    }
    code = check_params(d);
    if (code != MVF_DMATEST_ERR_NONE) {
        finish_error(d, code);
        raise_vector(d);
        return;
    }

    buf = d->win + r->dma_offset;   /* in bounds: checked above */
    r->status |= MVF_DMATEST_STATUS_BUSY;
    if (r->dma_dir == MVF_DMATEST_DIR_TO_DEVICE)
        rc = mvf_device_dma_read(d->dev, r->dma_iova, buf, r->dma_len, &fault);
    else
        rc = mvf_device_dma_write(d->dev, r->dma_iova, buf, r->dma_len, &fault);
    r->status &= ~MVF_DMATEST_STATUS_BUSY;

    if (rc == 0) {
        r->status |= MVF_DMATEST_STATUS_DONE;
        r->xfer_count++;
    } else if (rc == -EFAULT) {
        /* The core has logged the fault and counted it in its stats. */
        r->status |= MVF_DMATEST_STATUS_FAULT;
        r->fault_iova = fault;
        r->fault_count++;
    } else {
        finish_error(d, MVF_DMATEST_ERR_HOST);
        mvf_device_log(d->dev, MVF_LOG_WARN,
                       "sim:dmatest: DMA of %u bytes at IOVA 0x%llx refused "
                       "by the core (%d)", r->dma_len,
                       (unsigned long long)r->dma_iova, rc);
    }
    raise_vector(d);
}
