/* SPDX-License-Identifier: MIT */
/*
 * IOPCIDevice, the nub a PCI driver starts on, backed by the machine's
 * simulated function (dk_pci_backing: the sim provider's ops, called
 * directly, since the kernel never filters configuration offsets).  The
 * rules come from PCIDriverKit's IOPCIDevice.iig and IOPCIFamily; each
 * is named where it is enforced.
 */
#include <PCIDriverKit/IOPCIDevice.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

extern "C" {
#include "core.h"
}
#include "dk_internal.h"

OSMetaClass gIOPCIDeviceMetaClass = {"IOPCIDevice", IOService::sGetMetaClass(), nullptr};

#define DK_CFG_SIZE 4096u
#define DK_CFG_CAP_PTR 0x34
#define DK_CFG_STATUS 0x06
#define DK_STATUS_CAP_LIST 0x10
#define DK_CAP_PCIE 0x10
#define DK_PCIE_DEVCAP_FLR (1u << 28)
#define DK_MAX_MSI 32u

struct IOPCIDevice::State {
    IOService *opener;            /* Open()'s client, not retained */
    bool irqConfigured;           /* ConfigureInterrupts is one-shot */
    uint32_t irqType, irqCount;   /* kIOInterruptTypePCIMessaged(X), vectors */
};

struct DkPCIAccess {
    using State = IOPCIDevice::State;
    static State *state(IOPCIDevice *d) { return d->state_; }
    static void set(IOPCIDevice *d, State *s) { d->state_ = s; }
};

IOPCIDevice *dk_pci_nub_create(void)
{
    IOPCIDevice *d = new IOPCIDevice;
    DkPCIAccess::State *s = static_cast<DkPCIAccess::State *>(calloc(1, sizeof(*s)));
    DkPCIAccess::set(d, s);
    if (!s || !d->init()) {
        d->release();
        return nullptr;
    }
    return d;
}

void IOPCIDevice::free()
{
    ::free(state_);
    state_ = nullptr;
    IOService::free();
}
OSMetaClass *IOPCIDevice::sGetMetaClass() { return &gIOPCIDeviceMetaClass; }
const OSMetaClass *IOPCIDevice::getMetaClass() const { return &gIOPCIDeviceMetaClass; }

static const struct mvf_provider *backing(void)
{
    const struct mvf_provider *p = dk_pci_backing();
    if (!p)
        abort();  /* an IOPCIDevice outlived its machine */
    return p;
}

static uint32_t cfg_read(uint32_t off, uint32_t width)
{
    const struct mvf_provider *p = backing();
    uint32_t v = 0;
    if (off > DK_CFG_SIZE - width || p->ops->config_read(p->priv, off, width, &v))
        return width == 4 ? ~0u : (1u << (8 * width)) - 1;
    return v;
}

static void cfg_write(uint32_t off, uint32_t width, uint32_t v)
{
    const struct mvf_provider *p = backing();
    if (off <= DK_CFG_SIZE - width)
        p->ops->config_write(p->priv, off, width, v);
}

/* PCIDriverKit: accessors are for the client that opened the nub. */
static bool opened_check(DkPCIAccess::State *s, const char *what)
{
    if (s->opener)
        return true;
    dk_violation(what, "IOPCIDevice.iig: Open() before any access");
    return false;
}

/* IOPCIDevice.iig Open: exclusive; a second client gets ExclusiveAccess. */
kern_return_t IOPCIDevice::Open(IOService *forClient, IOOptionBits options)
{
    DkPCIAccess::State *s = DkPCIAccess::state(this);
    if (!forClient || options)
        return kIOReturnBadArgument;
    if (s->opener)
        return s->opener == forClient ? kIOReturnSuccess : kIOReturnExclusiveAccess;
    s->opener = forClient;
    return kIOReturnSuccess;
}

/* IOPCIFamily: closing the nub turns memory space and bus mastering off,
 * so nothing the driver left running keeps reaching memory. */
void IOPCIDevice::Close(IOService *forClient, IOOptionBits options)
{
    DkPCIAccess::State *s = DkPCIAccess::state(this);
    (void)options;
    if (s->opener != forClient) {
        dk_violation("Close by a client that did not Open", "IOPCIDevice.iig Close");
        return;
    }
    cfg_write(kIOPCIConfigurationOffsetCommand, 2,
              cfg_read(kIOPCIConfigurationOffsetCommand, 2) &
                  ~(uint32_t)(kIOPCICommandMemorySpace | kIOPCICommandBusMaster));
    s->opener = nullptr;
}

