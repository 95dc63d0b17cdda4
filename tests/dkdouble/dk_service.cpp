/* SPDX-License-Identifier: MIT */
/*
 * IOService's dispatch: the wrappers send an IORPC to `supermethod` or
 * to Dispatch (the most derived class's _Dispatch, which falls back to
 * its base's); IOService::_Dispatch runs "the kernel's" Start/Stop.
 */
#include <DriverKit/IOService.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_internal.h"

OSMetaClass gIOServiceMetaClass = {"IOService", OSObject::sGetMetaClass(), nullptr};

#define DK_SERVICE_QUEUES 4

struct DkNamedQueue {
    char name[sizeof(IODispatchQueueName)];
    IODispatchQueue *queue;   /* retained */
};

struct IOService::State {
    IOService *provider;  /* set by Start, cleared by Stop */
    bool started;
    bool registered;
    char name[sizeof(IOServiceName)];
    DkNamedQueue queues[DK_SERVICE_QUEUES];
};

struct DkServiceAccess {
    using State = IOService::State;
    static State *state(IOService *s) { return s->state_; }
};

bool IOService::init()
{
    if (!OSObject::init())
        return false;
    state_ = static_cast<State *>(calloc(1, sizeof(State)));
    return state_ != nullptr;
}

void IOService::free()
{
    if (state_)
        for (DkNamedQueue &q : state_->queues)
            OSSafeReleaseNULL(q.queue);
    ::free(state_);
    state_ = nullptr;
    OSObject::free();
}

static kern_return_t dk_send(IOService *self, uint64_t id, void *msg, OSDispatchMethod supermethod)
{
    IORPC rpc = {id, msg};
    return supermethod ? supermethod(self, rpc) : self->Dispatch(rpc);
}

kern_return_t IOService::Start(IOService *provider, OSDispatchMethod supermethod)
{
    IOService_Start_Msg msg = {provider};
    return dk_send(this, IOService_Start_ID, &msg, supermethod);
}

kern_return_t IOService::Stop(IOService *provider, OSDispatchMethod supermethod)
{
    IOService_Stop_Msg msg = {provider};
    return dk_send(this, IOService_Stop_ID, &msg, supermethod);
}

kern_return_t IOService::NewUserClient(uint32_t type, IOUserClient **userClient,
                                       OSDispatchMethod supermethod)
{
    IOService_NewUserClient_Msg msg = {type, userClient};
    return dk_send(this, IOService_NewUserClient_ID, &msg, supermethod);
}

/* The kernel side: Start attaches to the provider, Stop detaches. */
kern_return_t IOService::Start_Impl(IOService *provider)
{
    if (!state_ || state_->started)
        return kIOReturnError;
    state_->started = true;
    state_->provider = provider;
    return kIOReturnSuccess;
}

kern_return_t IOService::Stop_Impl(IOService *provider)
{
    if (!state_ || !state_->started || provider != state_->provider)
        return kIOReturnError;
    state_->started = false;
    state_->provider = nullptr;
    return kIOReturnSuccess;
}

/* A service that does not serve user clients (IOService.iig's default). */
kern_return_t IOService::NewUserClient_Impl(uint32_t type, IOUserClient **userClient)
{
    (void)type;
    if (userClient)
        *userClient = nullptr;
    return kIOReturnUnsupported;
}

/* IOService.iig Create: instantiates the class the properties key names
 * (in the dext's Info.plist; here dk_machine_add_class) and starts it on
 * `provider`.  The caller gets the one reference. */
kern_return_t IOService::Create(IOService *provider, const IOPropertyName propertiesKey,
                                IOService **result, OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!result || !provider)
        return kIOReturnBadArgument;
    *result = nullptr;
    if (!state_ || !state_->started)
        return kIOReturnNotReady;
    const char *cls = dk_class_for_properties(propertiesKey);
    kern_return_t kr = dk_service_instantiate(cls, provider, result);
    return kr == kIOReturnBadArgument ? kIOReturnNotFound : kr;
}

