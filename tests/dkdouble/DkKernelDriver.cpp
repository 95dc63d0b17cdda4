/* SPDX-License-Identifier: MIT */
/* The kernel-rule tests' driver, written as a dext writes one. */
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>

#include "DkKernelDriver.h"
#include "dk_test_uc.h"

struct DkKernelDriver_IVars {
    IODispatchQueue *queue;
    struct DkKernelDriverStats stats;
};

bool DkKernelDriver::init()
{
    if (!super::init())
        return false;
    ivars = IONewZero(DkKernelDriver_IVars, 1);
    return ivars != nullptr;
}

void DkKernelDriver::free()
{
    if (ivars)
        OSSafeReleaseNULL(ivars->queue);
    IOSafeDeleteNULL(ivars, DkKernelDriver_IVars, 1);
    super::free();
}

struct DkKernelDriverStats *DkKernelDriver::Stats() { return &ivars->stats; }
IODispatchQueue *DkKernelDriver::Queue() { return ivars->queue; }

kern_return_t IMPL(DkKernelDriver, Start)
{
    kern_return_t kr = Start(provider, SUPERDISPATCH);
    if (kr != kIOReturnSuccess)
        return kr;
    kr = IODispatchQueue::Create("dkkernel", 0, 0, &ivars->queue);
    if (kr != kIOReturnSuccess)
        Stop(provider, SUPERDISPATCH);
    return kr;
}

kern_return_t IMPL(DkKernelDriver, Stop)
{
    return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(DkKernelDriver, NewUserClient)
{
    IOService *service = nullptr;
    (void)type;
    kern_return_t kr = Create(this, "DkTestUserClientProperties", &service);
    if (kr != kIOReturnSuccess)
        return kr;
    *userClient = OSDynamicCast(IOUserClient, service);
    if (!*userClient) {
        OSSafeReleaseNULL(service);
        return kIOReturnError;
    }
    return kIOReturnSuccess;
}

void IMPL(DkKernelDriver, InterruptOccurred)
{
    (void)time;
    ivars->stats.handlerCalls++;
    ivars->stats.lastCount = count;
    ivars->stats.totalCount += count;
    ivars->stats.lastVector = *static_cast<uint32_t *>(action->GetReference());
    if (!ivars->queue->OnQueue())
        ivars->stats.offQueue++;
}