#define DK_CFG_ACCESSORS(bits, width)                                            \
    void IOPCIDevice::ConfigurationRead##bits(uint64_t offset, uint##bits##_t *readData) \
    {                                                                            \
        if (!readData)                                                           \
            return;                                                              \
        *readData = (uint##bits##_t)~0u;                                         \
        if (opened_check(DkPCIAccess::state(this), "configuration read") &&     \
            offset <= DK_CFG_SIZE - width)                                       \
            *readData = (uint##bits##_t)cfg_read((uint32_t)offset, width);       \
    }                                                                            \
    void IOPCIDevice::ConfigurationWrite##bits(uint64_t offset, uint##bits##_t data) \
    {                                                                            \
        if (opened_check(DkPCIAccess::state(this), "configuration write") &&    \
            offset <= DK_CFG_SIZE - width)                                       \
            cfg_write((uint32_t)offset, width, data);                            \
    }
DK_CFG_ACCESSORS(8, 1)
DK_CFG_ACCESSORS(16, 2)
DK_CFG_ACCESSORS(32, 4)

/* The nub's device memory ranges are the implemented BARs in order, so
 * a memory index is not a BAR number once a BAR is missing (a driver
 * must take it from GetBARInfo). */
static int bar_of_memory_index(uint64_t memoryIndex)
{
    const struct mvf_provider *p = backing();
    uint64_t n = 0;
    for (int bar = 0; bar <= MVF_ROM_INDEX; bar++) {
        if (!p->bars[bar].size)
            continue;
        if (n++ == memoryIndex)
            return bar;
    }
    return -1;
}

/* A BAR access outside the BAR is a bus error on the machine; here it
 * reads all-ones, writes nothing, and counts as a rule broken. */
static int bar_checked(IOPCIDevice *d, uint8_t memoryIndex, uint64_t offset, uint32_t width)
{
    if (!opened_check(DkPCIAccess::state(d), "BAR access"))
        return -1;
    int bar = bar_of_memory_index(memoryIndex);
    const struct mvf_provider *p = backing();
    if (bar < 0 || offset > p->bars[bar].size || width > p->bars[bar].size - offset ||
        (offset & (width - 1))) {
        dk_violation("BAR access outside the BAR or unaligned", "IOPCIDevice.iig MemoryRead/Write");
        return -1;
    }
    return bar;
}

#define DK_MEM_ACCESSORS(bits, width)                                                  \
    void IOPCIDevice::MemoryRead##bits(uint8_t memoryIndex, uint64_t offset,           \
                                       uint##bits##_t *readData)                       \
    {                                                                                  \
        uint64_t v = ~0ull;                                                            \
        int bar = bar_checked(this, memoryIndex, offset, width);                       \
        if (bar >= 0 && backing()->ops->bar_read(backing()->priv, (uint32_t)bar, offset, \
                                                 width, &v))                           \
            v = ~0ull;                                                                 \
        if (readData)                                                                  \
            *readData = (uint##bits##_t)v;                                             \
    }                                                                                  \
    void IOPCIDevice::MemoryWrite##bits(uint8_t memoryIndex, uint64_t offset,          \
                                        uint##bits##_t data)                           \
    {                                                                                  \
        int bar = bar_checked(this, memoryIndex, offset, width);                       \
        if (bar >= 0 && bar != MVF_ROM_INDEX)                                          \
            backing()->ops->bar_write(backing()->priv, (uint32_t)bar, offset, width, data); \
    }
DK_MEM_ACCESSORS(8, 1)
DK_MEM_ACCESSORS(16, 2)
DK_MEM_ACCESSORS(32, 4)
DK_MEM_ACCESSORS(64, 8)

/* The standard capability list, bounded against loops.  searchOffset 0
 * finds the first; otherwise the next one after the capability there. */
kern_return_t IOPCIDevice::FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                             uint64_t *foundCapabilityOffset,
                                             OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!foundCapabilityOffset)
        return kIOReturnBadArgument;
    *foundCapabilityOffset = 0;
    if (!(cfg_read(DK_CFG_STATUS, 2) & DK_STATUS_CAP_LIST) || capabilityID > 0xff)
        return kIOReturnNotFound;
    uint32_t off = searchOffset ? cfg_read((uint32_t)searchOffset + 1, 1)
                                : cfg_read(DK_CFG_CAP_PTR, 1);
    for (int hops = 0; hops < 48 && off >= 0x40 && off < 0x100; hops++) {
        off &= ~3u;
        if (cfg_read(off, 1) == capabilityID) {
            *foundCapabilityOffset = off;
            return kIOReturnSuccess;
        }
        off = cfg_read(off + 1, 1);
    }
    return kIOReturnNotFound;
}

kern_return_t IOPCIDevice::GetBusDeviceFunction(uint8_t *returnBusNumber,
                                                uint8_t *returnDeviceNumber,
                                                uint8_t *returnFunctionNumber,
                                                OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!returnBusNumber || !returnDeviceNumber || !returnFunctionNumber)
        return kIOReturnBadArgument;
    const struct mvf_provider *p = backing();
    *returnBusNumber = p->bus;
    *returnDeviceNumber = (uint8_t)(p->devfn >> 3);
    *returnFunctionNumber = (uint8_t)(p->devfn & 7);
    return kIOReturnSuccess;
}

