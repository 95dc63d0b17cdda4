/* SPDX-License-Identifier: MIT */
/*
 * The ABI dispatcher: one entry point for every transport.  Each
 * selector's shape (scalar count, whether it needs an opened or a
 * claimed device, which feature it belongs to) is checked from one
 * table before any handler runs, so handlers only check values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core_internal.h"

/* What the core serves whatever the transport... */
#define MVF_CORE_FEATURES                                                \
    (MVF_FEAT_CONFIG | MVF_FEAT_MMIO_TRAP | MVF_FEAT_MAP_MEMORY |        \
     MVF_FEAT_RESET | MVF_FEAT_DMA_BATCH | MVF_FEAT_STATS |              \
     MVF_FEAT_LAST_ERROR)
/* ...and what only the transport can decide (mvf_host_ops). */
#define MVF_TRANSPORT_FEATURES                                           \
    (MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_IRQ_STATE_PAGE | MVF_FEAT_DMA_FD |  \
     MVF_FEAT_DMA_VA | MVF_FEAT_POSTED_WRITE)

enum need { NEED_NONE, NEED_DEVICE, NEED_CLAIM };

struct sel_spec {
    const char *name;
    uint8_t n_in;
    uint8_t need;
    bool takes_objs;
    bool takes_struct;
};

static const struct sel_spec specs[MVF_SEL_COUNT] = {
    [MVF_SEL_HELLO]          = { "HELLO", 2, NEED_NONE, false, false },
    [MVF_SEL_DEVICE_LIST]    = { "DEVICE_LIST", 0, NEED_NONE, false, false },
    [MVF_SEL_DEVICE_OPEN]    = { "DEVICE_OPEN", 1, NEED_NONE, false, false },
    [MVF_SEL_DEVICE_INFO]    = { "DEVICE_INFO", 0, NEED_DEVICE, false, false },
    [MVF_SEL_CLAIM]          = { "CLAIM", 0, NEED_DEVICE, false, false },
    [MVF_SEL_RELEASE]        = { "RELEASE", 0, NEED_CLAIM, false, false },
    [MVF_SEL_CONFIG_READ]    = { "CONFIG_READ", 2, NEED_DEVICE, false, false },
    [MVF_SEL_CONFIG_WRITE]   = { "CONFIG_WRITE", 3, NEED_CLAIM, false, false },
    [MVF_SEL_BAR_INFO]       = { "BAR_INFO", 1, NEED_DEVICE, false, false },
    [MVF_SEL_MMIO_READ]      = { "MMIO_READ", 3, NEED_CLAIM, false, false },
    [MVF_SEL_MMIO_WRITE]     = { "MMIO_WRITE", 4, NEED_CLAIM, false, false },
    [MVF_SEL_MAP_MEMORY]     = { "MAP_MEMORY", 1, NEED_CLAIM, false, false },
    [MVF_SEL_IRQ_INFO]       = { "IRQ_INFO", 1, NEED_DEVICE, false, false },
    [MVF_SEL_IRQ_SET]        = { "IRQ_SET", 5, NEED_CLAIM, true, false },
    [MVF_SEL_RESET]          = { "RESET", 0, NEED_CLAIM, false, false },
    [MVF_SEL_DMA_REGISTER]   = { "DMA_REGISTER", 3, NEED_CLAIM, true, false },
    [MVF_SEL_DMA_UNREGISTER] = { "DMA_UNREGISTER", 1, NEED_CLAIM, false, false },
    [MVF_SEL_DMA_MAP]        = { "DMA_MAP", 4, NEED_CLAIM, false, false },
    [MVF_SEL_DMA_UNMAP]      = { "DMA_UNMAP", 2, NEED_CLAIM, false, false },
    [MVF_SEL_STATS]          = { "STATS", 0, NEED_DEVICE, false, false },
    [MVF_SEL_DMA_MAP_BATCH]  = { "DMA_MAP_BATCH", 0, NEED_CLAIM, false, true },
    [MVF_SEL_DMA_UNMAP_BATCH] = { "DMA_UNMAP_BATCH", 0, NEED_CLAIM, false, true },
    [MVF_SEL_LAST_ERROR]     = { "LAST_ERROR", 0, NEED_NONE, false, false },
};

