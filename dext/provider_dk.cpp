/* SPDX-License-Identifier: MIT */
/*
 * The core's provider ops on an IOPCIDevice: configuration space, trapped
 * BAR access, BAR objects for mapping, reset, interrupts and platform DMA
 * mapping (IODMACommand).  The core has checked every offset, width and
 * range before an op is called; what is checked here is what only the
 * platform can answer.
 */
#include "macvfio_device.h"

#include <errno.h>
#include <stdio.h>

#include <DriverKit/IODMACommand.h>

static struct MacvfioDevice *device_of(void *p)
{
    return static_cast<struct MacvfioDevice *>(p);
}

static void attach(void *p, struct mvf_device *dev)
{
    device_of(p)->mvfDevice = dev;
}

/* ---- configuration space ------------------------------------------ */

static int config_read(void *p, uint32_t off, uint32_t width, uint32_t *val)
{
    IOPCIDevice *pci = device_of(p)->pci;

    switch (width) {
    case 1: {
        uint8_t v = 0xff;
        pci->ConfigurationRead8(off, &v);
        *val = v;
        return 0;
    }
    case 2: {
        uint16_t v = 0xffff;
        pci->ConfigurationRead16(off, &v);
        *val = v;
        return 0;
    }
    case 4:
        *val = 0xffffffffu;
        pci->ConfigurationRead32(off, val);
        return 0;
    default:
        return -EINVAL;
    }
}

static int config_write(void *p, uint32_t off, uint32_t width, uint32_t val)
{
    IOPCIDevice *pci = device_of(p)->pci;

    switch (width) {
    case 1:
        pci->ConfigurationWrite8(off, (uint8_t)val);
        return 0;
    case 2:
        pci->ConfigurationWrite16(off, (uint16_t)val);
        return 0;
    case 4:
        pci->ConfigurationWrite32(off, val);
        return 0;
    default:
        return -EINVAL;
    }
}

/* ---- trapped BAR access --------------------------------------------- */

static int bar_read(void *p, uint32_t bar, uint64_t off, uint32_t width,
                    uint64_t *val)
{
    struct MacvfioDevice *dev = device_of(p);
    uint8_t index;

    if (bar >= MACVFIO_BAR_SLOTS || !dev->bars[bar].size)
        return -EINVAL;
    index = dev->bars[bar].memoryIndex;
    switch (width) {
    case 1: {
        uint8_t v = 0xff;
        dev->pci->MemoryRead8(index, off, &v);
        *val = v;
        return 0;
    }
    case 2: {
        uint16_t v = 0xffff;
        dev->pci->MemoryRead16(index, off, &v);
        *val = v;
        return 0;
    }
    case 4: {
        uint32_t v = 0xffffffffu;
        dev->pci->MemoryRead32(index, off, &v);
        *val = v;
        return 0;
    }
    case 8:
        *val = ~0ull;
        dev->pci->MemoryRead64(index, off, val);
        return 0;
    default:
        return -EINVAL;
    }
}

static int bar_write(void *p, uint32_t bar, uint64_t off, uint32_t width,
                     uint64_t val)
{
    struct MacvfioDevice *dev = device_of(p);
    uint8_t index;

    /* The ROM is read-only (the core refuses writes to it already). */
    if (bar >= MVF_NUM_BARS || !dev->bars[bar].size)
        return -EINVAL;
    index = dev->bars[bar].memoryIndex;
    switch (width) {
    case 1:
        dev->pci->MemoryWrite8(index, off, (uint8_t)val);
        return 0;
    case 2:
        dev->pci->MemoryWrite16(index, off, (uint16_t)val);
        return 0;
    case 4:
        dev->pci->MemoryWrite32(index, off, (uint32_t)val);
        return 0;
    case 8:
        dev->pci->MemoryWrite64(index, off, val);
        return 0;
    default:
        return -EINVAL;
    }
}

/* BAR n's transport object is n; the user client turns it into the
 * BAR's memory descriptor in CopyClientMemoryForType. */
static int bar_object(void *p, uint32_t bar, int *obj)
{
    struct MacvfioDevice *dev = device_of(p);

    if (bar >= MVF_NUM_BARS || !(dev->bars[bar].flags & MVF_BAR_MAPPABLE))
        return -ENOTSUP;
    *obj = (int)bar;
    return 0;
}

