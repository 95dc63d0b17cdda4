/* SPDX-License-Identifier: MIT */
/*
 * Client memory registration, DMA mapping through the DART model, and
 * the device side of DMA (translating IOVAs back to client memory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

#define MVF_PAGE 4096ull

static struct mvf_dma_region *find_region(struct mvf_device *dev, uint64_t h)
{
    for (struct mvf_dma_region *r = dev->regions; r; r = r->next)
        if (r->handle == h)
            return r;
    return NULL;
}

int mvf_dma_register_call(struct mvf_device *dev, struct mvf_call *call)
{
    const struct mvf_host_ops *hops = dev->core->hops;
    uint64_t length = call->in[0], arg = call->in[1], flags = call->in[2];
    struct mvf_client_mem *mem = NULL;
    struct mvf_dma_region *r;
    int fd = -1, ret;

    if (flags != MVF_DMA_REG_FD && flags != MVF_DMA_REG_VA)
        return mvf_fail(call, -EINVAL, "flags 0x%llx: need exactly one of FD, VA",
                        (unsigned long long)flags);
    if (!(hops->transport_features &
          (flags == MVF_DMA_REG_FD ? MVF_FEAT_DMA_FD : MVF_FEAT_DMA_VA)))
        return mvf_fail(call, -ENOTSUP, "this transport cannot register "
                        "memory by %s", flags == MVF_DMA_REG_FD ?
                        "file descriptor" : "virtual address");
    if (flags == MVF_DMA_REG_VA && call->n_objs_in)
        return mvf_fail(call, -EBADF, "DMA_REGISTER by VA takes no fds");
    if (flags == MVF_DMA_REG_FD) {
        if (call->n_objs_in != 1)
            return mvf_fail(call, -EBADF, "DMA_REGISTER with FD needs one fd, got %u",
                            call->n_objs_in);
        fd = call->objs_in[0];
    }
    if (!length)
        return mvf_fail(call, -ENODATA, "length is zero");
    if (length % MVF_PAGE || arg % MVF_PAGE)
        return mvf_fail(call, -EINVAL, "offset 0x%llx / length 0x%llx not 4 KiB aligned",
                        (unsigned long long)arg, (unsigned long long)length);
    if (dev->region_count >= MVF_MAX_REGIONS)
        return mvf_fail(call, -EMFILE, "too many registered regions (max %u)",
                        MVF_MAX_REGIONS);
    if (length > MVF_MAX_REGISTERED_BYTES - dev->registered_bytes)
        return mvf_fail(call, -ENOSPC, "registering 0x%llx bytes exceeds the limit",
                        (unsigned long long)length);
    if (!hops->mem_create)
        return mvf_fail(call, -ENOTSUP, "this host cannot register memory");
    ret = hops->mem_create(dev->core->host, mvf_owner_client(dev), fd, arg,
                           length, (uint32_t)flags, &mem, call->err,
                           sizeof(call->err));
    if (ret)
        return ret;
    r = calloc(1, sizeof(*r));
    if (!r) {
        mem->release(mem);
        return mvf_fail(call, -ENOMEM, "out of memory");
    }
    r->handle = dev->next_handle++;
    r->mem = mem;
    r->next = dev->regions;
    dev->regions = r;
    dev->region_count++;
    dev->registered_bytes += length;
    call->out[0] = r->handle;
    call->n_out = 1;
    return 0;
}

static void free_region(struct mvf_device *dev, struct mvf_dma_region *r)
{
    dev->registered_bytes -= r->mem->length;
    dev->region_count--;
    r->mem->release(r->mem);
    free(r);
}

int mvf_dma_unregister_call(struct mvf_device *dev, struct mvf_call *call)
{
    struct mvf_dma_region **pp;

    for (pp = &dev->regions; *pp; pp = &(*pp)->next) {
        struct mvf_dma_region *r = *pp;
        if (r->handle != call->in[0])
            continue;
        if (r->live_maps)
            return mvf_fail(call, -EBUSY, "region %llu still has %u live mappings",
                            (unsigned long long)r->handle, r->live_maps);
        *pp = r->next;
        free_region(dev, r);
        return 0;
    }
    return mvf_fail(call, -ENOENT, "no region with handle %llu",
                    (unsigned long long)call->in[0]);
}

static bool platform_has_dma(const struct mvf_device *dev)
{
    return dev->prov.ops->dma_map && dev->prov.ops->dma_unmap;
}

/* Describes why the DART model refused a mapping of `alloc` bytes. */
static int dart_refused(struct mvf_device *dev, int ret, uint64_t alloc,
                        struct mvf_call *call)
{
    const struct mvf_dart_config *dc = mvf_dart_get_config(dev->dart);