const char *mvf_core_selector_name(uint32_t selector)
{
    return selector < MVF_SEL_COUNT ? specs[selector].name : NULL;
}

static void fill_info(struct mvf_device *dev, struct mvf_device_info *info)
{
    const struct mvf_dart_config *dc = mvf_dart_get_config(dev->dart);
    uint32_t id = 0, cls = 0, sub = 0, hdr = 0, irq = 0;

    /* Identity is read-only config: read through the policy so it is
     * exactly what CONFIG_READ shows. */
    mvf_cfg_read(&dev->policy, &dev->prov, 0x00, 4, &id);
    mvf_cfg_read(&dev->policy, &dev->prov, 0x08, 4, &cls);
    mvf_cfg_read(&dev->policy, &dev->prov, 0x0c, 4, &hdr);
    mvf_cfg_read(&dev->policy, &dev->prov, 0x2c, 4, &sub);
    mvf_cfg_read(&dev->policy, &dev->prov, 0x3c, 4, &irq);
    memset(info, 0, sizeof(*info));
    info->index = dev->index;
    info->domain = dev->prov.domain;
    info->bus = dev->prov.bus;
    info->devfn = dev->prov.devfn;
    info->vendor_id = (uint16_t)id;
    info->device_id = (uint16_t)(id >> 16);
    info->revision = (uint8_t)cls;
    info->class_code = cls >> 8;
    info->header_type = (uint8_t)(hdr >> 16);
    info->subsys_vendor_id = (uint16_t)sub;
    info->subsys_id = (uint16_t)(sub >> 16);
    info->irq_pin = (uint8_t)(irq >> 8);
    info->claimed = dev->owner != NULL;
    info->dma_granule = dc->granule;
    info->dma_budget = dc->budget_bytes;
    info->dma_max_mappings = dc->max_mappings;
    info->dma_aperture_base = dc->base;
    info->dma_aperture_size = dc->size;
    snprintf(info->name, sizeof(info->name), "%s",
             dev->prov.name ? dev->prov.name : "");
}

uint64_t mvf_core_features(const struct mvf_core *c)
{
    return MVF_CORE_FEATURES |
           (c->hops->transport_features & MVF_TRANSPORT_FEATURES);
}

uint32_t mvf_core_max_struct(const struct mvf_core *c)
{
    uint32_t m = c->hops->max_struct;

    return m && m < MVF_MAX_STRUCT ? m : MVF_MAX_STRUCT;
}

static int put_struct(struct mvf_call *call, const void *data, size_t len)
{
    if (len > call->struct_out_cap)
        return mvf_fail(call, -ENOBUFS, "reply needs %zu bytes, room for %u",
                        len, call->struct_out_cap);
    memcpy(call->struct_out, data, len);
    call->struct_out_len = (uint32_t)len;
    return 0;
}

static int do_hello(struct mvf_session *s, struct mvf_call *call)
{
    uint64_t cv = call->in[0];

    if ((cv >> 16) != MVF_ABI_VERSION_MAJOR)
        return mvf_fail(call, -EPROTO, "client ABI %llu.%llu, server speaks %u.x",
                        (unsigned long long)(cv >> 16),
                        (unsigned long long)(cv & 0xffff), MVF_ABI_VERSION_MAJOR);
    s->hello = true;
    s->client_features = call->in[1];
    call->out[0] = MVF_ABI_VERSION;
    call->out[1] = mvf_core_features(s->core);
    call->out[2] = mvf_core_max_struct(s->core);
    call->out[3] = s->core->ndevs;
    call->n_out = 4;
    return 0;
}

static int do_list(struct mvf_session *s, struct mvf_call *call)
{
    size_t need = (size_t)s->core->ndevs * sizeof(struct mvf_device_info);

    call->out[0] = s->core->ndevs;
    call->n_out = 1;
    if (need > call->struct_out_cap)
        return mvf_fail(call, -ENOBUFS, "%u devices need %zu bytes, room for %u",
                        s->core->ndevs, need, call->struct_out_cap);
    for (uint32_t i = 0; i < s->core->ndevs; i++)
        fill_info(s->core->devs[i],
                  (struct mvf_device_info *)call->struct_out + i);
    call->struct_out_len = (uint32_t)need;
    return 0;
}

