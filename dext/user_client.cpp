/* SPDX-License-Identifier: MIT */
/*
 * MacvfioUserClient: one IOServiceOpen connection, one core session.
 * ExternalMethod turns IOKit's arguments into a struct mvf_call and runs
 * it; CopyClientMemoryForType hands out the BARs and the interrupt state
 * page to the client that MAP_MEMORY allowed to have them.
 */
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "MacvfioDriver.h"
#include "MacvfioUserClient.h"
#include "macvfio_device.h"

/* IOKit's in-band structure limit: what the dext announces as max_struct
 * and the most it carries either way. */
#define kMacvfioMaxStruct 4096u
/* Grants (bits): BAR n is bit n, the state page the next one. */
#define kMacvfioGrantStatePage (1u << MVF_NUM_BARS)

struct MacvfioUserClient_IVars {
    MacvfioDriver *driver;          /* retained */
    struct MacvfioDevice *dev;      /* the driver's */
    struct mvf_session *session;
    OSAction *completion;           /* during an async ExternalMethod */
    /* What MAP_MEMORY granted this client; CopyClientMemoryForType
     * hands out nothing else. */
    uint32_t grants;
    /* The reason for the last call the transport refused, served by
     * LAST_ERROR until a call reaches the core again. */
    char transportError[MVF_ERRMSG_MAX];
    bool transportErrorPending;
};

bool MacvfioUserClient::init()
{
    if (!super::init())
        return false;
    ivars = IONewZero(MacvfioUserClient_IVars, 1);
    return ivars != nullptr;
}

void MacvfioUserClient::free()
{
    if (ivars)
        OSSafeReleaseNULL(ivars->driver);
    IOSafeDeleteNULL(ivars, MacvfioUserClient_IVars, 1);
    super::free();
}

OSAction *MacvfioUserClient::CurrentCompletion()
{
    return ivars->completion;
}

kern_return_t IMPL(MacvfioUserClient, Start)
{
    kern_return_t kr;

    kr = Start(provider, SUPERDISPATCH);
    if (kr != kIOReturnSuccess)
        return kr;
    ivars->driver = OSDynamicCast(MacvfioDriver, provider);
    if (!ivars->driver) {
        macvfio_log("user client: provider is not the macvfio driver");
        Stop(provider, SUPERDISPATCH);
        return kIOReturnUnsupported;
    }
    ivars->driver->retain();
    ivars->dev = ivars->driver->Device();
    if (!ivars->dev->core || !ivars->dev->queue) {
        Stop(provider, SUPERDISPATCH);
        return kIOReturnNotReady;
    }
    /* The core is unlocked: this client's calls run on the driver's one
     * queue, with every other client's and every interrupt. */
    kr = SetDispatchQueue(kIOUserClientQueueNameExternalMethod,
                          ivars->dev->queue);
    if (kr != kIOReturnSuccess) {
        Stop(provider, SUPERDISPATCH);
        return kr;
    }
    ivars->session = mvf_session_create_for(ivars->dev->core, this);
    if (!ivars->session) {
        Stop(provider, SUPERDISPATCH);
        return kIOReturnNoMemory;
    }
    return kIOReturnSuccess;
}

/* Called when the client closes the connection and when it dies: the
 * core does the full clean-up (bus mastering off, every DMA mapping
 * completed, interrupts off, reset) for a session that owned the device,
 * and nothing for one that only looked. */
void MacvfioUserClient::EndSession()
{
    struct MacvfioDevice *dev = ivars->dev;

    /* IOKit has removed this client's mappings with its connection, so
     * the core's revoke (owner changing) no longer has to wait for it. */
    if (dev && dev->barClient == this)
        dev->barClient = nullptr;
    ivars->grants = 0;
    if (ivars->session) {
        mvf_session_destroy(ivars->session);
        ivars->session = nullptr;
    }
}

kern_return_t IMPL(MacvfioUserClient, Stop)
{
    struct MacvfioDevice *dev = ivars->dev;

    /* Run the clean-up on the core's queue, after any call in flight. */
    if (dev && dev->queue && ivars->session) {
        dev->queue->DispatchSync(^{
            EndSession();
        });
    } else {
        EndSession();
    }
    return Stop(provider, SUPERDISPATCH);
}

/* A call the transport itself refuses never reaches the core, so its
 * reason is kept here, for the LAST_ERROR that follows. */
