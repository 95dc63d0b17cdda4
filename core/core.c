/* SPDX-License-Identifier: MIT */
/* Core, device and session lifecycle; ownership and cleanup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core_internal.h"

#define MVF_MAX_DEVICES 256u

int mvf_fail(struct mvf_call *call, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(call->err, sizeof(call->err), fmt, ap);
    va_end(ap);
    return err;
}

bool mvf_device_bus_master(const struct mvf_device *dev)
{
    uint32_t cmd = 0;

    if (!dev->owner)
        return false;
    if (dev->prov.ops->config_read(dev->prov.priv, MVF_PCI_COMMAND, 2, &cmd))
        return false;
    return (cmd & MVF_PCI_COMMAND_MASTER) != 0;
}

void mvf_device_work_pending(struct mvf_device *dev)
{
    if (!dev->prov.ops->run_work || dev->work_pending)
        return;
    dev->work_pending = true;
    dev->core->work_devs++;
}

bool mvf_core_has_work(const struct mvf_core *c)
{
    return c->work_devs != 0;
}

bool mvf_core_run_work(struct mvf_core *c)
{
    for (uint32_t i = 0; i < c->ndevs && c->work_devs; i++) {
        struct mvf_device *dev = c->devs[i];

        if (!dev->work_pending)
            continue;
        /* Cleared first: the slice may queue more and set it again. */
        dev->work_pending = false;
        c->work_devs--;
        if (dev->prov.ops->run_work(dev->prov.priv))
            mvf_device_work_pending(dev);
    }
    return c->work_devs != 0;
}

void mvf_call_init(struct mvf_call *call)
{
    call->n_out = 0;
    call->struct_out_len = 0;
    call->obj_out = -1;
    call->err[0] = '\0';
}

struct mvf_core *mvf_core_create(const struct mvf_host_ops *hops, void *host)
{
    struct mvf_core *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->hops = hops;
    c->host = host;
    return c;
}

static void destroy_provider(struct mvf_provider *p)
{
    if (p->ops && p->ops->destroy)
        p->ops->destroy(p->priv);
    p->ops = NULL;
}

int mvf_core_add_device(struct mvf_core *c, const struct mvf_provider *p,
                        const struct mvf_dart_config *dartcfg,
                        struct mvf_device **out)
{
    struct mvf_dart_config defcfg;
    struct mvf_device *dev, **devs;
    char err[MVF_ERRMSG_MAX];
    int ret;

    if (c->ndevs >= MVF_MAX_DEVICES || !p->ops || !p->ops->config_read ||
        !p->ops->config_write || !p->ops->bar_read || !p->ops->bar_write ||
        !p->ops->reset || (p->ops->bar_object && !p->ops->revoke_mappings) ||
        p->irq_count[MVF_IRQ_INTX] > 1 || p->irq_count[MVF_IRQ_MSI] > 32 ||
        p->irq_count[MVF_IRQ_MSIX] > MVF_IRQ_STATE_VECTORS) {
        struct mvf_provider tmp = *p;
        destroy_provider(&tmp);
        return -EINVAL;
    }
    dev = calloc(1, sizeof(*dev));
    devs = realloc(c->devs, (c->ndevs + 1) * sizeof(*devs));
    if (!dev || !devs) {
        struct mvf_provider tmp = *p;
        free(dev);
        if (devs)
            c->devs = devs;
        destroy_provider(&tmp);
        return -ENOMEM;
    }
    c->devs = devs;
    dev->core = c;
    dev->prov = *p;
    dev->index = c->ndevs;
    dev->state_obj = -1;
    dev->next_handle = 1;
    if (!dartcfg) {
        mvf_dart_config_default(&defcfg);
        dartcfg = &defcfg;
    }
    ret = mvf_dart_create(dartcfg, &dev->dart);
    if (ret)
        mvf_core_log(c, MVF_LOG_ERROR, "%s: DMA aperture 0x%llx+0x%llx, granule "
                     "%llu, budget %llu, %u mappings: not a valid DART "
                     "configuration", p->name ? p->name : "device",
                     (unsigned long long)dartcfg->base,
                     (unsigned long long)dartcfg->size,
                     (unsigned long long)dartcfg->granule,
                     (unsigned long long)dartcfg->budget_bytes,
                     dartcfg->max_mappings);
    else {
        ret = mvf_cfg_policy_init(&dev->policy, &dev->prov, err, sizeof(err));
        if (ret)
            mvf_core_log(c, MVF_LOG_ERROR, "%s: %s",
                         p->name ? p->name : "device", err);
    }
    if (ret) {
        if (dev->dart)
            mvf_dart_destroy(dev->dart);
        destroy_provider(&dev->prov);
        free(dev);
        return ret;
    }
    if (dev->prov.ops->attach)
        dev->prov.ops->attach(dev->prov.priv, dev);
    c->devs[c->ndevs++] = dev;
    if (out)
        *out = dev;
    return 0;
}