static int do_open(struct mvf_session *s, struct mvf_call *call)
{
    uint64_t idx = call->in[0];

    if (idx >= s->core->ndevs)
        return mvf_fail(call, -ENODEV, "no device %llu (have %u)",
                        (unsigned long long)idx, s->core->ndevs);
    if (s->dev && s->dev->owner == s)
        return mvf_fail(call, -EBUSY, "release the claimed device first");
    s->dev = s->core->devs[idx];
    return 0;
}

static int do_claim(struct mvf_session *s, struct mvf_call *call)
{
    struct mvf_device *dev = s->dev;

    if (dev->owner == s)
        return 0;
    if (dev->owner)
        return mvf_fail(call, -EBUSY, "device %u is claimed by another client",
                        dev->index);
    if (dev->revoke_pending) {
        int ret = mvf_device_revoke(dev);

        if (ret)
            return mvf_fail(call, -EAGAIN, "device %u is held back: its last "
                            "owner's BAR mappings cannot be revoked yet "
                            "(error %d); retry when the server has resources "
                            "again", dev->index, -ret);
        mvf_device_log(dev, MVF_LOG_INFO, "the last owner's BAR mappings are "
                       "revoked now");
    }
    dev->owner = s;
    mvf_device_log(dev, MVF_LOG_INFO, "claimed");
    return 0;
}

static int check_bar_access(struct mvf_device *dev, struct mvf_call *call,
                            bool write)
{
    uint64_t bar = call->in[0], off = call->in[1], width = call->in[2];
    const struct mvf_bar_desc *b;

    if (bar > MVF_ROM_INDEX)
        return mvf_fail(call, -EINVAL, "no BAR %llu", (unsigned long long)bar);
    b = &dev->prov.bars[bar];
    if (!b->size || (bar < MVF_NUM_BARS && dev->policy.bar_upper[bar]))
        return mvf_fail(call, -EINVAL, "BAR %llu is not implemented",
                        (unsigned long long)bar);
    if (write && bar == MVF_ROM_INDEX)
        return mvf_fail(call, -EPERM, "the expansion ROM is read-only");
    if (width != 1 && width != 2 && width != 4 && width != 8)
        return mvf_fail(call, -EINVAL, "width %llu: must be 1, 2, 4 or 8",
                        (unsigned long long)width);
    if ((b->flags & MVF_BAR_IO) && width == 8)
        return mvf_fail(call, -EINVAL, "I/O BARs take at most 4-byte accesses");
    if (off >= b->size || width > b->size - off)
        return mvf_fail(call, -ERANGE, "0x%llx+%llu is outside BAR %llu "
                        "(0x%llx bytes)", (unsigned long long)off,
                        (unsigned long long)width, (unsigned long long)bar,
                        (unsigned long long)b->size);
    if (off & (width - 1))
        return mvf_fail(call, -EINVAL, "0x%llx is not %llu-byte aligned",
                        (unsigned long long)off, (unsigned long long)width);
    return 0;
}

static int do_mmio(struct mvf_device *dev, struct mvf_call *call, bool write)
{
    int ret = check_bar_access(dev, call, write);
    uint64_t val = 0;
    uint32_t bar = (uint32_t)call->in[0], width = (uint32_t)call->in[2];

    if (ret)
        return ret;
    if (write) {
        val = call->in[3];
        if (width < 8 && (val >> (8 * width)))
            return mvf_fail(call, -EINVAL, "value 0x%llx wider than %u bytes",
                            (unsigned long long)val, width);
        dev->stats.trapped_writes++;
        ret = dev->prov.ops->bar_write(dev->prov.priv, bar, call->in[1], width, val);
    } else {
        dev->stats.trapped_reads++;
        ret = dev->prov.ops->bar_read(dev->prov.priv, bar, call->in[1], width, &val);
        call->out[0] = val;
        call->n_out = 1;
    }
    if (ret)
        return mvf_fail(call, ret, "device failed the BAR %u access", bar);
    return 0;
}

