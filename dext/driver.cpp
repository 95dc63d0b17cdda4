/* SPDX-License-Identifier: MIT */
/*
 * MacvfioDriver: Start claims the PCI function (Open), reads what it is,
 * configures its interrupts once, and hosts the driver core on it.  Every
 * core call and every interrupt runs on one serial queue (core/core.h).
 */
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>

#include "MacvfioDriver.h"
#include "MacvfioUserClient.h"
#include "macvfio_device.h"

/* The interrupt types ConfigureInterrupts / GetInterruptType speak. */
#define kMacvfioIntTypeMSI  0x10000u   /* kIOInterruptTypePCIMessaged */
#define kMacvfioIntTypeMSIX 0x20000u   /* kIOInterruptTypePCIMessagedX */
/* GetInterruptType indexes past the last source fail; this bounds the
 * loop if a provider never does. */
#define kMacvfioMaxSourceIndex (MVF_IRQ_STATE_VECTORS + 2)

struct MacvfioDriver_IVars {
    struct MacvfioDevice dev;
    bool opened;
};

/* One device per dext process: the user clients find it through their
 * provider, and the core is unlocked, so one queue must own everything. */
static bool gDeviceInUse;

bool MacvfioDriver::init()
{
    if (!super::init())
        return false;
    ivars = IONewZero(MacvfioDriver_IVars, 1);
    return ivars != nullptr;
}

void MacvfioDriver::free()
{
    IOSafeDeleteNULL(ivars, MacvfioDriver_IVars, 1);
    super::free();
}

struct MacvfioDevice *MacvfioDriver::Device()
{
    return &ivars->dev;
}

/* ConfigureInterrupts is one-shot per PCI nub, so ask once for the most
 * the function offers: MSI-X with every vector, else MSI, else INTx. */
static kern_return_t configure_interrupts(struct MacvfioDevice *dev)
{
    kern_return_t kr = kIOReturnUnsupported;

    if (dev->irqCount[MVF_IRQ_MSIX]) {
        kr = dev->pci->ConfigureInterrupts(kMacvfioIntTypeMSIX, 1,
                                           dev->irqCount[MVF_IRQ_MSIX], 0);
        if (kr == kIOReturnSuccess) {
            dev->hwIrqType = MVF_IRQ_MSIX;
            return kr;
        }
    }
    if (dev->irqCount[MVF_IRQ_MSI]) {
        kr = dev->pci->ConfigureInterrupts(kMacvfioIntTypeMSI, 1,
                                           dev->irqCount[MVF_IRQ_MSI], 0);
        if (kr == kIOReturnSuccess) {
            dev->hwIrqType = MVF_IRQ_MSI;
            return kr;
        }
    }
    if (dev->irqCount[MVF_IRQ_INTX]) {
        dev->hwIrqType = MVF_IRQ_INTX;
        return kIOReturnSuccess;
    }
    return kr;
}

/* One source per vector: walk the provider's interrupt specifiers and
 * take those of the configured kind (MSI vectors follow the legacy one,
 * so the index of vector 0 is not fixed). */
