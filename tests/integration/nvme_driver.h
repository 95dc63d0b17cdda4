/* SPDX-License-Identifier: MIT */
/*
 * A minimal userspace NVMe driver over libmacvfio, shared by the
 * integration tests that drive sim:nvme: register access, submission
 * entries, queue pairs in client memory, completions by interrupt.  The
 * tests own their memory layout: queues live at offsets into `mem`,
 * which the test has registered and mapped at IOVAs it passes in.
 * Failures are cmocka assertions.
 */
#ifndef MACVFIO_TESTS_NVME_DRIVER_H
#define MACVFIO_TESTS_NVME_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon_fixture.h"
#include "nvme_defs.h"

#define NVME_DRV_NVEC_MAX 8     /* vectors (queue ids) the driver wires */
#define NVME_DRV_CC_IOES  (NVME_CC_IOSQES_6 | NVME_CC_IOCQES_4)

/* The host's view of a queue pair (its SQ and CQ share the id and the
 * size, as Linux sets them up). */
struct nvme_hq {
    uint16_t qid;
    uint32_t sq_off, cq_off, size, sq_tail, cq_head;
    uint8_t phase;
};

struct nvme_cqe {
    uint32_t dw0;
    uint16_t sqhd, cid, status;
};

struct nvme_drv {
    struct mvf_handle *h;
    uint8_t *mem;                    /* client memory the queues live in */
    int efd[NVME_DRV_NVEC_MAX];      /* MSI-X vector i: eventfd (qid i) */
    uint32_t nvec;
    uint16_t cid;                    /* next command id */
};

/* Claims device `index`, turns bus mastering on and wires `nvec`
 * MSI-X vectors to eventfds.  d->mem is the caller's to set. */
void nvme_drv_open(struct nvme_drv *d, struct test_daemon *daemon,
                   uint32_t index, uint32_t nvec);
/* Closes the connection (the daemon cleans up) and the eventfds. */
void nvme_drv_close(struct nvme_drv *d);

uint32_t nvme_drv_rd32(struct nvme_drv *d, uint32_t off);
void nvme_drv_wr32(struct nvme_drv *d, uint32_t off, uint32_t v);
/* Low dword first, as Linux writes 64-bit registers. */
void nvme_drv_wr64(struct nvme_drv *d, uint32_t off, uint64_t v);
/* Polls CSTS until (CSTS & mask) == want; fails on CSTS.CFS. */
void nvme_drv_wait_csts(struct nvme_drv *d, uint32_t mask, uint32_t want);

/* Submission entry builders (c: NVME_SQE_SIZE bytes). */
void nvme_sqe_init(uint8_t *c, uint8_t opc, uint32_t nsid);
void nvme_sqe_dw(uint8_t *c, unsigned n, uint32_t v);
void nvme_sqe_prp(uint8_t *c, uint64_t prp1, uint64_t prp2);
/* Read, Write or Write Zeroes of `bytes` (a multiple of 512) at slba,
 * namespace 1; PRPs left for the caller. */
void nvme_sqe_rw(uint8_t *c, uint8_t opc, uint64_t slba, uint32_t bytes);

/* Disables the controller, sets up admin queues of `size` entries at
 * client offsets/IOVAs, enables it; fills *aq. */
void nvme_drv_enable(struct nvme_drv *d, struct nvme_hq *aq, uint32_t size,
                     uint32_t asq_off, uint64_t asq_iova, uint32_t acq_off,
                     uint64_t acq_iova);
/* Creates I/O queue pair `qid` (CQ with interrupts on vector qid);
 * fills *q. */
void nvme_drv_create_pair(struct nvme_drv *d, struct nvme_hq *aq,
                          struct nvme_hq *q, uint16_t qid, uint32_t size,
                          uint32_t sq_off, uint64_t sq_iova, uint32_t cq_off,
                          uint64_t cq_iova);

/* Writes the entry at the SQ tail (assigning a CID, returned). */
uint16_t nvme_drv_push(struct nvme_drv *d, struct nvme_hq *q, uint8_t *c);
void nvme_drv_ring(struct nvme_drv *d, struct nvme_hq *q);
bool nvme_drv_cqe_ready(const struct nvme_drv *d, const struct nvme_hq *q);
/* Takes the completion at the CQ head, which must be there. */
struct nvme_cqe nvme_drv_pop(struct nvme_drv *d, struct nvme_hq *q);
void nvme_drv_cq_doorbell(struct nvme_drv *d, struct nvme_hq *q);
/* One command: push, ring, wait for its completion (by the queue's
 * interrupt), pop, head doorbell; returns the status (dw0 if wanted). */
uint16_t nvme_drv_exec(struct nvme_drv *d, struct nvme_hq *q, uint8_t *c,
                       uint32_t *dw0);

#endif
