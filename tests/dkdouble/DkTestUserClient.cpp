/* SPDX-License-Identifier: MIT */
/* The kernel-rule tests' user client, written as a dext writes one
 * (selectors: dk_test_uc.h). */
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <string.h>

#include "DkTestUserClient.h"
#include "dk_test_uc.h"

struct DkUcSeen gDkUcSeen;
DkTestUserClient *gDkUcLast;

struct DkTestUserClient_IVars {
    IOService *provider;             /* retained */
    OSAction *kept;                  /* kDkUcKeep's completion */
    IOMemoryDescriptor *clientMemory;
    IODMACommand *command;           /* prepared on clientMemory */
    IOBufferMemoryDescriptor *buffer;
};

bool DkTestUserClient::init()
{
    if (!super::init())
        return false;
    ivars = IONewZero(DkTestUserClient_IVars, 1);
    return ivars != nullptr;
}

void DkTestUserClient::free()
{
    if (ivars) {
        OSSafeReleaseNULL(ivars->kept);
        OSSafeReleaseNULL(ivars->command);
        OSSafeReleaseNULL(ivars->clientMemory);
        OSSafeReleaseNULL(ivars->buffer);
        OSSafeReleaseNULL(ivars->provider);
    }
    IOSafeDeleteNULL(ivars, DkTestUserClient_IVars, 1);
    super::free();
}

IOMemoryDescriptor *DkTestUserClient::ClientMemory() { return ivars->clientMemory; }

kern_return_t IMPL(DkTestUserClient, Start)
{
    kern_return_t kr = Start(provider, SUPERDISPATCH);
    if (kr != kIOReturnSuccess)
        return kr;
    kr = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 16384, 0, &ivars->buffer);
    if (kr != kIOReturnSuccess) {
        Stop(provider, SUPERDISPATCH);
        return kr;
    }
    provider->retain();
    ivars->provider = provider;
    gDkUcLast = this;
    return kIOReturnSuccess;
}

kern_return_t IMPL(DkTestUserClient, Stop)
{
    OSSafeReleaseNULL(ivars->kept);
    OSSafeReleaseNULL(ivars->command);   /* completes a preparation */
    OSSafeReleaseNULL(ivars->clientMemory);
    return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(DkTestUserClient, CopyClientMemoryForType)
{
    *options = 0;
    *memory = nullptr;
    if (type != 0)
        return kIOReturnBadArgument;
    ivars->buffer->retain();
    *memory = ivars->buffer;
    return kIOReturnSuccess;
}

static void record(IOUserClientMethodArguments *a)
{
    struct DkUcSeen *s = &gDkUcSeen;
    s->calls++;
    s->selector = a->selector;
    s->scalarInputCount = a->scalarInputCount;
    s->scalarOutputCount = a->scalarOutputCount;
    s->scalarOutputZero = true;
    for (uint32_t i = 0; i < a->scalarOutputCount; i++)
        if (a->scalarOutput[i])
            s->scalarOutputZero = false;
    s->structInLen = a->structureInput ? a->structureInput->getLength() : 0;
    s->structInDescLen = 0;
    s->structInDescReadOnly = false;
    if (a->structureInputDescriptor) {
        (void)a->structureInputDescriptor->GetLength(&s->structInDescLen);
        /* A device-read-only sub-range of it is allowed, a device-write
         * one is not: the descriptor is kIOMemoryDirectionOut. */
        IOMemoryDescriptor *sub = nullptr;
        s->structInDescReadOnly =
            IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionOut, 0, 1,
                                                          a->structureInputDescriptor,
                                                          &sub) == kIOReturnSuccess;
        OSSafeReleaseNULL(sub);
        if (IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionIn, 0, 1,
                                                          a->structureInputDescriptor,
                                                          &sub) == kIOReturnSuccess)
            s->structInDescReadOnly = false;
        OSSafeReleaseNULL(sub);
    }
    s->structOutMax = a->structureOutputMaximumSize;
    s->completion = a->completion != nullptr;
}