    switch (ret) {
    case -ENOSPC:
        return mvf_fail(call, ret, "DMA budget exhausted: %llu of %llu bytes mapped",
                        (unsigned long long)mvf_dart_mapped_bytes(dev->dart),
                        (unsigned long long)dc->budget_bytes);
    case -EMFILE:
        return mvf_fail(call, ret, "too many live mappings (max %u)",
                        dc->max_mappings);
    case -ENOMEM:
        return mvf_fail(call, ret, "no free IOVA range of 0x%llx bytes",
                        (unsigned long long)alloc);
    default:
        return mvf_fail(call, ret, "DART refused the mapping (%d)", ret);
    }
}

/*
 * Maps through the provider's platform mapper (PrepareForDMA on macOS).
 * Everything the core can check is checked before the provider is asked:
 * map_one did bounds, alignment and directions; the budget and the cap
 * are checked here.  The returned range is recorded in the DART model,
 * which does the bookkeeping (budget, cap, lookup) but not the placing.
 */
static int platform_map(struct mvf_device *dev, struct mvf_dma_map_rec *rec,
                        uint64_t alloc, uint64_t *iova, struct mvf_call *call)
{
    const struct mvf_provider_ops *ops = dev->prov.ops;
    void *token = NULL;
    int ret = mvf_dart_room(dev->dart, alloc);

    if (ret)
        return dart_refused(dev, ret, alloc, call);
    call->err[0] = '\0';
    ret = ops->dma_map(dev->prov.priv, rec->region->mem, rec->offset,
                       rec->length, rec->flags, iova, &token, call->err,
                       sizeof(call->err));
    if (ret) {
        ret = ret < 0 ? ret : -EIO;
        if (!call->err[0])
            mvf_fail(call, ret, "the platform refused the mapping");
        return ret;
    }
    ret = mvf_dart_insert(dev->dart, *iova, alloc, rec);
    if (ret) {
        ops->dma_unmap(dev->prov.priv, token);
        mvf_device_log(dev, MVF_LOG_ERROR, "platform mapped 0x%llx bytes at "
                       "IOVA 0x%llx, which the core refuses (%d)",
                       (unsigned long long)alloc, (unsigned long long)*iova, ret);
        mvf_fail(call, -EIO, "the platform returned IOVA 0x%llx for 0x%llx "
                 "bytes, which is %s", (unsigned long long)*iova,
                 (unsigned long long)alloc,
                 ret == -EEXIST ? "already mapped" :
                 ret == -EINVAL ? "not granule aligned" :
                 ret == -ERANGE ? "outside the aperture" : "not recordable");
        return -EIO;
    }
    rec->token = token;
    return 0;
}

/* Ends one mapping's platform side, if it has one. */
static void platform_unmap(struct mvf_device *dev, struct mvf_dma_map_rec *rec)
{
    if (rec->token)
        dev->prov.ops->dma_unmap(dev->prov.priv, rec->token);
    rec->token = NULL;
}

/* Validates and performs one map; errors are documented in abi.md. */
static int map_one(struct mvf_device *dev, uint64_t handle, uint64_t off,
                   uint64_t len, uint64_t flags, uint64_t *iova,
                   struct mvf_call *call)
{
    uint64_t granule = mvf_dart_get_config(dev->dart)->granule;
    struct mvf_dma_region *r = find_region(dev, handle);
    struct mvf_dma_map_rec *rec;
    uint64_t alloc;
    int ret;

