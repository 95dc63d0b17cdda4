/* SPDX-License-Identifier: MIT */
/* sim:nvme state shared by its source files; not a public header. */
#ifndef MACVFIO_SIM_NVME_PRIV_H
#define MACVFIO_SIM_NVME_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfgspace.h"
#include "nvme.h"
#include "nvme_defs.h"

/* PRP list pages one command may walk.  MDTS already bounds a chain to
 * 4 pages (a first list page at an offset, then 511 entries per page);
 * this is the second line against a hostile list. */
#define NVME_PRP_LIST_PAGES_MAX 8
/* Data segments of one transfer: every page of MDTS, plus one for a
 * first page that starts at an offset. */
#define NVME_SEGS_MAX ((MVF_NVME_MAX_XFER / MVF_NVME_PAGE_SIZE) + 1)
/* Host pieces of one transfer.  Mappings are whole 4 KiB pages, so each
 * page of a transfer lies in one: never more pieces than segments. */
#define NVME_SPANS_MAX NVME_SEGS_MAX
#define NVME_PRP_PER_PAGE (MVF_NVME_PAGE_SIZE / 8)
#define NVME_MSIX_BYTES (16u * MVF_NVME_NVEC_MAX)

/* ---- backing store (nvme_store.c) -------------------------------------- */

struct nvme_store {
    int fd;          /* backing file, or -1 for RAM */
    uint8_t *ram;    /* RAM backing (anonymous, lazily allocated) */
    uint64_t size;   /* bytes, a multiple of 4 KiB */
};

/* Opens `path` (must exist, regular file) or, with path NULL, creates
 * `ram_size` bytes of zeroed RAM.  0 or a negative errno with err set. */
int nvme_store_open(struct nvme_store *s, const char *path, uint64_t ram_size,
                    char *err, size_t errlen);
void nvme_store_close(struct nvme_store *s);
/* Moves the spans' bytes, in order, from or to [off, ...) of the store,
 * straight between the file and that memory (one copy).  The range must
 * lie inside the store (callers check LBAs).  0 or a negative errno. */
int nvme_store_readv(struct nvme_store *s, uint64_t off,
                     const struct mvf_dma_spans *v);
int nvme_store_writev(struct nvme_store *s, uint64_t off,
                      const struct mvf_dma_spans *v);
/* nvme_store_writev of one buffer. */
int nvme_store_write(struct nvme_store *s, uint64_t off, const void *buf,
                     size_t len);
int nvme_store_zero(struct nvme_store *s, uint64_t off, uint64_t len);
int nvme_store_flush(struct nvme_store *s);

/* ---- controller state -------------------------------------------------- */

struct nvme_sq {
    uint64_t base;      /* IOVA of entry 0 */
    uint32_t size;      /* entries; 0: the queue does not exist */
    uint32_t head, tail;
    uint16_t cqid;
};

struct nvme_cq {
    uint64_t base;
    uint32_t size;      /* entries; 0: the queue does not exist */
    uint32_t head, tail;
    uint8_t phase;      /* phase tag of the next entry posted */
    bool ien;           /* interrupts enabled */
    uint16_t vector;
    uint16_t sq_count;  /* submission queues bound to it */
};

/* Feature values (5.21.1), back to defaults on every controller reset. */
struct nvme_features {
    uint32_t arbitration;
    uint32_t power_mgmt;
    uint32_t temp_over;        /* threshold, kelvin */
    uint32_t temp_under;
    uint32_t err_recovery;
    uint32_t vwc;              /* bit 0: write cache enabled */
    uint32_t irq_coalesce;
    uint32_t write_atomic;
    uint32_t async_event;
    uint32_t host_behavior;
};

/* Doorbell Buffer Config (nvme_dbbuf.c): the host's shadow doorbell and
 * EventIdx pages, while `on`.  seen[2y] and seen[2y + 1] are the SQ y
 * tail and CQ y head the controller last read in (or wrote to) the
 * shadow page: a value is taken only when it changed since then.
 * host_writes[] of the same slot: the host has written it since, so the
 * queue's MMIO doorbell only wakes the controller. */