kern_return_t MacvfioUserClient::Refuse(int negErrno, const char *reason)
{
    snprintf(ivars->transportError, sizeof(ivars->transportError), "%s",
             reason);
    ivars->transportErrorPending = true;
    return macvfio_ioreturn(negErrno);
}

/* Where a structure input is: in band (OSData) only.  Anything larger
 * than the in-band limit came as a descriptor, which the dext refuses
 * (it announces max_struct 4096). */
static int unpack_struct_input(const IOUserClientMethodArguments *args,
                               struct mvf_call *call)
{
    if (args->structureInputDescriptor) {
        snprintf(call->err, sizeof(call->err), "structure input over %u "
                 "bytes (out of line): this transport carries at most %u",
                 kMacvfioMaxStruct, kMacvfioMaxStruct);
        return -E2BIG;
    }
    if (args->structureInput) {
        size_t len = args->structureInput->getLength();

        if (len > kMacvfioMaxStruct) {
            snprintf(call->err, sizeof(call->err), "structure input of %zu "
                     "bytes: at most %u", len, kMacvfioMaxStruct);
            return -E2BIG;
        }
        call->struct_in = len ? args->structureInput->getBytesNoCopy() : nullptr;
        call->struct_in_len = (uint32_t)len;
    }
    return 0;
}

/* The structure output, in band or into the caller's descriptor. */
static int pack_struct_output(IOUserClientMethodArguments *args,
                              const void *data, uint32_t len)
{
    if (!len)
        return 0;
    if (args->structureOutputDescriptor) {
        IOMemoryMap *map = nullptr;
        uint64_t have = 0;

        if (args->structureOutputDescriptor->GetLength(&have) !=
                kIOReturnSuccess || have < len)
            return -ENOBUFS;
        if (args->structureOutputDescriptor->CreateMapping(0, 0, 0, len, 0,
                                                           &map) != kIOReturnSuccess)
            return -EIO;
        memcpy(reinterpret_cast<void *>(map->GetAddress()), data, len);
        OSSafeReleaseNULL(map);
        return 0;
    }
    args->structureOutput = OSData::withBytes(data, len);
    return args->structureOutput ? 0 : -ENOMEM;
}

/* A successful MAP_MEMORY is what lets CopyClientMemoryForType hand the
 * memory out; a RELEASE takes every grant back. */
void MacvfioUserClient::NoteGrants(const struct mvf_call *call, int ret)
{
    if (ret != 0)
        return;
    if (call->selector == MVF_SEL_RELEASE) {
        ivars->grants = 0;
    } else if (call->selector == MVF_SEL_MAP_MEMORY && call->n_in >= 1) {
        if (call->in[0] == MVF_MEM_IRQ_STATE)
            ivars->grants |= kMacvfioGrantStatePage;
        else if (call->in[0] < MVF_NUM_BARS)
            ivars->grants |= 1u << call->in[0];
    }
}

/* LAST_ERROR after a call the transport refused: its reason. */
kern_return_t MacvfioUserClient::TransportLastError(IOUserClientMethodArguments *args)
{
    size_t len = strlen(ivars->transportError) + 1;
    uint64_t cap = args->structureOutputMaximumSize;

    if (args->scalarInputCount || args->structureInput ||
        args->structureInputDescriptor || args->completion)
        return Refuse(-EINVAL, "LAST_ERROR takes no inputs");
    if (cap > kMacvfioMaxStruct)
        cap = kMacvfioMaxStruct;
    if (len > cap)
        return macvfio_ioreturn(-ENOBUFS);   /* the reason stays pending */
    args->scalarOutputCount = 0;
    int ret = pack_struct_output(args, ivars->transportError, (uint32_t)len);
    return ret ? macvfio_ioreturn(ret) : kIOReturnSuccess;
}