    if (!r)
        return mvf_fail(call, -ENOENT, "no region with handle %llu",
                        (unsigned long long)handle);
    if (!flags || (flags & ~(uint64_t)(MVF_DMA_READ | MVF_DMA_WRITE)))
        return mvf_fail(call, -EINVAL, "bad direction flags 0x%llx",
                        (unsigned long long)flags);
    if (!len)
        return mvf_fail(call, -ENODATA, "length is zero");
    if (off > r->mem->length || len > r->mem->length - off)
        return mvf_fail(call, -EOVERFLOW,
                        "0x%llx+0x%llx overflows the 0x%llx-byte region",
                        (unsigned long long)off, (unsigned long long)len,
                        (unsigned long long)r->mem->length);
    /* Granule aligned; only the region's tail may end on a 4 KiB page
     * (its IOVA range is still whole granules, the rest faults). */
    if (off % granule ||
        (len % granule && (len % MVF_PAGE || off + len != r->mem->length)))
        return mvf_fail(call, -EINVAL,
                        "offset 0x%llx / length 0x%llx not %llu-byte aligned",
                        (unsigned long long)off, (unsigned long long)len,
                        (unsigned long long)granule);
    rec = calloc(1, sizeof(*rec));
    if (!rec)
        return mvf_fail(call, -ENOMEM, "out of memory");
    rec->region = r;
    rec->offset = off;
    rec->length = len;
    rec->flags = (uint32_t)flags;
    alloc = (len + granule - 1) / granule * granule;
    if (platform_has_dma(dev))
        ret = platform_map(dev, rec, alloc, iova, call);
    else if ((ret = mvf_dart_map(dev->dart, alloc, rec, iova)))
        ret = dart_refused(dev, ret, alloc, call);
    if (ret) {
        free(rec);
        return ret;
    }
    r->live_maps++;
    dev->stats.dma_maps++;
    return 0;
}

static int unmap_one(struct mvf_device *dev, uint64_t iova, uint64_t len,
                     struct mvf_call *call)
{
    const struct mvf_dart_mapping *m = mvf_dart_lookup(dev->dart, iova);
    struct mvf_dma_map_rec *rec;
    void *cookie = NULL;

    if (!m || m->iova != iova)
        return mvf_fail(call, -ENOENT, "no mapping starts at IOVA 0x%llx",
                        (unsigned long long)iova);
    rec = m->cookie;
    if (rec->length != len)
        return mvf_fail(call, -EINVAL, "mapping at 0x%llx is 0x%llx bytes, not 0x%llx",
                        (unsigned long long)iova, (unsigned long long)rec->length,
                        (unsigned long long)len);
    if (mvf_dart_unmap(dev->dart, iova, m->length, &cookie))
        return mvf_fail(call, -EIO, "DART inconsistent at 0x%llx",
                        (unsigned long long)iova);
    platform_unmap(dev, rec);
    rec->region->live_maps--;
    free(rec);
    dev->stats.dma_unmaps++;
    return 0;
}

int mvf_dma_map_call(struct mvf_device *dev, struct mvf_call *call)
{
    uint64_t iova;
    int ret = map_one(dev, call->in[0], call->in[1], call->in[2], call->in[3],
                      &iova, call);

    if (ret)
        return ret;
    call->out[0] = iova;
    call->n_out = 1;
    return 0;
}

int mvf_dma_unmap_call(struct mvf_device *dev, struct mvf_call *call)
{
    return unmap_one(dev, call->in[0], call->in[1], call);
}

/* Checks a batch's input and output sizes; returns the entry count. */
static int batch_count(struct mvf_call *call, size_t in_size, size_t out_size,
                       uint32_t *n)
{
    if (!call->struct_in_len || call->struct_in_len % in_size)
        return mvf_fail(call, -EINVAL, "batch input of %u bytes is not a whole "
                        "number of %zu-byte entries", call->struct_in_len, in_size);
    *n = (uint32_t)(call->struct_in_len / in_size);
    if (*n > MVF_MAX_BATCH)
        return mvf_fail(call, -E2BIG, "%u entries exceed the batch limit %u",
                        *n, MVF_MAX_BATCH);
    if ((size_t)call->struct_out_cap < *n * out_size)
        return mvf_fail(call, -ENOBUFS, "output room for %zu entries, need %u",
                        call->struct_out_cap / out_size, *n);
    return 0;
}

