/* SPDX-License-Identifier: MIT */
/*
 * Start-time look at the PCI function: identity, what we refuse to drive,
 * the BARs as macOS assigned them, and the interrupt capabilities.  All
 * of it is read once here, so no external method re-reads identity.
 */
#include "macvfio_device.h"

/* Type-0 configuration header offsets and capability IDs (PCI 3.0). */
enum {
    kCfgVendorID = 0x00,
    kCfgDeviceID = 0x02,
    kCfgClassRevision = 0x08,
    kCfgHeaderType = 0x0e,
    kCfgInterruptPin = 0x3d,
    kCapMSI = 0x05,
    kCapPCIe = 0x10,
    kCapMSIX = 0x11,
};

#define HEADER_TYPE_MASK 0x7f
#define HEADER_MULTIFUNCTION 0x80
#define PCIE_DEVCAP_FLR (1u << 28)
#define BASE_CLASS_BRIDGE 0x06
#define BASE_CLASS_SYSTEM 0x08   /* interrupt controllers, timers, IOMMUs */
/* The smallest BAR a client may map: Apple Silicon's page, so a mapping
 * never exposes a neighbour's registers. */
#define MAPPABLE_GRANULE 16384u

static const char *refusal_reason(const struct MacvfioDevice *dev,
                                  uint8_t headerType)
{
    uint8_t baseClass = (uint8_t)(dev->classCode >> 16);

    if ((headerType & HEADER_TYPE_MASK) != 0)
        return "it is a bridge (header type is not 0)";
    if (baseClass == BASE_CLASS_BRIDGE)
        return "it is a bridge (class 0x06)";
    if (baseClass == BASE_CLASS_SYSTEM)
        return "it is a base system peripheral (class 0x08)";
    return nullptr;
}

static uint32_t bar_flags(uint8_t barType, uint64_t size)
{
    uint32_t flags = 0;

    if (barType == kPCIBARTypeIO)
        return MVF_BAR_IO;
    if (barType == kPCIBARTypeM64 || barType == kPCIBARTypeM64PF)
        flags |= MVF_BAR_64BIT;
    if (barType == kPCIBARTypeM32PF || barType == kPCIBARTypeM64PF)
        flags |= MVF_BAR_PREFETCH;
    if (size >= MAPPABLE_GRANULE && size % MAPPABLE_GRANULE == 0)
        flags |= MVF_BAR_MAPPABLE;
    return flags;
}

static void probe_bars(struct MacvfioDevice *dev)
{
    for (uint8_t i = 0; i < MACVFIO_BAR_SLOTS; i++) {
        struct MacvfioBar *bar = &dev->bars[i];
        uint8_t memoryIndex = 0, barType = 0;
        uint64_t size = 0;

        if (dev->pci->GetBARInfo(i, &memoryIndex, &size, &barType) !=
                kIOReturnSuccess || size == 0)
            continue;   /* unimplemented, or the upper half of a 64-bit BAR */
        bar->size = size;
        bar->memoryIndex = memoryIndex;
        bar->barType = barType;
        /* The ROM is read through MMIO_READ only, never mapped. */
        bar->flags = i == MVF_ROM_INDEX ? 0 : bar_flags(barType, size);
    }
}

/* Interrupt vectors per type, and the BARs the MSI-X table and PBA live
 * in: those stay trapped, because macOS programmed the table and a
 * client writing it could aim messages anywhere. */
static void probe_interrupts(struct MacvfioDevice *dev)
{
    uint64_t off = 0;
    uint8_t pin = 0;

    dev->pci->ConfigurationRead8(kCfgInterruptPin, &pin);
    dev->irqCount[MVF_IRQ_INTX] = pin ? 1 : 0;

    if (dev->pci->FindPCICapability(kCapMSI, 0, &off) == kIOReturnSuccess && off) {
        uint16_t control = 0;

        dev->pci->ConfigurationRead16(off + 2, &control);
        dev->irqCount[MVF_IRQ_MSI] = 1u << ((control >> 1) & 7u);
        if (dev->irqCount[MVF_IRQ_MSI] > 32)
            dev->irqCount[MVF_IRQ_MSI] = 32;   /* 6 and 7 are reserved */
    }
    off = 0;
    if (dev->pci->FindPCICapability(kCapMSIX, 0, &off) == kIOReturnSuccess && off) {
        uint16_t control = 0;
        uint32_t table = 0, pba = 0;

        dev->pci->ConfigurationRead16(off + 2, &control);
        dev->pci->ConfigurationRead32(off + 4, &table);
        dev->pci->ConfigurationRead32(off + 8, &pba);
        dev->irqCount[MVF_IRQ_MSIX] = (control & 0x7ffu) + 1;
        if (dev->irqCount[MVF_IRQ_MSIX] > MVF_IRQ_STATE_VECTORS)
            dev->irqCount[MVF_IRQ_MSIX] = MVF_IRQ_STATE_VECTORS;
        const uint32_t birs[2] = { table & 7u, pba & 7u };

        for (uint32_t bir : birs) {
            if (bir < MVF_NUM_BARS) {
                dev->bars[bir].flags |= MVF_BAR_MSIX;
                dev->bars[bir].flags &= ~(uint32_t)MVF_BAR_MAPPABLE;
            }
        }
    }
    off = 0;
    if (dev->pci->FindPCICapability(kCapPCIe, 0, &off) == kIOReturnSuccess && off) {
        uint32_t devcap = 0;

        dev->pci->ConfigurationRead32(off + 4, &devcap);
        dev->hasFLR = (devcap & PCIE_DEVCAP_FLR) != 0;
    }
}

kern_return_t macvfio_probe(struct MacvfioDevice *dev)
{
    uint16_t vendor = 0xffff, device = 0xffff;
    uint32_t classRevision = 0;
    uint8_t headerType = 0;
    const char *why;

    dev->pci->ConfigurationRead16(kCfgVendorID, &vendor);
    dev->pci->ConfigurationRead16(kCfgDeviceID, &device);
    dev->pci->ConfigurationRead32(kCfgClassRevision, &classRevision);
    dev->pci->ConfigurationRead8(kCfgHeaderType, &headerType);
    if (vendor == 0xffff) {
        macvfio_log("the function does not answer configuration reads");
        return kIOReturnNoDevice;
    }
    dev->vendorID = vendor;
    dev->deviceID = device;
    dev->classCode = classRevision >> 8;
    dev->multiFunction = (headerType & HEADER_MULTIFUNCTION) != 0;
    if (dev->pci->GetBusDeviceFunction(&dev->bus, &dev->device,
                                       &dev->function) != kIOReturnSuccess) {
        macvfio_log("cannot read the function's bus address");
        return kIOReturnNoDevice;
    }
    why = refusal_reason(dev, headerType);
    if (why) {
        macvfio_log("refusing %02x:%02x.%x (%04x:%04x, class %06x): %s",
                    dev->bus, dev->device, dev->function, vendor, device,
                    dev->classCode, why);
        return kIOReturnUnsupported;
    }
    probe_bars(dev);
    probe_interrupts(dev);
    return kIOReturnSuccess;
}