kern_return_t DkTestUserClient::ExternalMethod(uint64_t selector,
                                               IOUserClientMethodArguments *a,
                                               const IOUserClientMethodDispatch *dispatch,
                                               OSObject *target, void *reference)
{
    (void)dispatch;
    (void)target;
    (void)reference;
    record(a);
    switch (selector) {
    case kDkUcEcho:
        if (a->scalarInputCount > a->scalarOutputCount)
            return kIOReturnBadArgument;
        for (uint32_t i = 0; i < a->scalarInputCount; i++)
            a->scalarOutput[i] = a->scalarInput[i];
        a->scalarOutputCount = a->scalarInputCount;
        return kIOReturnSuccess;
    case kDkUcProduce: {
        if (a->scalarInputCount != 1 || a->scalarInput[0] > 65536)
            return kIOReturnBadArgument;
        uint32_t n = (uint32_t)a->scalarInput[0];
        OSData *d = OSData::withCapacity(n);
        for (uint32_t i = 0; d && i < n; i++) {
            uint8_t b = (uint8_t)i;
            d->appendBytes(&b, 1);
        }
        if (!d)
            return kIOReturnNoMemory;
        a->structureOutput = d;
        a->scalarOutputCount = 0;
        return kIOReturnSuccess;
    }
    case kDkUcFail:
        for (uint32_t i = 0; i < a->scalarOutputCount; i++)
            a->scalarOutput[i] = 0xdead0000 + i;
        a->structureOutput = OSData::withBytes("partial", 7);
        return kIOReturnIOError;
    case kDkUcKeep:
        if (!a->completion)
            return kIOReturnBadArgument;
        a->completion->retain();
        OSSafeReleaseNULL(ivars->kept);
        ivars->kept = a->completion;
        a->scalarOutputCount = 0;
        return kIOReturnSuccess;
    case kDkUcSend: {
        if (!ivars->kept || a->scalarInputCount != 1)
            return kIOReturnNotReady;
        IOUserClientAsyncArgumentsArray args = {};
        for (uint64_t i = 0; i < a->scalarInput[0]; i++) {
            args[0] = i;
            AsyncCompletion(ivars->kept, kIOReturnSuccess, args, 1);
        }
        a->scalarOutputCount = 0;
        return kIOReturnSuccess;
    }
    case kDkUcClientMem: {
        IOAddressSegment seg[32] = {};
        if (a->scalarInputCount != 4)
            return kIOReturnBadArgument;
        uint32_t n = (uint32_t)a->scalarInput[1];
        for (uint32_t i = 0; i < 32; i++)
            seg[i] = {a->scalarInput[3] + i * a->scalarInput[2], a->scalarInput[2]};
        OSSafeReleaseNULL(ivars->command);
        OSSafeReleaseNULL(ivars->clientMemory);
        a->scalarOutputCount = 0;
        return CreateMemoryDescriptorFromClient(a->scalarInput[0], n, seg,
                                                &ivars->clientMemory);
    }
    case kDkUcMapMem: {
        IOMemoryMap *map = nullptr;
        if (!ivars->clientMemory)
            return kIOReturnNotReady;
        kern_return_t kr = ivars->clientMemory->CreateMapping(0, 0, 0, 0, 0, &map);
        OSSafeReleaseNULL(map);
        a->scalarOutputCount = 0;
        return kr;
    }
    case kDkUcPrepareMem: {
        IODMACommandSpecification spec = {};
        IOAddressSegment seg[32];
        uint32_t nseg = 32;
        uint64_t flags = 0;
        spec.maxAddressBits = 64;
        if (!ivars->clientMemory)
            return kIOReturnNotReady;
        if (!ivars->command &&
            IODMACommand::Create(ivars->provider, 0, &spec, &ivars->command) != kIOReturnSuccess)
            return kIOReturnNoMemory;
        a->scalarOutputCount = 0;
        return ivars->command->PrepareForDMA(0, ivars->clientMemory, 0, 0, &flags, &nseg, seg);
    }
    default:
        return kIOReturnUnsupported;
    }
}