kern_return_t MacvfioDriver::CreateInterruptSources()
{
    struct MacvfioDevice *dev = &ivars->dev;
    uint32_t wanted = dev->irqCount[dev->hwIrqType];
    bool messaged = dev->hwIrqType != MVF_IRQ_INTX;
    kern_return_t kr;

    if (!wanted)
        return kIOReturnSuccess;
    dev->sources = IONewZero(IOInterruptDispatchSource *, wanted);
    if (!dev->sources)
        return kIOReturnNoMemory;
    dev->sourceCapacity = wanted;
    for (uint32_t index = 0;
         index < kMacvfioMaxSourceIndex && dev->sourceCount < wanted; index++) {
        uint64_t type = 0;
        IOInterruptDispatchSource *source = nullptr;
        OSAction *action = nullptr;

        if (IOInterruptDispatchSource::GetInterruptType(dev->pci, index,
                                                        &type) != kIOReturnSuccess)
            break;
        if (((type & (kMacvfioIntTypeMSI | kMacvfioIntTypeMSIX)) != 0) != messaged)
            continue;
        kr = IOInterruptDispatchSource::Create(dev->pci, index, dev->queue,
                                               &source);
        if (kr != kIOReturnSuccess)
            return kr;
        kr = CreateActionInterruptOccurred(sizeof(uint32_t), &action);
        if (kr != kIOReturnSuccess) {
            OSSafeReleaseNULL(source);
            return kr;
        }
        *static_cast<uint32_t *>(action->GetReference()) = dev->sourceCount;
        kr = source->SetHandler(action);
        OSSafeReleaseNULL(action);   /* the source keeps it */
        if (kr == kIOReturnSuccess)
            kr = source->SetEnable(true);
        if (kr != kIOReturnSuccess) {
            OSSafeReleaseNULL(source);
            return kr;
        }
        dev->sources[dev->sourceCount++] = source;
    }
    if (dev->sourceCount < wanted) {
        macvfio_log("%u of %u interrupt vectors have a source", dev->sourceCount,
                    wanted);
        /* The client sees only the vectors that can fire. */
        dev->irqCount[dev->hwIrqType] = dev->sourceCount;
    }
    return kIOReturnSuccess;
}

void MacvfioDriver::CancelInterruptSources()
{
    struct MacvfioDevice *dev = &ivars->dev;

    for (uint32_t i = 0; i < dev->sourceCount; i++) {
        IOInterruptDispatchSource *source = dev->sources[i];

        source->Cancel(^{
            source->release();
        });
        dev->sources[i] = nullptr;
    }
    if (dev->sources)
        IOSafeDeleteNULL(dev->sources, IOInterruptDispatchSource *,
                         dev->sourceCapacity);
    dev->sourceCount = 0;
    dev->sourceCapacity = 0;
}

/* The types the client may enable are the one macOS configured (plus
 * INTx, which is emulated on the same vector 0 when the pin exists). */
static void restrict_interrupt_types(struct MacvfioDevice *dev)
{
    for (uint32_t t = 0; t < MVF_IRQ_NTYPES; t++)
        if (t != dev->hwIrqType && t != MVF_IRQ_INTX)
            dev->irqCount[t] = 0;
}

kern_return_t MacvfioDriver::SetUpCore()
{
    struct MacvfioDevice *dev = &ivars->dev;
    struct mvf_provider provider;
    struct mvf_dart_config dart = {};
    int ret;

    dev->core = mvf_core_create(&macvfio_host_ops, dev);
    if (!dev->core)
        return kIOReturnNoMemory;
    macvfio_provider_fill(dev, &provider);
    /* The kernel's DART mapper places mappings (dma_map); the core only
     * keeps the books, so its aperture is any address the mapper may
     * return.  Granule, budget and cap stay the ABI's defaults (16 KiB:
     * Apple Silicon's DART page). */
    mvf_dart_config_default(&dart);
    dart.base = 0;
    dart.size = 1ull << 62;
    ret = mvf_core_add_device(dev->core, &provider, &dart, &dev->mvfDevice);
    if (ret) {
        macvfio_log("the core refused the device (%d)", ret);
        return kIOReturnError;
    }
    return kIOReturnSuccess;
}