int mvf_dma_map_batch_call(struct mvf_device *dev, struct mvf_call *call)
{
    struct mvf_dma_map_res res;
    uint32_t n = 0, ok = 0;
    int ret = batch_count(call, sizeof(struct mvf_dma_map_req), sizeof(res), &n);

    if (ret)
        return ret;
    for (uint32_t i = 0; i < n; i++) {
        struct mvf_dma_map_req req;

        memcpy(&req, (const uint8_t *)call->struct_in + i * sizeof(req), sizeof(req));
        memset(&res, 0, sizeof(res));
        res.status = map_one(dev, req.handle, req.offset, req.length, req.flags,
                             &res.iova, call);
        ok += res.status == 0;
        memcpy((uint8_t *)call->struct_out + i * sizeof(res), &res, sizeof(res));
    }
    call->err[0] = '\0';  /* per-entry statuses carry the errors */
    call->struct_out_len = n * (uint32_t)sizeof(res);
    call->out[0] = ok;
    call->n_out = 1;
    return 0;
}

int mvf_dma_unmap_batch_call(struct mvf_device *dev, struct mvf_call *call)
{
    uint32_t n = 0, ok = 0;
    int ret = batch_count(call, sizeof(struct mvf_dma_unmap_req),
                          sizeof(int32_t), &n);

    if (ret)
        return ret;
    for (uint32_t i = 0; i < n; i++) {
        struct mvf_dma_unmap_req req;
        int32_t st;

        memcpy(&req, (const uint8_t *)call->struct_in + i * sizeof(req), sizeof(req));
        st = unmap_one(dev, req.iova, req.length, call);
        ok += st == 0;
        memcpy((uint8_t *)call->struct_out + i * sizeof(st), &st, sizeof(st));
    }
    call->err[0] = '\0';
    call->struct_out_len = n * (uint32_t)sizeof(int32_t);
    call->out[0] = ok;
    call->n_out = 1;
    return 0;
}

static void drop_mapping(const struct mvf_dart_mapping *m, void *ctx)
{
    struct mvf_device *dev = ctx;
    struct mvf_dma_map_rec *rec = m->cookie;

    platform_unmap(dev, rec);
    rec->region->live_maps--;
    dev->stats.dma_unmaps++;
    free(rec);
}

void mvf_dma_teardown(struct mvf_device *dev)
{
    mvf_dart_unmap_all(dev->dart, drop_mapping, dev);
    while (dev->regions) {
        struct mvf_dma_region *r = dev->regions;
        dev->regions = r->next;
        free_region(dev, r);
    }
    dev->next_handle = 1;
}

/* What a walk over an IOVA range does with each piece it finds. */
enum dma_walk_op {
    WALK_CHECK,         /* only validates */
    WALK_TO_DEVICE,     /* copies memory into buf */
    WALK_FROM_DEVICE,   /* copies buf into memory */
    WALK_SPANS,         /* appends the host pieces to a span list */
};

/* Appends a host piece, merged with the last one when it continues it. */
static bool span_add(struct mvf_dma_spans *o, uint8_t *host, uint64_t len)
{
    struct mvf_dma_span *last = o->n ? &o->span[o->n - 1] : NULL;

    if (last && (uint8_t *)last->host + last->len == host) {
        last->len += (size_t)len;
        return true;
    }
    if (o->n >= o->max)
        return false;
    o->span[o->n].host = host;
    o->span[o->n].len = (size_t)len;
    o->n++;
    return true;
}

/*
 * Walks [iova, iova+len) mapping by mapping, doing `op` with each piece.
 * Returns 0; or -EFAULT with the first bad IOVA through *bad; or, for
 * WALK_SPANS, -E2BIG when the pieces do not fit in the caller's array.
 */