struct nvme_dbbuf {
    bool on;
    uint64_t db, ei;    /* IOVAs */
    uint32_t seen[2 * (MVF_NVME_QUEUES_MAX + 1)];
    bool host_writes[2 * (MVF_NVME_QUEUES_MAX + 1)];
};

/* One contiguous IOVA range of a data transfer. */
struct nvme_seg {
    uint64_t iova;
    uint32_t len;
};

/* SMART counters (since the daemon started). */
struct nvme_stats {
    uint64_t blocks_read, blocks_written;   /* 512-byte units */
    uint64_t read_cmds, write_cmds;
};

struct nvme {
    struct mvf_device *dev;     /* set by attach; NULL before */
    struct mvf_cfgspace cfg;
    struct nvme_store store;
    uint64_t nsze;              /* namespace size, LBAs */
    uint32_t nqueues;           /* I/O queue pairs */
    uint32_t nvec;              /* MSI-X vectors: nqueues + 1 */
    char serial[MVF_NVME_SERIAL_MAX + 1];
    uint8_t nguid[16], uuid[16];

    /* Registers (3.1). */
    uint32_t cc, csts, aqa, intms;
    uint64_t asq, acq;

    struct nvme_sq *sq;         /* [nqueues + 1]; index = queue id */
    struct nvme_cq *cq;
    struct nvme_features feat;
    uint32_t aer_outstanding;   /* Asynchronous Event Requests held */
    uint32_t rr_next;           /* SQ the next slice looks at first */
    bool msix_enabled;          /* irq_configure(MSIX, n > 0) */
    struct nvme_dbbuf dbbuf;
    struct nvme_stats stats;

    uint8_t msix[NVME_MSIX_BYTES];  /* the table as stored */
    uint8_t *buf;                   /* MVF_NVME_MAX_XFER bytes + guard */
    struct nvme_seg *segs;          /* NVME_SEGS_MAX */
    uint32_t nsegs;
    struct mvf_dma_spans spans;     /* NVME_SPANS_MAX */
    uint8_t prp_page[MVF_NVME_PAGE_SIZE];
};

