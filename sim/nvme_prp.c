/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme data transfers: walks PRP1/PRP2 and PRP lists (NVMe 1.4
 * section 4.3) into IOVA segments, then copies through the core's DART
 * model, or resolves them into host memory for the store to fill or
 * drain.  Memory pages are 4 KiB (the only CC.MPS the controller takes).
 *
 * Rules enforced, each failing with PRP Offset Invalid:
 *   - PRP1 may have an offset into its page, but must be dword aligned;
 *   - PRP2, when it is the second data page, has no offset;
 *   - PRP2, when it points to a PRP list, is qword aligned and may start
 *     anywhere in its page; the list runs to the end of that page;
 *   - every list entry that is a data page has no offset;
 *   - the last entry of a list page chains to the next list when more
 *     pages are needed; that pointer must be page aligned (as QEMU's
 *     controller requires too), so every chained page holds 511 entries
 *     and a chain cannot loop without the transfer length running out.
 * A fault reading a list or copying data fails the command with Data
 * Transfer Error; the core has already logged and counted the fault.
 */
#include <errno.h>

#include "nvme_priv.h"

#define PS ((uint64_t)MVF_NVME_PAGE_SIZE)

/* Appends a segment, merging it with the previous one when the IOVAs
 * are contiguous (the common case: fewer DART walks). */
static bool seg_add(struct nvme *n, uint64_t iova, uint32_t len)
{
    if (n->nsegs) {
        struct nvme_seg *last = &n->segs[n->nsegs - 1];
        uint64_t end = last->iova + last->len;

        if (end == iova && end > last->iova) {
            last->len += len;   /* <= MVF_NVME_MAX_XFER in total */
            return true;
        }
    }
    if (n->nsegs >= NVME_SEGS_MAX)
        return false;
    n->segs[n->nsegs].iova = iova;
    n->segs[n->nsegs].len = len;
    n->nsegs++;
    return true;
}

static uint16_t fault(struct nvme *n, const struct nvme_cmd *c,
                      const char *what, uint64_t iova)
{
    nvme_warn(n, "queue %u command 0x%04x (opcode 0x%02x): DMA fault %s at "
              "IOVA 0x%llx: Data Transfer Error", c->qid, c->cid, c->opc,
              what, (unsigned long long)iova);
    return nvme_err(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
}

static uint16_t bad_offset(struct nvme *n, const struct nvme_cmd *c,
                           const char *what, uint64_t prp)
{
    nvme_warn(n, "queue %u command 0x%04x (opcode 0x%02x): %s 0x%llx has a "
              "bad offset: PRP Offset Invalid", c->qid, c->cid, c->opc, what,
              (unsigned long long)prp);
    return nvme_err(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET);
}

/* Walks the PRP list that starts at `list` for `rem` bytes of pages. */
static uint16_t walk_list(struct nvme *n, const struct nvme_cmd *c,
                          uint64_t list, uint32_t rem)
{
    uint32_t pages = (uint32_t)((rem + PS - 1) / PS), list_pages = 0;

    if (list & 7)
        return bad_offset(n, c, "PRP list pointer", list);
    while (pages) {
        uint32_t slots = (uint32_t)((PS - (list & (PS - 1))) / 8);
        uint32_t want = pages > slots ? slots : pages;
        uint32_t ndata = pages > slots ? slots - 1 : want;
        uint64_t bad = list;

        if (++list_pages > NVME_PRP_LIST_PAGES_MAX) {
            nvme_warn(n, "queue %u command 0x%04x: PRP list longer than %u "
                      "pages", c->qid, c->cid, NVME_PRP_LIST_PAGES_MAX);
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
        }
        if (mvf_device_dma_read(n->dev, list, n->prp_page, (size_t)want * 8,
                                &bad) != 0)
            return fault(n, c, "reading a PRP list", bad);
        for (uint32_t i = 0; i < ndata; i++) {
            uint64_t e = nvme_get_le64(n->prp_page + 8 * i);
            uint32_t chunk = rem < PS ? rem : (uint32_t)PS;

            if (e & (PS - 1))
                return bad_offset(n, c, "PRP list entry", e);
            if (!seg_add(n, e, chunk))
                return nvme_err(NVME_SCT_GENERIC, NVME_SC_INTERNAL);
            rem -= chunk;
            pages--;
        }
        if (pages) {
            list = nvme_get_le64(n->prp_page + 8 * (slots - 1));
            if (list & (PS - 1))
                return bad_offset(n, c, "chained PRP list pointer", list);
        }
    }
    return 0;
}

/* Fills n->segs with the segments of a `len`-byte transfer. */
static uint16_t prp_map(struct nvme *n, const struct nvme_cmd *c, uint32_t len)
{
    uint32_t first, rem;

    n->nsegs = 0;
    if (!len)
        return 0;
    if (c->prp1 & 3)
        return bad_offset(n, c, "PRP1", c->prp1);
    first = (uint32_t)(PS - (c->prp1 & (PS - 1)));
    if (first > len)
        first = len;
    seg_add(n, c->prp1, first);
    rem = len - first;
    if (!rem)
        return 0;
    if (rem <= PS) {
        if (c->prp2 & (PS - 1))
            return bad_offset(n, c, "PRP2", c->prp2);
        seg_add(n, c->prp2, rem);
        return 0;
    }
    return walk_list(n, c, c->prp2, rem);
}

uint16_t nvme_dma_from_host(struct nvme *n, const struct nvme_cmd *c,
                            void *buf, uint32_t len)
{
    uint8_t *p = buf;
    uint16_t st = prp_map(n, c, len);

    for (uint32_t i = 0; !st && i < n->nsegs; i++) {
        uint64_t bad = n->segs[i].iova;

        if (mvf_device_dma_read(n->dev, n->segs[i].iova, p, n->segs[i].len,
                                &bad) != 0)
            return fault(n, c, "reading data", bad);
        p += n->segs[i].len;
    }
    return st;
}

uint16_t nvme_dma_to_host(struct nvme *n, const struct nvme_cmd *c,
                          const void *buf, uint32_t len)
{
    const uint8_t *p = buf;
    uint16_t st = prp_map(n, c, len);

    /* Segments are written in order and the first fault stops the
     * transfer: memory before it holds data, memory after it is left
     * alone, as with a real device's partial transfer. */
    for (uint32_t i = 0; !st && i < n->nsegs; i++) {
        uint64_t bad = n->segs[i].iova;

        if (mvf_device_dma_write(n->dev, n->segs[i].iova, p, n->segs[i].len,
                                 &bad) != 0)
            return fault(n, c, "writing data", bad);
        p += n->segs[i].len;
    }
    return st;
}

uint16_t nvme_dma_spans(struct nvme *n, const struct nvme_cmd *c,
                        uint32_t len, bool to_host)
{
    uint16_t st = prp_map(n, c, len);

    n->spans.n = 0;
    for (uint32_t i = 0; !st && i < n->nsegs; i++) {
        uint64_t bad = n->segs[i].iova;
        int rc = mvf_device_dma_spans(n->dev, n->segs[i].iova, n->segs[i].len,
                                      !to_host, &n->spans, &bad);

        if (rc == -E2BIG)   /* NVME_SPANS_MAX says why it cannot be */
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INTERNAL);
        if (rc)
            return fault(n, c, to_host ? "writing data" : "reading data", bad);
    }
    return st;
}
