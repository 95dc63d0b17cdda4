/* SPDX-License-Identifier: MIT */
/* sim:dmatest state shared by its source files; not a public header. */
#ifndef MACVFIO_SIM_DMATEST_PRIV_H
#define MACVFIO_SIM_DMATEST_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "cfgspace.h"
#include "dmatest.h"

/* BAR0 register file (everything reset clears to 0). */
struct dmatest_regs {
    uint32_t scratch;
    uint32_t events;
    uint64_t dma_iova;
    uint32_t dma_offset, dma_len, dma_dir, dma_vector;
    uint32_t status;
    uint32_t error_code;
    uint64_t fault_iova;
    uint32_t fault_count;
    uint32_t xfer_count;
    uint32_t sum_offset, sum_len;
};

struct dmatest {
    struct mvf_device *dev;       /* set by attach; NULL before */
    struct mvf_cfgspace cfg;
    struct dmatest_regs regs;
    uint64_t win_size;
    uint8_t *win;                 /* BAR2, mapped from win_fd */
    int win_fd;
    uint64_t serial;
    uint8_t msix[MVF_DMATEST_MSIX_SIZE];  /* BAR4 as stored */
    bool msix_enabled;            /* irq_configure(MSIX, n > 0) */
};

/* dmatest_regs.c: BAR0. */
void dmatest_regs_reset(struct dmatest *d);
int dmatest_regs_read(struct dmatest *d, uint64_t off, uint32_t width,
                      uint64_t *val);
int dmatest_regs_write(struct dmatest *d, uint64_t off, uint32_t width,
                       uint64_t val);

/* dmatest_engine.c: the doorbell. */
void dmatest_engine_run(struct dmatest *d);

#endif /* MACVFIO_SIM_DMATEST_PRIV_H */
