/* SPDX-License-Identifier: MIT */
/*
 * IOInterruptDispatchSource on the nub's interrupt specifiers: index 0 is
 * the legacy INTx one when the function has a pin, then one per messaged
 * vector ConfigureInterrupts set up (IOPCIFamily's order).  When the
 * device raises a vector, the source standing for it gets its handler
 * queued on its queue, once however many interrupts arrive before it
 * runs (the handler's count says how many).  A disabled source keeps
 * what arrived and delivers it when enabled again; a cancelled one
 * delivers nothing more, and its cancel handler runs on its queue.
 *
 * The kernel side enables messaged vectors only, so INTx sources exist
 * but never fire here.
 */
#include <DriverKit/IOInterruptDispatchSource.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <Block.h>
#include <stdlib.h>

extern "C" {
#include "core.h"
}
#include "dk_internal.h"

OSMetaClass gIODispatchSourceMetaClass = {"IODispatchSource", OSObject::sGetMetaClass(), nullptr};
OSMetaClass gIOInterruptDispatchSourceMetaClass = {"IOInterruptDispatchSource",
                                                   &gIODispatchSourceMetaClass, nullptr};

#define DK_INTERRUPT_TYPE_LEVEL 0x1u   /* kIOInterruptTypeLevel */

struct IOInterruptDispatchSource::State {
    uint32_t index;
    IODispatchQueue *queue;   /* retained */
    OSAction *action;         /* retained */
    bool enabled, cancelled, queued;
    uint64_t pending;         /* interrupts not yet handed to the handler */
    IOInterruptDispatchSource *next;  /* every live source */
};

static IOInterruptDispatchSource *gSources;
static uint64_t gTime;   /* stands in for mach_absolute_time */

struct DkInterruptAccess {
    using State = IOInterruptDispatchSource::State;
    static State *state(IOInterruptDispatchSource *s) { return s->state_; }
    static void set(IOInterruptDispatchSource *s, State *st) { s->state_ = st; }
};

static uint32_t legacy_count(void)
{
    const struct mvf_provider *p = dk_pci_backing();
    return p && p->irq_count[MVF_IRQ_INTX] ? 1 : 0;
}

bool dk_interrupt_specifier(uint32_t index, uint64_t *type, uint32_t *vector)
{
    uint32_t legacy = legacy_count();
    uint64_t messaged = 0;
    IOPCIDevice *nub = dk_machine_pci();
    uint32_t n = nub ? dk_pci_messaged_vectors(nub, &messaged) : 0;

    if (index < legacy) {
        *type = DK_INTERRUPT_TYPE_LEVEL;
        *vector = 0;
        return true;
    }
    if (index - legacy < n) {
        *type = messaged;   /* edge (0) | kIOInterruptTypePCIMessaged(X) */
        *vector = index - legacy;
        return true;
    }
    return false;
}

kern_return_t IOInterruptDispatchSource::GetInterruptType(IOService *provider, uint32_t index,
                                                          uint64_t *interruptType)
{
    uint32_t vector;
    if (!interruptType || !OSDynamicCast(IOPCIDevice, provider))
        return kIOReturnBadArgument;
    return dk_interrupt_specifier(index, interruptType, &vector) ? kIOReturnSuccess
                                                                 : kIOReturnNotFound;
}

kern_return_t IOInterruptDispatchSource::Create(IOService *provider, uint32_t index,
                                                IODispatchQueue *queue,
                                                IOInterruptDispatchSource **source)
{
    uint64_t type;
    uint32_t vector;

    if (!source || !queue || !OSDynamicCast(IOPCIDevice, provider))
        return kIOReturnBadArgument;
    if (!dk_interrupt_specifier(index, &type, &vector))
        return kIOReturnNotFound;
    for (IOInterruptDispatchSource *s = gSources; s; s = DkInterruptAccess::state(s)->next)
        if (DkInterruptAccess::state(s)->index == index)
            return kIOReturnBusy;
    State *st = static_cast<State *>(calloc(1, sizeof(State)));
    if (!st)
        return kIOReturnNoMemory;
    IOInterruptDispatchSource *s = new IOInterruptDispatchSource;
    st->index = index;
    queue->retain();
    st->queue = queue;
    st->next = gSources;
    gSources = s;
    DkInterruptAccess::set(s, st);
    *source = s;
    return kIOReturnSuccess;
}

