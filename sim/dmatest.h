/* SPDX-License-Identifier: MIT */
/*
 * sim:dmatest, a simulated PCIe function for exercising the whole path:
 * config space, a trapped register BAR with side effects, a mappable RAM
 * BAR, MSI-X, and device DMA through the core's DART model.
 *
 * Spec: "sim:dmatest[,window=SIZE][,serial=N]"
 *   window  size of the BAR2 RAM window: a power of two from 4K to 1G,
 *           decimal or 0x hex with an optional K, M or G suffix
 *           (binary units).  Default 1M.
 *   serial  64-bit Device Serial Number (decimal or 0x hex).
 *
 * The device as software sees it (identity, BARs, registers, DMA
 * engine) is include/macvfio/dmatest.h.
 */
#ifndef MACVFIO_SIM_DMATEST_H
#define MACVFIO_SIM_DMATEST_H

#include <stddef.h>

#include "core.h"
#include "macvfio/dmatest.h"

/*
 * Creates the device.  `args` is the spec text after "sim:dmatest": ""
 * or ",key=value[,key=value]".  Unknown or repeated keys and malformed
 * values fail with -EINVAL and a reason in err.  On success `out` holds
 * the ops, priv, name, BAR descriptions and vector counts; the caller
 * sets domain/bus/devfn and hands it to mvf_core_add_device(), which
 * takes ownership (ops->destroy frees it).  err may be NULL.
 */
int mvf_sim_dmatest_create(const char *args, struct mvf_provider *out,
                           char *err, size_t errlen);

#endif /* MACVFIO_SIM_DMATEST_H */
