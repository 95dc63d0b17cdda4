/* SPDX-License-Identifier: MIT */
/*
 * A small client of the dext for its tests: the ABI calls of
 * include/macvfio/abi.h made over the rig's IOKit-shaped connection
 * (dext_rig.h), as libmacvfio's IOKit transport will make them.  Calls
 * return 0 or the negative errno carried by the IOReturn; after a
 * failure the text is fetched with MVF_SEL_LAST_ERROR (IOKit returns no
 * outputs on error) into dxc->err.
 */
#ifndef MACVFIO_TESTS_DEXT_CLIENT_H
#define MACVFIO_TESTS_DEXT_CLIENT_H

#include <stdint.h>

#include "dext_rig.h"
#include "macvfio/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dxc {
    struct rig *rig;
    struct rig_conn *conn;
    int32_t last_kr;              /* IOReturn of the last call */
    char err[MVF_ERRMSG_MAX];     /* LAST_ERROR text after a failure */
    uint64_t version, features, max_struct, device_count; /* HELLO */
};

/* Opens a user client and says HELLO; 0 or the HELLO's errno. */
int dxc_connect(struct dxc *c, struct rig *r);
/* Connects, opens device 0 and claims it; fails the test otherwise. */
void dxc_connect_claimed(struct dxc *c, struct rig *r);
void dxc_close(struct dxc *c);
/* The client dies with whatever it holds. */
void dxc_kill(struct dxc *c);

/* One call: n_out is the exact number of scalar outputs expected;
 * *sout_len is in: capacity, out: length (sout may be NULL). */
int dxc_call(struct dxc *c, uint32_t sel, const uint64_t *in, uint32_t n_in,
             const void *sin, uint32_t sin_len, uint64_t *out, uint32_t n_out,
             void *sout, uint32_t *sout_len);

int dxc_hello(struct dxc *c, uint64_t version);
int dxc_device_list(struct dxc *c, struct mvf_device_info *list,
                    uint32_t cap, uint64_t *count);
int dxc_device_open(struct dxc *c, uint32_t index);
int dxc_device_info(struct dxc *c, struct mvf_device_info *info);
int dxc_claim(struct dxc *c);
int dxc_release(struct dxc *c);
int dxc_cfg_read(struct dxc *c, uint32_t off, uint32_t width, uint32_t *v);
int dxc_cfg_write(struct dxc *c, uint32_t off, uint32_t width, uint32_t v);
int dxc_bar_info(struct dxc *c, uint32_t bar, uint64_t *size, uint64_t *flags);
int dxc_mmio_read(struct dxc *c, uint32_t bar, uint64_t off, uint32_t width,
                  uint64_t *v);
int dxc_mmio_write(struct dxc *c, uint32_t bar, uint64_t off, uint32_t width,
                   uint64_t v);
/* MAP_MEMORY then IOConnectMapMemory64 of the same type. */
int dxc_map(struct dxc *c, uint32_t type, void **addr, uint64_t *size,
            uint64_t *flags);
int dxc_unmap(struct dxc *c, uint32_t type, void *addr);
int dxc_irq_info(struct dxc *c, uint32_t type, uint64_t *count,
                 uint64_t *flags);
/* IRQ_SET STATE with this connection's async completion as the wake-up. */
int dxc_irq_state(struct dxc *c, uint32_t type);
int dxc_irq_set(struct dxc *c, uint32_t type, uint32_t action,
                uint32_t start, uint32_t count);
int dxc_reset(struct dxc *c);
int dxc_dma_register_va(struct dxc *c, const void *va, uint64_t len,
                        uint64_t *handle);
int dxc_dma_unregister(struct dxc *c, uint64_t handle);
int dxc_dma_map(struct dxc *c, uint64_t handle, uint64_t off, uint64_t len,
                uint64_t dirs, uint64_t *iova);
int dxc_dma_unmap(struct dxc *c, uint64_t iova, uint64_t len);
int dxc_stats(struct dxc *c, struct mvf_stats *st);

/* Command register bits 1 and 2 (memory space, bus master) on. */
void dxc_bus_master_on(struct dxc *c);
/* Memory the client registers: 16 KiB aligned, zeroed; free with free(). */
void *dxc_alloc(uint64_t len);

#ifdef __cplusplus
}
#endif

#endif