static void unlink(IOInterruptDispatchSource *src)
{
    for (IOInterruptDispatchSource **p = &gSources; *p; p = &DkInterruptAccess::state(*p)->next)
        if (*p == src) {
            *p = DkInterruptAccess::state(src)->next;
            return;
        }
}

void IOInterruptDispatchSource::free()
{
    if (state_) {
        unlink(this);
        OSSafeReleaseNULL(state_->action);
        OSSafeReleaseNULL(state_->queue);
        ::free(state_);
    }
    OSObject::free();
}

kern_return_t IOInterruptDispatchSource::SetHandler(OSAction *action, OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!action)
        return kIOReturnBadArgument;
    action->retain();
    OSSafeReleaseNULL(state_->action);
    state_->action = action;
    return kIOReturnSuccess;
}

/* Queues the handler once for whatever is pending. */
static void schedule(IOInterruptDispatchSource *src)
{
    DkInterruptAccess::State *st = DkInterruptAccess::state(src);
    if (!st->pending || st->queued || !st->enabled || st->cancelled || !st->action)
        return;
    st->queued = true;
    src->retain();
    st->queue->DispatchAsync(^{
        DkInterruptAccess::State *s = DkInterruptAccess::state(src);
        s->queued = false;
        if (s->enabled && !s->cancelled && s->pending) {
            IOInterruptDispatchSource_InterruptOccurred_Msg msg = {s->action, s->pending, ++gTime};
            s->pending = 0;
            dk_count_interrupt_delivered();
            dk_action_invoke(s->action, &msg);
        }
        src->release();
    });
}

void dk_interrupt_fire(uint32_t vector)
{
    uint32_t index = legacy_count() + vector;
    for (IOInterruptDispatchSource *s = gSources; s; s = DkInterruptAccess::state(s)->next) {
        DkInterruptAccess::State *st = DkInterruptAccess::state(s);
        if (st->index == index && !st->cancelled) {
            st->pending++;
            schedule(s);
            return;
        }
    }
    /* No source for the vector: the interrupt goes nowhere, as on a Mac. */
}

void dk_interrupts_reset(void)
{
    gSources = nullptr;
}

/* The interrupt source this dispatch source is (the only kind the
 * double has), or NULL. */
static IOInterruptDispatchSource *as_interrupt(IODispatchSource *s)
{
    return OSDynamicCast(IOInterruptDispatchSource, s);
}

/* IODispatchSource.iig SetEnable / Cancel.  Cancel is asynchronous: the
 * source stops delivering at once, and the handler runs on its queue. */
kern_return_t IODispatchSource::SetEnable(bool enable, OSDispatchMethod supermethod)
{
    (void)supermethod;
    IOInterruptDispatchSource *src = as_interrupt(this);
    if (!src)
        return kIOReturnUnsupported;
    DkInterruptAccess::State *st = DkInterruptAccess::state(src);
    if (st->cancelled)
        return kIOReturnAborted;
    st->enabled = enable;
    schedule(src);
    return kIOReturnSuccess;
}

kern_return_t IODispatchSource::Cancel(IODispatchSourceCancelHandler handler,
                                       OSDispatchMethod supermethod)
{
    (void)supermethod;
    IOInterruptDispatchSource *src = as_interrupt(this);
    if (!src)
        return kIOReturnUnsupported;
    DkInterruptAccess::State *st = DkInterruptAccess::state(src);
    if (st->cancelled)
        return kIOReturnSuccess;
    st->cancelled = true;
    st->enabled = false;
    unlink(src);
    if (handler) {
        IODispatchSourceCancelHandler h = Block_copy(handler);
        st->queue->DispatchAsync(^{
            h();
            Block_release(h);
        });
    }
    return kIOReturnSuccess;
}

OSMetaClass *IODispatchSource::sGetMetaClass() { return &gIODispatchSourceMetaClass; }
const OSMetaClass *IODispatchSource::getMetaClass() const { return &gIODispatchSourceMetaClass; }
OSMetaClass *IOInterruptDispatchSource::sGetMetaClass()
{
    return &gIOInterruptDispatchSourceMetaClass;
}
const OSMetaClass *IOInterruptDispatchSource::getMetaClass() const
{
    return &gIOInterruptDispatchSourceMetaClass;
}