kern_return_t MacvfioUserClient::ExternalMethod(uint64_t selector,
                                                IOUserClientMethodArguments *args,
                                                const IOUserClientMethodDispatch *dispatch,
                                                OSObject *target, void *reference)
{
    static uint8_t structOut[kMacvfioMaxStruct];  /* the queue is serial */
    static char reason[MVF_ERRMSG_MAX];
    const int completionObject = MACVFIO_OBJ_COMPLETION;
    struct mvf_call call = {};
    uint64_t cap;
    int ret;

    (void)dispatch;
    (void)target;
    (void)reference;
    if (!ivars->session)
        return kIOReturnNotReady;
    if (selector == MVF_SEL_LAST_ERROR && ivars->transportErrorPending)
        return TransportLastError(args);
    if (selector > UINT32_MAX)
        return Refuse(-ENOSYS, "unknown selector (over 32 bits)");
    if (args->scalarInputCount > MVF_MAX_SCALARS)
        return Refuse(-E2BIG, "more than 16 scalar inputs");
    mvf_call_init(&call);
    call.selector = (uint32_t)selector;
    call.in = args->scalarInputCount ? args->scalarInput : nullptr;
    call.n_in = args->scalarInputCount;
    ret = unpack_struct_input(args, &call);
    if (ret)
        return Refuse(ret, call.err);
    /* The async completion is this call's one object: IRQ_SET takes it as
     * its wake-up; every other selector refuses an object. */
    if (args->completion) {
        call.objs_in = &completionObject;
        call.n_objs_in = 1;
    }
    cap = args->structureOutputMaximumSize;
    if (cap > kMacvfioMaxStruct)
        cap = kMacvfioMaxStruct;
    call.struct_out = structOut;
    call.struct_out_cap = (uint32_t)cap;

    ivars->completion = args->completion;
    ret = mvf_dispatch(ivars->session, &call);
    ivars->completion = nullptr;
    if (call.selector != MVF_SEL_LAST_ERROR)
        ivars->transportErrorPending = false;
    NoteGrants(&call, ret);
    if (ret < 0)
        return macvfio_ioreturn(ret);

    /* The call has happened; a reply that cannot be delivered is still
     * reported, so the client knows its state is unknown. */
    if (call.n_out > args->scalarOutputCount) {
        snprintf(reason, sizeof(reason), "the reply has %u scalars, the "
                 "caller made room for %u", call.n_out,
                 args->scalarOutputCount);
        return Refuse(-EOVERFLOW, reason);
    }
    for (uint32_t i = 0; i < call.n_out; i++)
        args->scalarOutput[i] = call.out[i];
    args->scalarOutputCount = call.n_out;
    ret = pack_struct_output(args, call.struct_out, call.struct_out_len);
    if (ret)
        return Refuse(ret, "the structure reply could not be delivered");
    return kIOReturnSuccess;
}

/* IOKit calls CopyClientMemoryForType on the client's default queue: the
 * lookup runs on the core's queue, like everything else that touches the
 * device. */
kern_return_t IMPL(MacvfioUserClient, CopyClientMemoryForType)
{
    struct MacvfioDevice *dev = ivars->dev;
    __block kern_return_t kr = kIOReturnNotReady;

    *options = 0;
    *memory = nullptr;
    if (!dev || !dev->queue)
        return kr;
    dev->queue->DispatchSync(^{
        kr = CopyMemoryOnQueue(type, options, memory);
    });
    return kr;
}

kern_return_t MacvfioUserClient::CopyMemoryOnQueue(uint64_t type,
                                                   uint64_t *options,
                                                   IOMemoryDescriptor **memory)
{
    struct MacvfioDevice *dev = ivars->dev;

    *options = 0;   /* read-write, never executable (IOKit maps no-exec) */
    *memory = nullptr;
    if (!dev || !ivars->session)
        return kIOReturnNotReady;
    if (type == MVF_MEM_IRQ_STATE) {
        if (!(ivars->grants & kMacvfioGrantStatePage) || !dev->statePage)
            return macvfio_ioreturn(-EPERM);
        dev->statePage->retain();
        *memory = dev->statePage;
        return kIOReturnSuccess;
    }
    if (type >= MVF_NUM_BARS || !(ivars->grants & (1u << type)))
        return macvfio_ioreturn(-EPERM);
    struct MacvfioBar *bar = &dev->bars[type];
    if (!(bar->flags & MVF_BAR_MAPPABLE))
        return macvfio_ioreturn(-ENOTSUP);
    if (!bar->memory) {
        /* forClient must be the opener: the driver. */
        kern_return_t kr = dev->pci->_CopyDeviceMemoryWithIndex(
            bar->memoryIndex, &bar->memory, dev->opener);
        if (kr != kIOReturnSuccess) {
            macvfio_log("BAR %llu: no device memory (0x%x)",
                        (unsigned long long)type, kr);
            bar->memory = nullptr;
            return kr;
        }
    }
    bar->memory->retain();
    *memory = bar->memory;
    dev->barClient = this;
    return kIOReturnSuccess;
}
