/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme I/O commands of the NVM command set (NVM Express 1.4 section
 * 6): Flush, Write, Read, Write Zeroes, Dataset Management.  One
 * namespace (NSID 1) of 512-byte LBAs.
 *
 * A Write checks all of its data's DMA before touching the backing
 * store, so a DMA fault leaves the namespace unchanged.  A Read fills the
 * host's buffers in PRP order and stops at the first fault.  Data moves
 * between the store and the host's memory in one copy: preadv/pwritev
 * straight between the file and the pieces of host memory behind the
 * IOVAs (nvme_dma_spans), with no bounce buffer.
 */
#include <string.h>

#include "nvme_priv.h"

#define FUA (1u << 30)   /* CDW12 Force Unit Access (6.9, 6.15, 6.16) */

static uint16_t invalid_field(void)
{
    return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
}

/* [slba, slba + nlb) must lie inside the namespace; the comparison is
 * arranged so that no sum can overflow. */
static uint16_t check_range(const struct nvme *n, uint64_t slba, uint64_t nlb)
{
    if (slba > n->nsze || nlb > n->nsze - slba)
        return nvme_err(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
    return 0;
}

static uint16_t media_error(struct nvme *n, const struct nvme_cmd *c,
                            const char *what, int rc, unsigned sc)
{
    nvme_warn(n, "queue %u command 0x%04x: %s of the backing store failed "
              "(%s)", c->qid, c->cid, what, strerror(-rc));
    return nvme_err(NVME_SCT_MEDIA, sc);
}

/* Makes written data durable when the host asked for it: FUA, or the
 * volatile write cache switched off with Set Features. */
static uint16_t write_through(struct nvme *n, const struct nvme_cmd *c)
{
    int rc;

    if (!(c->cdw12 & FUA) && (n->feat.vwc & 1))
        return 0;
    rc = nvme_store_flush(&n->store);
    return rc ? media_error(n, c, "flush", rc, NVME_SC_WRITE_FAULT) : 0;
}

bool nvme_io_syncs(const struct nvme *n, const struct nvme_cmd *c)
{
    if (n->store.fd < 0 || c->qid == 0)
        return false;
    if (c->opc == NVME_IO_FLUSH)
        return true;
    return (c->opc == NVME_IO_WRITE || c->opc == NVME_IO_WRITE_ZEROES) &&
           ((c->cdw12 & FUA) || !(n->feat.vwc & 1));
}

/* A Write's DMA is checked whole before the store changes. */
static uint16_t write_data(struct nvme *n, const struct nvme_cmd *c,
                           uint64_t off, uint32_t len)
{
    uint16_t st = nvme_dma_spans(n, c, len, false);
    int rc;

    if (st)
        return st;
    rc = nvme_store_writev(&n->store, off, &n->spans);
    return rc ? media_error(n, c, "write", rc, NVME_SC_WRITE_FAULT) : 0;
}

/* After a fault, the pieces before it are filled, as a copy fills them. */
static uint16_t read_data(struct nvme *n, const struct nvme_cmd *c,
                          uint64_t off, uint32_t len)
{
    uint16_t st = nvme_dma_spans(n, c, len, true);
    int rc = nvme_store_readv(&n->store, off, &n->spans);

    return rc ? media_error(n, c, "read", rc, NVME_SC_READ_ERROR) : st;
}

static uint16_t read_write(struct nvme *n, const struct nvme_cmd *c,
                           bool write)
{
    uint64_t slba = (uint64_t)c->cdw11 << 32 | c->cdw10;
    uint32_t nlb = (c->cdw12 & 0xffff) + 1, len;
    uint64_t off;
    uint16_t st = check_range(n, slba, nlb);

    if (st)
        return st;
    len = nlb << MVF_NVME_LBA_SHIFT;        /* at most 32 MiB */
    if (len > MVF_NVME_MAX_XFER)
        return invalid_field();             /* over MDTS (6.15) */
    off = slba << MVF_NVME_LBA_SHIFT;       /* inside the store: checked */
    if (write) {
        st = write_data(n, c, off, len);
        if (st)
            return st;
        n->stats.write_cmds++;
        n->stats.blocks_written += nlb;
        return write_through(n, c);
    }
    st = read_data(n, c, off, len);
    if (!st) {
        n->stats.read_cmds++;
        n->stats.blocks_read += nlb;
    }
    return st;
}

static uint16_t write_zeroes(struct nvme *n, const struct nvme_cmd *c)
{
    uint64_t slba = (uint64_t)c->cdw11 << 32 | c->cdw10;
    uint32_t nlb = (c->cdw12 & 0xffff) + 1;
    uint16_t st = check_range(n, slba, nlb);
    int rc;

    if (st)
        return st;
    /* Not limited by MDTS (no data moves): at most 32 MiB. */
    rc = nvme_store_zero(&n->store, slba << MVF_NVME_LBA_SHIFT,
                         (uint64_t)nlb << MVF_NVME_LBA_SHIFT);
    if (rc)
        return media_error(n, c, "zeroing", rc, NVME_SC_WRITE_FAULT);
    return write_through(n, c);
}

/* Dataset Management (6.7): ranges are checked; deallocation is a hint
 * the controller accepts and ignores (DLFEAT 0 promises nothing about
 * what deallocated blocks read back). */
static uint16_t dataset_mgmt(struct nvme *n, const struct nvme_cmd *c)
{
    uint32_t nr = (c->cdw10 & 0xff) + 1;
    uint16_t st = nvme_dma_from_host(n, c, n->buf, nr * NVME_DSM_RANGE_SIZE);

    for (uint32_t i = 0; !st && i < nr; i++) {
        const uint8_t *r = n->buf + i * NVME_DSM_RANGE_SIZE;

        st = check_range(n, nvme_get_le64(r + 8), nvme_get_le32(r + 4));
    }
    return st;
}

static uint16_t flush(struct nvme *n, const struct nvme_cmd *c)
{
    int rc = nvme_store_flush(&n->store);

    if (rc) {
        nvme_warn(n, "queue %u command 0x%04x: flush failed (%s)", c->qid,
                  c->cid, strerror(-rc));
        return nvme_err(NVME_SCT_GENERIC, NVME_SC_INTERNAL);
    }
    return 0;
}

void nvme_io_exec(struct nvme *n, const struct nvme_cmd *c,
                  struct nvme_result *r)
{
    bool any_ns = false;

    switch (c->opc) {
    case NVME_IO_FLUSH:
        any_ns = true;      /* FFFFFFFFh: every namespace */
        break;
    case NVME_IO_WRITE:
    case NVME_IO_READ:
    case NVME_IO_WRITE_ZEROES:
    case NVME_IO_DSM:
        break;
    default:
        r->status = nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
        return;
    }
    if (c->fuse || c->psdt) {
        r->status = invalid_field();    /* no fused commands, no SGLs */
        return;
    }
    if (c->nsid != 1 && !(any_ns && c->nsid == NVME_NSID_ALL)) {
        r->status = nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
        return;
    }
    switch (c->opc) {
    case NVME_IO_FLUSH:        r->status = flush(n, c); break;
    case NVME_IO_WRITE:        r->status = read_write(n, c, true); break;
    case NVME_IO_READ:         r->status = read_write(n, c, false); break;
    case NVME_IO_WRITE_ZEROES: r->status = write_zeroes(n, c); break;
    default:                   r->status = dataset_mgmt(n, c); break;
    }
}