/* One submission entry, decoded. */
struct nvme_cmd {
    uint16_t qid;
    uint8_t opc;
    uint8_t fuse, psdt;
    uint16_t cid;
    uint32_t nsid;
    uint64_t prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* What a command completes with.  `post` false: no completion now (an
 * Asynchronous Event Request being held). */
struct nvme_result {
    uint16_t status;    /* NVME_STATUS(...) | NVME_DNR */
    uint32_t dw0;
    bool post;
};

static inline bool nvme_ready(const struct nvme *n)
{
    return (n->csts & (NVME_CSTS_RDY | NVME_CSTS_CFS)) == NVME_CSTS_RDY;
}

/* Status helpers: every error the controller reports is final (DNR):
 * retrying the same command cannot succeed. */
static inline uint16_t nvme_err(unsigned sct, unsigned sc)
{
    return (uint16_t)(NVME_STATUS(sct, sc) | NVME_DNR);
}

/* nvme.c */
/* Logs at WARN, rate-limited by the core per call site (fmt). */
void nvme_warn(struct nvme *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* nvme_regs.c: BAR0 below the MSI-X table. */
int nvme_regs_read(struct nvme *n, uint64_t off, uint32_t width,
                   uint64_t *val);
int nvme_regs_write(struct nvme *n, uint64_t off, uint32_t width,
                    uint64_t val);
/* Power-on state of registers, queues and features. */
void nvme_regs_power_on(struct nvme *n);

/* nvme_queue.c: queues, doorbells, command processing in slices. */
void nvme_queues_reset(struct nvme *n);
void nvme_sq_doorbell(struct nvme *n, uint32_t qid, uint32_t value);
void nvme_cq_doorbell(struct nvme *n, uint32_t qid, uint32_t value);
/* The checks and updates of both doorbells, for the MMIO registers and
 * the shadow buffer (`via` names which in the warnings): the queue
 * exists; false (logged, nothing changed) for a value it cannot take. */
bool nvme_sq_set_tail(struct nvme *n, uint32_t qid, uint32_t value,
                      const char *via);
bool nvme_cq_set_head(struct nvme *n, uint32_t qid, uint32_t value,
                      const char *via);
/* One slice of the commands doorbells queued; true while more remain. */
bool nvme_run_work(struct nvme *n);
/* Queue creation and deletion for the admin commands, which validate
 * first; deleting a CQ requires that no SQ is bound to it. */
void nvme_cq_create(struct nvme *n, uint16_t qid, uint64_t base,
                    uint32_t size, bool ien, uint16_t vector);
void nvme_sq_create(struct nvme *n, uint16_t qid, uint64_t base,
                    uint32_t size, uint16_t cqid);
void nvme_cq_delete(struct nvme *n, uint16_t qid);
void nvme_sq_delete(struct nvme *n, uint16_t qid);
/* Controller Fatal Status: processing stops until a controller reset. */
void nvme_fatal(struct nvme *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* nvme_dbbuf.c: Doorbell Buffer Config. */
/* The admin command: an NVMe status. */
uint16_t nvme_dbbuf_config(struct nvme *n, const struct nvme_cmd *c);
/* Controller reset or shutdown notification: the buffers are forgotten. */
void nvme_dbbuf_reset(struct nvme *n);
/* I/O queue qid (its SQ if is_sq, else its CQ) was just created. */
void nvme_dbbuf_queue_created(struct nvme *n, uint16_t qid, bool is_sq);
/* Start of a slice: takes the new tails and heads of the shadow buffer;
 * true if a queue's tail or head moved. */
bool nvme_dbbuf_poll(struct nvme *n);
/* An MMIO doorbell of SQ (is_sq) or CQ qid: true when the host writes
 * that queue's shadow, whose value then stands instead (nvme_dbbuf.c). */
bool nvme_dbbuf_shadowed(const struct nvme *n, uint32_t qid, bool is_sq);
/* The controller is out of work: writes the EventIdx buffer so that the
 * host rings again, then polls once more.  True if that last look moved
 * a tail or head (the caller must run another slice, which arms again
 * from the new state); false when not in use or nothing moved. */
bool nvme_dbbuf_arm(struct nvme *n);

/* nvme_admin.c */
void nvme_admin_exec(struct nvme *n, const struct nvme_cmd *c,
                     struct nvme_result *r);
void nvme_features_reset(struct nvme *n);

/* nvme_identify.c: the data structures the controller reports. */
void nvme_identify_ctrl(const struct nvme *n, uint8_t *out);
void nvme_identify_ns(const struct nvme *n, uint8_t *out);
void nvme_identify_ns_list(const struct nvme *n, uint32_t after,
                           uint8_t *out);
void nvme_identify_ns_descs(const struct nvme *n, uint8_t *out);
/* Fills `out` (cap bytes) with log page `lid`; returns its size, or 0
 * for a log page the controller does not support. */
uint32_t nvme_log_page(const struct nvme *n, uint8_t lid, uint8_t *out,
                       uint32_t cap);

/* nvme_io.c */
void nvme_io_exec(struct nvme *n, const struct nvme_cmd *c,
                  struct nvme_result *r);
/* The command syncs a file-backed store (Flush, FUA, write cache off). */
bool nvme_io_syncs(const struct nvme *n, const struct nvme_cmd *c);

/* nvme_prp.c: data transfers described by PRP1/PRP2 (4.3).  `len` is at
 * most MVF_NVME_MAX_XFER.  Return an NVMe status (0 on success). */
uint16_t nvme_dma_from_host(struct nvme *n, const struct nvme_cmd *c,
                            void *buf, uint32_t len);
uint16_t nvme_dma_to_host(struct nvme *n, const struct nvme_cmd *c,
                          const void *buf, uint32_t len);
/* The host memory of a transfer, in PRP order, into n->spans, so the
 * store moves the data without a bounce buffer.  Returns 0, or the
 * status of a bad PRP or of the first segment that faulted, n->spans
 * then holding the segments before it. */
uint16_t nvme_dma_spans(struct nvme *n, const struct nvme_cmd *c,
                        uint32_t len, bool to_host);

#endif /* MACVFIO_SIM_NVME_PRIV_H */
