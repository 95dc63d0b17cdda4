/* SPDX-License-Identifier: MIT */
/* DMA: registering client memory, mapping it at server-chosen IOVAs,
 * singly and in batches. */
#include <errno.h>
#include <stdint.h>

#include "handle.h"

#define MAX_ERRNO 4095

static bool status_ok(int32_t st)
{
    return st <= 0 && st >= -MAX_ERRNO;
}

MVF_EXPORT int mvf_dma_register_fd(struct mvf_handle *h, int memfd,
                                   uint64_t fd_offset, uint64_t length,
                                   uint64_t *handle)
{
    uint64_t in[3] = { length, fd_offset, MVF_DMA_REG_FD };
    struct mvf_xfer x;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_DMA_FD, "DMA register fd")))
        return rc;
    if (memfd < 0 || !handle)
        return mvfl_fail(-EINVAL, "DMA register fd: bad fd %d or NULL handle",
                         memfd);
    /* Lengths, offsets and flags are the server's to judge: its errors
     * (documented in docs/abi.md) are the same for every client. */
    mvfl_xfer_init(&x, MVF_SEL_DMA_REGISTER);
    x.in = in;
    x.n_in = 3;
    x.fds_in = &memfd;
    x.n_fds_in = 1;
    x.n_out_min = 1;
    rc = mvfl_call(h, &x);
    if (rc == 0)
        *handle = x.out[0];
    return rc;
}

MVF_EXPORT int mvf_dma_register_va(struct mvf_handle *h, void *va,
                                   uint64_t length, uint64_t *handle)
{
    uint64_t in[3] = { length, (uint64_t)(uintptr_t)va, MVF_DMA_REG_VA };
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_DMA_VA, "DMA register VA")))
        return rc;
    if (!va || !handle)
        return mvfl_fail(-EINVAL, "DMA register VA: NULL address or handle");
    return mvfl_call_scalars(h, MVF_SEL_DMA_REGISTER, in, 3, handle, 1);
}

MVF_EXPORT int mvf_dma_unregister(struct mvf_handle *h, uint64_t handle)
{
    uint64_t in[1] = { handle };

    return mvfl_call_scalars(h, MVF_SEL_DMA_UNREGISTER, in, 1, NULL, 0);
}

MVF_EXPORT int mvf_dma_map(struct mvf_handle *h, uint64_t handle,
                           uint64_t offset, uint64_t length, uint32_t flags,
                           uint64_t *iova)
{
    uint64_t in[4] = { handle, offset, length, flags }, out = 0;
    int rc;

    if (!iova)
        return mvfl_fail(-EINVAL, "DMA map: NULL iova");
    rc = mvfl_call_scalars(h, MVF_SEL_DMA_MAP, in, 4, &out, 1);
    if (rc < 0)
        return rc;
    if (out + length < out)
        return mvfl_bad_reply(h, MVF_SEL_DMA_MAP, "IOVA 0x%llx wraps",
                              (unsigned long long)out);
    *iova = out;
    return 0;
}

MVF_EXPORT int mvf_dma_unmap(struct mvf_handle *h, uint64_t iova,
                             uint64_t length)
{
    uint64_t in[2] = { iova, length };

    return mvfl_call_scalars(h, MVF_SEL_DMA_UNMAP, in, 2, NULL, 0);
}

/* Entries per batch call: MVF_MAX_BATCH, and both directions' structs
 * within the server's max_struct. */
static uint32_t batch_chunk(const struct mvf_handle *h, size_t in_size,
                            size_t out_size)
{
    size_t big = in_size > out_size ? in_size : out_size;
    size_t n = h->max_struct / big;

    return n > MVF_MAX_BATCH ? MVF_MAX_BATCH : (uint32_t)n;
}

/* How one batch selector lays out its entries and statuses. */
struct batch_kind {
    uint32_t selector;
    const char *what;
    size_t in_size, out_size;
    int32_t (*status_at)(const void *out, uint32_t i);
    void (*fail_at)(void *out, uint32_t i, int rc);
};

/* Sends n entries in chunks the server accepts; on the first failed
 * call, that chunk's entries and all later ones get its error. */
static int run_batch(struct mvf_handle *h, const struct batch_kind *kind,
                     const void *in, void *out, uint32_t n)
{
    const uint8_t *src = in;
    uint8_t *dst = out;
    uint32_t per;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_DMA_BATCH, kind->what)))
        return rc;
    if (n && (!in || !out))
        return mvfl_fail(-EINVAL, "%s: NULL array", kind->what);
    per = batch_chunk(h, kind->in_size, kind->out_size);

    for (uint32_t done = 0; done < n; done += per) {
        uint32_t k = n - done < per ? n - done : per;
        struct mvf_xfer x;

        mvfl_xfer_init(&x, kind->selector);
        x.struct_in = src + done * kind->in_size;
        x.struct_in_len = k * (uint32_t)kind->in_size;
        x.struct_out = dst + done * kind->out_size;
        x.struct_out_cap = k * (uint32_t)kind->out_size;
        rc = mvfl_call(h, &x);
        if (rc == 0 && x.struct_out_len != x.struct_out_cap)
            rc = mvfl_bad_reply(h, kind->selector, "%u result bytes for %u "
                                "entries", x.struct_out_len, k);
        for (uint32_t i = 0; rc == 0 && i < k; i++) {
            int32_t st = kind->status_at(out, done + i);
            if (!status_ok(st))
                rc = mvfl_bad_reply(h, kind->selector, "entry %u has status %d",
                                    done + i, st);
        }
        if (rc < 0) {
            for (uint32_t i = done; i < n; i++)
                kind->fail_at(out, i, rc);
            return rc;
        }
    }
    return 0;
}

static int32_t map_status_at(const void *out, uint32_t i)
{
    return ((const struct mvf_dma_map_res *)out)[i].status;
}

static void map_fail_at(void *out, uint32_t i, int rc)
{
    struct mvf_dma_map_res *r = &((struct mvf_dma_map_res *)out)[i];

    r->iova = 0;
    r->status = rc;
    r->reserved = 0;
}

static int32_t unmap_status_at(const void *out, uint32_t i)
{
    return ((const int32_t *)out)[i];
}

static void unmap_fail_at(void *out, uint32_t i, int rc)
{
    ((int32_t *)out)[i] = rc;
}

MVF_EXPORT int mvf_dma_map_batch(struct mvf_handle *h,
                                 const struct mvf_dma_map_req *reqs,
                                 struct mvf_dma_map_res *res, uint32_t n)
{
    static const struct batch_kind kind = {
        MVF_SEL_DMA_MAP_BATCH, "DMA map batch",
        sizeof(struct mvf_dma_map_req), sizeof(struct mvf_dma_map_res),
        map_status_at, map_fail_at,
    };

    return run_batch(h, &kind, reqs, res, n);
}

MVF_EXPORT int mvf_dma_unmap_batch(struct mvf_handle *h,
                                   const struct mvf_dma_unmap_req *reqs,
                                   int32_t *status, uint32_t n)
{
    static const struct batch_kind kind = {
        MVF_SEL_DMA_UNMAP_BATCH, "DMA unmap batch",
        sizeof(struct mvf_dma_unmap_req), sizeof(int32_t),
        unmap_status_at, unmap_fail_at,
    };

    return run_batch(h, &kind, reqs, status, n);
}