static int do_config(struct mvf_device *dev, struct mvf_call *call, bool write)
{
    uint64_t off = call->in[0], width = call->in[1];
    int ret = mvf_cfg_check_access(off, width);
    uint32_t val = 0;

    if (ret)
        return mvf_fail(call, ret, "config access 0x%llx/%llu: %s",
                        (unsigned long long)off, (unsigned long long)width,
                        ret == -ERANGE ? "outside the 4 KiB space" :
                        "width must be 1, 2 or 4 and naturally aligned");
    if (write) {
        bool dropped = false;
        uint64_t v = call->in[2];

        if (v >> 32 || (width < 4 && (v >> (8 * width))))
            return mvf_fail(call, -EINVAL, "value 0x%llx wider than %llu bytes",
                            (unsigned long long)v, (unsigned long long)width);
        ret = mvf_cfg_write(&dev->policy, &dev->prov, (uint32_t)off,
                            (uint32_t)width, (uint32_t)v, &dropped);
        dev->stats.config_writes++;
        dev->stats.config_writes_dropped += dropped;
    } else {
        ret = mvf_cfg_read(&dev->policy, &dev->prov, (uint32_t)off,
                           (uint32_t)width, &val);
        dev->stats.config_reads++;
        call->out[0] = val;
        call->n_out = 1;
    }
    if (ret)
        return mvf_fail(call, ret, "device failed the config access");
    return 0;
}

static int do_bar_info(struct mvf_device *dev, struct mvf_call *call)
{
    uint64_t bar = call->in[0];
    const struct mvf_bar_desc *b;

    if (bar > MVF_ROM_INDEX)
        return mvf_fail(call, -EINVAL, "no BAR %llu", (unsigned long long)bar);
    b = &dev->prov.bars[bar];
    call->out[0] = b->size;
    call->out[1] = b->size ? (b->flags | MVF_BAR_IMPLEMENTED) : 0;
    call->n_out = 2;
    return 0;
}

static int do_map_memory(struct mvf_device *dev, struct mvf_call *call)
{
    uint64_t type = call->in[0];
    const struct mvf_bar_desc *b;
    int obj = -1, ret;

    if (type == MVF_MEM_IRQ_STATE)
        return mvf_irq_state_object(dev, call);
    if (type >= MVF_NUM_BARS)
        return mvf_fail(call, -EINVAL, "unknown memory type 0x%llx",
                        (unsigned long long)type);
    b = &dev->prov.bars[type];
    if (!b->size || !(b->flags & MVF_BAR_MAPPABLE) || !dev->prov.ops->bar_object)
        return mvf_fail(call, -ENOTSUP, "BAR %llu cannot be mapped; trap it",
                        (unsigned long long)type);
    ret = dev->prov.ops->bar_object(dev->prov.priv, (uint32_t)type, &obj);
    if (ret)
        return mvf_fail(call, ret, "BAR %llu cannot be mapped",
                        (unsigned long long)type);
    call->obj_out = dev->core->hops->obj_dup(dev->core->host, obj);
    if (call->obj_out < 0)
        return mvf_fail(call, -EMFILE, "cannot hand out BAR %llu",
                        (unsigned long long)type);
    call->out[0] = b->size;
    call->out[1] = b->flags | MVF_BAR_IMPLEMENTED;
    call->n_out = 2;
    return 0;
}

static int do_reset(struct mvf_device *dev, struct mvf_call *call)
{
    int ret = dev->prov.ops->reset(dev->prov.priv);

    if (ret)
        return mvf_fail(call, ret, "function reset failed");
    mvf_cfg_policy_reset(&dev->policy);
    dev->stats.resets++;
    return 0;
}

/* Shape checks common to every selector. */
static int check_shape(struct mvf_session *s, struct mvf_call *call,
                       const struct sel_spec **out)
{
    const struct sel_spec *sp;

    if (call->selector >= MVF_SEL_COUNT)
        return mvf_fail(call, -ENOSYS, "unknown selector %u", call->selector);
    sp = &specs[call->selector];
    if (!s->hello && call->selector != MVF_SEL_HELLO)
        return mvf_fail(call, -EPROTO, "%s before HELLO", sp->name);
    if (call->n_in != sp->n_in)
        return mvf_fail(call, -EINVAL, "%s takes %u scalars, got %u",
                        sp->name, sp->n_in, call->n_in);
    if (call->n_objs_in && !sp->takes_objs)
        return mvf_fail(call, -EBADF, "%s takes no fds", sp->name);
    if (call->struct_in_len && !sp->takes_struct)
        return mvf_fail(call, -EINVAL, "%s takes no structure input", sp->name);
    if (sp->need >= NEED_DEVICE && !s->dev)
        return mvf_fail(call, -ENODEV, "%s needs DEVICE_OPEN first", sp->name);
    if (sp->need == NEED_CLAIM && s->dev->owner != s)
        return mvf_fail(call, -EACCES, "%s needs the device claimed (%s)",
                        sp->name, s->dev->owner ? "another client owns it" :
                        "call CLAIM");
    *out = sp;
    return 0;
}

