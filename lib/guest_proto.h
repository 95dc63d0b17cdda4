/* SPDX-License-Identifier: MIT */
/*
 * Internals of the apple-dma-pci parser (lib/guest_proto.c).  The
 * protocol and the public API are in include/macvfio/guest_proto.h; the
 * specification is docs/guest-protocol.md.
 */
#ifndef MACVFIO_LIB_GUEST_PROTO_H
#define MACVFIO_LIB_GUEST_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "macvfio/guest_proto.h"

/* One live ring mapping, a slot of an open-addressing table keyed by
 * iova (linear probing, deletion by backward shift: no tombstones). */
struct mvfl_gp_map {
    uint64_t iova, len, gpa;
    uint32_t flags;
    uint32_t used;
};

struct mvfl_gp_ring {
    uint64_t addr;        /* RING_ADDR as written */
    uint32_t size;        /* RING_SIZE as written */
    bool enabled;
    int32_t status;       /* RING_STATUS */
    uint32_t processed;   /* RING_PROCESSED */
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

    struct mvf_gp_stats stats;
    bool busy;            /* inside a doorbell: refuse re-entry */
    bool reset_pending;   /* reset asked for while busy */
};

/* Host errno (negative) -> MVF_GP_E* status (Linux numbering); anything
 * unknown or out of range becomes MVF_GP_EIO. */
int32_t mvfl_gp_status(int host_err);

#endif /* MACVFIO_LIB_GUEST_PROTO_H */