static int dma_walk(struct mvf_device *dev, uint64_t iova, uint8_t *buf,
                    size_t len, uint32_t need, enum dma_walk_op op,
                    struct mvf_dma_spans *out, uint64_t *bad)
{
    while (len) {
        const struct mvf_dart_mapping *m = mvf_dart_lookup(dev->dart, iova);
        const struct mvf_dma_map_rec *rec;
        uint64_t in_map, chunk;
        uint8_t *host;

        if (!m)
            goto fault;
        rec = m->cookie;
        in_map = iova - m->iova;
        if (in_map >= rec->length || !(rec->flags & need))
            goto fault;
        chunk = rec->length - in_map;
        if (chunk > len)
            chunk = len;
        host = rec->region->mem->host_ptr(rec->region->mem,
                                          rec->offset + in_map, chunk);
        if (!host)
            goto fault;
        switch (op) {
        case WALK_CHECK:
            break;
        case WALK_TO_DEVICE:
            memcpy(buf, host, chunk);
            buf += chunk;
            break;
        case WALK_FROM_DEVICE:
            memcpy(host, buf, chunk);
            buf += chunk;
            break;
        case WALK_SPANS:
            if (!span_add(out, host, chunk))
                return -E2BIG;
            break;
        }
        len -= chunk;
        iova += chunk;
        if (len && iova == 0)  /* wrapped */
            goto fault;
    }
    return 0;
fault:
    *bad = iova;
    return -EFAULT;
}

/* A copy validates the whole range first, so a fault leaves memory
 * untouched; collecting spans changes nothing the caller cannot undo
 * (mvf_device_dma_spans does), so it walks once.  Counts and logs a
 * fault. */
static int device_dma(struct mvf_device *dev, uint64_t iova, uint8_t *buf,
                      size_t len, bool to_device, enum dma_walk_op op,
                      struct mvf_dma_spans *out, uint64_t *fault_iova)
{
    uint32_t need = to_device ? MVF_DMA_READ : MVF_DMA_WRITE;
    uint64_t bad = iova;
    int ret = -EFAULT;

    if (dev->owner && mvf_device_bus_master(dev)) {
        ret = op == WALK_SPANS ? 0 :
              dma_walk(dev, iova, buf, len, need, WALK_CHECK, NULL, &bad);
        if (!ret)
            ret = dma_walk(dev, iova, buf, len, need, op, out, &bad);
        if (ret != -EFAULT)
            return ret;     /* 0, or -E2BIG: not a fault */
    }
    dev->stats.dma_faults++;
    if (fault_iova)
        *fault_iova = bad;
    mvf_device_log(dev, MVF_LOG_WARN,
                   "DMA fault: %s of %zu bytes at IOVA 0x%llx (bad 0x%llx)%s",
                   to_device ? "read" : "write", len, (unsigned long long)iova,
                   (unsigned long long)bad,
                   dev->owner && mvf_device_bus_master(dev) ? "" :
                   ", bus mastering is off");
    return -EFAULT;
}

int mvf_device_dma_read(struct mvf_device *dev, uint64_t iova, void *dst,
                        size_t len, uint64_t *fault_iova)
{
    return device_dma(dev, iova, dst, len, true, WALK_TO_DEVICE, NULL,
                      fault_iova);
}

int mvf_device_dma_write(struct mvf_device *dev, uint64_t iova,
                         const void *src, size_t len, uint64_t *fault_iova)
{
    /* The walk only reads from buf when writing memory. */
    return device_dma(dev, iova, (uint8_t *)(uintptr_t)src, len, false,
                      WALK_FROM_DEVICE, NULL, fault_iova);
}

int mvf_device_dma_spans(struct mvf_device *dev, uint64_t iova, size_t len,
                         bool to_device, struct mvf_dma_spans *out,
                         uint64_t *fault_iova)
{
    /* A failed walk may have merged into the last span, or appended. */
    unsigned had = out->n;
    size_t last_len = had ? out->span[had - 1].len : 0;
    int ret = device_dma(dev, iova, NULL, len, to_device, WALK_SPANS, out,
                         fault_iova);

    if (ret) {
        out->n = had;
        if (had)
            out->span[had - 1].len = last_len;
    }
    return ret;
}
