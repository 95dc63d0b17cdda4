/* SPDX-License-Identifier: MIT */
/*
 * fuzz_server's model of one client: what it registered and mapped, as
 * the server answered it, so that records can aim at real IOVAs and
 * their near misses.  The device records (sim:dmatest's DMA engine,
 * sim:nvme's admin queue) are in fuzz_server_devices.c.
 */
#ifndef MACVFIO_TESTS_FUZZ_SERVER_H
#define MACVFIO_TESTS_FUZZ_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define DEV_DMATEST   0
#define DEV_NVME      1
#define MAX_REGIONS   8
#define MAX_MAPS      16
#define PAGE          4096u
#define GRANULE       MVF_DART_GRANULE
#define NVME_QSIZE    16u
#define MSIX          2u

struct region {
    uint64_t handle, len;
    uint8_t *host;              /* the harness's own view of the memfd */
};

struct mapping {
    uint64_t iova, len;
    uint32_t flags;
    unsigned region;
    uint64_t off;
};

struct client {
    struct mvf_session *s;
    int dev;                    /* opened device, -1 */
    struct region regions[MAX_REGIONS];
    unsigned nregions;
    struct mapping maps[MAX_MAPS];
    unsigned nmaps;
    uint32_t full_vectors;      /* vectors bound to a full eventfd */
    bool nvme_up;
    unsigned nvme_map;          /* mapping holding the admin queues */
    uint16_t sq_tail;
};

/* Payload reader: bytes past the end read as 0. */
struct rd {
    const uint8_t *p;
    size_t n;
};

/* What the device records saw (FUZZ_SERVER_REPORT=1 prints it). */
struct fz_report {
    unsigned long inputs, doorbells, dma_done, dma_fault, dma_error,
                  full_fd_raises;
};
extern struct fz_report fz_report;

static inline uint64_t rd_n(struct rd *r, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        if (r->n) {
            v |= (uint64_t)r->p[0] << (8 * i);
            r->p++;
            r->n--;
        }
    }
    return v;
}

/* sim:dmatest programmed through trapped BAR0 writes (fuzz_server.c
 * documents the payload); `other` is the other client. */
void fz_record_dmatest(struct mvf_core *core, struct client *c,
                       const struct client *other, struct rd *r);
/* sim:nvme's admin queues in one of the client's mappings, controller
 * enabled. */
void fz_record_nvme_up(struct client *c, struct rd *r);
/* One admin command at the SQ tail, doorbells rung. */
void fz_record_nvme_sqe(struct client *c, struct rd *r);

#endif