/* IOPCIDevice.iig GetBARInfo: BAR 0..5 or the expansion ROM (6); an
 * unimplemented BAR (or the upper half of a 64-bit one) is NotFound. */
kern_return_t IOPCIDevice::GetBARInfo(uint8_t barIndex, uint8_t *memoryIndex, uint64_t *barSize,
                                      uint8_t *barType)
{
    const struct mvf_provider *p = backing();
    if (!memoryIndex || barIndex > kPCIMemoryRangeExpansionROM)
        return kIOReturnBadArgument;
    if (!p->bars[barIndex].size)
        return kIOReturnNotFound;
    uint8_t index = 0;
    for (int bar = 0; bar < barIndex; bar++)
        if (p->bars[bar].size)
            index++;
    uint32_t f = p->bars[barIndex].flags;
    *memoryIndex = index;
    if (barSize)
        *barSize = p->bars[barIndex].size;
    if (barType) {
        if (f & MVF_BAR_IO)
            *barType = kPCIBARTypeIO;
        else if (f & MVF_BAR_64BIT)
            *barType = (f & MVF_BAR_PREFETCH) ? kPCIBARTypeM64PF : kPCIBARTypeM64;
        else
            *barType = (f & MVF_BAR_PREFETCH) ? kPCIBARTypeM32PF : kPCIBARTypeM32;
    }
    return kIOReturnSuccess;
}

/*
 * IOPCIFamily ConfigureInterrupts: once per nub.  The first call sets the
 * hardware up (MSI: a power-of-two count of vectors, at most 32); a later
 * call succeeds only if what is set up already satisfies it.  The
 * messaged sources then follow the legacy one in the nub's interrupt
 * specifiers (dk_interrupt.cpp).
 */
kern_return_t IOPCIDevice::ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired,
                                               uint32_t numRequested, IOOptionBits options)
{
    DkPCIAccess::State *s = DkPCIAccess::state(this);
    const struct mvf_provider *p = backing();
    uint32_t type, have, count;

    dk_count_configure_interrupts();
    if (!opened_check(s, "ConfigureInterrupts"))
        return kIOReturnNotOpen;
    if (options || !numRequired || numRequested < numRequired)
        return kIOReturnBadArgument;
    if (interruptType == kIOInterruptTypePCIMessaged)
        type = MVF_IRQ_MSI;
    else if (interruptType == kIOInterruptTypePCIMessagedX)
        type = MVF_IRQ_MSIX;
    else
        return kIOReturnBadArgument;
    if (s->irqConfigured) {
        if (s->irqType == interruptType && numRequired <= s->irqCount)
            return kIOReturnSuccess;
        dk_violation("ConfigureInterrupts again with a different request",
                     "IOPCIFamily: ConfigureInterrupts is one-shot per nub");
        return kIOReturnUnsupported;
    }
    have = p->irq_count[type];
    count = numRequested < have ? numRequested : have;
    if (type == MVF_IRQ_MSI) {
        if (count > DK_MAX_MSI)
            count = DK_MAX_MSI;
        while (count & (count - 1))
            count &= count - 1;   /* down to a power of two */
    }
    if (count < numRequired)
        return kIOReturnNoResources;
    if (dk_kernel_irq_enable(type, count) != 0)
        return kIOReturnError;
    s->irqConfigured = true;
    s->irqType = interruptType;
    s->irqCount = count;
    return kIOReturnSuccess;
}

