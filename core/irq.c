/* SPDX-License-Identifier: MIT */
/*
 * Interrupt delivery: per-vector notifiers (eventfds on Linux), or the
 * shared state page plus one wake notifier (the macOS shape).  Only one
 * interrupt type is enabled at a time, as on PCI.  No interrupt is lost:
 * a vector raised while masked or unbound is pending and fires when it
 * is unmasked or bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

int mvf_irq_info_call(struct mvf_device *dev, struct mvf_call *call)
{
    uint64_t type = call->in[0];

    if (type >= MVF_IRQ_NTYPES)
        return mvf_fail(call, -EINVAL, "unknown interrupt type %llu",
                        (unsigned long long)type);
    call->out[0] = dev->prov.irq_count[type];
    call->out[1] = MVF_IRQ_INFO_MASKABLE;
    call->n_out = 2;
    return 0;
}

static void release_vectors(struct mvf_device *dev)
{
    for (uint32_t i = 0; i < dev->irq_nvec; i++) {
        struct mvf_notifier *n = dev->irq_vec[i].notifier;
        if (n)
            n->release(n);
    }
    free(dev->irq_vec);
    dev->irq_vec = NULL;
    dev->irq_nvec = 0;
    if (dev->state_wake) {
        dev->state_wake->release(dev->state_wake);
        dev->state_wake = NULL;
    }
}

void mvf_irq_teardown(struct mvf_device *dev)
{
    if (dev->irq_enabled && dev->prov.ops->irq_configure)
        dev->prov.ops->irq_configure(dev->prov.priv, dev->irq_type, 0);
    release_vectors(dev);
    dev->irq_enabled = false;
    dev->irq_state_mode = false;
    if (dev->state_page)
        memset(dev->state_page, 0, sizeof(*dev->state_page));
}


/* A new owner gets a new page: the old owner may still have the old
 * one mapped. */
void mvf_irq_state_release(struct mvf_device *dev)
{
    const struct mvf_host_ops *h = dev->core->hops;

    if (!dev->state_page)
        return;
    h->shared_release(dev->core->host, dev->state_page,
                      sizeof(*dev->state_page), dev->state_obj);
    dev->state_page = NULL;
    dev->state_obj = -1;
}

static void fire(struct mvf_device *dev, uint32_t vec)
{
    struct mvf_irq_vector *v = &dev->irq_vec[vec];

    if (dev->irq_state_mode) {
        __atomic_fetch_or(&dev->state_page->pending[vec / 64],
                          1ull << (vec % 64), __ATOMIC_RELEASE);
        __atomic_fetch_add(&dev->state_page->seq, 1, __ATOMIC_RELEASE);
        if (dev->state_wake)
            dev->state_wake->signal(dev->state_wake);
    } else if (v->notifier) {
        v->notifier->signal(v->notifier);
    } else {
        v->pending = true;   /* unbound: keep it for when it is bound */
        return;
    }
    v->pending = false;
    dev->stats.irqs_delivered++;
}

void mvf_device_irq_raise(struct mvf_device *dev, uint32_t type, uint32_t vec)
{
    if (!dev->irq_enabled || type != dev->irq_type || vec >= dev->irq_nvec) {
        mvf_device_log(dev, MVF_LOG_DEBUG, "interrupt %u/%u raised while not "
                       "enabled: dropped", type, vec);
        return;
    }
    if (dev->irq_vec[vec].masked) {
        dev->irq_vec[vec].pending = true;
        dev->stats.irqs_masked++;
        return;
    }
    fire(dev, vec);
}

/* Enables `type` with all its vectors if nothing is enabled yet. */
static int enable_type(struct mvf_device *dev, uint32_t type, bool state_mode,
                       struct mvf_call *call)
{
    uint32_t nvec = dev->prov.irq_count[type];
    int ret;

