/* SPDX-License-Identifier: MIT */
/* The test driver's methods, written as a dext writes them. */
#include <DriverKit/IOLib.h>
#include <DriverKit/OSAction.h>
#include <os/log.h>

#include "DkTestDriver.h"

struct DkTestDriver_IVars {
    uint64_t interrupts;
    OSAction *action;
};

bool DkTestDriver::init()
{
    if (!super::init())
        return false;
    ivars = IONewZero(DkTestDriver_IVars, 1);
    return ivars != nullptr;
}

void DkTestDriver::free()
{
    IOSafeDeleteNULL(ivars, DkTestDriver_IVars, 1);
    super::free();
}

uint64_t DkTestDriver::Interrupts()
{
    return ivars->interrupts;
}

kern_return_t IMPL(DkTestDriver, Start)
{
    kern_return_t kr = Start(provider, SUPERDISPATCH);

    if (kr != kIOReturnSuccess)
        return kr;
    kr = CreateActionInterruptOccurred(sizeof(uint32_t), &ivars->action);
    if (kr != kIOReturnSuccess)
        return kr;
    os_log(OS_LOG_DEFAULT, "dktest: started %{public}s", "ok");
    return kIOReturnSuccess;
}

kern_return_t IMPL(DkTestDriver, Stop)
{
    OSSafeReleaseNULL(ivars->action);
    return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(DkTestDriver, NewUserClient)
{
    (void)type;
    *userClient = nullptr;
    return kIOReturnUnsupported;
}

void IMPL(DkTestDriver, InterruptOccurred)
{
    (void)action;
    (void)time;
    ivars->interrupts += count;
}