/* Messaged vectors ConfigureInterrupts set up (0 before it). */
uint32_t dk_pci_messaged_vectors(IOPCIDevice *d, uint64_t *type)
{
    DkPCIAccess::State *s = DkPCIAccess::state(d);
    if (type)
        *type = s->irqType;
    return s->irqConfigured ? s->irqCount : 0;
}

/* IOPCIDevice.iig Reset: a function level reset needs the function's
 * FLR capability; a hot reset always works (it resets the whole slot).
 * IOPCIFamily saves and restores the configuration macOS owns around
 * it, which the simulated device keeps across its own reset. */
kern_return_t IOPCIDevice::Reset(IOOptionBits type, IOOptionBits options)
{
    DkPCIAccess::State *s = DkPCIAccess::state(this);
    const struct mvf_provider *p = backing();

    if (!opened_check(s, "Reset"))
        return kIOReturnNotOpen;
    if (options != kIOPCIDeviceResetOptionNone)
        return kIOReturnBadArgument;
    if (type == kIOPCIDeviceResetTypeFunctionReset) {
        uint64_t pcie = 0;
        if (FindPCICapability(DK_CAP_PCIE, 0, &pcie) != kIOReturnSuccess ||
            !(cfg_read((uint32_t)pcie + 4, 4) & DK_PCIE_DEVCAP_FLR))
            return kIOReturnUnsupported;
    } else if (type != kIOPCIDeviceResetTypeHotReset) {
        return kIOReturnUnsupported;
    }
    return p->ops->reset(p->priv) ? kIOReturnIOError : kIOReturnSuccess;
}

struct dk_bar_mmap {
    void *addr;
    size_t len;
};

static void bar_munmap(void *arg)
{
    struct dk_bar_mmap *b = static_cast<struct dk_bar_mmap *>(arg);
    munmap(b->addr, b->len);
    ::free(b);
}

/*
 * IOPCIDevicePrivate _CopyDeviceMemoryWithIndex: the BAR's memory as a
 * descriptor, only for the client that opened the nub (else NotOpen); an
 * I/O BAR has none.  The simulated device lends its BAR memory as an fd
 * (bar_object); a BAR it only traps cannot be memory here.
 */
kern_return_t IOPCIDevice::_CopyDeviceMemoryWithIndex(uint64_t memoryIndex,
                                                      IOMemoryDescriptor **returnMemory,
                                                      IOService *forClient,
                                                      OSDispatchMethod supermethod)
{
    DkPCIAccess::State *s = DkPCIAccess::state(this);
    const struct mvf_provider *p = backing();
    int fd = -1;

    (void)supermethod;
    if (!returnMemory)
        return kIOReturnBadArgument;
    *returnMemory = nullptr;
    if (!s->opener || s->opener != forClient)
        return kIOReturnNotOpen;
    int bar = bar_of_memory_index(memoryIndex);
    if (bar < 0)
        return kIOReturnBadArgument;
    if ((p->bars[bar].flags & MVF_BAR_IO) || bar == MVF_ROM_INDEX)
        return kIOReturnUnsupported;
    if (!p->ops->bar_object || p->ops->bar_object(p->priv, (uint32_t)bar, &fd) != 0)
        return kIOReturnUnsupported;
    size_t len = (size_t)p->bars[bar].size;
    void *addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        return kIOReturnNoMemory;
    struct dk_bar_mmap *b = static_cast<struct dk_bar_mmap *>(calloc(1, sizeof(*b)));
    IOMemoryDescriptor *md = b ? dk_memory_wrap(addr, len, kIOMemoryDirectionInOut, nullptr)
                               : nullptr;
    if (!md) {
        munmap(addr, len);
        ::free(b);
        return kIOReturnNoMemory;
    }
    *b = {addr, len};
    dk_memory_on_free(md, bar_munmap, b);
    *returnMemory = md;
    return kIOReturnSuccess;
}