    if (dev->irq_enabled) {
        if (dev->irq_type != type)
            return mvf_fail(call, -EBUSY, "interrupt type %u is enabled; "
                            "disable it first", dev->irq_type);
        if (dev->irq_state_mode != state_mode)
            return mvf_fail(call, -EBUSY, "interrupts are delivered %s; "
                            "disable them first", dev->irq_state_mode ?
                            "through the state page" : "through eventfds");
        return 0;
    }
    dev->irq_vec = calloc(nvec, sizeof(*dev->irq_vec));
    if (!dev->irq_vec)
        return mvf_fail(call, -ENOMEM, "out of memory");
    dev->irq_nvec = nvec;
    if (dev->prov.ops->irq_configure) {
        ret = dev->prov.ops->irq_configure(dev->prov.priv, type, nvec);
        if (ret) {
            release_vectors(dev);
            return mvf_fail(call, ret, "device refused interrupt type %u", type);
        }
    }
    dev->irq_type = type;
    dev->irq_enabled = true;
    dev->irq_state_mode = state_mode;
    return 0;
}

static int ensure_state_page(struct mvf_device *dev, struct mvf_call *call)
{
    const struct mvf_host_ops *h = dev->core->hops;
    void *ptr;
    int ret;

    if (dev->state_page)
        return 0;
    if (!h->shared_create)
        return mvf_fail(call, -ENOTSUP, "this host has no shared memory");
    ret = h->shared_create(dev->core->host, sizeof(struct mvf_irq_state),
                           &ptr, &dev->state_obj);
    if (ret)
        return mvf_fail(call, ret, "cannot create the interrupt state page");
    dev->state_page = ptr;
    memset(dev->state_page, 0, sizeof(*dev->state_page));
    return 0;
}

int mvf_irq_state_object(struct mvf_device *dev, struct mvf_call *call)
{
    int ret = ensure_state_page(dev, call);

    if (ret)
        return ret;
    call->obj_out = dev->core->hops->obj_dup(dev->core->host, dev->state_obj);
    if (call->obj_out < 0)
        return mvf_fail(call, -EMFILE, "cannot hand out the state page");
    call->out[0] = sizeof(struct mvf_irq_state);
    call->out[1] = MVF_BAR_MAPPABLE;
    call->n_out = 2;
    return 0;
}

static void release_fresh(struct mvf_notifier **fresh, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (fresh[i])
            fresh[i]->release(fresh[i]);
}

static int set_trigger(struct mvf_device *dev, uint32_t type, uint64_t start,
                       uint64_t count, uint64_t mask, struct mvf_call *call)
{
    struct mvf_notifier *fresh[MVF_IRQ_SET_MAX] = { 0 };
    uint32_t used = 0;
    int ret;

    if (!count || count > MVF_IRQ_SET_MAX)
        return mvf_fail(call, -EINVAL, "count %llu: must be 1..%u",
                        (unsigned long long)count, MVF_IRQ_SET_MAX);
    if (start >= dev->prov.irq_count[type] ||
        count > dev->prov.irq_count[type] - start)
        return mvf_fail(call, -ERANGE, "vectors %llu+%llu beyond the %u the "
                        "device has", (unsigned long long)start,
                        (unsigned long long)count, dev->prov.irq_count[type]);
    if (count < 64 && (mask >> count))
        return mvf_fail(call, -EINVAL, "fd_mask has bits beyond count");
    if ((uint32_t)__builtin_popcountll(mask) != call->n_objs_in)
        return mvf_fail(call, -EBADF, "fd_mask names %d fds, %u attached",
                        __builtin_popcountll(mask), call->n_objs_in);
    /* Build every notifier before touching any state, so a failure
     * changes nothing. */
    for (uint32_t i = 0; i < count; i++) {
        if (!(mask & (1ull << i)))
            continue;
        ret = dev->core->hops->notifier_create(dev->core->host,
                                               mvf_owner_client(dev),
                                               call->objs_in[used++], &fresh[i]);
        if (ret) {
            release_fresh(fresh, i);
            return mvf_fail(call, ret, "fd for vector %llu is not an eventfd",
                            (unsigned long long)(start + i));
        }
    }
    ret = enable_type(dev, type, false, call);
    if (ret) {
        release_fresh(fresh, (uint32_t)count);
        return ret;
    }
    for (uint32_t i = 0; i < count; i++) {
        struct mvf_irq_vector *v = &dev->irq_vec[start + i];
        if (v->notifier)
            v->notifier->release(v->notifier);
        v->notifier = fresh[i];
        if (v->notifier && v->pending && !v->masked)
            fire(dev, (uint32_t)(start + i));
    }
    return 0;
}

