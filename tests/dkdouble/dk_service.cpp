/* SPDX-License-Identifier: MIT */
/*
 * IOService's dispatch: the wrappers send an IORPC to `supermethod` or
 * to Dispatch (the most derived class's _Dispatch, which falls back to
 * its base's); IOService::_Dispatch runs "the kernel's" Start/Stop.
 */
#include <DriverKit/IOService.h>
#include <stdlib.h>

#include "dk_internal.h"

OSMetaClass gIOServiceMetaClass = {"IOService", OSObject::sGetMetaClass(), nullptr};

struct IOService::State {
    IOService *provider;  /* set by Start, cleared by Stop */
    bool started;
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