/* IOKit cannot take a mapping away from a connected client (IOKit ends a
 * client's mappings when its connection closes): while the client that
 * was given BAR memory is still connected, the device stays held back
 * (the core fails closed and retries at the next CLAIM). */
static int revoke_mappings(void *p)
{
    return device_of(p)->barClient ? -EBUSY : 0;
}

/* ---- reset ------------------------------------------------------------ */

/* FLR where the function has it.  Otherwise a hot reset (secondary bus
 * reset from the upstream bridge), which resets every function below that
 * bridge: refused for a multi-function device, whose other functions may
 * belong to someone else. */
static int reset(void *p)
{
    struct MacvfioDevice *dev = device_of(p);
    kern_return_t kr;

    if (dev->hasFLR) {
        kr = dev->pci->Reset(kIOPCIDeviceResetTypeFunctionReset,
                             kIOPCIDeviceResetOptionNone);
        if (kr == kIOReturnSuccess)
            return 0;
        if (kr != kIOReturnUnsupported) {
            macvfio_log("function level reset failed: 0x%x", kr);
            return -EIO;
        }
    }
    if (dev->multiFunction) {
        macvfio_log("no function level reset, and a hot reset would reset "
                    "the slot's other functions too: not resetting");
        return -ENOTSUP;
    }
    kr = dev->pci->Reset(kIOPCIDeviceResetTypeHotReset,
                         kIOPCIDeviceResetOptionNone);
    if (kr != kIOReturnSuccess) {
        macvfio_log("hot reset failed: 0x%x", kr);
        return -EIO;
    }
    return 0;
}

/* ---- interrupts ------------------------------------------------------- */

/* macOS configured the hardware once, at Start; this only records which
 * type the client's (virtual) device uses, so each hardware vector is
 * raised as that type. */
static int irq_configure(void *p, uint32_t type, uint32_t nvec)
{
    struct MacvfioDevice *dev = device_of(p);

    if (type >= MVF_IRQ_NTYPES)
        return -EINVAL;
    dev->irqEnabled = nvec != 0;
    dev->irqType = type;
    dev->irqVectors = nvec;
    return 0;
}

void macvfio_device_interrupt(struct MacvfioDevice *dev, uint32_t vector)
{
    if (!dev->mvfDevice || !dev->irqEnabled) {
        dev->irqDropped++;
        return;
    }
    /* INTx has one vector: whatever message the hardware sends is it. */
    mvf_device_irq_raise(dev->mvfDevice, dev->irqType,
                         dev->irqType == MVF_IRQ_INTX ? 0 : vector);
}

/* ---- DMA -------------------------------------------------------------- */

/*
 * One IODMACommand per mapping.  The kernel's DART mapper places it; we
 * accept only what the core can record: exactly one segment of exactly
 * len bytes, for at least the directions asked.  The registered
 * descriptor is OutIn; a one-way mapping is prepared on a sub-descriptor
 * of that direction, so an IOMMU that enforces directions refuses the
 * other (Apple's DART was reported not to: docs/macos.md).
 */
struct MacvfioMapping {
    IODMACommand *command;
    IOMemoryDescriptor *oneWay;   /* the sub-descriptor, or NULL */
};

static uint64_t md_directions(uint32_t dirs)
{
    uint64_t d = 0;

    if (dirs & MVF_DMA_READ)
        d |= kIOMemoryDirectionOut;   /* the device reads */
    if (dirs & MVF_DMA_WRITE)
        d |= kIOMemoryDirectionIn;    /* the device writes */
    return d;
}

static void mapping_free(struct MacvfioMapping *m)
{
    OSSafeReleaseNULL(m->command);
    OSSafeReleaseNULL(m->oneWay);
    IOSafeDeleteNULL(m, struct MacvfioMapping, 1);
}