static int set_state_mode(struct mvf_device *dev, uint32_t type, uint64_t mask,
                          struct mvf_call *call)
{
    struct mvf_notifier *wake = NULL;
    int ret;

    /* fd_mask 1: one wake fd attached; 0: none (the client polls). */
    if (mask > 1 || call->n_objs_in != mask)
        return mvf_fail(call, -EBADF, "STATE takes fd_mask 0 (no wake fd) or "
                        "1 (one wake fd attached)");
    ret = ensure_state_page(dev, call);
    if (ret)
        return ret;
    if (mask) {
        ret = dev->core->hops->notifier_create(dev->core->host,
                                               mvf_owner_client(dev),
                                               call->objs_in[0], &wake);
        if (ret)
            return mvf_fail(call, ret, "wake fd is not an eventfd");
    }
    ret = enable_type(dev, type, true, call);
    if (ret) {
        if (wake)
            wake->release(wake);
        return ret;
    }
    if (dev->state_wake)
        dev->state_wake->release(dev->state_wake);
    dev->state_wake = wake;
    return 0;
}

static int set_mask(struct mvf_device *dev, uint32_t type, uint64_t start,
                    uint64_t count, bool masked, struct mvf_call *call)
{
    if (!dev->irq_enabled || dev->irq_type != type)
        return mvf_fail(call, -EINVAL, "interrupt type %u is not enabled", type);
    if (start >= dev->irq_nvec || count > dev->irq_nvec - start || !count)
        return mvf_fail(call, -ERANGE, "vectors %llu+%llu out of range",
                        (unsigned long long)start, (unsigned long long)count);
    for (uint64_t i = start; i < start + count; i++) {
        struct mvf_irq_vector *v = &dev->irq_vec[i];
        v->masked = masked;
        if (!masked && v->pending)
            fire(dev, (uint32_t)i);
    }
    return 0;
}

int mvf_irq_set_call(struct mvf_device *dev, struct mvf_call *call)
{
    uint64_t type = call->in[0], action = call->in[1], start = call->in[2];
    uint64_t count = call->in[3], mask = call->in[4];

    if (type >= MVF_IRQ_NTYPES)
        return mvf_fail(call, -EINVAL, "unknown interrupt type %llu",
                        (unsigned long long)type);
    if (!dev->prov.irq_count[type] && action != MVF_IRQ_ACT_DISABLE)
        return mvf_fail(call, -ENOTSUP, "device has no interrupts of type %llu",
                        (unsigned long long)type);
    if (action != MVF_IRQ_ACT_TRIGGER && action != MVF_IRQ_ACT_STATE &&
        call->n_objs_in)
        return mvf_fail(call, -EBADF, "this action takes no fds");
    if (action == MVF_IRQ_ACT_TRIGGER && mask &&
        !(dev->core->hops->transport_features & MVF_FEAT_IRQ_EVENTFD))
        return mvf_fail(call, -ENOTSUP, "this transport has no per-vector "
                        "notifiers: use the state page (STATE)");
    if (action == MVF_IRQ_ACT_STATE &&
        !(dev->core->hops->transport_features & MVF_FEAT_IRQ_STATE_PAGE))
        return mvf_fail(call, -ENOTSUP, "this transport has no interrupt "
                        "state page");
    switch (action) {
    case MVF_IRQ_ACT_TRIGGER:
        return set_trigger(dev, (uint32_t)type, start, count, mask, call);
    case MVF_IRQ_ACT_STATE:
        return set_state_mode(dev, (uint32_t)type, mask, call);
    case MVF_IRQ_ACT_DISABLE:
        if (dev->irq_enabled && dev->irq_type == type)
            mvf_irq_teardown(dev);
        return 0;
    case MVF_IRQ_ACT_MASK:
    case MVF_IRQ_ACT_UNMASK:
        return set_mask(dev, (uint32_t)type, start, count,
                        action == MVF_IRQ_ACT_MASK, call);
    default:
        return mvf_fail(call, -EINVAL, "unknown action %llu",
                        (unsigned long long)action);
    }
}
