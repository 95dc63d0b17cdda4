/* SPDX-License-Identifier: MIT */
/*
 * The double's object model and dispatch, on the test driver class that
 * went through tools/mini_iig.py.  Exit status 0 when every check holds.
 */
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <DriverKit/IOInterruptDispatchSource.h>

#include <stdio.h>
#include <string.h>

#include "DkTestDriver.h"
#include "dk_check.h"
#include "dk_internal.h"


/* The kernel instantiates the personality's IOClass by name, then
 * init() and Start() (xnu IOService.cpp: the matching path). */
static DkTestDriver *instantiate(void)
{
    const OSMetaClass *meta = OSMetaClass::ForName("DkTestDriver");
    CHECK(meta && meta->alloc);
    if (!meta || !meta->alloc)
        return nullptr;
    OSObject *o = meta->alloc();
    CHECK(o->init());
    return OSDynamicCast(DkTestDriver, o);
}

static void test_dispatch_and_cast(void)
{
    uint64_t before = dk_live_objects();
    DkTestDriver *drv = instantiate();
    IOService *provider = new IOService;
    CHECK(provider->init());
    CHECK(drv);
    if (!drv)
        return;
    /* OSDynamicCast follows the metaclass chain. */
    CHECK(OSDynamicCast(IOService, drv) == drv);
    CHECK(OSDynamicCast(OSData, drv) == nullptr);
    CHECK(OSDynamicCast(DkTestDriver, provider) == nullptr);
    /* Start reaches DkTestDriver::Start_Impl through Dispatch, and its
     * Start(provider, SUPERDISPATCH) reaches IOService's (the kernel's). */
    CHECK(drv->Start(provider) == kIOReturnSuccess);
    CHECK(drv->GetProvider() == provider);
    /* A second Start of a started service is refused by the base. */
    CHECK(drv->Start(provider) == kIOReturnError);
    /* NewUserClient: the override answers, not the base. */
    IOUserClient *uc = reinterpret_cast<IOUserClient *>(1);
    CHECK(drv->NewUserClient(0, &uc) == kIOReturnUnsupported && uc == nullptr);
    CHECK(drv->Stop(provider) == kIOReturnSuccess);
    CHECK(drv->GetProvider() == nullptr);
    drv->release();
    provider->release();
    CHECK(dk_live_objects() == before);
}

/* An OSAction from CreateActionInterruptOccurred carries the driver's
 * own method id; firing it reaches InterruptOccurred_Impl (the TYPE's
 * arguments), and the action keeps its target alive. */
static void test_action(void)
{
    uint64_t before = dk_live_objects();
    DkTestDriver *drv = instantiate();
    OSAction *action = nullptr;
    if (!drv)
        return;
    CHECK(drv->CreateActionInterruptOccurred(sizeof(uint32_t), &action) == kIOReturnSuccess);
    CHECK(action && action->GetReference());
    *static_cast<uint32_t *>(action->GetReference()) = 7;
    IOInterruptDispatchSource_InterruptOccurred_Msg msg = {action, 3, 1234};
    CHECK(dk_action_invoke(action, &msg) == kIOReturnSuccess);
    CHECK(drv->Interrupts() == 3);
    /* The wrapper (a local call) goes the same way. */
    drv->InterruptOccurred(action, 2, 0);
    CHECK(drv->Interrupts() == 5);
    drv->release();               /* the action still holds it */
    CHECK(dk_live_objects() == before + 2);
    action->release();
    CHECK(dk_live_objects() == before);
}

/* Blocks wait for the queue to run; FIFO; blocks queued by blocks run in
 * the same idle step; a released queue drops what it did not run. */
static void test_queue(void)
{
    uint64_t before = dk_live_objects();
    IODispatchQueue *q = nullptr;
    static int order[4];
    __block int n = 0;
    CHECK(IODispatchQueue::Create("test", 0, 0, &q) == kIOReturnSuccess);
    if (!q)
        return;
    q->DispatchAsync(^{ order[n++] = 1; });
    q->DispatchAsync(^{
        order[n++] = 2;
        q->DispatchAsync(^{ order[n++] = 3; });
    });
    CHECK(n == 0);
    CHECK(dk_queues_run_until_idle() == 3);
    CHECK(n == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3);
    q->DispatchSync(^{ order[n++] = 4; });
    CHECK(n == 4);
    q->DispatchAsync(^{ order[0] = 99; });
    q->release();
    CHECK(dk_queues_run_until_idle() == 0 && order[0] == 1);
    CHECK(dk_live_objects() == before);
}

static void test_osdata(void)
{
    const char bytes[] = "abcdef";
    OSData *d = OSData::withBytes(bytes, 6);
    CHECK(d && d->getLength() == 6);
    if (!d)
        return;
    CHECK(memcmp(d->getBytesNoCopy(), bytes, 6) == 0);
    CHECK(d->getBytesNoCopy(4, 2) != nullptr);
    CHECK(d->getBytesNoCopy(4, 3) == nullptr);       /* past the end */
    CHECK(d->getBytesNoCopy(7, 0) == nullptr);
    CHECK(OSData::withBytes(nullptr, 4) == nullptr); /* no bytes */
    d->release();
}

int main(void)
{
    test_dispatch_and_cast();
    test_action();
    test_queue();
    test_osdata();
    CHECK(dk_live_objects() == 0);
    return dk_check_exit("test_dk_object");
}
