/* SPDX-License-Identifier: MIT */
/*
 * Internals of the apple-dma-pci engine (companion/engine.c).  The
 * protocol is <macvfio/guest_proto.h>, the engine's API
 * <macvfio/companion.h>; the specification is docs/guest-protocol.md.
 */
#ifndef MACVFIO_COMPANION_ENGINE_H
#define MACVFIO_COMPANION_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "macvfio/companion.h"

/* One live ring mapping, a slot of an open-addressing table keyed by
 * iova (linear probing, deletion by backward shift: no tombstones).
 * handle and hoff record which registration it maps, so a RAM change
 * that moves the range to another registration drops it. */
struct mvfl_gp_map {
    uint64_t iova, len, gpa;
    uint64_t handle, hoff;
    uint32_t flags;
    uint8_t used;
    uint8_t unmapping;    /* named by an UNMAP of the doorbell running */
    uint8_t dropping;     /* being let go (reset, RAM removal) */
};

struct mvfl_gp_ring {
    uint64_t addr;        /* RING_ADDR as written */
    uint32_t size;        /* RING_SIZE as written */
    bool enabled;
    int32_t status;       /* RING_STATUS */
    uint32_t processed;   /* RING_PROCESSED */
};

/* One entry of the doorbell being run: the copy it is judged on, what
 * it asks of the host (req: its index in the map or unmap requests)
 * and its result. */
struct mvfl_gp_work {
    uint64_t gpa, len, iova;
    uint16_t op, flags;
    int32_t st;
    uint32_t req;
};

/* Scratch for one doorbell (and for batched unmaps at reset and RAM
 * changes), allocated with the device: nothing on the stack grows with
 * the guest's count. */
struct mvfl_gp_batch {
    uint8_t raw[MVF_GP_DOORBELL_MAX * MVF_GP_ENTRY_SIZE];
    struct mvfl_gp_work work[MVF_GP_DOORBELL_MAX];
    struct mvf_dma_map_req map_req[MVF_GP_DOORBELL_MAX];
    struct mvf_dma_map_res map_res[MVF_GP_DOORBELL_MAX];
    struct mvf_dma_unmap_req unmap_req[MVF_GP_DOORBELL_MAX];
    int32_t unmap_st[MVF_GP_DOORBELL_MAX];
};

struct mvf_gp_dev {
    struct mvf_gp_config cfg;
    struct mvf_gp_ops ops;
    void *ctx;
    unsigned granule_shift;

    struct mvf_gp_range ram[MVF_GP_MAX_RAM];
    uint32_t n_ram;
    struct mvf_gp_window win[MVF_GP_MAX_WINDOWS];
    uint32_t n_win;

    uint32_t strategy, default_strategy;
    int32_t dev_status;
    struct mvfl_gp_ring rings[MVF_GP_MAX_RINGS];

    struct mvfl_gp_map *slots; /* cap slots, cap a power of two */
    uint32_t cap, live;
    uint64_t mapped_bytes;

    struct mvfl_gp_batch *batch;
    struct mvf_gp_stats stats;
    bool busy;            /* inside a doorbell: refuse re-entry */
    bool reset_pending;   /* reset asked for while busy */
};

/* Host errno (negative) -> MVF_GP_E* status (Linux numbering); anything
 * unknown or out of range becomes MVF_GP_EIO. */
int32_t mvfl_gp_status(int host_err);

#endif /* MACVFIO_COMPANION_ENGINE_H */