kern_return_t dk_service_instantiate(const char *class_name, IOService *provider,
                                     IOService **out)
{
    const OSMetaClass *meta = class_name ? OSMetaClass::ForName(class_name) : nullptr;
    if (!meta || !meta->alloc || !OSMetaClass::IsKindOf(meta, IOService::sGetMetaClass()))
        return kIOReturnBadArgument;
    IOService *s = OSDynamicCast(IOService, meta->alloc());
    if (!s)
        return kIOReturnError;
    if (!s->init()) {
        s->release();
        return kIOReturnNoMemory;
    }
    kern_return_t kr = s->Start(provider);
    if (kr != kIOReturnSuccess) {
        dk_run_until_idle(dk_current());   /* what a failed Start queued */
        s->release();
        return kr;
    }
    *out = s;
    return kIOReturnSuccess;
}

kern_return_t IOService::RegisterService(OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!state_ || !state_->started)
        return kIOReturnNotReady;
    state_->registered = true;
    return kIOReturnSuccess;
}

kern_return_t IOService::SetName(const IOServiceName name, OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!state_ || !name || strnlen(name, sizeof(state_->name)) == sizeof(state_->name))
        return kIOReturnBadArgument;
    snprintf(state_->name, sizeof(state_->name), "%s", name);
    return kIOReturnSuccess;
}

bool dk_service_registered(IOService *s, const char **name)
{
    DkServiceAccess::State *st = DkServiceAccess::state(s);
    if (name)
        *name = st ? st->name : "";
    return st && st->registered;
}

/* IOService.iig SetDispatchQueue: a named queue of the service (Default,
 * or IOUserClient's ExternalMethod queue); setting it again replaces it. */
kern_return_t IOService::SetDispatchQueue(const IODispatchQueueName name, IODispatchQueue *queue,
                                          OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!state_ || !name || !queue)
        return kIOReturnBadArgument;
    DkNamedQueue *free_slot = nullptr;
    for (DkNamedQueue &q : state_->queues) {
        if (q.queue && strcmp(q.name, name) == 0) {
            queue->retain();
            q.queue->release();
            q.queue = queue;
            return kIOReturnSuccess;
        }
        if (!q.queue && !free_slot)
            free_slot = &q;
    }
    if (!free_slot)
        return kIOReturnNoResources;
    snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
    queue->retain();
    free_slot->queue = queue;
    return kIOReturnSuccess;
}

IODispatchQueue *dk_service_queue(IOService *s, const char *name)
{
    DkServiceAccess::State *st = DkServiceAccess::state(s);
    if (!st)
        return nullptr;
    for (DkNamedQueue &q : st->queues)
        if (q.queue && strcmp(q.name, name) == 0)
            return q.queue;
    return nullptr;
}

bool dk_service_started(IOService *s)
{
    DkServiceAccess::State *st = DkServiceAccess::state(s);
    return st && st->started;
}

IOService *IOService::GetProvider() const { return state_ ? state_->provider : nullptr; }

kern_return_t IOService::Dispatch(const IORPC rpc) { return _Dispatch(this, rpc); }

kern_return_t IOService::_Dispatch(IOService *self, const IORPC rpc)
{
    switch (rpc.msgid) {
    case IOService_Start_ID:
        return self->Start_Impl(static_cast<IOService_Start_Msg *>(rpc.message)->a0);
    case IOService_Stop_ID:
        return self->Stop_Impl(static_cast<IOService_Stop_Msg *>(rpc.message)->a0);
    case IOService_NewUserClient_ID: {
        IOService_NewUserClient_Msg *m = static_cast<IOService_NewUserClient_Msg *>(rpc.message);
        return self->NewUserClient_Impl(m->a0, m->a1);
    }
    default:
        return OSObject::_Dispatch(self, rpc);
    }
}

OSMetaClass *IOService::sGetMetaClass() { return &gIOServiceMetaClass; }
const OSMetaClass *IOService::getMetaClass() const { return &gIOServiceMetaClass; }