uint32_t mvf_core_device_count(const struct mvf_core *c)
{
    return c->ndevs;
}

struct mvf_device *mvf_core_device(struct mvf_core *c, uint32_t index)
{
    return index < c->ndevs ? c->devs[index] : NULL;
}

int mvf_device_revoke(struct mvf_device *dev)
{
    int ret = 0;

    if (dev->prov.ops->revoke_mappings)
        ret = dev->prov.ops->revoke_mappings(dev->prov.priv);
    dev->revoke_pending = ret != 0;
    return ret;
}

/*
 * Returns the device to a clean, unowned state.  Order matters: bus
 * mastering goes off first so the device cannot DMA into memory that is
 * about to be released, then interrupts, then mappings and client
 * memory, then the function reset.
 */
void mvf_device_cleanup(struct mvf_device *dev)
{
    uint32_t cmd = 0;
    int ret;

    if (!dev->prov.ops->config_read(dev->prov.priv, MVF_PCI_COMMAND, 2, &cmd))
        dev->prov.ops->config_write(dev->prov.priv, MVF_PCI_COMMAND, 2,
                                    cmd & ~(uint32_t)MVF_PCI_COMMAND_MASTER);
    mvf_irq_teardown(dev);
    mvf_irq_state_release(dev);
    mvf_dma_teardown(dev);
    if (dev->prov.ops->reset(dev->prov.priv))
        mvf_device_log(dev, MVF_LOG_ERROR, "reset after release failed");
    /* Whatever the old owner still has mapped must not reach the next
     * owner's device: if that cannot be done now, nobody gets the
     * device until it can (fail closed; CLAIM retries). */
    ret = mvf_device_revoke(dev);
    if (ret)
        mvf_device_log(dev, MVF_LOG_ERROR, "cannot revoke the old owner's "
                       "BAR mappings (error %d): the device is held back "
                       "from new owners until a claim can revoke them", -ret);
    mvf_cfg_policy_reset(&dev->policy);
    dev->stats.resets++;
    dev->owner = NULL;
    /* What the old owner's flood hid is reported before the next owner
     * comes (the limit itself goes on, or a claim/release loop would
     * get round it). */
    mvf_device_log_flush(dev);
}

void mvf_core_destroy(struct mvf_core *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->ndevs; i++) {
        struct mvf_device *dev = c->devs[i];
        if (dev->owner)
            mvf_device_cleanup(dev);
        mvf_irq_teardown(dev);
        mvf_irq_state_release(dev);
        mvf_device_log_flush(dev);
        mvf_dart_destroy(dev->dart);
        destroy_provider(&dev->prov);
        free(dev);
    }
    free(c->devs);
    free(c);
}

struct mvf_session *mvf_session_create_for(struct mvf_core *c, void *client)
{
    struct mvf_session *s = calloc(1, sizeof(*s));

    if (s) {
        s->core = c;
        s->client = client;
    }
    return s;
}

struct mvf_session *mvf_session_create(struct mvf_core *c)
{
    return mvf_session_create_for(c, NULL);
}

bool mvf_session_ready(const struct mvf_session *s)
{
    return s->hello;
}

void mvf_session_destroy(struct mvf_session *s)
{
    if (!s)
        return;
    if (s->dev && s->dev->owner == s) {
        mvf_device_log(s->dev, MVF_LOG_INFO,
                       "owner gone: %llu mappings, %llu bytes released, reset",
                       (unsigned long long)mvf_dart_live_mappings(s->dev->dart),
                       (unsigned long long)mvf_dart_mapped_bytes(s->dev->dart));
        mvf_device_cleanup(s->dev);
    }
    free(s);
}

void mvf_device_stats(const struct mvf_device *dev, struct mvf_stats *st)
{
    *st = dev->stats;
    st->mapped_bytes = mvf_dart_mapped_bytes(dev->dart);
    st->live_mappings = mvf_dart_live_mappings(dev->dart);
    st->registered_bytes = dev->registered_bytes;
}