static int dma_map(void *p, struct mvf_client_mem *mem, uint64_t off,
                   uint64_t len, uint32_t dirs, uint64_t *iova, void **token,
                   char *err, size_t errlen)
{
    struct MacvfioDevice *dev = device_of(p);
    IOMemoryDescriptor *md = static_cast<IOMemoryDescriptor *>(mem->platform);
    uint64_t want = md_directions(dirs);
    IODMACommandSpecification spec = {};
    IOAddressSegment segments[32] = {};
    uint32_t segmentCount = 32;
    struct MacvfioMapping *m;
    uint64_t flags = 0, prepOff = off;
    kern_return_t kr;

    if (!md) {
        snprintf(err, errlen, "registered memory has no descriptor");
        return -EINVAL;
    }
    m = IONewZero(struct MacvfioMapping, 1);
    if (!m)
        return -ENOMEM;
    if (want != kIOMemoryDirectionOutIn) {
        kr = IOMemoryDescriptor::CreateSubMemoryDescriptor(want, off, len, md,
                                                           &m->oneWay);
        if (kr != kIOReturnSuccess) {
            mapping_free(m);
            snprintf(err, errlen, "CreateSubMemoryDescriptor failed (0x%x)", kr);
            return kr == kIOReturnNoMemory ? -ENOMEM : -EIO;
        }
        md = m->oneWay;
        prepOff = 0;
    }
    spec.options = kIODMACommandSpecificationNoOptions;
    spec.maxAddressBits = 64;
    kr = IODMACommand::Create(dev->pci, kIODMACommandCreateNoOptions, &spec,
                              &m->command);
    if (kr != kIOReturnSuccess) {
        mapping_free(m);
        snprintf(err, errlen, "IODMACommand::Create failed (0x%x)", kr);
        return kr == kIOReturnNoMemory ? -ENOMEM : -EIO;
    }
    kr = m->command->PrepareForDMA(kIODMACommandPrepareForDMANoOptions, md,
                                   prepOff, len, &flags, &segmentCount,
                                   segments);
    if (kr != kIOReturnSuccess) {
        mapping_free(m);
        snprintf(err, errlen, "PrepareForDMA of 0x%llx bytes at +0x%llx "
                 "failed (0x%x)", (unsigned long long)len,
                 (unsigned long long)off, kr);
        return kr == kIOReturnNoResources || kr == kIOReturnNoSpace ||
               kr == kIOReturnNoMemory ? -ENOSPC : -EIO;
    }
    if (segmentCount != 1 || segments[0].length != len ||
        (flags & want) != want) {
        m->command->CompleteDMA(kIODMACommandCompleteDMANoOptions);
        mapping_free(m);
        snprintf(err, errlen, "PrepareForDMA gave %u segment(s), 0x%llx "
                 "bytes, directions 0x%llx: need 1 segment of 0x%llx bytes, "
                 "directions 0x%llx", segmentCount,
                 (unsigned long long)(segmentCount ? segments[0].length : 0),
                 (unsigned long long)flags, (unsigned long long)len,
                 (unsigned long long)want);
        return -EIO;
    }
    *iova = segments[0].address;
    *token = m;
    return 0;
}

static void dma_unmap(void *p, void *token)
{
    struct MacvfioMapping *m = static_cast<struct MacvfioMapping *>(token);

    (void)p;
    m->command->CompleteDMA(kIODMACommandCompleteDMANoOptions);
    mapping_free(m);
}

/* The device context belongs to the driver, which outlives the core. */
static void destroy(void *p)
{
    device_of(p)->mvfDevice = nullptr;
}

const struct mvf_provider_ops macvfio_provider_ops = {
    .attach = attach,
    .config_read = config_read,
    .config_write = config_write,
    .bar_read = bar_read,
    .bar_write = bar_write,
    .bar_object = bar_object,
    .reset = reset,
    .revoke_mappings = revoke_mappings,
    .irq_configure = irq_configure,
    .run_work = nullptr,
    .dma_map = dma_map,
    .dma_unmap = dma_unmap,
    .destroy = destroy,
};

void macvfio_provider_fill(struct MacvfioDevice *dev, struct mvf_provider *p)
{
    *p = {};
    p->ops = &macvfio_provider_ops;
    p->priv = dev;
    /* IOKit's own name for a PCI function: "pci" vendor "," device. */
    snprintf(dev->name, sizeof(dev->name), "pci%x,%x", dev->vendorID,
             dev->deviceID);
    p->name = dev->name;
    p->domain = 0;
    p->bus = dev->bus;
    p->devfn = (uint8_t)((dev->device << 3) | (dev->function & 7));
    for (uint32_t i = 0; i < MACVFIO_BAR_SLOTS; i++) {
        p->bars[i].size = dev->bars[i].size;
        p->bars[i].flags = dev->bars[i].flags;
    }
    for (uint32_t t = 0; t < MVF_IRQ_NTYPES; t++)
        p->irq_count[t] = dev->irqCount[t];
    p->extra_write_mask = nullptr;
}