static int dispatch_one(struct mvf_session *s, struct mvf_call *call)
{
    const struct sel_spec *sp;
    struct mvf_device *dev;
    int ret;

    ret = check_shape(s, call, &sp);
    if (ret)
        return ret;
    dev = s->dev;
    switch ((enum mvf_selector)call->selector) {
    case MVF_SEL_HELLO:
        return do_hello(s, call);
    case MVF_SEL_DEVICE_LIST:
        return do_list(s, call);
    case MVF_SEL_DEVICE_OPEN:
        return do_open(s, call);
    case MVF_SEL_DEVICE_INFO: {
        struct mvf_device_info info;
        fill_info(dev, &info);
        return put_struct(call, &info, sizeof(info));
    }
    case MVF_SEL_CLAIM:
        return do_claim(s, call);
    case MVF_SEL_RELEASE:
        mvf_device_cleanup(dev);
        mvf_device_log(dev, MVF_LOG_INFO, "released");
        return 0;
    case MVF_SEL_CONFIG_READ:
        return do_config(dev, call, false);
    case MVF_SEL_CONFIG_WRITE:
        return do_config(dev, call, true);
    case MVF_SEL_BAR_INFO:
        return do_bar_info(dev, call);
    case MVF_SEL_MMIO_READ:
        return do_mmio(dev, call, false);
    case MVF_SEL_MMIO_WRITE:
        return do_mmio(dev, call, true);
    case MVF_SEL_MAP_MEMORY:
        return do_map_memory(dev, call);
    case MVF_SEL_IRQ_INFO:
        return mvf_irq_info_call(dev, call);
    case MVF_SEL_IRQ_SET:
        return mvf_irq_set_call(dev, call);
    case MVF_SEL_RESET:
        return do_reset(dev, call);
    case MVF_SEL_DMA_REGISTER:
        return mvf_dma_register_call(dev, call);
    case MVF_SEL_DMA_UNREGISTER:
        return mvf_dma_unregister_call(dev, call);
    case MVF_SEL_DMA_MAP:
        return mvf_dma_map_call(dev, call);
    case MVF_SEL_DMA_UNMAP:
        return mvf_dma_unmap_call(dev, call);
    case MVF_SEL_STATS: {
        struct mvf_stats st;
        mvf_device_stats(dev, &st);
        /* Append-only: a 1.1 client's smaller buffer gets the 1.1 part. */
        return put_struct(call, &st, call->struct_out_cap < sizeof(st) &&
                          call->struct_out_cap >= MVF_STATS_SIZE_1_1 ?
                          MVF_STATS_SIZE_1_1 : sizeof(st));
    }
    case MVF_SEL_DMA_MAP_BATCH:
        return mvf_dma_map_batch_call(dev, call);
    case MVF_SEL_DMA_UNMAP_BATCH:
        return mvf_dma_unmap_batch_call(dev, call);
    case MVF_SEL_LAST_ERROR:
        return put_struct(call, s->last_err, strlen(s->last_err) + 1);
    case MVF_SEL_COUNT:
        break;
    }
    return mvf_fail(call, -ENOSYS, "unknown selector %u", call->selector);
}

int mvf_dispatch(struct mvf_session *s, struct mvf_call *call)
{
    int ret;

    mvf_call_init(call);
    ret = dispatch_one(s, call);
    /* Kept for LAST_ERROR, which itself leaves it alone. */
    if (ret < 0 && call->selector != MVF_SEL_LAST_ERROR)
        snprintf(s->last_err, sizeof(s->last_err), "%s", call->err);
    return ret;
}