kern_return_t IMPL(MacvfioDriver, Start)
{
    struct MacvfioDevice *dev = &ivars->dev;
    kern_return_t kr;

    kr = Start(provider, SUPERDISPATCH);
    if (kr != kIOReturnSuccess)
        return kr;
    dev->pci = OSDynamicCast(IOPCIDevice, provider);
    if (!dev->pci) {
        macvfio_log("provider is not an IOPCIDevice");
        kr = kIOReturnUnsupported;
        goto fail;
    }
    if (gDeviceInUse) {
        macvfio_log("this process already serves a device");
        dev->pci = nullptr;
        kr = kIOReturnExclusiveAccess;
        goto fail;
    }
    dev->pci->retain();
    gDeviceInUse = true;

    kr = dev->pci->Open(this, 0);
    if (kr != kIOReturnSuccess) {
        macvfio_log("cannot open the PCI device: 0x%x", kr);
        goto fail;
    }
    ivars->opened = true;
    dev->opener = this;

    kr = macvfio_probe(dev);
    if (kr != kIOReturnSuccess)
        goto fail;

    /* The one serial queue of the core: every interrupt source runs on
     * it, and every user client makes it its ExternalMethod queue. */
    kr = IODispatchQueue::Create("macvfio", 0, 0, &dev->queue);
    if (kr != kIOReturnSuccess)
        goto fail;

    kr = configure_interrupts(dev);
    if (kr != kIOReturnSuccess) {
        /* Still useful (polled devices): the client sees no vectors. */
        macvfio_log("no interrupts: ConfigureInterrupts failed (0x%x)", kr);
        for (uint32_t t = 0; t < MVF_IRQ_NTYPES; t++)
            dev->irqCount[t] = 0;
    } else {
        kr = CreateInterruptSources();
        if (kr != kIOReturnSuccess) {
            macvfio_log("cannot create interrupt sources: 0x%x", kr);
            goto fail;
        }
        restrict_interrupt_types(dev);
    }

    kr = SetUpCore();
    if (kr != kIOReturnSuccess)
        goto fail;

    kr = SetName("macvfio");
    if (kr == kIOReturnSuccess)
        kr = RegisterService();
    if (kr != kIOReturnSuccess)
        goto fail;
    macvfio_log("serving %02x:%02x.%x (%04x:%04x)", dev->bus, dev->device,
                dev->function, dev->vendorID, dev->deviceID);
    return kIOReturnSuccess;

fail:
    TearDown();
    Stop(provider, SUPERDISPATCH);
    return kr == kIOReturnSuccess ? kIOReturnError : kr;
}

void MacvfioDriver::TearDown()
{
    struct MacvfioDevice *dev = &ivars->dev;

    CancelInterruptSources();
    if (dev->core) {
        /* After the sources' cancel handlers and any handler in flight,
         * which the queue runs first. */
        IODispatchQueue *queue = dev->queue;
        auto destroyCore = ^{
            mvf_core_destroy(dev->core);   /* destroys the provider too */
            dev->core = nullptr;
        };
        if (queue)
            queue->DispatchSync(destroyCore);
        else
            destroyCore();
    }
    if (dev->statePage)
        OSSafeReleaseNULL(dev->statePage);
    for (uint32_t i = 0; i < MACVFIO_BAR_SLOTS; i++)
        OSSafeReleaseNULL(dev->bars[i].memory);
    if (ivars->opened) {
        dev->pci->Close(this, 0);
        ivars->opened = false;
    }
    OSSafeReleaseNULL(dev->queue);
    if (dev->pci) {
        OSSafeReleaseNULL(dev->pci);
        gDeviceInUse = false;
    }
}

kern_return_t IMPL(MacvfioDriver, Stop)
{
    TearDown();
    return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(MacvfioDriver, NewUserClient)
{
    IOService *service = nullptr;
    kern_return_t kr;

    (void)type;
    if (!ivars->dev.core)
        return kIOReturnNotReady;
    kr = Create(this, "MacvfioUserClientProperties", &service);
    if (kr != kIOReturnSuccess) {
        macvfio_log("cannot create a user client: 0x%x", kr);
        return kr;
    }
    *userClient = OSDynamicCast(IOUserClient, service);
    if (!*userClient) {
        OSSafeReleaseNULL(service);
        return kIOReturnError;
    }
    return kIOReturnSuccess;
}

void IMPL(MacvfioDriver, InterruptOccurred)
{
    uint32_t vector = *static_cast<uint32_t *>(action->GetReference());

    (void)count;
    (void)time;
    macvfio_device_interrupt(&ivars->dev, vector);
}
